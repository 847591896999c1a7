"""The topology log ``topology.jsonl``: one snapshot of the graph per line, and what changed.

A snapshot is a light, JSON-ready record of a graph's structure at one training step (weights
and biases to 6 significant digits: a record is for drawing, not for training). Training
appends one every ``frame_every`` steps; the pictures (:mod:`smgrnn_ref.viz`) read them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import numpy as np

from ..graph import KINDS
from .formats import read_jsonl



def _round(x: float, digits: int) -> float:
    # A few significant digits are plenty for a picture and keep topology.jsonl small
    # (growth-only runs hold thousands of edges per frame).
    return float(f"{float(x):.{digits}g}")


def snapshot(G: nx.DiGraph, step: int, *, digits: int = 6) -> dict:
    """A light, JSON-ready record of the topology of ``G`` at training step ``step``.

    Parameters
    ----------
    G : networkx.DiGraph
        A graph following the conventions of :mod:`smgrnn_ref.graph`.
    step : int
        Training step the record belongs to.
    digits : int
        Significant digits kept of each weight and bias.

    Returns
    -------
    dict
        ``{"step": int, "nodes": [[id, kind, index_or_None, bias_or_None], ...],
        "edges": [[u, v, weight], ...]}``, nodes sorted by id and edges by ``(u, v)``.
        Only plain ``int``/``float``/``str``/``None`` values, so ``json.dumps`` accepts it.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(1, 1)
    >>> add_edge(G, 0, 1, 0.123456789)
    >>> snapshot(G, 7)
    {'step': 7, 'nodes': [[0, 'input', 0, None], [1, 'output', 0, 0.0]], 'edges': [[0, 1, 0.123457]]}
    """
    nodes = []
    for n in sorted(G.nodes):
        data = G.nodes[n]
        index = data.get("index")
        bias = data.get("bias")
        nodes.append(
            [
                int(n),
                str(data["kind"]),
                None if index is None else int(index),
                None if bias is None else _round(bias, digits),
            ]
        )
    edges = [[int(u), int(v), _round(G.edges[u, v]["weight"], digits)] for u, v in sorted(G.edges)]
    return {"step": int(step), "nodes": nodes, "edges": edges}


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_num(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def check_snapshot(snap) -> None:
    """Raise ``ValueError`` describing the first way ``snap`` is not a topology record.

    Examples
    --------
    >>> check_snapshot({"step": 0, "nodes": [[0, "input", 0, None]], "edges": [[0, 1, 0.5]]})
    Traceback (most recent call last):
    ...
    ValueError: edge 0 -> 1 names a node that is not in the snapshot
    """
    if not isinstance(snap, Mapping):
        raise ValueError(f"a snapshot must be a JSON object, got {type(snap).__name__}")
    missing = [k for k in ("step", "nodes", "edges") if k not in snap]
    if missing:
        raise ValueError(f"snapshot is missing key(s) {missing}")
    if not _is_int(snap["step"]):
        raise ValueError(f"snapshot 'step' must be an integer, got {snap['step']!r}")
    if not isinstance(snap["nodes"], (list, tuple)) or not isinstance(snap["edges"], (list, tuple)):
        raise ValueError("snapshot 'nodes' and 'edges' must be lists")
    ids = _check_node_records(snap["nodes"])
    for rec in snap["edges"]:
        if not isinstance(rec, (list, tuple)) or len(rec) != 3:
            raise ValueError(f"edge record {rec!r} is not [u, v, weight]")
        u, v, w = rec
        if not (_is_int(u) and _is_int(v)) or not _is_num(w):
            raise ValueError(f"edge record {rec!r}: expected [int, int, number]")
        if u not in ids or v not in ids:
            raise ValueError(f"edge {u} -> {v} names a node that is not in the snapshot")


def _check_node_records(records) -> set:
    """The ids of a snapshot's node records; ``ValueError`` at the first malformed one."""
    ids = set()
    for rec in records:
        if not isinstance(rec, (list, tuple)) or len(rec) != 4:
            raise ValueError(f"node record {rec!r} is not [id, kind, index, bias]")
        nid, kind, index, bias = rec
        if not _is_int(nid):
            raise ValueError(f"node record {rec!r}: id is not an integer")
        if nid in ids:
            raise ValueError(f"node {nid} appears twice")
        if kind not in KINDS:
            raise ValueError(f"node {nid}: unknown kind {kind!r}; known: {list(KINDS)}")
        if kind in ("input", "output") and not _is_int(index):
            raise ValueError(f"node {nid} ({kind}) needs an integer index, got {index!r}")
        if bias is not None and not _is_num(bias):
            raise ValueError(f"node {nid}: bias {bias!r} is not a number")
        ids.add(nid)
    return ids


def snapshot_to_graph(snap: Mapping) -> nx.DiGraph:
    """Rebuild a drawable ``DiGraph`` (attributes ``kind``, ``index``, ``bias``, ``weight``).

    The result carries no optimizer state: it is for drawing and inspection, not training.
    ``G.graph["step"]`` holds the snapshot's step.

    Parameters
    ----------
    snap : mapping
        A topology record (:func:`snapshot`).

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    ValueError
        If ``snap`` is not a well-formed record (:func:`check_snapshot`).

    Examples
    --------
    >>> G = snapshot_to_graph({"step": 3, "nodes": [[0, "input", 0, None],
    ...                        [1, "output", 0, 0.5]], "edges": [[0, 1, -0.2]]})
    >>> G.graph["step"], G.nodes[1]["bias"], G.edges[0, 1]["weight"], "bias" in G.nodes[0]
    (3, 0.5, -0.2, False)
    """
    check_snapshot(snap)
    G = nx.DiGraph(step=int(snap["step"]))
    for nid, kind, index, bias in snap["nodes"]:
        attrs = {"kind": kind}
        if index is not None:
            attrs["index"] = int(index)
        if bias is not None:
            attrs["bias"] = float(bias)
        G.add_node(int(nid), **attrs)
    for u, v, w in snap["edges"]:
        G.add_edge(int(u), int(v), weight=float(w))
    return G


def write_snapshot(path, snap: Mapping) -> None:
    """Append ``snap`` as one JSON line to ``path`` (typically ``<run>/topology.jsonl``).

    The record is checked first and written as strict JSON (``NaN``/``inf`` are refused with
    ``ValueError``; the graph conventions forbid them anyway), so other tools can read it.

    Parameters
    ----------
    path : path
        The log to append to (created, with its parent directories, if missing).
    snap : mapping
        A topology record (:func:`snapshot`).

    Raises
    ------
    ValueError
        If ``snap`` is malformed or holds a non-finite number.
    """
    check_snapshot(snap)
    line = json.dumps(snap, allow_nan=False, separators=(",", ":"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of a whole line: a reader never sees half a record from a finished write.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_snapshots(path) -> list[dict]:
    """Read every snapshot of a ``topology.jsonl`` file (blank lines are skipped).

    Parameters
    ----------
    path : path
        The log.

    Returns
    -------
    list of dict
        The records, in file order.

    Raises
    ------
    ValueError
        Naming the file and the 1-based line number of the first malformed record (for
        example the truncated last line of a run that was killed mid-write).
    """
    return read_jsonl(path, _checked, "topology record")


def _checked(snap):
    check_snapshot(snap)
    return snap


def diff_snapshots(prev: Mapping | None, cur: Mapping) -> dict:
    """What changed between two snapshots.

    Parameters
    ----------
    prev : dict or None
        The earlier snapshot; ``None`` means an empty graph (everything in ``cur`` is new).
    cur : dict
        The later snapshot.

    Returns
    -------
    dict
        ``added_nodes``, ``removed_nodes`` (sorted id lists) and ``added_edges``,
        ``removed_edges`` (sorted lists of ``(u, v)`` tuples). Weight changes are not
        reported: training changes every weight at every step.

    Examples
    --------
    >>> a = {"step": 0, "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0]],
    ...      "edges": [[0, 1, 0.3]]}
    >>> b = {"step": 1, "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0],
    ...      [2, "hidden", None, 0.0]], "edges": [[0, 2, 0.1], [2, 1, 0.1]]}
    >>> diff_snapshots(a, b)
    {'added_nodes': [2], 'removed_nodes': [], 'added_edges': [(0, 2), (2, 1)], 'removed_edges': [(0, 1)]}
    """
    pn, pe = (set(), set()) if prev is None else (_node_set(prev), _edge_set(prev))
    cn, ce = _node_set(cur), _edge_set(cur)
    return {
        "added_nodes": sorted(cn - pn),
        "removed_nodes": sorted(pn - cn),
        "added_edges": sorted(ce - pe),
        "removed_edges": sorted(pe - ce),
    }


def _edge_set(snap) -> set:
    return {(int(u), int(v)) for u, v, _ in snap["edges"]}


def _node_set(snap) -> set:
    return {int(rec[0]) for rec in snap["nodes"]}

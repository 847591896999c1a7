"""Save and load a graph as documented JSON (never pickle); the round trip is exact.

File format (``"format": "smgrnn_ref.graph"``, ``"version": 1``)::

    {
      "format": "smgrnn_ref.graph", "version": 1,
      "graph": {"next_id": int, "T": int},
      "nodes": [{"id": int, "kind": "input", "index": int}
                | {"id": int, "kind": "hidden" | "output", ["index": int,]
                   "bias": float, "activation": str, "activations": [float, ...],
                   "adam_m": float, "adam_v": float, "adam_t": int}, ...],
      "edges": [{"source": int, "target": int, "weight": float, "updates": [float, ...],
                 "adam_m": float, "adam_v": float, "adam_t": int}, ...]
    }

Nodes and edges are written in the graph's iteration order and read back in that order.
Python's ``json`` writes floats with the shortest representation that round-trips, so every
number comes back bit for bit.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph
>>> G = initial_graph(2, 2, rng=np.random.default_rng(0))
>>> H = graph_from_dict(graph_to_dict(G))
>>> sorted(H.edges(data="weight")) == sorted(G.edges(data="weight"))
True
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from pathlib import Path

import networkx as nx

from .config import MAX_T
from .graph import validate_graph

FORMAT = "smgrnn_ref.graph"
VERSION = 1
_STATE = ("adam_m", "adam_v", "adam_t")

#: Largest graph file :func:`load_graph` reads, in bytes (1 GiB): above our largest runs
#: (376 MB: CartPole-v1 growth-only, seed 1, 144,000 edges), so every run of the study resumes.
#: Loading takes memory: about 4 times the file's size for our files (measured: 129 MB file,
#: 536 MB peak), up to about 25 times for a file of compact numbers (``[0,0,0,...]``: 40 MB,
#: 1.0 GB peak). Lower it on a small machine, raise it for a bigger graph
#: (``smgrnn_ref.io.MAX_GRAPH_BYTES = ...``, or ``load_graph(path, max_bytes=...)``).
MAX_GRAPH_BYTES = 1 << 30
#: Largest other JSON file read (16 MiB): configs, grid files, ``state.json``, ``done.json``;
#: ours are a few kB.
MAX_JSON_BYTES = 16 << 20
#: Largest node id, Adam step count or index accepted in a graph file (2**53: exact as a
#: float, and within the fast engine's int64 arrays).
MAX_ID = 2**53


def graph_to_dict(G: nx.DiGraph) -> dict:
    """A JSON-ready dict holding every attribute of ``G``."""
    validate_graph(G)
    nodes = []
    for n, d in G.nodes(data=True):
        rec = {"id": int(n), "kind": d["kind"]}
        if "index" in d:
            rec["index"] = int(d["index"])
        if d["kind"] != "input":
            rec.update(bias=float(d["bias"]), activation=d["activation"], activations=[float(a) for a in d["activations"]])
            rec.update({k: d[k] for k in _STATE})
        nodes.append(rec)
    edges = []
    for u, v, d in G.edges(data=True):
        rec = {"source": int(u), "target": int(v), "weight": float(d["weight"]), "updates": [float(x) for x in d["updates"]]}
        rec.update({k: d[k] for k in _STATE})
        edges.append(rec)
    return {
        "format": FORMAT,
        "version": VERSION,
        "graph": {"next_id": int(G.graph["next_id"]), "T": int(G.graph["T"])},
        "nodes": nodes,
        "edges": edges,
    }


def _get(rec: dict, key: str, types, where: str):
    if key not in rec:
        raise ValueError(f"malformed graph file: {where} lacks {key!r}")
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, types):
        raise ValueError(f"malformed graph file: {where} field {key!r} has type {type(value).__name__}")
    return value


def _int(rec: dict, key: str, where: str, lo: int = 0, hi: int = MAX_ID) -> int:
    """An integer field in ``[lo, hi]``: ids, indices, counters (the fast engine stores them as int64)."""
    value = _get(rec, key, int, where)
    if not lo <= value <= hi:
        raise ValueError(f"malformed graph file: {where} field {key!r} must be in [{lo}, {hi}], got {value!r:.40}")
    return value


def _finite(x, what: str) -> float:
    """``float(x)``, refusing NaN, infinities and integers too large for a float (``10**400``)."""
    try:
        value = float(x)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"malformed graph file: {what} is not a finite number ({x!r:.40})")
    return value


def _float(rec: dict, key: str, where: str, *, nonnegative: bool = False) -> float:
    value = _finite(_get(rec, key, (int, float), where), f"{where} field {key!r}")
    if nonnegative and value < 0:
        raise ValueError(f"malformed graph file: {where} field {key!r} must be >= 0, got {value!r}")
    return value


def _window(rec: dict, key: str, where: str, T: int) -> deque:
    """A window of at most ``T`` finite numbers, as the deque (``maxlen = T``) the graph holds."""
    values = _get(rec, key, list, where)
    if len(values) > T:
        raise ValueError(f"malformed graph file: {where} field {key!r} holds {len(values)} values, more than T={T}")
    out = deque(maxlen=T)
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise ValueError(f"malformed graph file: {where} field {key!r} holds a non-number")
        out.append(_finite(x, f"{where} field {key!r}"))
    return out


def _adam_state(rec: dict, where: str) -> dict:
    """The per-parameter Adam state: moments finite, the second one and the step count >= 0."""
    return {"adam_m": _float(rec, "adam_m", where), "adam_v": _float(rec, "adam_v", where, nonnegative=True),
            "adam_t": _int(rec, "adam_t", where)}


def graph_from_dict(data: dict) -> nx.DiGraph:
    """Rebuild the graph from :func:`graph_to_dict`'s output.

    Raises
    ------
    ValueError
        ``"malformed graph file: ..."`` naming the first problem: a missing or mistyped field, a
        non-finite number (or an integer too large for a float), a negative Adam second moment or
        step count, an id outside ``[0, MAX_ID]``, a window ``T`` outside ``[2, MAX_T]`` or a window
        longer than ``T``, or a graph convention broken (:func:`smgrnn_ref.graph.validate_graph`).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"malformed graph file: 'format' must be {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported graph file version {data.get('version')!r:.40}; this code reads {VERSION}")
    meta = _get(data, "graph", dict, "file")
    T = _int(meta, "T", "graph", 2, MAX_T)
    G = nx.DiGraph(next_id=_int(meta, "next_id", "graph"), T=T)
    for i, rec in enumerate(_get(data, "nodes", list, "file")):
        where = f"node #{i}"
        if not isinstance(rec, dict):
            raise ValueError(f"malformed graph file: {where} is not an object")
        nid = _int(rec, "id", where)
        if nid in G:
            raise ValueError(f"malformed graph file: node id {nid} appears twice")
        attrs = {"kind": _get(rec, "kind", str, where)}
        if "index" in rec:
            attrs["index"] = _int(rec, "index", where)
        if attrs["kind"] != "input":
            attrs["bias"] = _float(rec, "bias", where)
            attrs["activation"] = _get(rec, "activation", str, where)
            attrs["activations"] = _window(rec, "activations", where, T)
            attrs.update(_adam_state(rec, where))
        G.add_node(nid, **attrs)
    for i, rec in enumerate(_get(data, "edges", list, "file")):
        where = f"edge #{i}"
        if not isinstance(rec, dict):
            raise ValueError(f"malformed graph file: {where} is not an object")
        u, v = _int(rec, "source", where), _int(rec, "target", where)
        if u not in G or v not in G:
            raise ValueError(f"malformed graph file: {where} ({u} -> {v}) names an unknown node")
        if G.has_edge(u, v):
            raise ValueError(f"malformed graph file: edge {u} -> {v} appears twice")
        G.add_edge(u, v, weight=_float(rec, "weight", where), updates=_window(rec, "updates", where, T),
                   **_adam_state(rec, where))
    try:
        validate_graph(G)
    except ValueError as err:
        raise ValueError(f"malformed graph file: {err}") from None
    return G


def save_graph(G: nx.DiGraph, path) -> Path:
    """Write ``G`` to ``path`` as JSON (atomically: a temporary file, then a rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(graph_to_dict(G)))
    tmp.replace(path)
    return path


def load_graph(path, *, max_bytes: int | None = None) -> nx.DiGraph:
    """Read a graph written by :func:`save_graph`.

    Parameters
    ----------
    path : path
    max_bytes : int, optional
        Refuse a larger file (default :data:`MAX_GRAPH_BYTES`, read when called, so a user may
        raise it for a larger graph).

    Raises
    ------
    ValueError
        Naming the file, if it is missing, larger than ``max_bytes``, not valid JSON, nested too
        deeply, or not a well-formed graph (:func:`graph_from_dict`).
    """
    path = Path(path)
    data = read_json(path, what="graph file", max_bytes=MAX_GRAPH_BYTES if max_bytes is None else max_bytes)
    try:
        return graph_from_dict(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def read_json(path, *, what: str = "JSON file", max_bytes: int | None = None):
    """Parse a JSON file a user or another machine may have written, with one-line errors.

    Every loader of the package reads its JSON files through this: config and grid files,
    graph files, a checkpoint's ``state.json``, a grid's ``done.json``.

    Parameters
    ----------
    path : path
    what : str
        What the file is, for the messages (``"config file"``, ``"graph file"``...).
    max_bytes : int, optional
        Refuse a larger file before reading it (default :data:`MAX_JSON_BYTES`).

    Returns
    -------
    object
        The decoded JSON value.

    Raises
    ------
    ValueError
        ``"{what} not found: {path}"``, or naming the file when it cannot be read, is larger than
        ``max_bytes``, is not UTF-8 JSON, or is nested deeper than Python's recursion limit
        (about 1,000 levels; no file of ours nests more than 4).

    Examples
    --------
    >>> read_json("/no/such/file.json", what="config file")
    Traceback (most recent call last):
    ...
    ValueError: config file not found: /no/such/file.json
    """
    path = Path(path)
    limit = MAX_JSON_BYTES if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise ValueError(f"{what} {path} is {size:,} bytes, more than the limit of {limit:,}")
            raw = fh.read(limit + 1)  # a file still growing stops at the limit too
    except FileNotFoundError:
        raise ValueError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{what} {path} is a directory, not a file") from None
    except OSError as err:
        raise ValueError(f"cannot read {what} {path}: {err.strerror or err}") from None
    if len(raw) > limit:
        raise ValueError(f"{what} {path} is more than the limit of {limit:,} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"{what} {path} is nested too deeply to be one of ours") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what} {path} is not valid JSON: {err}") from None


__all__ = ["FORMAT", "VERSION", "MAX_GRAPH_BYTES", "MAX_JSON_BYTES", "MAX_ID", "graph_to_dict", "graph_from_dict",
           "save_graph", "load_graph", "read_json"]

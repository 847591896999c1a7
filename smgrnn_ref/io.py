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
from collections import deque
from pathlib import Path

import networkx as nx

from .graph import validate_graph

FORMAT = "smgrnn_ref.graph"
VERSION = 1
_STATE = ("adam_m", "adam_v", "adam_t")


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


def _numbers(rec: dict, key: str, where: str) -> list:
    values = _get(rec, key, list, where)
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise ValueError(f"malformed graph file: {where} field {key!r} holds a non-number")
    return [float(x) for x in values]


def graph_from_dict(data: dict) -> nx.DiGraph:
    """Rebuild the graph from :func:`graph_to_dict`'s output; ``ValueError`` if malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"malformed graph file: 'format' must be {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported graph file version {data.get('version')!r}; this code reads {VERSION}")
    meta = _get(data, "graph", dict, "file")
    T = _get(meta, "T", int, "graph")
    G = nx.DiGraph(next_id=_get(meta, "next_id", int, "graph"), T=T)
    for i, rec in enumerate(_get(data, "nodes", list, "file")):
        where = f"node #{i}"
        if not isinstance(rec, dict):
            raise ValueError(f"malformed graph file: {where} is not an object")
        nid = _get(rec, "id", int, where)
        if nid in G:
            raise ValueError(f"malformed graph file: node id {nid} appears twice")
        attrs = {"kind": _get(rec, "kind", str, where)}
        if "index" in rec:
            attrs["index"] = _get(rec, "index", int, where)
        if attrs["kind"] != "input":
            attrs["bias"] = float(_get(rec, "bias", (int, float), where))
            attrs["activation"] = _get(rec, "activation", str, where)
            attrs["activations"] = deque(_numbers(rec, "activations", where), maxlen=T)
            attrs["adam_m"] = float(_get(rec, "adam_m", (int, float), where))
            attrs["adam_v"] = float(_get(rec, "adam_v", (int, float), where))
            attrs["adam_t"] = _get(rec, "adam_t", int, where)
        G.add_node(nid, **attrs)
    for i, rec in enumerate(_get(data, "edges", list, "file")):
        where = f"edge #{i}"
        if not isinstance(rec, dict):
            raise ValueError(f"malformed graph file: {where} is not an object")
        u, v = _get(rec, "source", int, where), _get(rec, "target", int, where)
        if u not in G or v not in G:
            raise ValueError(f"malformed graph file: {where} ({u} -> {v}) names an unknown node")
        if G.has_edge(u, v):
            raise ValueError(f"malformed graph file: edge {u} -> {v} appears twice")
        G.add_edge(
            u,
            v,
            weight=float(_get(rec, "weight", (int, float), where)),
            updates=deque(_numbers(rec, "updates", where), maxlen=T),
            adam_m=float(_get(rec, "adam_m", (int, float), where)),
            adam_v=float(_get(rec, "adam_v", (int, float), where)),
            adam_t=_get(rec, "adam_t", int, where),
        )
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


def load_graph(path) -> nx.DiGraph:
    """Read a graph written by :func:`save_graph`; ``ValueError`` naming the problem if the
    file is not valid JSON or not a well-formed graph."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"malformed graph file {path}: not valid JSON ({err})") from None
    return graph_from_dict(data)


__all__ = ["FORMAT", "VERSION", "graph_to_dict", "graph_from_dict", "save_graph", "load_graph"]

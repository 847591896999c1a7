"""Structural events: what the Structural Plasticity Module did to the graph, one record each.

The SPM of SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive
Architecture via Local Structural Plasticity", arXiv 2512.12713) edits ``G_t`` in four ways:
edge-driven growth inserts a relay node, random exploratory growth adds an edge, pruning
deletes an edge, and orphan removal deletes a hidden node with its edges. Each edit is
reported as one small frozen dataclass below, so a run can be written to ``events.jsonl``
and replayed or drawn frame by frame. The record format is ours; the paper defines the
edits, not a log.

Every class has a class-level ``kind`` string, :meth:`to_dict` returns a JSON-ready dict
(with ``"kind"``), and :func:`event_from_dict` is its validating inverse.

Examples
--------
>>> import json
>>> e = RelayInserted(step=7, edge=(0, 3), node=5, weights=(0.25, -0.5))
>>> e.to_dict()
{'kind': 'relay_inserted', 'step': 7, 'edge': [0, 3], 'node': 5, 'weights': [0.25, -0.5]}
>>> event_from_dict(json.loads(json.dumps(e.to_dict()))) == e
True
>>> event_from_dict({"kind": "edge_added", "step": 1, "edge": [0, 0], "weight": 0.1})
Traceback (most recent call last):
...
ValueError: EdgeAdded.edge: a self-loop (0, 0) is never an SPM edge
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar, Union

import numpy as np


# --- field checks: each returns the value in its canonical Python type or raises ---------


def _is_int(x) -> bool:
    # bool is an int subclass in Python; a True step or node id is a bug, not an integer
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _as_node(owner: str, name: str, x) -> int:
    """A node id: an integer >= 0 (ids come from the graph's never-reused counter)."""
    if not _is_int(x) or x < 0:
        raise ValueError(f"{owner}.{name}: expected a node id (integer >= 0), got {x!r}")
    return int(x)


def _as_step(owner: str, x) -> int:
    """A training step ``t``: an integer >= 0."""
    if not _is_int(x) or x < 0:
        raise ValueError(f"{owner}.step: expected an integer >= 0, got {x!r}")
    return int(x)


def _as_weight(owner: str, name: str, x) -> float:
    """A finite real weight."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}.{name}: expected a finite number, got {x!r}")
    if not math.isfinite(x):
        raise ValueError(f"{owner}.{name}: expected a finite number, got {x!r}")
    return float(x)


def _as_edge(owner: str, name: str, x) -> tuple[int, int]:
    """A directed edge ``(u, v)``: two node ids, never a self-loop."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{owner}.{name}: expected a pair (u, v), got {x!r}")
    u, v = (_as_node(owner, name, n) for n in x)
    if u == v:
        raise ValueError(f"{owner}.{name}: a self-loop {(u, v)} is never an SPM edge")
    return (u, v)


def _set(obj, name, value):
    # frozen dataclass: __post_init__ stores the canonical (tuple, int, float) form
    object.__setattr__(obj, name, value)


# --- the four events -----------------------------------------------------------------------


@dataclass(frozen=True)
class RelayInserted:
    """Edge-driven growth on the unstable edge ``i -> j``: relay ``r`` with edges ``i -> r``
    (weight ``weights[0]``) and ``r -> j`` (weight ``weights[1]``); ``i -> j`` is kept.

    Parameters
    ----------
    step : int
        The training step ``t``.
    edge : (int, int)
        ``(i, j)``.
    node : int
        The relay ``r`` (neither ``i`` nor ``j``).
    weights : (float, float)
        ``(w_ir, w_rj)``, finite.

    Raises
    ------
    ValueError
        For a field of the wrong type or value (stored in canonical Python types otherwise).
    """

    kind: ClassVar[str] = "relay_inserted"
    step: int
    edge: tuple[int, int]
    node: int
    weights: tuple[float, float]

    def __post_init__(self):
        owner = type(self).__name__
        _set(self, "step", _as_step(owner, self.step))
        _set(self, "edge", _as_edge(owner, "edge", self.edge))
        _set(self, "node", _as_node(owner, "node", self.node))
        if self.node in self.edge:
            raise ValueError(f"{owner}.node: the relay {self.node} must differ from both ends of {self.edge}")
        if not isinstance(self.weights, (tuple, list)) or len(self.weights) != 2:
            raise ValueError(f"{owner}.weights: expected a pair (w_ir, w_rj), got {self.weights!r}")
        _set(self, "weights", tuple(_as_weight(owner, "weights", w) for w in self.weights))

    def to_dict(self) -> dict:
        """JSON-ready dict, ``"kind"`` included (the inverse of :func:`event_from_dict`).

        Returns
        -------
        dict
        """
        return {"kind": self.kind, "step": self.step, "edge": list(self.edge), "node": self.node,
                "weights": list(self.weights)}


@dataclass(frozen=True)
class _WeightedEdgeEvent:
    """An edge ``u -> v`` with a weight: the shared body of :class:`EdgeAdded` and
    :class:`EdgePruned` (which differ only in ``kind``).

    Parameters
    ----------
    step : int
    edge : (int, int)
        Never a self-loop.
    weight : float
        Finite.

    Raises
    ------
    ValueError
        For a field of the wrong type or value.
    """

    kind: ClassVar[str]
    step: int
    edge: tuple[int, int]
    weight: float

    def __post_init__(self):
        owner = type(self).__name__
        _set(self, "step", _as_step(owner, self.step))
        _set(self, "edge", _as_edge(owner, "edge", self.edge))
        _set(self, "weight", _as_weight(owner, "weight", self.weight))

    def to_dict(self) -> dict:
        """JSON-ready dict, ``"kind"`` included (the inverse of :func:`event_from_dict`).

        Returns
        -------
        dict
        """
        return {"kind": self.kind, "step": self.step, "edge": list(self.edge), "weight": self.weight}


@dataclass(frozen=True)
class EdgeAdded(_WeightedEdgeEvent):
    """Random exploratory growth added the new edge ``u -> v`` with ``weight`` (fields and
    checks: :class:`_WeightedEdgeEvent`)."""

    kind: ClassVar[str] = "edge_added"


@dataclass(frozen=True)
class EdgePruned(_WeightedEdgeEvent):
    """Pruning deleted the edge ``u -> v``, whose trained weight was ``weight`` (fields and
    checks: :class:`_WeightedEdgeEvent`)."""

    kind: ClassVar[str] = "edge_pruned"


@dataclass(frozen=True)
class NodeRemoved:
    """Orphan removal deleted hidden ``node`` together with its incident ``edges``.

    Parameters
    ----------
    step : int
    node : int
    edges : sequence of (int, int)
        Each incident to ``node``.

    Raises
    ------
    ValueError
        For a field of the wrong type or value, or an edge not incident to ``node``.
    """

    kind: ClassVar[str] = "node_removed"
    step: int
    node: int
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self):
        owner = type(self).__name__
        _set(self, "step", _as_step(owner, self.step))
        _set(self, "node", _as_node(owner, "node", self.node))
        if not isinstance(self.edges, (tuple, list)):
            raise ValueError(f"{owner}.edges: expected a sequence of pairs, got {self.edges!r}")
        edges = tuple(_as_edge(owner, "edges", e) for e in self.edges)
        for e in edges:
            if self.node not in e:
                raise ValueError(f"{owner}.edges: {e} is not incident to node {self.node}")
        _set(self, "edges", edges)

    def to_dict(self) -> dict:
        """JSON-ready dict, ``"kind"`` included (the inverse of :func:`event_from_dict`).

        Returns
        -------
        dict
        """
        return {"kind": self.kind, "step": self.step, "node": self.node,
                "edges": [list(e) for e in self.edges]}


#: Any structural event.
Event = Union[RelayInserted, EdgeAdded, EdgePruned, NodeRemoved]

#: Event class by its ``kind`` string.
EVENT_TYPES: dict[str, type] = {cls.kind: cls for cls in (RelayInserted, EdgeAdded, EdgePruned, NodeRemoved)}


def event_from_dict(d: dict) -> Event:
    """Rebuild an event from :meth:`to_dict` output (e.g. one line of ``events.jsonl``).

    Parameters
    ----------
    d : dict
        With ``"kind"`` and exactly the event's fields.

    Returns
    -------
    Event

    Raises
    ------
    ValueError
        On anything malformed: not a mapping, unknown ``kind``, a missing or unknown key, or
        a field of the wrong type or value.

    Examples
    --------
    >>> event_from_dict({"kind": "node_removed", "step": 30, "node": 4, "edges": [[0, 4]]})
    NodeRemoved(step=30, node=4, edges=((0, 4),))
    >>> event_from_dict({"kind": "edge_pruned", "step": 30, "edge": [0, 4]})
    Traceback (most recent call last):
    ...
    ValueError: edge_pruned: missing key(s) ['weight']
    """
    if not isinstance(d, dict):
        raise ValueError(f"expected a mapping, got {type(d).__name__}")
    kind = d.get("kind")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event kind {kind!r}; known: {sorted(EVENT_TYPES)}")
    cls = EVENT_TYPES[kind]
    expected = {f.name for f in fields(cls)}
    given = set(d) - {"kind"}
    missing, unknown = sorted(expected - given), sorted(given - expected)
    if missing:
        raise ValueError(f"{kind}: missing key(s) {missing}")
    if unknown:
        raise ValueError(f"{kind}: unknown key(s) {unknown}")
    return cls(**{name: d[name] for name in expected})


__all__ = ["RelayInserted", "EdgeAdded", "EdgePruned", "NodeRemoved", "Event", "EVENT_TYPES", "event_from_dict"]

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
from dataclasses import MISSING, dataclass, field, fields
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
    window : sequence of float, optional
        The window of ``i -> j`` that edge-driven growth judged unstable: its ``T`` weight
        updates, oldest first, as they were before the refractory rule cleared them. ``None``
        (the default) for a relay inserted without a judgement; then :meth:`to_dict` has no
        ``"window"`` key.

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
    window: tuple[float, ...] | None = field(default=None, repr=False)

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
        if self.window is not None:
            if not isinstance(self.window, (tuple, list)) or not self.window:
                raise ValueError(f"{owner}.window: expected a non-empty sequence of updates, got {self.window!r}")
            _set(self, "window", tuple(_as_weight(owner, "window", x) for x in self.window))

    def to_dict(self) -> dict:
        """JSON-ready dict, ``"kind"`` included (the inverse of :func:`event_from_dict`);
        ``"window"`` only when the event has one.

        Returns
        -------
        dict
        """
        d = {"kind": self.kind, "step": self.step, "edge": list(self.edge), "node": self.node,
             "weights": list(self.weights)}
        if self.window is not None:
            d["window"] = list(self.window)
        return d


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


# --- not an edit: what a pruning step judged ----------------------------------------------


@dataclass(frozen=True)
class PruneCandidates:
    """The candidate set ``W_t`` a pruning step judged, whether or not it pruned any of them.

    Not an event (it edits nothing, so it is not in :data:`EVENT_TYPES`): the record of one
    pruning step in ``prune_candidates.jsonl``, so a reader can see which edges were in the
    draw. The edges drawn, ``D_t``, are the :class:`EdgePruned` events of the same step.

    Parameters
    ----------
    step : int
        The pruning step ``t``.
    candidates : sequence of (u, v, weight, mu)
        ``W_t`` in sorted ``(u, v)`` order (index ``i`` is the index the pruning draw picks),
        each edge with its weight ``w_k`` and the mean ``mu_k`` of its window at judgement.

    Raises
    ------
    ValueError
        For a field of the wrong type or value, or candidates not in strictly increasing
        ``(u, v)`` order.

    Examples
    --------
    >>> rec = PruneCandidates(step=30, candidates=[(0, 4, 0.0125, -0.0004)])
    >>> rec.to_dict()
    {'step': 30, 'candidates': [[0, 4, 0.0125, -0.0004]]}
    >>> prune_candidates_from_dict(rec.to_dict()) == rec
    True
    """

    step: int
    candidates: tuple[tuple[int, int, float, float], ...]

    def __post_init__(self):
        owner = type(self).__name__
        _set(self, "step", _as_step(owner, self.step))
        if not isinstance(self.candidates, (tuple, list)):
            raise ValueError(f"{owner}.candidates: expected a sequence, got {self.candidates!r}")
        rows = []
        for c in self.candidates:
            if not isinstance(c, (tuple, list)) or len(c) != 4:
                raise ValueError(f"{owner}.candidates: a candidate must be [u, v, weight, mu], got {c!r}")
            u, v = _as_edge(owner, "candidates", c[:2])
            rows.append((u, v, _as_weight(owner, "candidates", c[2]), _as_weight(owner, "candidates", c[3])))
        if any(a[:2] >= b[:2] for a, b in zip(rows, rows[1:])):
            raise ValueError(f"{owner}.candidates: not in strictly increasing (u, v) order")
        _set(self, "candidates", tuple(rows))

    def to_dict(self) -> dict:
        """JSON-ready dict (the inverse of :func:`prune_candidates_from_dict`).

        Returns
        -------
        dict
        """
        return {"step": self.step, "candidates": [list(c) for c in self.candidates]}


def prune_candidates_from_dict(d: dict) -> PruneCandidates:
    """Rebuild a :class:`PruneCandidates` from :meth:`PruneCandidates.to_dict` output.

    Parameters
    ----------
    d : dict
        Exactly the keys ``step`` and ``candidates``.

    Returns
    -------
    PruneCandidates

    Raises
    ------
    ValueError
        On anything malformed.

    Examples
    --------
    >>> prune_candidates_from_dict({"step": 30, "candidates": [[0, 3]]})
    Traceback (most recent call last):
    ...
    ValueError: PruneCandidates.candidates: a candidate must be [u, v, weight, mu], got [0, 3]
    """
    if not isinstance(d, dict) or set(d) != {"step", "candidates"}:
        got = sorted(d) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"expected exactly the keys ['candidates', 'step'], got {got}")
    return PruneCandidates(step=d["step"], candidates=d["candidates"])


#: Any structural event.
Event = Union[RelayInserted, EdgeAdded, EdgePruned, NodeRemoved]

#: Event class by its ``kind`` string.
EVENT_TYPES: dict[str, type] = {cls.kind: cls for cls in (RelayInserted, EdgeAdded, EdgePruned, NodeRemoved)}


def event_from_dict(d: dict) -> Event:
    """Rebuild an event from :meth:`to_dict` output (e.g. one line of ``events.jsonl``).

    Parameters
    ----------
    d : dict
        With ``"kind"`` and the event's fields: every required one, no unknown one (a
        relay's ``window`` is optional).

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
    >>> event_from_dict({"kind": "edge_added", "step": 3, "edge": [0, 4], "weight": 0.1, "window": [0.5]})
    Traceback (most recent call last):
    ...
    ValueError: edge_added: unknown key(s) ['window']
    """
    if not isinstance(d, dict):
        raise ValueError(f"expected a mapping, got {type(d).__name__}")
    kind = d.get("kind")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event kind {kind!r}; known: {sorted(EVENT_TYPES)}")
    cls = EVENT_TYPES[kind]
    known = {f.name for f in fields(cls)}
    # a field with a default (a relay's window) is optional; the others are required
    required = {f.name for f in fields(cls) if f.default is MISSING}
    given = set(d) - {"kind"}
    missing, unknown = sorted(required - given), sorted(given - known)
    if missing:
        raise ValueError(f"{kind}: missing key(s) {missing}")
    if unknown:
        raise ValueError(f"{kind}: unknown key(s) {unknown}")
    return cls(**{name: d[name] for name in given})


__all__ = ["RelayInserted", "EdgeAdded", "EdgePruned", "NodeRemoved", "Event", "EVENT_TYPES", "event_from_dict",
           "PruneCandidates", "prune_candidates_from_dict"]

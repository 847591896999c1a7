"""What lived when: the node and edge lifetimes of a run, rebuilt from its logs.

A training run writes a topology snapshot every ``frame_every`` steps (``topology.jsonl``)
and every structural edit of the Structural Plasticity Module with its step
(``events.jsonl``). Together they fix the structure at **every** step: the structure at step
``t`` is the latest snapshot at or before ``t`` with the events of the steps after it, up to
and including ``t``, applied in order. The state "at step ``t``" is the one after step
``t``'s SPM step, the moment a snapshot of step ``t`` is taken.

:func:`build_history` does that once for the whole run and returns a :class:`RunHistory`:
one :class:`NodeSpan` per node and one :class:`EdgeSpan` per edge lifetime (an edge that is
pruned and later re-added by random growth has two), each alive on ``birth <= t < death``.
It checks the logs against each other on the way: the events between two snapshots must
lead from the first to the second exactly, or ``ValueError`` says where they part.

Weights and biases are known only where the run wrote them: at snapshot steps (to the
snapshot's precision) and at an element's birth (the event's weight; a relay's bias is
:data:`smgrnn_ref.spm.RELAY_BIAS`). Between those, the viewer shows the latest known value
and says from which step it is.

Examples
--------
>>> snaps = [{"step": 0, "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0]],
...           "edges": [[0, 1, 0.5]]},
...          {"step": 10, "nodes": [[0, "input", 0, None], [1, "output", 0, 0.1],
...           [2, "hidden", None, 0.0]], "edges": [[0, 1, 0.4], [0, 2, 0.01], [2, 1, -0.01]]}]
>>> events = [{"kind": "relay_inserted", "step": 4, "edge": [0, 1], "node": 2,
...            "weights": [0.01, -0.01]}]
>>> h = build_history(snaps, events)
>>> [(n.id, n.kind, n.birth, n.death) for n in h.nodes]
[(0, 'input', 0, None), (1, 'output', 0, None), (2, 'hidden', 4, None)]
>>> [(e.u, e.v, e.birth) for e in h.edges]
[(0, 1, 0), (0, 2, 4), (2, 1, 4)]
>>> h.alive_edges(3), h.weight_at(0, 7), h.weight_at(1, 7)
([0], (0.5, 0), (0.01, 4))
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..spm import RELAY_BIAS

__all__ = ["NodeSpan", "EdgeSpan", "RunHistory", "build_history", "snapshots_history"]


@dataclass(frozen=True)
class NodeSpan:
    """One node's life: alive on ``birth <= t < death`` (``death`` None: alive at the end)."""

    id: int
    kind: str
    index: int | None
    birth: int
    death: int | None = None


@dataclass(frozen=True)
class EdgeSpan:
    """One lifetime of the edge ``u -> v``: alive on ``birth <= t < death``."""

    u: int
    v: int
    birth: int
    death: int | None = None


@dataclass
class RunHistory:
    """Every node and edge lifetime of a run, with the weights and biases the logs hold.

    Attributes
    ----------
    nodes : list of NodeSpan
        Sorted by id (ids are never reused, so by birth too).
    edges : list of EdgeSpan
        In order of birth (then of the event or snapshot that made them).
    snapshot_steps : list of int
        Steps of the snapshots, ascending.
    last_step : int
        The last step the logs describe (last snapshot or last event).
    edge_samples : list of list of (int, float)
        Per edge span, ``(step, weight)`` at its birth and at every snapshot it is in.
    node_samples : dict of int to list of (int, float)
        Per non-input node, ``(step, bias)`` at its birth (relays) and at every snapshot.
    event_spans : list of tuple of int
        Per event, in the order of the log, the edge spans it touched (indices into
        :attr:`edges`): a relay ``(parent, i -> r, r -> j)``, an added or pruned edge
        ``(span,)``, a removed node the spans of its edges.
    """

    nodes: list[NodeSpan]
    edges: list[EdgeSpan]
    snapshot_steps: list[int]
    last_step: int
    edge_samples: list[list[tuple[int, float]]] = field(repr=False)
    node_samples: dict[int, list[tuple[int, float]]] = field(repr=False)
    event_spans: list[tuple[int, ...]] = field(repr=False, default_factory=list)

    def alive_nodes(self, t: int) -> list[int]:
        """Ids of the nodes alive at step ``t``, ascending."""
        return [n.id for n in self.nodes if _alive(n.birth, n.death, t)]

    def alive_edges(self, t: int) -> list[int]:
        """Indices (into :attr:`edges`) of the edge spans alive at step ``t``."""
        return [k for k, e in enumerate(self.edges) if _alive(e.birth, e.death, t)]

    def weight_at(self, k: int, t: int) -> tuple[float, int]:
        """``(weight, step it was recorded at)``: edge span ``k``'s latest known weight at ``t``."""
        return _latest(self.edge_samples[k], t, f"edge span {k}")

    def bias_at(self, node: int, t: int) -> tuple[float, int]:
        """``(bias, step it was recorded at)``: the node's latest known bias at step ``t``."""
        return _latest(self.node_samples.get(node, []), t, f"node {node}")


def _alive(birth: int, death: int | None, t: int) -> bool:
    return birth <= t and (death is None or t < death)


def _latest(samples, t, what):
    i = bisect.bisect_right([s for s, _ in samples], t) - 1
    if i < 0:
        raise ValueError(f"{what}: nothing recorded at or before step {t}")
    step, value = samples[i]
    return value, step


class _Builder:
    """The structure while the logs are replayed: living nodes and edges, and every span."""

    def __init__(self):
        self.nodes: dict[int, dict] = {}  # id -> {"kind", "index", "birth", "death"}
        self.alive_nodes: set[int] = set()
        self.edges: list[list] = []  # [u, v, birth, death]
        self.alive_edges: dict[tuple[int, int], int] = {}  # (u, v) -> span index
        self.edge_samples: list[list[tuple[int, float]]] = []
        self.node_samples: dict[int, list[tuple[int, float]]] = {}
        self.event_spans: list[tuple[int, ...]] = []

    def add_node(self, nid, kind, index, t, where):
        if nid in self.nodes:
            raise ValueError(f"{where}: node {nid} is born twice (node ids are never reused)")
        self.nodes[nid] = {"kind": kind, "index": index, "birth": t, "death": None}
        self.alive_nodes.add(nid)

    def add_edge(self, u, v, t, weight, where):
        if (u, v) in self.alive_edges:
            raise ValueError(f"{where}: edge {u} -> {v} is added but already exists")
        for n in (u, v):
            if n not in self.alive_nodes:
                raise ValueError(f"{where}: edge {u} -> {v} names node {n}, which is not alive")
        self.alive_edges[(u, v)] = len(self.edges)
        self.edges.append([u, v, t, None])
        self.edge_samples.append([] if weight is None else [(t, float(weight))])
        return len(self.edges) - 1

    def end_edge(self, u, v, t, where):
        k = self.alive_edges.pop((u, v), None)
        if k is None:
            raise ValueError(f"{where}: edge {u} -> {v} is removed but does not exist")
        self.edges[k][3] = t
        return k

    def end_node(self, nid, t, where):
        if nid not in self.alive_nodes:
            raise ValueError(f"{where}: node {nid} is removed but is not alive")
        self.alive_nodes.discard(nid)
        self.nodes[nid]["death"] = t

    def apply(self, ev: Mapping, where: str) -> None:
        """One event of ``events.jsonl`` (already checked by :func:`_check_event`)."""
        kind, t = ev["kind"], ev["step"]
        if kind == "relay_inserted":
            (i, j), r = ev["edge"], ev["node"]
            if (i, j) not in self.alive_edges:
                raise ValueError(f"{where}: relay {r} on edge {i} -> {j}, which does not exist")
            self.add_node(r, "hidden", None, t, where)
            self.node_samples[r] = [(t, RELAY_BIAS)]
            spans = (self.alive_edges[(i, j)], self.add_edge(i, r, t, ev["weights"][0], where),
                     self.add_edge(r, j, t, ev["weights"][1], where))
        elif kind == "edge_added":
            spans = (self.add_edge(*ev["edge"], t, ev["weight"], where),)
        elif kind == "edge_pruned":
            spans = (self.end_edge(*ev["edge"], t, where),)
        elif kind == "node_removed":
            nid = ev["node"]
            listed = {tuple(e) for e in ev["edges"]}
            incident = {e for e in self.alive_edges if nid in e}
            if listed != incident:
                raise ValueError(f"{where}: node {nid} is removed with edges {sorted(listed)}, "
                                 f"but its edges are {sorted(incident)}")
            spans = tuple(self.end_edge(u, v, t, where) for u, v in sorted(listed))
            self.end_node(nid, t, where)
        else:
            raise ValueError(f"{where}: unknown event kind {kind!r}")
        self.event_spans.append(spans)

    def start(self, snap: Mapping) -> None:
        t = snap["step"]
        for nid, kind, index, bias in snap["nodes"]:
            self.add_node(nid, kind, index, t, f"snapshot at step {t}")
            if bias is not None:
                self.node_samples[nid] = [(t, float(bias))]
        for u, v, w in snap["edges"]:
            self.add_edge(u, v, t, w, f"snapshot at step {t}")

    def jump_to(self, snap: Mapping) -> None:
        """Without events: what differs from ``snap`` ends, or is born, at its step."""
        t, where = snap["step"], f"snapshot at step {snap['step']}"
        nodes = {rec[0]: rec for rec in snap["nodes"]}
        edges = {(u, v): w for u, v, w in snap["edges"]}
        for u, v in sorted(set(self.alive_edges) - set(edges)):
            self.end_edge(u, v, t, where)
        for nid in sorted(self.alive_nodes - set(nodes)):
            self.end_node(nid, t, where)
        for nid in sorted(set(nodes) - self.alive_nodes):
            self.add_node(nid, nodes[nid][1], nodes[nid][2], t, where)
        for u, v in sorted(set(edges) - set(self.alive_edges)):
            self.add_edge(u, v, t, edges[(u, v)], where)

    def check_and_sample(self, snap: Mapping, since: int) -> None:
        """The replayed structure must equal ``snap``'s; then record its weights and biases."""
        t = snap["step"]
        nodes = {rec[0] for rec in snap["nodes"]}
        edges = {(u, v) for u, v, _ in snap["edges"]}
        if nodes != self.alive_nodes or edges != set(self.alive_edges):
            parts = []
            for name, got, want in (("nodes", self.alive_nodes, nodes), ("edges", set(self.alive_edges), edges)):
                if got - want:
                    parts.append(f"{name} {sorted(got - want)[:5]} are not in the snapshot")
                if want - got:
                    parts.append(f"snapshot {name} {sorted(want - got)[:5]} were never added")
            raise ValueError(f"the events of steps {since + 1}..{t} do not lead to the snapshot of step {t}: "
                             + "; ".join(parts))
        for nid, kind, index, bias in snap["nodes"]:
            known = self.nodes[nid]
            if known["kind"] != kind or (kind != "hidden" and known["index"] != index):
                raise ValueError(f"snapshot at step {t}: node {nid} is {kind} {index}, "
                                 f"but was born {known['kind']} {known['index']}")
            if bias is not None:
                _record(self.node_samples.setdefault(nid, []), t, bias)
        for u, v, w in snap["edges"]:
            _record(self.edge_samples[self.alive_edges[(u, v)]], t, w)


def _record(samples: list, t: int, value) -> None:
    """Append ``(t, value)``; a snapshot of the step an element was born at replaces the
    event's sample (one sample per step: the state after the step, as the snapshot wrote it)."""
    if samples and samples[-1][0] == t:
        samples[-1] = (t, float(value))
    else:
        samples.append((t, float(value)))


def _check_event(ev, lineno) -> dict:
    """The fields :class:`_Builder` reads; a clear ``ValueError`` naming the line otherwise."""
    where = f"events.jsonl line {lineno}"
    if not isinstance(ev, Mapping) or not isinstance(ev.get("step"), int) or isinstance(ev.get("step"), bool):
        raise ValueError(f"{where}: not an event with an integer 'step': {ev!r}")
    need = {"relay_inserted": ("edge", "node", "weights"), "edge_added": ("edge", "weight"),
            "edge_pruned": ("edge", "weight"), "node_removed": ("node", "edges")}.get(ev.get("kind"))
    if need is None:
        raise ValueError(f"{where}: unknown event kind {ev.get('kind')!r}")
    missing = [k for k in need if k not in ev]
    if missing:
        raise ValueError(f"{where}: {ev['kind']} lacks {missing}")
    return ev


def _snapshot_steps(snapshots: list) -> list[int]:
    """The snapshots' steps, checked: at least one snapshot, in increasing step order."""
    if not snapshots:
        raise ValueError("no topology snapshot: the run wrote no topology.jsonl line")
    steps = [s["step"] for s in snapshots]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"topology snapshots are not in increasing step order: {steps[:10]}...")
    return steps


def build_history(snapshots: Sequence[Mapping], events: Iterable[Mapping]) -> RunHistory:
    """Replay a run's logs: every node and edge lifetime, checked snapshot by snapshot.

    Parameters
    ----------
    snapshots : sequence of dict
        The records of ``topology.jsonl`` (``{"step", "nodes", "edges"}``), in step order.
    events : iterable of dict
        The records of ``events.jsonl`` (``{"kind", "step", ...}``), in the order written.

    Returns
    -------
    RunHistory

    Raises
    ------
    ValueError
        No snapshot; snapshots or events out of step order; an event that does not fit the
        structure (a relay on a missing edge, a node born twice, ...); or a snapshot the
        events before it do not lead to.
    """
    snapshots = list(snapshots)
    steps = _snapshot_steps(snapshots)
    events = [_check_event(ev, i) for i, ev in enumerate(events, start=1)]
    for i in range(1, len(events)):
        if events[i]["step"] < events[i - 1]["step"]:
            raise ValueError(f"events.jsonl line {i + 1}: step {events[i]['step']} after step {events[i - 1]['step']}")
    if events and events[0]["step"] <= steps[0]:
        raise ValueError(f"events.jsonl line 1: step {events[0]['step']} is not after the first snapshot's {steps[0]}")
    b = _Builder()
    b.start(snapshots[0])
    k = 0
    for prev, snap in zip(steps, snapshots[1:]):
        while k < len(events) and events[k]["step"] <= snap["step"]:
            b.apply(events[k], f"events.jsonl line {k + 1}")
            k += 1
        b.check_and_sample(snap, prev)
    for k in range(k, len(events)):  # a run cut after its last snapshot
        b.apply(events[k], f"events.jsonl line {k + 1}")
    last = max(steps[-1], events[-1]["step"] if events else steps[-1])
    return _history(b, steps, last)


def _history(b: _Builder, steps: list[int], last: int) -> RunHistory:
    nodes = [NodeSpan(nid, d["kind"], d["index"], d["birth"], d["death"]) for nid, d in sorted(b.nodes.items())]
    edges = [EdgeSpan(u, v, t0, t1) for u, v, t0, t1 in b.edges]
    return RunHistory(nodes, edges, steps, last, b.edge_samples, b.node_samples, b.event_spans)


def snapshots_history(snapshots: Sequence[Mapping]) -> RunHistory:
    """The lifetimes a list of snapshots alone shows: a node or edge is born at the first
    snapshot that has it and dies at the first one that no longer has it.

    For snapshots without their run's events (a list drawn by :func:`smgrnn_ref.viz.render_frames`,
    an estimator's recorded graphs); :func:`build_history` is exact between snapshots.

    Parameters
    ----------
    snapshots : sequence of dict
        Topology records (``{"step", "nodes", "edges"}``), in increasing step order.

    Returns
    -------
    RunHistory
        With no :attr:`RunHistory.event_spans`.

    Raises
    ------
    ValueError
        No snapshot, snapshots out of step order, or a node that changes kind or index.

    Examples
    --------
    >>> a = {"step": 0, "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0]], "edges": [[0, 1, 0.5]]}
    >>> b = {"step": 5, "nodes": a["nodes"] + [[2, "hidden", None, 0.0]], "edges": [[0, 2, 0.1], [2, 1, 0.1]]}
    >>> [(e.u, e.v, e.birth, e.death) for e in snapshots_history([a, b]).edges]
    [(0, 1, 0, 5), (0, 2, 5, None), (2, 1, 5, None)]
    """
    snapshots = list(snapshots)
    steps = _snapshot_steps(snapshots)
    b = _Builder()
    b.start(snapshots[0])
    for prev, snap in zip(steps, snapshots[1:]):
        b.jump_to(snap)
        b.check_and_sample(snap, prev)
    return _history(b, steps, steps[-1])

"""Pictures of a growing network: topology snapshots, a stable layout, frames, GIFs, curves.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via
Local Structural Plasticity", arXiv 2512.12713) trains a controller whose graph
``G_t = (V_t, E_t)`` changes while it learns: the Structural Plasticity Module inserts relay
nodes on unstable edges, adds random exploratory edges and prunes weak, stagnant edges and
orphan hidden nodes. This module makes that process visible.

* :func:`snapshot` turns a live graph into a small JSON-ready record; a training run appends
  one record per frame as one line of ``topology.jsonl`` (:func:`write_snapshot`,
  :func:`read_snapshots`).
* :class:`StableLayout` gives every node a position it keeps for its whole life, so an
  animation shows the graph growing rather than re-shuffling.
* :func:`draw` draws one graph; :func:`render_frames` and :func:`animate` turn a list of
  snapshots into PNG frames and a GIF (or MP4) with the changes since the previous frame
  highlighted (:func:`diff_snapshots`).
* :func:`plot_training` and :func:`plot_runs` plot ``metrics.csv`` files: return and network
  size against training step.

Nothing here changes a graph; drawing is independent of training. Functions that create their
own figure use :class:`matplotlib.figure.Figure` directly (not ``pyplot``), so a long loop of
frames never accumulates open figures and no GUI backend is needed.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph, add_hidden_node, add_edge
>>> G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0), weight_scale=0.5)
>>> before = snapshot(G, step=0)
>>> r = add_hidden_node(G)
>>> add_edge(G, 0, r, 0.01); add_edge(G, r, 2, -0.01)
>>> d = diff_snapshots(before, snapshot(G, step=1))
>>> d["added_nodes"], d["added_edges"], d["removed_edges"]
([3], [(0, 3), (3, 2)], [])
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import networkx as nx
import numpy as np

from .graph import KINDS

__all__ = [
    "snapshot",
    "snapshot_to_graph",
    "write_snapshot",
    "read_snapshots",
    "diff_snapshots",
    "StableLayout",
    "draw",
    "legend_handles",
    "render_frames",
    "animate",
    "read_metrics",
    "plot_training",
    "plot_runs",
    "seed_band",
    "TOPOLOGY_FILE",
    "METRICS_FILE",
    "REQUIRED_METRICS",
    "ARROW_EDGE_LIMIT",
]

#: File name of the per-frame topology log inside a run directory.
TOPOLOGY_FILE = "topology.jsonl"
#: File name of the training metrics table inside a run directory.
METRICS_FILE = "metrics.csv"

# Okabe-Ito colours: distinguishable with the common forms of colour blindness.
NODE_COLORS = {"input": "#F0E442", "hidden": "#CC79A7", "output": "#E69F00"}
POSITIVE_COLOR = "#0072B2"  # blue
NEGATIVE_COLOR = "#D55E00"  # vermillion
ADDED_COLOR = "#009E73"  # green
GHOST_COLOR = "#9a9a9a"  # grey, for pruned nodes and edges

# The layout lives in the unit square (inputs at x=0, outputs at x=1); this fixed extent
# leaves room for the "in i" / "out j" labels and never depends on the frame's content,
# so nodes keep their place on screen from frame to frame.
XLIM = (-0.16, 1.16)
YLIM = (-0.06, 1.06)

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...: consecutive ids give well-spread values
_SQRT2 = math.sqrt(2.0) - 1.0


def _frac(x: float) -> float:
    return x - math.floor(x)


# --------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------


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


def _check_snapshot(snap) -> None:
    """Raise ``ValueError`` describing the first way ``snap`` is not a topology record."""
    if not isinstance(snap, Mapping):
        raise ValueError(f"a snapshot must be a JSON object, got {type(snap).__name__}")
    missing = [k for k in ("step", "nodes", "edges") if k not in snap]
    if missing:
        raise ValueError(f"snapshot is missing key(s) {missing}")
    if not _is_int(snap["step"]):
        raise ValueError(f"snapshot 'step' must be an integer, got {snap['step']!r}")
    if not isinstance(snap["nodes"], (list, tuple)) or not isinstance(snap["edges"], (list, tuple)):
        raise ValueError("snapshot 'nodes' and 'edges' must be lists")
    ids = set()
    for rec in snap["nodes"]:
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
    for rec in snap["edges"]:
        if not isinstance(rec, (list, tuple)) or len(rec) != 3:
            raise ValueError(f"edge record {rec!r} is not [u, v, weight]")
        u, v, w = rec
        if not (_is_int(u) and _is_int(v)) or not _is_num(w):
            raise ValueError(f"edge record {rec!r}: expected [int, int, number]")
        if u not in ids or v not in ids:
            raise ValueError(f"edge {u} -> {v} names a node that is not in the snapshot")


def snapshot_to_graph(snap: Mapping) -> nx.DiGraph:
    """Rebuild a drawable ``DiGraph`` (attributes ``kind``, ``index``, ``bias``, ``weight``).

    The result carries no optimizer state: it is for drawing and inspection, not training.
    ``G.graph["step"]`` holds the snapshot's step.

    >>> G = snapshot_to_graph({"step": 3, "nodes": [[0, "input", 0, None],
    ...                        [1, "output", 0, 0.5]], "edges": [[0, 1, -0.2]]})
    >>> G.graph["step"], G.nodes[1]["bias"], G.edges[0, 1]["weight"], "bias" in G.nodes[0]
    (3, 0.5, -0.2, False)
    """
    _check_snapshot(snap)
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
    """
    _check_snapshot(snap)
    line = json.dumps(snap, allow_nan=False, separators=(",", ":"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of a whole line: a reader never sees half a record from a finished write.
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_snapshots(path) -> list[dict]:
    """Read every snapshot of a ``topology.jsonl`` file (blank lines are skipped).

    Raises
    ------
    ValueError
        Naming the file and the 1-based line number of the first malformed record (for
        example the truncated last line of a run that was killed mid-write).
    """
    path = Path(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                snap = json.loads(line)
                _check_snapshot(snap)
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                raise ValueError(f"{path}: line {lineno}: malformed topology record: {err}") from None
            out.append(snap)
    return out


def _edge_set(snap) -> set:
    return {(int(u), int(v)) for u, v, _ in snap["edges"]}


def _node_set(snap) -> set:
    return {int(rec[0]) for rec in snap["nodes"]}


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


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


def _as_graph(G) -> nx.DiGraph:
    return snapshot_to_graph(G) if isinstance(G, Mapping) else G


class StableLayout:
    """Node positions that never change while a node lives.

    A force-directed layout recomputed per frame would move every node whenever one edge
    changes; an animation of a growing network would then show only jitter. Here a node is
    placed once, the first time :meth:`update` sees it, and keeps that position until it dies.

    Placement rules (all deterministic, no random state):

    * input nodes at ``x = 0`` and output nodes at ``x = 1``, spread in ``y`` by ``index``
      (index 0 at the top): ``y = 1 - (index + 0.5) / count``;
    * new hidden nodes are visited in id order (ids are never reused, so this is birth
      order). A node whose *older* neighbours (fixed nodes and hidden nodes with a smaller
      id) include at least one predecessor and one successor, all already placed (the typical
      relay ``i -> r -> j`` inserted by edge-driven growth), goes between them: at the
      midpoint of the mean predecessor position and the mean successor position, shifted by
      a small offset derived from its id. The ``x`` shift is a fraction (at most 20 %) of the
      predecessor-to-successor distance, so a relay stays strictly between its endpoints in
      ``x``; the ``y`` shift is at most 0.07. Several relays on the same edge therefore do not
      coincide;
    * any other new hidden node (no placed older neighbour on one side, for example the nodes
      of an MLP-like layered graph first seen all at once) gets ``x`` from its depth (longest
      path from the inputs, on the condensation if there are cycles, normalised to
      ``(0, 1)``) and ``y`` from its id (a golden-ratio sequence, which spreads consecutive
      ids evenly).

    Because only older neighbours count, a layout made in one go from a grown graph equals
    the one built frame by frame, provided no edge to an older node was added, or removed,
    after a node's birth.

    Dead nodes are dropped from :attr:`positions` but their last position is kept in
    :attr:`retired`, so a pruned node or edge can still be drawn as a ghost (ids are never
    reused, so this is unambiguous).

    Examples
    --------
    >>> import numpy as np
    >>> from smgrnn_ref.graph import initial_graph, add_hidden_node, add_edge
    >>> G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0))
    >>> lay = StableLayout()
    >>> pos = lay.update(G)
    >>> pos[0], pos[1], pos[2]
    ((0.0, 0.75), (0.0, 0.25), (1.0, 0.5))
    >>> r = add_hidden_node(G); add_edge(G, 0, r, 0.01); add_edge(G, r, 2, 0.01)
    >>> 0.0 < lay.update(G)[r][0] < 1.0
    True
    >>> G.remove_node(r)
    >>> r in lay.update(G), r in lay.retired
    (False, True)
    """

    #: Largest relative ``x`` shift of a relay (fraction of the endpoint distance).
    X_JITTER = 0.2
    #: Largest absolute ``y`` shift of a relay.
    Y_JITTER = 0.07

    def __init__(self) -> None:
        self._pos: dict[int, tuple[float, float]] = {}
        self._retired: dict[int, tuple[float, float]] = {}

    @property
    def positions(self) -> dict[int, tuple[float, float]]:
        """Positions of the living nodes seen by the last :meth:`update` (a copy)."""
        return dict(self._pos)

    @property
    def retired(self) -> dict[int, tuple[float, float]]:
        """Last positions of nodes that have died (a copy), for drawing pruned ghosts."""
        return dict(self._retired)

    def position(self, n: int) -> tuple[float, float]:
        """Position of a living or retired node; ``KeyError`` if it was never placed."""
        if n in self._pos:
            return self._pos[n]
        return self._retired[n]

    @classmethod
    def _offset(cls, n: int) -> tuple[float, float]:
        # Two different irrational multipliers so the x and y shifts are unrelated; both lie
        # in the open interval (-1, 1) times the jitter.
        ox = cls.X_JITTER * (2.0 * _frac(n * _SQRT2 + 0.5) - 1.0)
        oy = cls.Y_JITTER * (2.0 * _frac(n * _GOLDEN + 0.5) - 1.0)
        return ox, oy

    @staticmethod
    def _depths(G: nx.DiGraph) -> dict:
        """Longest-path depth from the sources, computed on the condensation (cycle-safe)."""
        C = nx.condensation(G)
        depth_c: dict[int, int] = {}
        for c in nx.topological_sort(C):
            preds = list(C.predecessors(c))
            depth_c[c] = 1 + max(depth_c[p] for p in preds) if preds else 0
        return {n: depth_c[C.graph["mapping"][n]] for n in G.nodes}

    def update(self, G) -> dict[int, tuple[float, float]]:
        """Place the nodes of ``G`` not seen before, forget the dead ones, return positions.

        A node already placed and still in ``G`` is never moved.

        Parameters
        ----------
        G : networkx.DiGraph or dict
            The current graph (or its snapshot).

        Returns
        -------
        dict
            ``{node: (x, y)}`` for every node of ``G`` (a copy).
        """
        G = _as_graph(G)
        alive = set(G.nodes)
        for n in [n for n in self._pos if n not in alive]:
            self._retired[n] = self._pos.pop(n)

        new = sorted(n for n in G.nodes if n not in self._pos)
        if not new:
            return self.positions
        kinds = dict(G.nodes(data="kind"))
        for kind, x in (("input", 0.0), ("output", 1.0)):
            members = [n for n in G.nodes if kinds[n] == kind]
            for n in members:
                if n not in self._pos:
                    y = 1.0 - (G.nodes[n]["index"] + 0.5) / len(members)
                    self._pos[n] = (x, y)

        pending = [n for n in new if n not in self._pos]
        # Relays, in id order (= order of birth): a node is placed from its *older*
        # neighbours (fixed nodes, or hidden nodes with a smaller id). At birth a relay's only
        # neighbours are its two endpoints, which are older, so this is the relay rule; and
        # since it ignores edges to nodes born later, a layout made fresh from a grown graph
        # matches the one built frame by frame (as long as no edge was added to an older node
        # or removed later), so a plain ``draw(G)`` looks like the last frame of the movie.
        deferred = []
        for n in pending:
            preds = [p for p in G.predecessors(n) if p != n and (kinds[p] != "hidden" or p < n)]
            succs = [s for s in G.successors(n) if s != n and (kinds[s] != "hidden" or s < n)]
            if not preds or not succs or not all(m in self._pos for m in preds + succs):
                deferred.append(n)
                continue
            xp, yp = np.mean([self._pos[p] for p in preds], axis=0)
            xs, ys = np.mean([self._pos[s] for s in succs], axis=0)
            ox, oy = self._offset(n)
            x = xp + (0.5 + ox) * (xs - xp)
            y = 0.5 * (yp + ys) + oy
            self._pos[n] = (float(x), float(min(max(y, 0.0), 1.0)))
        pending = deferred
        if pending:
            # Everything left is placed at once by depth. Placing the deferred nodes one by one
            # and resuming the relay rule would collapse, e.g., the second layer of an MLP onto
            # one midpoint; placed together they form columns. A node whose older neighbour
            # is deferred is deferred too, so such a subgraph is drawn consistently layered.
            depth = self._depths(G)
            out_depth = [depth[n] for n in G.nodes if kinds[n] == "output"]
            hid_depth = [depth[n] + 1 for n in G.nodes if kinds[n] == "hidden"]
            D = max(out_depth + hid_depth + [1])
            for n in pending:
                x = min(max(depth[n] / D, 0.05), 0.95)
                y = 0.05 + 0.9 * _frac(n * _GOLDEN)
                self._pos[n] = (float(x), float(y))
        return self.positions


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

NODE_SIZE = {"input": 240.0, "output": 240.0, "hidden": 170.0}


def _edge_width(w: float, clip: float) -> float:
    # Width grows with |w| up to ``clip`` and then saturates: one large weight must not
    # flood the picture, and a fixed clip (not per-frame normalisation) keeps widths
    # comparable between frames.
    return 0.4 + 2.6 * min(abs(w) / clip, 1.0)


#: Above this many edges :func:`draw` uses straight lines without arrowheads by default:
#: one arrow patch per edge takes seconds per frame for thousands of edges.
ARROW_EDGE_LIMIT = 400


def _draw_edges(ax, segs, colors, widths, *, arrows, ls="-", alpha=0.75, zorder=1.0, shrink=6.0):
    """Draw directed edges ``segs = [((x0, y0), (x1, y1)), ...]`` in one style."""
    if not segs:
        return
    if not arrows:
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segs, colors=colors, linewidths=widths, linestyles=ls,
                                         alpha=alpha, zorder=zorder))
        return
    from matplotlib.patches import FancyArrowPatch

    for (p, q), color, lw in zip(segs, colors, widths):
        # A slight arc separates a relay path i -> r -> j from the kept edge i -> j, and the
        # two directions of a 2-cycle bend to opposite sides.
        ax.add_patch(FancyArrowPatch(
            p, q, arrowstyle="-|>", mutation_scale=7 + 1.5 * lw, connectionstyle="arc3,rad=0.12",
            color=color, linewidth=lw, linestyle=ls, alpha=alpha, shrinkA=shrink, shrinkB=shrink,
            zorder=zorder,
        ))


def legend_handles():
    """Legend entries of :func:`draw` (node kinds, weight sign, added, pruned), for a figure
    of several panels that wants one shared legend (``fig.legend(handles=legend_handles())``)."""
    from matplotlib.lines import Line2D

    def node(kind):
        return Line2D([], [], ls="", marker="o", ms=8, mfc=NODE_COLORS[kind], mec="black", label=kind)

    return [
        node("input"),
        node("hidden"),
        node("output"),
        Line2D([], [], color=POSITIVE_COLOR, lw=2, label="weight > 0"),
        Line2D([], [], color=NEGATIVE_COLOR, lw=2, label="weight < 0"),
        Line2D([], [], color=ADDED_COLOR, lw=2, marker="o", ms=8, mfc="none", mec=ADDED_COLOR,
               mew=2, label="added"),
        Line2D([], [], color=GHOST_COLOR, lw=1.5, ls="--", marker="o", ms=8, mfc="none",
               mec=GHOST_COLOR, label="pruned"),
    ]


def draw(
    G,
    ax=None,
    layout: StableLayout | None = None,
    *,
    added_edges: Iterable = (),
    removed_edges: Iterable = (),
    added_nodes: Iterable = (),
    removed_nodes: Iterable | Mapping | None = None,
    title: str | None = None,
    weight_clip: float = 2.0,
    node_labels: bool | None = None,
    arrows: bool | None = None,
    legend: bool = True,
):
    """Draw one SMGrNN graph.

    Nodes are coloured by kind; edges are blue for positive and vermillion for negative
    weights, with a width growing with ``|weight|`` up to ``weight_clip``. Added nodes get a
    thick green ring and added edges are drawn green. Removed nodes and edges are drawn as
    dashed grey ghosts at their old positions. A legend (kinds, weight sign, added, pruned)
    is placed under the axes.

    Parameters
    ----------
    G : networkx.DiGraph or dict
        The graph (live, or rebuilt by :func:`snapshot_to_graph`) or a snapshot.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new ``pyplot`` figure when omitted.
    layout : StableLayout, optional
        Positions. It is updated with ``G`` if its living nodes differ from ``G``'s. To draw
        pruned ghosts, use the same layout for the previous frame: it then still knows the
        old position of a removed node (:attr:`StableLayout.retired`). A fresh layout is
        made when omitted.
    added_edges, removed_edges : iterable of (u, v)
        Edges to highlight as new / to draw as pruned ghosts.
    added_nodes : iterable of int
        Nodes to highlight as new.
    removed_nodes : iterable of int, or mapping ``{id: (x, y)}``, optional
        Pruned nodes to draw as ghosts; ids are looked up in ``layout`` (living then
        retired positions); a mapping gives the positions explicitly.
    title : str, optional
        Axes title.
    weight_clip : float
        ``|weight|`` at which the edge width saturates.
    node_labels : bool, optional
        Write hidden node ids inside the nodes; by default only when there are at most 60
        hidden nodes (beyond that the labels are unreadable).
    arrows : bool, optional
        Curved edges with arrowheads (default when there are at most
        :data:`ARROW_EDGE_LIMIT` edges) or straight lines without heads (faster, for large
        graphs; most edges point left to right anyway).
    legend : bool
        Draw the legend (on by default; every figure of the project has one).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a removed node or an endpoint of a removed edge has no known position.
    """
    G = _as_graph(G)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 6.4))
        fig.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.13)
    if layout is None:
        layout = StableLayout()
    if set(layout.positions) != set(G.nodes):
        layout.update(G)
    pos = layout.positions

    ghost_pos: dict = {}
    if removed_nodes is None:
        removed_nodes = ()
    if isinstance(removed_nodes, Mapping):
        ghost_pos.update({n: tuple(p) for n, p in removed_nodes.items()})
        removed_ids = list(removed_nodes)
    else:
        removed_ids = list(removed_nodes)

    def where(n):
        if n in pos:
            return pos[n]
        if n in ghost_pos:
            return ghost_pos[n]
        try:
            return layout.position(n)
        except KeyError:
            raise ValueError(
                f"no position known for removed node {n}: draw the previous frame's graph with "
                "the same StableLayout first, or pass removed_nodes as {id: (x, y)}"
            ) from None

    added_edges = {(int(u), int(v)) for u, v in added_edges}
    added_nodes = {int(n) for n in added_nodes}
    kinds = dict(G.nodes(data="kind"))
    hidden = [n for n in G.nodes if kinds[n] == "hidden"]
    n_edges = G.number_of_edges()
    if arrows is None:
        arrows = n_edges <= ARROW_EDGE_LIMIT
    # Large graphs: smaller hidden nodes and fainter edges, or the picture is a solid blot.
    size_h = NODE_SIZE["hidden"] * min(1.0, max(0.2, math.sqrt(40.0 / max(len(hidden), 1))))
    edge_alpha = 0.75 * min(1.0, max(0.25, math.sqrt(200.0 / max(n_edges, 1))))
    shrink = 0.5 * math.sqrt(size_h)

    # Ghosts first, underneath everything alive.
    removed_edges = list(removed_edges)
    _draw_edges(ax, [(where(u), where(v)) for u, v in removed_edges], [GHOST_COLOR] * len(removed_edges),
                [1.2] * len(removed_edges), arrows=arrows, ls="--", alpha=0.8, zorder=0, shrink=shrink)
    if removed_ids:
        xy = np.array([where(n) for n in removed_ids], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=size_h * 1.3, facecolors="none",
                   edgecolors=GHOST_COLOR, linewidths=1.5, linestyles="--", zorder=2)

    old_e, new_e = ([], [], []), ([], [], [])
    for u, v, w in G.edges(data="weight"):
        w = 0.0 if w is None else float(w)
        lw = _edge_width(w, weight_clip)
        if (u, v) in added_edges:
            group, color, lw = new_e, ADDED_COLOR, max(lw, 1.8)
        else:
            group, color = old_e, POSITIVE_COLOR if w >= 0 else NEGATIVE_COLOR
        group[0].append((pos[u], pos[v]))
        group[1].append(color)
        group[2].append(lw)
    _draw_edges(ax, *old_e, arrows=arrows, alpha=edge_alpha, zorder=1.0, shrink=shrink)
    _draw_edges(ax, *new_e, arrows=arrows, alpha=0.95, zorder=1.5, shrink=shrink)

    for kind in KINDS:
        members = sorted(n for n in G.nodes if kinds[n] == kind)
        if not members:
            continue
        xy = np.array([pos[n] for n in members], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=size_h if kind == "hidden" else NODE_SIZE[kind],
                   c=NODE_COLORS[kind], edgecolors="black", linewidths=0.8, zorder=3)
    fresh = sorted(n for n in added_nodes if n in pos)
    if fresh:
        xy = np.array([pos[n] for n in fresh], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=max(size_h, 60.0) * 2.2, facecolors="none",
                   edgecolors=ADDED_COLOR, linewidths=2.5, zorder=4)

    # Inputs and outputs are named by their index (their column / logit), not by node id.
    for n in G.nodes:
        x, y = pos[n]
        if kinds[n] == "input":
            ax.text(x - 0.03, y, f"in {G.nodes[n].get('index', n)}", ha="right", va="center", fontsize=8)
        elif kinds[n] == "output":
            ax.text(x + 0.03, y, f"out {G.nodes[n].get('index', n)}", ha="left", va="center", fontsize=8)
    if node_labels is None:
        node_labels = len(hidden) <= 60
    if node_labels:
        for n in hidden:
            ax.text(*pos[n], str(n), ha="center", va="center", fontsize=6.5, zorder=5)

    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=11)
    if legend:
        ax.legend(handles=legend_handles(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=7, fontsize=8, frameon=False, handlelength=1.8, columnspacing=1.2)
    return ax


# --------------------------------------------------------------------------------------------
# Frames and animations
# --------------------------------------------------------------------------------------------


def _frame_title(snap) -> str:
    kinds = [rec[1] for rec in snap["nodes"]]
    return f"step {snap['step']}: {kinds.count('hidden')} hidden nodes, {len(snap['edges'])} edges"


def _diff_caption(d) -> str:
    return (
        f"+{len(d['added_nodes'])} nodes, +{len(d['added_edges'])} edges, "
        f"-{len(d['removed_nodes'])} nodes, -{len(d['removed_edges'])} edges since previous frame"
    )


def render_frames(
    snapshots: Sequence[Mapping],
    out_dir,
    *,
    layout: StableLayout | None = None,
    dpi: int = 100,
    figsize: tuple[float, float] = (8.0, 6.4),
    weight_clip: float = 2.0,
) -> list[Path]:
    """Write one PNG per snapshot, ``frame_0000.png``, ``frame_0001.png``, ... in ``out_dir``.

    Each frame is titled ``"step N: H hidden nodes, E edges"`` and highlights the difference
    with the previous snapshot (added in green, pruned as grey ghosts); the first frame has
    no highlights. All frames share one :class:`StableLayout`, the same figure size and the
    same axis extent, so nodes stay in place and the frames can be stacked into a video.
    Existing files of the same names are overwritten; other files are left alone.

    Returns
    -------
    list of pathlib.Path
        The frame files, in order.
    """
    from matplotlib.figure import Figure

    snapshots = list(snapshots)
    if not snapshots:
        raise ValueError("render_frames needs at least one snapshot")
    for i, snap in enumerate(snapshots):
        try:
            _check_snapshot(snap)
        except ValueError as err:
            raise ValueError(f"snapshot {i}: {err}") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = StableLayout() if layout is None else layout
    n = len(snapshots)
    paths = []
    prev = None
    for i, snap in enumerate(snapshots):
        G = snapshot_to_graph(snap)
        layout.update(G)
        d = diff_snapshots(prev, snap) if prev is not None else diff_snapshots(snap, snap)
        fig = Figure(figsize=figsize, dpi=dpi)
        # Fixed axes rectangle (no tight bbox): every frame has the same pixel size and the
        # same data-to-pixel mapping.
        ax = fig.add_axes((0.02, 0.12, 0.96, 0.80))
        draw(G, ax, layout, added_edges=d["added_edges"], removed_edges=d["removed_edges"],
             added_nodes=d["added_nodes"], removed_nodes=d["removed_nodes"],
             title=_frame_title(snap), weight_clip=weight_clip)
        caption = _diff_caption(d) if prev is not None else "first frame"
        fig.text(0.02, 0.015, caption, fontsize=7, color="#444444", ha="left", va="bottom")
        # The frame counter also makes every frame distinct, so GIF writers that merge
        # identical consecutive frames keep one frame per snapshot.
        fig.text(0.98, 0.015, f"frame {i + 1}/{n}", fontsize=7, color="#444444", ha="right", va="bottom")
        path = out_dir / f"frame_{i:04d}.png"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
        prev = snap
    return paths


def _resolve_snapshots(source) -> list[dict]:
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            p = p / TOPOLOGY_FILE
        if not p.is_file():
            raise FileNotFoundError(f"no topology log at {p}")
        return read_snapshots(p)
    return list(source)


def _ffmpeg_exe() -> str | None:
    """Path of an ffmpeg executable (system, or the imageio-ffmpeg wheel), or ``None``."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or its bundled binary is missing
        return None


def animate(
    source,
    out_path,
    *,
    fps: float = 4.0,
    dpi: int = 100,
    every: int = 1,
    layout: StableLayout | None = None,
    frames_dir=None,
) -> Path:
    """Animate the topology of a run: a GIF, or an MP4 when ``out_path`` ends with ``.mp4``.

    Parameters
    ----------
    source : path or list of dict
        A run directory (its ``topology.jsonl`` is read), a path to a ``topology.jsonl``
        file, or a list of snapshots.
    out_path : path
        ``*.gif`` (written with Pillow) or ``*.mp4`` (needs ffmpeg: a system binary or the
        ``imageio-ffmpeg`` package).
    fps : float
        Frames per second.
    dpi : int
        Resolution of the frames (the figure is 8 x 6.4 inches).
    every : int
        Keep one snapshot in ``every``; highlights then show the change since the previous
        kept snapshot. GIF frames are held in memory, so thin out long runs.
    layout : StableLayout, optional
        Layout to continue from.
    frames_dir : path, optional
        Keep the PNG frames there; by default they go to a temporary directory.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    RuntimeError
        For ``.mp4`` when no ffmpeg is available (checked before rendering anything).
    ValueError
        For another suffix, no snapshots, or a malformed topology log.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"animate writes .gif or .mp4, not {out_path.name!r}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not _is_int(every) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    ffmpeg = None
    if suffix == ".mp4":
        ffmpeg = _ffmpeg_exe()
        if ffmpeg is None:
            raise RuntimeError(
                "writing MP4 needs ffmpeg, which was not found (no `ffmpeg` on PATH and no "
                "imageio-ffmpeg package); install one of them or write a .gif instead"
            )
    snaps = _resolve_snapshots(source)[::every]
    if not snaps:
        raise ValueError("no snapshots to animate")
    out_path.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="smgrnn_frames_") as tmp:
        fdir = Path(frames_dir) if frames_dir is not None else Path(tmp)
        paths = render_frames(snaps, fdir, layout=layout, dpi=dpi)
        if suffix == ".gif":
            _write_gif(paths, out_path, fps)
        else:
            _write_mp4(ffmpeg, paths, out_path, fps)
    return out_path


def _write_gif(paths: Sequence[Path], out_path: Path, fps: float) -> None:
    from PIL import Image

    # One palette for the whole animation (taken from the first frame, whose legend already
    # shows every colour used): per-frame palettes make colours flicker.
    with Image.open(paths[0]) as im0:
        palette = im0.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    frames = []
    for p in paths:
        with Image.open(p) as im:
            frames.append(im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE))
    frames[0].save(
        out_path,
        save_all=True,
        append_images=frames[1:],
        duration=max(int(round(1000.0 / fps)), 20),
        loop=0,
        disposal=1,
    )


def _write_mp4(ffmpeg: str, paths: Sequence[Path], out_path: Path, fps: float) -> None:
    # The frames are numbered consecutively from 0 in one directory (render_frames), which is
    # what ffmpeg's image2 pattern expects.
    pattern = str(Path(paths[0]).parent / "frame_%04d.png")
    cmd = [
        ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{fps:g}", "-i", pattern,
        "-frames:v", str(len(paths)),
        # H.264 with yuv420p needs even dimensions.
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        str(out_path),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({res.returncode}): {res.stderr.strip()[-2000:]}")


# --------------------------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------------------------

#: Columns :func:`plot_training` and :func:`plot_runs` need in a metrics table.
REQUIRED_METRICS = ("step", "eval_return_mean", "eval_return_std", "hidden_nodes", "edges")


def read_metrics(source) -> dict[str, np.ndarray]:
    """Read a ``metrics.csv`` into ``{column: float array}`` (no pandas).

    Parameters
    ----------
    source : path or mapping
        A CSV file, a run directory holding ``metrics.csv``, or an already loaded mapping of
        columns (returned as float arrays).

    Empty cells (for example the return on steps without an evaluation) become ``NaN``.
    Non-numeric columns are kept as arrays of strings.

    Raises
    ------
    ValueError
        If the file has no header, a row has the wrong number of cells, or a required
        column (:data:`REQUIRED_METRICS`) is missing.

    Examples
    --------
    >>> m = read_metrics({"step": [0, 10], "eval_return_mean": [1, 2], "eval_return_std": [0, 1],
    ...                   "hidden_nodes": [0, 3], "edges": [4, 9]})
    >>> m["edges"]
    array([4., 9.])
    """
    if isinstance(source, Mapping):
        cols = {}
        for k, v in source.items():
            arr = np.asarray(v)
            cols[k] = arr.astype(float) if arr.dtype.kind in "biuf" else arr
        origin = "metrics table"
    else:
        p = Path(source)
        if p.is_dir():
            p = p / METRICS_FILE
        origin = str(p)
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ValueError(f"{p}: empty file, expected a header row")
            header = [h.strip() for h in header]
            rows = []
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise ValueError(f"{p}: line {lineno}: {len(row)} cells, header has {len(header)}")
                rows.append(row)
        cols = {}
        for j, name in enumerate(header):
            raw = [r[j].strip() for r in rows]
            try:
                cols[name] = np.array([float(x) if x != "" else np.nan for x in raw], dtype=float)
            except ValueError:
                cols[name] = np.array(raw, dtype=object)
    missing = [c for c in REQUIRED_METRICS if c not in cols]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}; have {sorted(cols)}")
    return cols


def _finite(x, *ys):
    m = np.isfinite(x)
    for y in ys:
        m &= np.isfinite(y)
    return m


def plot_training(metrics, out_path=None, *, title: str | None = None, dpi: int = 120):
    """Plot one run: return against step (with a +/- std band) and network size against step.

    Parameters
    ----------
    metrics : path or mapping
        ``metrics.csv``, a run directory, or a mapping of columns (see :func:`read_metrics`).
    out_path : path, optional
        Save the figure there (format from the suffix).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the step axis: evaluation return (mean line, mean +/- std band;
        rows without an evaluation are skipped), and hidden nodes (left axis) with edges
        (right axis).
    """
    from matplotlib.figure import Figure

    m = read_metrics(metrics)
    step = m["step"]
    fig = Figure(figsize=(7.5, 6.0), dpi=dpi, layout="constrained")
    ax_r, ax_n = fig.subplots(2, 1, sharex=True)

    mu, sd = m["eval_return_mean"], m["eval_return_std"]
    ok = _finite(step, mu)
    sd_ok = np.where(np.isfinite(sd), sd, 0.0)
    ax_r.fill_between(step[ok], (mu - sd_ok)[ok], (mu + sd_ok)[ok], color=POSITIVE_COLOR, alpha=0.2,
                      linewidth=0, label="mean ± std")
    ax_r.plot(step[ok], mu[ok], color=POSITIVE_COLOR, marker="o" if ok.sum() <= 30 else None, ms=3,
              label="eval return (mean)")
    ax_r.set_ylabel("evaluation return")
    ax_r.grid(alpha=0.3)
    ax_r.legend(loc="best", fontsize=8)

    h, e = m["hidden_nodes"], m["edges"]
    okh, oke = _finite(step, h), _finite(step, e)
    l1 = ax_n.plot(step[okh], h[okh], color=NODE_COLORS["hidden"], lw=2, label="hidden nodes")
    ax_n.set_ylabel("hidden nodes", color="#8a3d6b")
    ax_e = ax_n.twinx()
    l2 = ax_e.plot(step[oke], e[oke], color="#555555", lw=1.5, ls="--", label="edges")
    ax_e.set_ylabel("edges", color="#555555")
    ax_n.set_xlabel("training step")
    ax_n.set_ylim(bottom=0)
    ax_e.set_ylim(bottom=0)
    ax_n.grid(alpha=0.3)
    ax_n.legend(handles=l1 + l2, loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_path, dpi=dpi)
    return fig


def seed_band(tables, column):
    """Common step grid of several seeds and the per-seed values of ``column`` on it.

    Seeds may log at different steps; each seed's finite values are linearly interpolated
    onto the union of their steps, restricted to the range every seed covers (no
    extrapolation). Used for the mean +- std bands of :func:`plot_runs` and of the report.

    Parameters
    ----------
    tables : list of dict of numpy.ndarray
        One metrics table per seed (as :func:`read_metrics` returns), each with a ``"step"``
        column and ``column``.
    column : str

    Returns
    -------
    (grid, Y) : numpy.ndarray, numpy.ndarray
        The steps, shape ``(n,)``, and the values, shape ``(n_seeds, n)``.

    Examples
    --------
    >>> a = {"step": np.array([0.0, 10.0, 20.0]), "x": np.array([0.0, 1.0, 2.0])}
    >>> b = {"step": np.array([5.0, 15.0]), "x": np.array([4.0, 6.0])}
    >>> grid, Y = seed_band([a, b], "x")  # steps both cover: 5 to 15
    >>> grid.tolist(), Y.tolist()
    ([5.0, 10.0, 15.0], [[0.5, 1.0, 1.5], [4.0, 5.0, 6.0]])
    """
    series = []
    for t in tables:
        ok = _finite(t["step"], t[column])
        s, y = t["step"][ok], t[column][ok]
        order = np.argsort(s, kind="stable")
        series.append((s[order], y[order]))
    if any(len(s) == 0 for s, _ in series):
        return np.array([]), np.empty((len(series), 0))
    lo = max(s[0] for s, _ in series)
    hi = min(s[-1] for s, _ in series)
    grid = np.unique(np.concatenate([s for s, _ in series]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    return grid, np.array([np.interp(grid, s, y) for s, y in series])


def plot_runs(
    tables: Sequence,
    labels: Sequence[str],
    out_path=None,
    *,
    band: str = "std",
    log_size: bool = False,
    title: str | None = None,
    dpi: int = 120,
):
    """Compare variants over seeds: mean curve and seed band of return, hidden nodes, edges.

    Parameters
    ----------
    tables : sequence of path or mapping
        One metrics table per run (see :func:`read_metrics`).
    labels : sequence of str
        One label per table; tables sharing a label are seeds of the same variant and are
        aggregated (mean curve, band across seeds). Variants keep their first-seen order.
    out_path : path, optional
        Save the figure there.
    band : {"std", "minmax"}
        Band across seeds: mean +/- standard deviation, or min to max.
    log_size : bool
        Logarithmic y axis for the size panels (growth-only runs are far larger).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the step axis: evaluation return (per-seed mean return), hidden
        nodes, edges.
    """
    from matplotlib.figure import Figure

    if len(tables) != len(labels):
        raise ValueError(f"{len(tables)} tables but {len(labels)} labels")
    if not tables:
        raise ValueError("plot_runs needs at least one table")
    if band not in ("std", "minmax"):
        raise ValueError(f"band must be 'std' or 'minmax', got {band!r}")
    groups: dict[str, list] = {}
    for t, lab in zip(tables, labels):
        groups.setdefault(str(lab), []).append(read_metrics(t))

    fig = Figure(figsize=(7.5, 8.0), dpi=dpi, layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    panels = (("eval_return_mean", "evaluation return"), ("hidden_nodes", "hidden nodes"), ("edges", "edges"))
    import matplotlib

    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for gi, (lab, tabs) in enumerate(groups.items()):
        color = cycle[gi % len(cycle)]
        for ax, (col, _) in zip(axes, panels):
            grid, Y = seed_band(tabs, col)
            if grid.size == 0:
                continue
            mean = Y.mean(axis=0)
            if band == "std":
                lo, hi = mean - Y.std(axis=0), mean + Y.std(axis=0)
            else:
                lo, hi = Y.min(axis=0), Y.max(axis=0)
            if col != "eval_return_mean":
                lo = np.maximum(lo, 0.0)  # sizes are counts: a std band must not dip below 0
            ax.fill_between(grid, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(grid, mean, color=color, lw=1.8, label=f"{lab} (n={len(tabs)})")
    for ax, (_, ylabel) in zip(axes, panels):
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes[1:]:
        if log_size:
            # symlog rather than log: a static run has zero hidden nodes
            ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0)
    axes[-1].set_xlabel("training step")
    band_txt = "mean ± std over seeds" if band == "std" else "mean, min–max over seeds"
    axes[0].legend(loc="best", fontsize=8, title=band_txt, title_fontsize=8)
    if title:
        fig.suptitle(title)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_path, dpi=dpi)
    return fig

"""Drawing one SMGrNN graph: nodes by kind, edges by weight sign and size, changes highlighted.

:func:`draw` draws a live graph or a snapshot on a Matplotlib axes at the positions of a
layered layout (:mod:`smgrnn_ref.viz.layout`: a run's, shared by its frames, its GIF and its
viewer, or the graph's own); added nodes and edges are green, pruned ones grey dashed ghosts
at their old place, labelled with their id. Nodes are sized as the viewer sizes them
(:func:`~smgrnn_ref.viz.layered_layout.node_radius` of the room round their place on this
axes), so no two nodes that live at the same time overlap. The drawing is built in layers,
each a small function below: ghosts underneath, then the marked edges (pruning candidates,
relay parents), the living edges, the nodes, the labels, the axes and the legend.

Examples
--------
>>> import numpy as np
>>> from matplotlib.figure import Figure
>>> from smgrnn_ref.graph import initial_graph
>>> ax = Figure().subplots()
>>> _ = draw(initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0)), ax)
>>> [t.get_text() for t in ax.get_legend().get_texts()][:3]
['input', 'hidden', 'output']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np

from ..graph import KINDS
from .layered_layout import NODE_RADIUS, Layout, node_radius, place_rooms
from .layout import as_graph, graph_layout
from .style import (
    ADDED_COLOR,
    CANDIDATE_COLOR,
    GHOST_COLOR,
    NEGATIVE_COLOR,
    NODE_COLORS,
    PARENT_COLOR,
    POSITIVE_COLOR,
    XLIM,
    YLIM,
)

#: Above this many edges :func:`draw` uses straight lines without arrowheads by default:
#: one arrow patch per edge takes seconds per frame for thousands of edges.
ARROW_EDGE_LIMIT = 400

#: Node ids are written inside nodes whose radius is at least this many pixels (the viewer's
#: rule, ``LABEL_RADIUS`` in ``viewer/static/render.js``).
LABEL_RADIUS_PX = 6.5


def _edge_width(w: float, clip: float) -> float:
    # Width grows with |w| up to ``clip`` and then saturates: one large weight must not
    # flood the picture, and a fixed clip (not per-frame normalisation) keeps widths
    # comparable between frames.
    return 0.4 + 2.6 * min(abs(w) / clip, 1.0)


def _draw_edges(ax, segs, colors, widths, *, arrows, ls="-", alpha=0.75, zorder=1.0, shrink=6.0, head="-|>"):
    """Draw directed edges ``segs = [((x0, y0), (x1, y1)), ...]`` in one style (``arrows``:
    as arcs ending in ``head``, else straight lines)."""
    if not segs:
        return
    if not arrows:
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segs, colors=colors, linewidths=widths, linestyles=ls,
                                         alpha=alpha, zorder=zorder, capstyle="round"))
        return
    from matplotlib.patches import FancyArrowPatch

    for (p, q), color, lw in zip(segs, colors, widths):
        # A slight arc separates a relay path i -> r -> j from the kept edge i -> j, and the
        # two directions of a 2-cycle bend to opposite sides.
        ax.add_patch(FancyArrowPatch(
            p, q, arrowstyle=head, mutation_scale=7 + 1.5 * lw, connectionstyle="arc3,rad=0.12",
            color=color, linewidth=lw, linestyle=ls, alpha=alpha, shrinkA=shrink, shrinkB=shrink,
            zorder=zorder,
        ))


def legend_handles(*, parents: bool = False, candidates: bool = False):
    """Legend entries of :func:`draw` (node kinds, weight sign, added, pruned; on request the
    relay's parent edge and the pruning candidates), for a figure of several panels that wants
    one shared legend (``fig.legend(handles=legend_handles())``)."""
    from matplotlib.lines import Line2D

    def node(kind):
        return Line2D([], [], ls="", marker="o", ms=8, mfc=NODE_COLORS[kind], mec="black", label=kind)

    handles = [
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
    if parents:
        handles.append(Line2D([], [], color=PARENT_COLOR, lw=6, alpha=0.8, label="relay's parent edge"))
    if candidates:
        handles.append(Line2D([], [], color=CANDIDATE_COLOR, lw=6, alpha=0.8, label="pruning candidate"))
    return handles


def draw(
    G,
    ax=None,
    layout: Layout | Mapping | None = None,
    *,
    added_edges: Iterable = (),
    removed_edges: Iterable = (),
    added_nodes: Iterable = (),
    removed_nodes: Iterable | Mapping | None = None,
    candidate_edges: Iterable = (),
    parent_edges: Iterable = (),
    title: str | None = None,
    weight_clip: float = 2.0,
    node_labels: bool | None = None,
    arrows: bool | None = None,
    legend: bool = True,
):
    """Draw one SMGrNN graph.

    Nodes are coloured by kind and labelled by id (a hidden node inside, while it is large
    enough; an input or output beside it, its index second: ``0 (in 0)``, ``4 (out 0)``); edges are blue for positive
    and vermillion for negative weights, with a width growing with ``|weight|`` up to
    ``weight_clip``. Added nodes get a thick green ring and added edges are drawn green.
    Removed nodes and edges are dashed grey ghosts at their old positions, the nodes labelled
    with their id. Pruning candidates get a sky-blue halo and a relay's parent edge a yellow
    one (as in the viewer). A legend is placed under the axes.

    Parameters
    ----------
    G : networkx.DiGraph or dict
        The graph (live, or rebuilt by :func:`smgrnn_ref.rundir.snapshot_to_graph`) or a snapshot.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new ``pyplot`` figure when omitted.
    layout : Layout or mapping, optional
        Positions in the unit square (a :class:`~smgrnn_ref.viz.layered_layout.Layout`, or
        ``{node: (x, y)}``) of every node drawn, ghosts included: to draw several graphs of
        one run, pass the run's layout (:func:`~smgrnn_ref.viz.layout.run_layout`,
        :func:`~smgrnn_ref.viz.layout.snapshots_layout`) to each, so nodes keep their place
        and have one size. By default the layered layout of ``G`` alone.
    added_edges, removed_edges : iterable of (u, v)
        Edges to highlight as new / to draw as pruned ghosts.
    added_nodes : iterable of int
        Nodes to highlight as new.
    removed_nodes : iterable of int, or mapping ``{id: (x, y)}``, optional
        Pruned nodes to draw as ghosts; ids are looked up in ``layout``; a mapping gives the
        positions explicitly.
    candidate_edges, parent_edges : iterable of (u, v)
        Edges to mark as pruning candidates / as a relay's parent (living or removed).
    title : str, optional
        Axes title.
    weight_clip : float
        ``|weight|`` at which the edge width saturates.
    node_labels : bool, optional
        Write node ids inside the nodes; by default while the nodes are large enough.
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
        If a node drawn (living, or a ghost) has no position in ``layout``.
    """
    G = as_graph(G)
    if ax is None:
        ax = _new_axes()
    pos = _positions(G, layout)
    removed_nodes = () if removed_nodes is None else removed_nodes
    if isinstance(removed_nodes, Mapping):
        pos = {**pos, **{int(n): tuple(p) for n, p in removed_nodes.items()}}
    removed_ids = sorted(int(n) for n in removed_nodes)
    removed_edges = [(int(u), int(v)) for u, v in removed_edges]
    missing = sorted({n for n in [*G.nodes, *removed_ids, *(x for e in removed_edges for x in e)] if n not in pos})
    if missing:
        raise ValueError(f"no position known for node(s) {missing[:5]}: pass the layout of the whole run "
                         "(viz.run_layout / viz.snapshots_layout), or removed_nodes as {id: (x, y)}")
    kinds = dict(G.nodes(data="kind"))
    scale = _Scale.of(ax, pos, kinds, G.number_of_edges(), arrows)
    # Ghosts first, underneath everything alive.
    _draw_ghosts(ax, pos, removed_edges, removed_ids, scale)
    candidate_edges, parent_edges = list(candidate_edges), list(parent_edges)
    _draw_marks(ax, pos, candidate_edges, parent_edges, scale)
    _draw_weighted_edges(ax, G, pos, {(int(u), int(v)) for u, v in added_edges}, weight_clip, scale)
    _draw_nodes(ax, G, pos, kinds, {int(n) for n in added_nodes}, scale)
    _draw_labels(ax, G, pos, kinds, removed_ids, scale, node_labels)
    _style_axes(ax, title, legend, parents=bool(parent_edges), candidates=bool(candidate_edges))
    return ax


def _positions(G, layout) -> dict:
    if layout is None:
        return dict(graph_layout(G).positions)
    return dict(layout.positions if isinstance(layout, Layout) else layout)


def _new_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6.4))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.13)
    return ax


class _Scale(NamedTuple):
    """Sizes on this axes: a node's radius in pixels (the viewer's rule: a fraction of the
    room round its place, one size for all hidden nodes) and how it converts to points."""

    hidden_px: float
    fixed_px: float
    pt_per_px: float
    edge_alpha: float
    arrows: bool

    @classmethod
    def of(cls, ax, pos: dict, kinds: dict, n_edges: int, arrows: bool | None) -> "_Scale":
        box = ax.get_position()  # the axes in figure fractions: pixels from the figure's size
        fig = ax.figure
        w_px, h_px = box.width * fig.get_figwidth() * fig.dpi, box.height * fig.get_figheight() * fig.dpi
        sx, sy = w_px / (XLIM[1] - XLIM[0]), h_px / (YLIM[1] - YLIM[0])
        room = place_rooms({n: (x * sx, y * sy) for n, (x, y) in pos.items()})
        # every node the layout places counts (ghosts, nodes of other frames): one size for
        # the whole run, as the viewer draws it
        far = 2 * NODE_RADIUS["max"] / NODE_RADIUS["fill"]
        hidden_px = node_radius(min((room[n] for n in pos if kinds.get(n, "hidden") == "hidden"), default=far))
        # inputs and outputs: one size too, as large as the closest of them allows
        fixed_px = max(hidden_px, node_radius(min((room[n] for n in pos if kinds.get(n, "hidden") != "hidden"),
                                                  default=far)))
        if arrows is None:
            arrows = n_edges <= ARROW_EDGE_LIMIT
        edge_alpha = 0.75 * min(1.0, max(0.25, (200.0 / max(n_edges, 1)) ** 0.5))
        return cls(hidden_px, fixed_px, 72.0 / fig.dpi, edge_alpha, arrows)

    def radius_px(self, kind: str) -> float:
        """A node's radius: one for the hidden nodes, one for the inputs and outputs (at least
        the hidden one); each at most ``fill`` of the room round the places, so two
        neighbours never touch."""
        return self.hidden_px if kind == "hidden" else self.fixed_px

    def size(self, kind: str) -> float:
        """Marker area (points^2) of a node (:meth:`radius_px`)."""
        return (2 * self.radius_px(kind) * self.pt_per_px) ** 2

    @property
    def shrink(self) -> float:
        """Points an edge stops short of a node's centre."""
        return self.hidden_px * self.pt_per_px


def _draw_ghosts(ax, pos, removed_edges: list, removed_ids: list, scale: _Scale) -> None:
    """Pruned edges and nodes, dashed grey at their last position."""
    _draw_edges(ax, [(pos[u], pos[v]) for u, v in removed_edges], [GHOST_COLOR] * len(removed_edges),
                [1.2] * len(removed_edges), arrows=scale.arrows, ls="--", alpha=0.8, zorder=0,
                shrink=scale.shrink)
    if removed_ids:
        xy = np.array([pos[n] for n in removed_ids], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=scale.size("hidden") * 1.3, facecolors="none",
                   edgecolors=GHOST_COLOR, linewidths=1.5, linestyles="--", zorder=2)


def _draw_marks(ax, pos, candidates: list, parents: list, scale: "_Scale") -> None:
    """Wide translucent halos under the edges, along the same arcs: sky blue for pruning
    candidates, yellow for a relay's parent edge (the viewer's colours)."""
    for edges, color in ((candidates, CANDIDATE_COLOR), (parents, PARENT_COLOR)):
        segs = [(pos[int(u)], pos[int(v)]) for u, v in edges]
        _draw_edges(ax, segs, [color] * len(segs), [7.0] * len(segs), arrows=scale.arrows, alpha=0.7,
                    zorder=0.5, shrink=scale.shrink, head="-")


def _draw_weighted_edges(ax, G, pos: dict, added_edges: set, weight_clip: float, scale: _Scale) -> None:
    """The living edges: blue / vermillion by sign, width by ``|w|``; added ones green, on top."""
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
    _draw_edges(ax, *old_e, arrows=scale.arrows, alpha=scale.edge_alpha, zorder=1.0, shrink=scale.shrink)
    _draw_edges(ax, *new_e, arrows=scale.arrows, alpha=0.95, zorder=1.5, shrink=scale.shrink)


def _draw_nodes(ax, G, pos: dict, kinds: dict, added_nodes: set, scale: _Scale) -> None:
    """Nodes coloured by kind, one scatter per kind; a thick green ring around added ones."""
    for kind in KINDS:
        members = sorted(n for n in G.nodes if kinds[n] == kind)
        if not members:
            continue
        xy = np.array([pos[n] for n in members], dtype=float)
        sizes = scale.size(kind)
        ax.scatter(xy[:, 0], xy[:, 1], s=sizes, c=NODE_COLORS[kind], edgecolors="black",
                   linewidths=0.8 if scale.hidden_px >= 3 or kind != "hidden" else 0.4, zorder=3)
    fresh = sorted(n for n in added_nodes if n in G)
    if fresh:
        xy = np.array([pos[n] for n in fresh], dtype=float)
        ring = (2 * (max(scale.hidden_px, 3.0) + 3.0) * scale.pt_per_px) ** 2
        ax.scatter(xy[:, 0], xy[:, 1], s=ring, facecolors="none", edgecolors=ADDED_COLOR, linewidths=2.5, zorder=4)


def node_name(G, n) -> str:
    """A node's label: its id, and for an input or output its index second.

    The id is how the text, the events and the viewer name a node; the index says which
    column of the input batch (``in i``) or which logit (``out j``) it is.

    Parameters
    ----------
    G : networkx.DiGraph
    n : int
        A node of ``G``.

    Returns
    -------
    str

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_hidden_node
    >>> G = empty_graph(2, 1); h = add_hidden_node(G)
    >>> node_name(G, 1), node_name(G, 2), node_name(G, h)
    ('1 (in 1)', '2 (out 0)', '3')
    """
    kind = G.nodes[n].get("kind")
    if kind == "input":
        return f"{n} (in {G.nodes[n].get('index', n)})"
    if kind == "output":
        return f"{n} (out {G.nodes[n].get('index', n)})"
    return str(n)


def _draw_labels(ax, G, pos: dict, kinds: dict, ghosts: list, scale: _Scale, node_labels: bool | None) -> None:
    """Every node is named by its id, as the text and the events name it: a hidden node inside
    (while it is large enough), an input or output beside it as ``id (in i)`` / ``id (out j)``,
    its index second (the column of the input batch / the position of the logit); every ghost
    by its id beside it."""
    for n in G.nodes:
        x, y = pos[n]
        r = scale.radius_px(kinds[n])
        if kinds[n] == "hidden" and ((r >= LABEL_RADIUS_PX) if node_labels is None else node_labels):
            ax.text(x, y, str(n), ha="center", va="center", fontsize=max(5.0, min(8.0, 1.1 * r * scale.pt_per_px)),
                    zorder=5)
        # Inputs and outputs: always named (they are few), by id, then by index.
        if kinds[n] == "input":
            ax.text(x - 0.035, y, node_name(G, n), ha="right", va="center", fontsize=7.5)
        elif kinds[n] == "output":
            ax.text(x + 0.035, y, node_name(G, n), ha="left", va="center", fontsize=7.5)
    for n in ghosts:
        x, y = pos[n]
        ax.annotate(str(n), (x, y), xytext=(scale.shrink + 2, scale.shrink + 2), textcoords="offset points",
                    fontsize=6.5, color="#555555", zorder=5,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})


def _style_axes(ax, title: str | None, legend: bool, parents: bool = False, candidates: bool = False) -> None:
    """The fixed extent, no ticks or spines, the title and the legend under the axes."""
    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=11)
    if legend:
        handles = legend_handles(parents=parents, candidates=candidates)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=7 if len(handles) <= 7 else 5, fontsize=8, frameon=False, handlelength=1.8,
                  columnspacing=1.2)


__all__ = ["ARROW_EDGE_LIMIT", "LABEL_RADIUS_PX", "draw", "legend_handles", "node_name"]

"""Drawing one SMGrNN graph: nodes by kind, edges by weight sign and size, changes highlighted.

:func:`draw` draws a live graph or a snapshot on a Matplotlib axes at the positions of a
:class:`~smgrnn_ref.viz.layout.StableLayout`; added nodes and edges are green, pruned ones grey
dashed ghosts at their old place. The drawing is built in layers, each a small function below:
ghosts underneath, then the living edges, the nodes, the labels, the axes and the legend.

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

import math
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np

from ..graph import KINDS
from .layout import StableLayout, as_graph
from .style import ADDED_COLOR, GHOST_COLOR, NEGATIVE_COLOR, NODE_COLORS, NODE_SIZE, POSITIVE_COLOR, XLIM, YLIM

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
        The graph (live, or rebuilt by :func:`smgrnn_ref.rundir.snapshot_to_graph`) or a snapshot.
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
    G = as_graph(G)
    if ax is None:
        ax = _new_axes()
    if layout is None:
        layout = StableLayout()
    if set(layout.positions) != set(G.nodes):
        layout.update(G)
    pos = layout.positions
    where, removed_ids = _ghost_positions(pos, layout, removed_nodes)
    added_edges = {(int(u), int(v)) for u, v in added_edges}
    added_nodes = {int(n) for n in added_nodes}
    kinds = dict(G.nodes(data="kind"))
    hidden = [n for n in G.nodes if kinds[n] == "hidden"]
    scale = _Scale.of(len(hidden), G.number_of_edges(), arrows)
    # Ghosts first, underneath everything alive.
    _draw_ghosts(ax, where, list(removed_edges), removed_ids, scale)
    _draw_weighted_edges(ax, G, pos, added_edges, weight_clip, scale)
    _draw_nodes(ax, G, pos, kinds, added_nodes, scale.hidden_size)
    _draw_labels(ax, G, pos, kinds, hidden, node_labels)
    _style_axes(ax, title, legend)
    return ax


def _new_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6.4))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.13)
    return ax


def _ghost_positions(pos: dict, layout: StableLayout, removed_nodes):
    """``where(n)``, the position of a living or removed node, and the removed node ids."""
    ghost_pos: dict = {}
    if removed_nodes is None:
        removed_nodes = ()
    if isinstance(removed_nodes, Mapping):
        ghost_pos.update({n: tuple(p) for n, p in removed_nodes.items()})
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

    return where, removed_ids


class _Scale(NamedTuple):
    """Sizes that adapt to the graph: large graphs get smaller hidden nodes and fainter edges,
    or the picture is a solid blot."""

    hidden_size: float
    edge_alpha: float
    shrink: float
    arrows: bool

    @classmethod
    def of(cls, n_hidden: int, n_edges: int, arrows: bool | None) -> "_Scale":
        if arrows is None:
            arrows = n_edges <= ARROW_EDGE_LIMIT
        size_h = NODE_SIZE["hidden"] * min(1.0, max(0.2, math.sqrt(40.0 / max(n_hidden, 1))))
        edge_alpha = 0.75 * min(1.0, max(0.25, math.sqrt(200.0 / max(n_edges, 1))))
        return cls(size_h, edge_alpha, 0.5 * math.sqrt(size_h), arrows)


def _draw_ghosts(ax, where, removed_edges: list, removed_ids: list, scale: _Scale) -> None:
    """Pruned edges and nodes, dashed grey at their last position."""
    _draw_edges(ax, [(where(u), where(v)) for u, v in removed_edges], [GHOST_COLOR] * len(removed_edges),
                [1.2] * len(removed_edges), arrows=scale.arrows, ls="--", alpha=0.8, zorder=0,
                shrink=scale.shrink)
    if removed_ids:
        xy = np.array([where(n) for n in removed_ids], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=scale.hidden_size * 1.3, facecolors="none",
                   edgecolors=GHOST_COLOR, linewidths=1.5, linestyles="--", zorder=2)


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


def _draw_nodes(ax, G, pos: dict, kinds: dict, added_nodes: set, size_h: float) -> None:
    """Nodes coloured by kind; a thick green ring around added ones."""
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


def _draw_labels(ax, G, pos: dict, kinds: dict, hidden: list, node_labels: bool | None) -> None:
    """``in i`` / ``out j`` beside the fixed nodes; hidden ids inside small enough graphs."""
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


def _style_axes(ax, title: str | None, legend: bool) -> None:
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
        ax.legend(handles=legend_handles(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=7, fontsize=8, frameon=False, handlelength=1.8, columnspacing=1.2)


__all__ = ["ARROW_EDGE_LIMIT", "draw", "legend_handles"]

"""Pictures of a growing network: one run-wide layout, drawings, frames, GIFs, training curves.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via
Local Structural Plasticity", arXiv 2512.12713) trains a controller whose graph
``G_t = (V_t, E_t)`` changes while it learns: the Structural Plasticity Module inserts relay
nodes on unstable edges, adds random exploratory edges and prunes weak, stagnant edges and
orphan hidden nodes. This package makes that process visible, one concern per module:

* :mod:`~smgrnn_ref.viz.history`: :func:`build_history`, every node and edge lifetime of a
  run rebuilt from its snapshots and events (checked against each other);
* :mod:`~smgrnn_ref.viz.layered_layout`: :func:`layered_layout` places every node a run ever
  had, once: layers by depth, places ordered against crossings, no two living nodes
  overlapping, no node moving while it lives;
* :mod:`~smgrnn_ref.viz.layout`: :func:`run_layout` (a run directory's layout, the one its PNG
  frames, GIF and viewer share), :func:`snapshots_layout`, :func:`graph_layout`;
* :mod:`~smgrnn_ref.viz.drawing`: :func:`draw` draws one graph (changes, pruning candidates and
  relay parents highlighted), :func:`legend_handles` its legend;
* :mod:`~smgrnn_ref.viz.animation`: :func:`render_frames` and :func:`animate` turn a list of
  snapshots into PNG frames and a GIF (or MP4) with the changes since the previous frame
  highlighted;
* :mod:`~smgrnn_ref.viz.plots`: :func:`plot_training` and :func:`plot_runs` plot ``metrics.csv``
  files (return and network size against training step), :func:`seed_band` aligns seeds;
* :mod:`~smgrnn_ref.viz.pictures`: :func:`draw_run_pictures`, the pictures of a run directory
  (and its interactive viewer, :mod:`smgrnn_ref.viewer`);
* :mod:`~smgrnn_ref.viz.style`: the colours and sizes every picture shares.

The topology snapshots a run records (:func:`snapshot`, :func:`write_snapshot`,
:func:`read_snapshots`, :func:`diff_snapshots`, :func:`snapshot_to_graph`) and the metrics
table (:func:`read_metrics`) are formats of the run directory, owned by
:mod:`smgrnn_ref.rundir`; they are importable from here too.

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

from ..rundir import (
    METRICS_FILE,
    REQUIRED_METRICS,
    TOPOLOGY_FILE,
    diff_snapshots,
    read_metrics,
    read_snapshots,
    snapshot,
    snapshot_to_graph,
    write_snapshot,
)
from .animation import animate, render_frames
from .drawing import ARROW_EDGE_LIMIT, draw, legend_handles, node_name
from .history import EdgeSpan, NodeSpan, RunHistory, build_history, snapshots_history
from .layered_layout import Layout, layered_layout
from .layout import graph_layout, run_layout, snapshots_layout
from .pictures import draw_run_pictures
from .plots import plot_runs, plot_training, seed_band
from .style import (  # noqa: F401 (importable from here, as before the package split)
    ADDED_COLOR,
    CANDIDATE_COLOR,
    GHOST_COLOR,
    NEGATIVE_COLOR,
    NODE_COLORS,
    NODE_SIZE,
    PARENT_COLOR,
    POSITIVE_COLOR,
    XLIM,
    YLIM,
)

__all__ = [
    "snapshot",
    "snapshot_to_graph",
    "write_snapshot",
    "read_snapshots",
    "diff_snapshots",
    "build_history",
    "snapshots_history",
    "RunHistory",
    "NodeSpan",
    "EdgeSpan",
    "Layout",
    "layered_layout",
    "graph_layout",
    "snapshots_layout",
    "run_layout",
    "draw",
    "node_name",
    "legend_handles",
    "render_frames",
    "animate",
    "draw_run_pictures",
    "read_metrics",
    "plot_training",
    "plot_runs",
    "seed_band",
    "TOPOLOGY_FILE",
    "METRICS_FILE",
    "REQUIRED_METRICS",
    "ARROW_EDGE_LIMIT",
]

"""Where every node of a run is drawn: one layout for the PNG frames, the GIF and the viewer.

A picture of a growing network must keep every node where it was (or an animation shows
only jitter) and leave room for the nodes to come. So the layout is made once, from the
whole history of the run: :func:`~smgrnn_ref.viz.layered_layout.layered_layout` places every
node the run ever had (layers by depth, places that never move while a node lives, no two
living nodes overlapping). This module feeds it:

* :func:`run_layout`: a run directory's layout, from its snapshots **and** events (exact
  lifetimes, :func:`~smgrnn_ref.viz.history.build_history`) with a grace of the run's
  ``frame_every``: the very layout the viewer (:mod:`smgrnn_ref.viewer`) shows;
* :func:`snapshots_layout`: the layout of a list of snapshots (with their events when there
  are any, otherwise the lifetimes the snapshots show, :func:`~smgrnn_ref.viz.history.snapshots_history`);
* :func:`graph_layout`: one graph (every node alive throughout), what ``draw(G)`` uses.

Deterministic: no random state.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph, add_hidden_node, add_edge
>>> from smgrnn_ref.rundir import snapshot
>>> G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0))
>>> first = snapshot(G, 0)
>>> r = add_hidden_node(G); add_edge(G, 0, r, 0.01); add_edge(G, r, 2, 0.01)
>>> lay = snapshots_layout([first, snapshot(G, 10)])
>>> lay.positions[0], lay.positions[2], lay.positions[r]
((0.0, 0.75), (1.0, 0.5), (0.5, 0.5))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx

from ..rundir import RunDir, read_config_dict, read_events, read_snapshots, snapshot_to_graph
from .history import build_history, snapshots_history
from .layered_layout import GRACE, Layout, graph_layout, layered_layout


def as_graph(G) -> nx.DiGraph:
    """``G`` itself, or the drawable graph of a snapshot (:func:`smgrnn_ref.rundir.snapshot_to_graph`)."""
    return snapshot_to_graph(G) if isinstance(G, Mapping) else G


def snapshots_layout(snapshots: Sequence[Mapping], events=None, *, grace: int = GRACE) -> Layout:
    """The layered layout of every node the snapshots (and events) show.

    Parameters
    ----------
    snapshots : sequence of dict
        Topology records in increasing step order.
    events : sequence of dict or Event, optional
        The run's events (``events.jsonl``): then the lifetimes are exact between snapshots.
    grace : int
        Steps after a node's death before its place may be reused (see
        :func:`~smgrnn_ref.viz.layered_layout.layered_layout`).

    Returns
    -------
    Layout

    Raises
    ------
    ValueError
        As :func:`~smgrnn_ref.viz.history.build_history`.
    """
    snapshots = list(snapshots)
    if events is None:
        history = snapshots_history(snapshots)
    else:
        history = build_history(snapshots, [e if isinstance(e, Mapping) else e.to_dict() for e in events])
    return layered_layout(history.nodes, history.edges, grace=grace)


def run_grace(run_dir) -> int:
    """The grace of a run's layout: its ``frame_every`` (the time a pruned node is drawn as a
    ghost), :data:`~smgrnn_ref.viz.layered_layout.GRACE` when its config does not say."""
    run = RunDir(run_dir)
    return int(read_config_dict(run.config).get("frame_every", GRACE)) if run.config.is_file() else GRACE


def run_layout(run_dir) -> Layout:
    """The layout of a run directory, from its ``topology.jsonl`` and ``events.jsonl``: the
    layout of its viewer, its PNG frames and its GIF (without ``events.jsonl``, from the
    lifetimes the snapshots show).

    Raises
    ------
    ValueError
        For malformed logs, or logs that contradict each other.
    """
    run = RunDir(run_dir)
    events = read_events(run.events) if run.events.is_file() else None
    return snapshots_layout(read_snapshots(run.topology), events, grace=run_grace(run.path))


__all__ = ["as_graph", "snapshots_layout", "run_layout", "run_grace", "graph_layout", "Layout"]

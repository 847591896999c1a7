"""The layered layout: depths, places that never move, no overlaps on real and large graphs."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from conftest import grow_with_reference_rules
from smgrnn_ref.graph import hidden_nodes
from smgrnn_ref.viz.history import EdgeSpan, NodeSpan, build_history
from smgrnn_ref.viz.layered_layout import (
    layered_layout,
    meeting_pairs,
    min_distance,
    node_radius,
    to_pixels,
)

DATA = Path(__file__).parent / "data"

# Rendered sizes: a PNG frame's axes (8 x 6.4 in at 100 dpi, axes 0.96 x 0.80 of it, drawn
# over x in [-0.16, 1.16] and y in [-0.06, 1.06]: margins in pixels around the unit square)
# and the viewer's graph canvas at a 1280-pixel-wide window (viewer/static/render.js MARGIN).
PNG = (768, 512, (0.16 / 1.32 * 768, 0.06 / 1.12 * 512, 0.16 / 1.32 * 768, 0.06 / 1.12 * 512))
VIEWER = (1280 - 360, 560, (48, 16, 56, 16))


def _spans(nodes, edges):
    return [NodeSpan(*n) for n in nodes], [EdgeSpan(*e) for e in edges]


def growth_only_history(n_hidden=500, seed=0):
    """A growth-only graph of ``n_hidden`` hidden nodes grown with the reference SPM rules
    (conftest.grow_with_reference_rules) and its history."""
    G, snapshots, events = grow_with_reference_rules(n_hidden, seed)
    return G, build_history(snapshots, events)


@pytest.fixture(scope="module")
def growth_only():
    return growth_only_history()


@pytest.fixture(scope="module")
def acrobot_full():
    """The whole history of the study's largest full graph (tests/data/acrobot_full_s0)."""
    d = DATA / "acrobot_full_s0"
    read = lambda name: [json.loads(line) for line in gzip.open(d / name, "rt") if line.strip()]  # noqa: E731
    return build_history(read("topology.jsonl.gz"), read("events.jsonl.gz"))


def _independent_depths(nodes, edges):
    """Longest-path depth of each hidden node, by networkx on the union of the edges
    (inputs 0; edges out of outputs left out; a hidden node at least 1)."""
    kind = {n.id: n.kind for n in nodes}
    U = nx.DiGraph()
    U.add_nodes_from(kind)
    U.add_edges_from((e.u, e.v) for e in edges if kind[e.u] != "output")
    depth = {}
    for n in nx.topological_sort(U):
        preds = [depth[p] + 1 for p in U.predecessors(n)]
        depth[n] = 0 if kind[n] == "input" else max(preds + [1])
    return {n: d for n, d in depth.items() if kind[n] == "hidden"}


def test_layers_are_longest_paths_from_the_inputs():
    # 0 -> a -> b -> out and 0 -> c -> out: a at 1, b at 2, c at 1; outputs after the deepest
    nodes, edges = _spans([(0, "input", 0, 0, None), (1, "output", 0, 0, None), (2, "hidden", None, 1, None),
                           (3, "hidden", None, 2, None), (4, "hidden", None, 3, None)],
                          [(0, 2, 1, None), (2, 3, 2, None), (3, 1, 2, None), (0, 4, 3, None), (4, 1, 3, None),
                           (1, 4, 5, None)])  # an edge out of an output does not push 4 right
    lay = layered_layout(nodes, edges)
    assert lay.layer == {0: 0, 2: 1, 3: 2, 4: 1, 1: 3}
    assert lay.n_layers == 4
    assert [lay.positions[n][0] for n in (0, 2, 3, 1)] == [0.0, 1 / 3, 2 / 3, 1.0]


def test_a_cycle_of_the_union_is_cut_at_its_shortest_lived_edge():
    # a -> b lives steps 1-5, b -> a from step 7: each step's graph is acyclic, the union is not.
    base = [(0, "input", 0, 0, None), (1, "output", 0, 0, None), (2, "hidden", None, 1, None),
            (3, "hidden", None, 1, None)]
    edges = [(0, 2, 1, None), (2, 1, 1, None), (0, 3, 1, None), (3, 1, 1, None), (2, 3, 1, 5), (3, 2, 7, None)]
    # the run ends at step 8: a -> b (4 steps) outlived b -> a (2): a before b
    nodes, spans = _spans(base + [(4, "hidden", None, 8, None)], edges + [(0, 4, 8, None), (4, 1, 8, None)])
    lay = layered_layout(nodes, spans)
    assert lay.layer[2] < lay.layer[3]
    # the run goes on to step 100: b -> a is the long-lived one, b before a
    nodes, spans = _spans(base + [(4, "hidden", None, 100, None)], edges + [(0, 4, 100, None), (4, 1, 100, None)])
    lay = layered_layout(nodes, spans)
    assert lay.layer[3] < lay.layer[2]


def test_places_are_reused_only_by_nodes_that_never_meet():
    # one layer: a lives 0-10, b is born at 50 (after a's ghost has gone), c lives throughout
    nodes, edges = _spans([(0, "input", 0, 0, None), (1, "output", 0, 0, None), (2, "hidden", None, 0, 10),
                           (3, "hidden", None, 50, None), (4, "hidden", None, 0, None)],
                          [(0, 2, 0, 10), (2, 1, 0, 10), (0, 3, 50, None), (3, 1, 50, None), (0, 4, 0, None),
                           (4, 1, 0, None)])
    lay = layered_layout(nodes, edges, grace=20)
    assert lay.positions[2] == lay.positions[3]  # a and b share a place
    assert lay.positions[4] != lay.positions[2]
    # with a grace longer than the gap, b would sit on a's ghost: it gets its own place
    late = layered_layout(nodes, edges, grace=60).positions
    assert len({late[2], late[3], late[4]}) == 3


def test_meeting_pairs_by_hand():
    nodes = [(0, "hidden", None, 0, 10), (1, "hidden", None, 25, None), (2, "hidden", None, 5, 30)]
    assert meeting_pairs(nodes, grace=10) == [(0, 2), (1, 2)]  # 0's life ends at 10 + 10 = 20 < 25
    assert meeting_pairs(nodes, grace=15) == [(0, 2), (1, 2)]  # ends at 25, the other is born at 25
    assert meeting_pairs(nodes, grace=16) == [(0, 1), (0, 2), (1, 2)]


def _crossings(lay, edges):
    """Crossings between edges of consecutive layers, counted pair by pair."""
    segs = [(lay.positions[e.u], lay.positions[e.v]) for e in edges if lay.layer[e.v] == lay.layer[e.u] + 1]
    n = 0
    for i, ((a, b)) in enumerate(segs):
        for c, d in segs[i + 1:]:
            if a[0] == c[0] and (a[1] - c[1]) * (b[1] - d[1]) < 0:
                n += 1
    return n


def test_barycenter_sweeps_follow_the_edges_that_live_longest():
    # a (4) is born between in 0 and out 0 (top), b (5) between in 1 and out 1 (bottom); from
    # step 2 on, for the rest of the run, a hangs off in 1 and b off in 0 (and on to c, d).
    # Placed at birth, a above b: in 1 -> a and in 0 -> b cross for the whole run, and so do
    # a -> d and b -> c. The sweeps, weighting each edge by its lifetime, swap a and b.
    nodes, edges = _spans(
        [(0, "input", 0, 0, None), (1, "input", 1, 0, None), (2, "output", 0, 0, None), (3, "output", 1, 0, None),
         (4, "hidden", None, 1, None), (5, "hidden", None, 1, None), (6, "hidden", None, 2, None),
         (7, "hidden", None, 2, None)],
        [(0, 4, 1, 2), (4, 2, 1, 2), (1, 5, 1, 2), (5, 3, 1, 2), (1, 4, 2, None), (4, 7, 2, None), (7, 3, 2, None),
         (0, 5, 2, None), (5, 6, 2, None), (6, 2, 2, None), (0, 6, 1000, None)])
    alive = [e for e in edges if e.death is None]
    unswept = layered_layout(nodes, edges, sweeps=0)
    assert unswept.positions[4][1] > unswept.positions[5][1] and _crossings(unswept, alive) == 2
    swept = layered_layout(nodes, edges)
    assert swept.positions[4][1] < swept.positions[5][1] and _crossings(swept, alive) == 0


def test_layout_is_deterministic_and_ignores_the_order_nodes_are_listed(acrobot_full):
    a = layered_layout(acrobot_full.nodes, acrobot_full.edges)
    shuffled = list(acrobot_full.nodes)
    random.Random(0).shuffle(shuffled)
    b = layered_layout(shuffled, acrobot_full.edges)
    assert a.positions == b.positions


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="listed twice"):
        layered_layout([(0, "input", 0, 0, None), (0, "input", 1, 0, None)], [])
    with pytest.raises(ValueError, match="needs an index"):
        layered_layout([(0, "output", None, 0, None)], [])
    with pytest.raises(ValueError, match="not listed"):
        layered_layout([(0, "input", 0, 0, None)], [(0, 5, 0, None)])


def _check_no_overlap(history, lay, unit_min, png_min, viewer_radius_min):
    pairs = meeting_pairs(history.nodes, grace=lay.grace)
    assert min_distance(lay.positions, pairs) >= unit_min
    assert min_distance(to_pixels(lay.positions, *PNG), pairs) >= png_min
    # the viewer draws hidden nodes with node_radius(closest spacing): at its size they keep
    # a gap and are still visible
    px = to_pixels(lay.positions, *VIEWER)
    d = min_distance(px, pairs)
    r = node_radius(d)
    assert 2 * r < d and r >= viewer_radius_min


def test_no_two_living_nodes_overlap_on_the_largest_full_graph(acrobot_full):
    lay = layered_layout(acrobot_full.nodes, acrobot_full.edges, grace=100)
    hidden_at_end = [n for n in acrobot_full.alive_nodes(acrobot_full.last_step)
                     if lay.layer[n] not in (0, lay.n_layers - 1)]
    assert len(hidden_at_end) == 38  # the study's largest full graph
    # at the largest drawn node size (radius 9 px) neighbours keep 2 px between them on a PNG frame
    _check_no_overlap(acrobot_full, lay, unit_min=0.03, png_min=20.0, viewer_radius_min=9.0)


def test_no_two_nodes_overlap_on_a_500_node_growth_only_graph(growth_only):
    G, history = growth_only
    # the premise: a graph as large as the viewer meets on growth-only runs
    assert sum(G.nodes[n]["kind"] == "hidden" for n in G) >= 500
    lay = layered_layout(history.nodes, history.edges)
    _check_no_overlap(history, lay, unit_min=0.01, png_min=5.0, viewer_radius_min=2.0)


def _png_frame_nodes(history, lay, t):
    """Draw the graph alive at step t as a PNG frame draws it (render_frames' figure and axes,
    the run's layout) and read back what was drawn: each living node's centre and radius in
    pixels, and the data-to-pixel transform."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from smgrnn_ref.viz import draw

    alive = set(history.alive_nodes(t))
    G = nx.DiGraph()
    for n in history.nodes:
        if n.id in alive:
            G.add_node(n.id, kind=n.kind, index=n.index, bias=0.0)
    G.add_edges_from(((history.edges[k].u, history.edges[k].v) for k in history.alive_edges(t)), weight=0.1)
    fig = Figure(figsize=(8.0, 6.4), dpi=100)
    ax = fig.add_axes((0.02, 0.12, 0.96, 0.80))
    draw(G, ax, lay, arrows=False)
    at = {tuple(np.round(ax.transData.transform(lay.positions[m]), 3)): m for m in G}  # living: distinct places
    centres, radii = {}, {}
    for c in ax.collections:
        if c.get_zorder() != 3:  # the living nodes (ghosts are drawn at 2, rings at 4)
            continue
        xy = ax.transData.transform(c.get_offsets())
        r = np.broadcast_to(np.sqrt(c.get_sizes()) / 2 * fig.dpi / 72, (len(xy),))
        for (x, y), rad in zip(xy, r):
            n = at[(round(x, 3), round(y, 3))]
            centres[n], radii[n] = (x, y), rad
    assert set(centres) == set(G)
    return centres, radii, ax.transData


def _check_png_frames(history, lay, png_min):
    """No two nodes that are ever on a PNG frame together overlap: the radii are read from a
    drawn frame (one size for hidden nodes over the whole run; inputs and outputs live
    throughout) and every pair that meets is checked at the drawn scale."""
    t = max(history.snapshot_steps, key=lambda s: len(history.alive_nodes(s)))
    centres, radii, to_px = _png_frame_nodes(history, lay, t)
    hidden_r = {r for n, r in radii.items() if lay.layer[n] not in (0, lay.n_layers - 1)}
    assert len(hidden_r) == 1  # one size for every hidden node
    (rh,) = hidden_r
    px = {n: tuple(to_px.transform(p)) for n, p in lay.positions.items()}
    pairs = meeting_pairs(history.nodes, grace=lay.grace)
    gaps = [math.dist(px[a], px[b]) - radii.get(a, rh) - radii.get(b, rh) for a, b in pairs]
    assert min(gaps) > 0  # never touching
    assert min_distance(px, pairs) >= png_min
    return rh


def test_png_frames_of_the_largest_full_graph_do_not_overlap(acrobot_full):
    lay = layered_layout(acrobot_full.nodes, acrobot_full.edges, grace=100)
    assert _check_png_frames(acrobot_full, lay, png_min=20.0) == 9.0  # the largest node size


def test_png_frames_of_a_500_node_growth_only_graph_do_not_overlap(growth_only):
    G, history = growth_only
    lay = layered_layout(history.nodes, history.edges)
    assert _check_png_frames(history, lay, png_min=5.0) >= 2.0


def test_every_edge_between_hidden_nodes_points_right(growth_only, acrobot_full):
    for history in (growth_only[1], acrobot_full):
        lay = layered_layout(history.nodes, history.edges)
        union = {(e.u, e.v) for e in history.edges}
        kind = {n.id: n.kind for n in history.nodes}
        hh = [(u, v) for u, v in union if kind[u] == kind[v] == "hidden"]
        right = sum(lay.positions[u][0] < lay.positions[v][0] for u, v in hh)
        if nx.is_directed_acyclic_graph(nx.DiGraph(hh)):
            assert right == len(hh)
            assert {n: lay.layer[n] for n in _independent_depths(history.nodes, history.edges)} == \
                _independent_depths(history.nodes, history.edges)
        else:  # only edges cut out of a cycle of the union point left: few, and short-lived
            life = {}
            for e in history.edges:
                life[(e.u, e.v)] = life.get((e.u, e.v), 0) + (e.death or history.last_step + 1) - e.birth
            left = [p for p in hh if lay.positions[p[0]][0] >= lay.positions[p[1]][0]]
            assert len(left) <= 0.15 * len(hh)
            assert sum(life[p] for p in left) <= 0.05 * sum(life[p] for p in hh)


def test_the_growth_only_graph_is_large_and_deep(growth_only):
    G, history = growth_only
    assert len(hidden_nodes(G)) == 500 and G.number_of_edges() > 2000
    assert nx.is_directed_acyclic_graph(G)

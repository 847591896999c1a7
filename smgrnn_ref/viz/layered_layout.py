"""A layered layout of a whole run: no two living nodes overlap, and no node ever moves.

The graph of SMGrNN grows and shrinks while it learns, so a picture of it must keep every
node where it was (or an animation shows only jitter) and still leave room for the nodes to
come. This module places all the nodes a run ever had, once, from its whole history
(:mod:`smgrnn_ref.viz.history`):

1. **Layers by depth.** Inputs form layer 0 and outputs the last layer ``L``; a hidden node
   sits at its depth, the longest path from the inputs over every edge the run ever had
   (edges leaving an output are left out: outputs stay in the last layer). So every edge
   between hidden nodes points right. The union of a run's edges can hold a cycle even when
   each step's graph is acyclic (``a -> b`` pruned, ``b -> a`` added later); inside a cycle
   the edges are taken longest-lived first and an edge that would close a cycle with those
   already taken is left out of the depth (it is drawn pointing left).
2. **Tracks within a layer.** Two hidden nodes of a layer *meet* when their lives, each
   extended by ``grace`` steps after death (the time a pruned node is drawn as a ghost),
   overlap. Nodes that never meet may share a place: a layer gets as many *tracks* (places)
   as the most nodes that meet at one time, and the nodes, in order of birth, each take the
   free track closest to the mean height of their older neighbours (a relay ``i -> r -> j``
   goes between ``i`` and ``j``). A run that prunes and regrows hundreds of relays then
   needs tens of places, not hundreds.
3. **Barycenter sweeps.** The tracks of each layer are reordered by the mean height of their
   nodes' neighbours in the layers before (forward sweep) or after (backward sweep), each
   neighbour weighted by how long the edge to it lived: the classic heuristic against edge
   crossings (Sugiyama et al., 1981), for ``sweeps`` sweeps. The order kept is the one, among
   the first and those after each sweep, with the least *stretch* ``sum lifetime * (y_u -
   y_v)^2`` over the run's edges.
4. **Coordinates.** Layer ``l`` at ``x = l / L``; the ``m`` tracks of a layer evenly spread
   at ``y = 1 - (k + 0.5) / m`` (track 0 on top, the input and output index 0 on top too).
   A layer with more tracks than fit at the layer spacing is staggered over up to
   :data:`MAX_STAGGER` sub-columns, which multiplies the vertical room by their number; and
   a hidden layer is shifted vertically by a fraction of its spacing (:data:`PHASES`) when
   that keeps its nodes further from those of the neighbouring layers (many layers close
   together, as in a deep growth-only graph, then do not line their nodes up).

Everything is deterministic (ties broken by id or by the previous order), with no random
state, and pure Python.

Examples
--------
>>> from smgrnn_ref.viz.history import NodeSpan, EdgeSpan
>>> nodes = [NodeSpan(0, "input", 0, 0), NodeSpan(1, "input", 1, 0), NodeSpan(2, "output", 0, 0),
...          NodeSpan(3, "hidden", None, 5), NodeSpan(4, "hidden", None, 9)]
>>> edges = [EdgeSpan(0, 2, 0), EdgeSpan(1, 2, 0), EdgeSpan(0, 3, 5), EdgeSpan(3, 2, 5),
...          EdgeSpan(3, 4, 9), EdgeSpan(4, 2, 9)]
>>> lay = layered_layout(nodes, edges)
>>> lay.layer
{0: 0, 1: 0, 2: 3, 3: 1, 4: 2}
>>> lay.positions[0], lay.positions[2], lay.positions[3][0]
((0.0, 0.75), (1.0, 0.5), 0.3333333333333333)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Layout", "layered_layout", "graph_layout", "min_distance", "meeting_pairs", "to_pixels",
           "node_radius", "GRACE", "SWEEPS", "MAX_STAGGER", "STAGGER_SPAN", "PHASES", "PHASE_LOOKBACK",
           "PHASE_ENOUGH", "NODE_RADIUS", "place_rooms"]

#: Steps a dead node keeps its place after death before another node may take it. **Our
#: choice**: the snapshot interval of a run (``TrainConfig.frame_every``), so the ghost of a
#: node pruned since the previous frame never sits under a newborn node.
GRACE = 100

#: Barycenter sweeps (alternately forward and backward); the best order seen is kept, so
#: more sweeps never make it worse. **Our choice**. On the study's runs we measured (README
#: run, Acrobot and LunarLander full, Acrobot growth-only) the birth-order placement already
#: had the least stretch, so the sweeps kept it; they reorder nodes whose later, long-lived
#: edges pull them away from where they were born (tests/test_layered_layout.py).
SWEEPS = 4

#: Most sub-columns a crowded layer is staggered over. **Our choice**: beyond four, the
#: sub-columns of neighbouring layers start to read as one.
MAX_STAGGER = 4

#: Fraction of the layer spacing the sub-columns of a staggered layer may spread over, so
#: at least ``1 - STAGGER_SPAN`` of the spacing separates two layers. **Our choice**.
STAGGER_SPAN = 0.5

#: Vertical shifts, in units of a layer's own place spacing, tried for each layer (in this
#: order of preference) so its nodes do not line up with those of the layers just before.
PHASES = (0.0, 0.25, -0.25, 0.125, -0.125, 0.375, -0.375)

#: Layers on either side of a layer whose nodes its shift keeps away from. **Our choice**.
PHASE_LOOKBACK = 3

#: Distance (unit square) beyond which a shift gains nothing: about 30 pixels on a picture
#: 800 pixels wide, more than a drawn node needs. **Our choice**. Below it, a layer is
#: shifted only when that moves its nodes further from their neighbours.
PHASE_ENOUGH = 0.04


#: Radii (pixels) of a drawn node: hidden nodes shrink with the room, never below ``min``.
NODE_RADIUS = {"max": 9.0, "min": 1.5, "fill": 0.42}


_INF = math.inf


@dataclass(frozen=True)
class Layout:
    """Where every node of a run's history is drawn.

    Attributes
    ----------
    positions : dict of int to (float, float)
        ``{node: (x, y)}`` in the unit square, inputs at ``x = 0``, outputs at ``x = 1``,
        ``y = 1`` at the top.
    layer : dict of int to int
        ``{node: layer}``, 0 for inputs, :attr:`n_layers` - 1 for outputs.
    track : dict of int to int
        ``{node: place within its layer}``, 0 on top.
    n_layers : int
    grace : int
        The grace (in steps) the tracks were computed with (see :func:`meeting_pairs`).
    """

    positions: dict
    layer: dict
    track: dict
    n_layers: int
    grace: int


def _field(obj, name, i):
    # node / edge spans may be dataclasses (smgrnn_ref.viz.history) or plain tuples (whose
    # methods, such as tuple.index, must not be taken for fields)
    return obj[i] if isinstance(obj, (tuple, list)) else getattr(obj, name)


def _nodes_table(nodes) -> dict:
    table = {}
    for n in nodes:
        nid, kind = int(_field(n, "id", 0)), _field(n, "kind", 1)
        index, birth, death = _field(n, "index", 2), _field(n, "birth", 3), _field(n, "death", 4)
        if kind not in ("input", "hidden", "output"):
            raise ValueError(f"node {nid}: unknown kind {kind!r}")
        if kind != "hidden" and index is None:
            raise ValueError(f"node {nid} ({kind}) needs an index")
        if nid in table:
            raise ValueError(f"node {nid} is listed twice")
        table[nid] = (kind, index, birth, _INF if death is None else death)
    return table


def _union_edges(edges, table, last_step) -> tuple[list[tuple[int, int]], dict]:
    """Distinct pairs ``(u, v)`` ever present, in order of first birth (stable), and the
    number of steps each was alive (summed over its lifetimes; alive at the end counts up to
    ``last_step``)."""
    first: dict[tuple[int, int], tuple] = {}
    life: dict[tuple[int, int], float] = {}
    for order, e in enumerate(edges):
        u, v, birth = int(_field(e, "u", 0)), int(_field(e, "v", 1)), _field(e, "birth", 2)
        death = _field(e, "death", 3)
        if u not in table or v not in table:
            raise ValueError(f"edge {u} -> {v} names a node that is not listed")
        if u != v:
            first.setdefault((u, v), (birth, order))
            life[(u, v)] = life.get((u, v), 0) + (last_step + 1 if death is None else death) - birth
    return sorted(first, key=first.__getitem__), life


def _sccs(nodes: list[int], succ: dict) -> list[list[int]]:
    """Strongly connected components (Tarjan's algorithm, iterative: deep relay chains)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out


def _reaches(succ: dict, a: int, b: int) -> bool:
    seen, todo = {a}, [a]
    while todo:
        x = todo.pop()
        if x == b:
            return True
        for y in succ[x]:
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def _depth_edges(pairs, life, table) -> list[tuple[int, int]]:
    """The hidden -> hidden pairs that fix depths: all of them, less some that would close a
    cycle. Inside a strongly connected component of the union the pairs are taken longest-
    lived first (then oldest first) and a pair that would close a cycle with those already
    taken is left out: the greedy heuristic for a heaviest acyclic subgraph, so the edges
    that point left are few and short-lived."""
    hh = [(u, v) for u, v in pairs if table[u][0] == "hidden" and table[v][0] == "hidden"]
    hidden = sorted(n for n, rec in table.items() if rec[0] == "hidden")
    succ = {n: [] for n in hidden}
    for u, v in hh:
        succ[u].append(v)
    comp_of = {}
    for c, comp in enumerate(_sccs(hidden, succ)):
        for n in comp:
            comp_of[n] = c
    kept = [(u, v) for u, v in hh if comp_of[u] != comp_of[v]]  # between components: never on a cycle
    inner = [(u, v) for u, v in hh if comp_of[u] == comp_of[v]]
    order = {p: i for i, p in enumerate(hh)}
    kept_in_cycles = {n: [] for n in hidden}
    for u, v in sorted(inner, key=lambda p: (-life[p], order[p])):
        if not _reaches(kept_in_cycles, v, u):
            kept_in_cycles[u].append(v)
            kept.append((u, v))
    return kept


def _layers(table, pairs, life) -> tuple[dict, int]:
    hidden = sorted(n for n, rec in table.items() if rec[0] == "hidden")
    succ = {n: [] for n in hidden}
    indeg = {n: 0 for n in hidden}
    for u, v in _depth_edges(pairs, life, table):
        succ[u].append(v)
        indeg[v] += 1
    depth = {n: 1 for n in hidden}  # inputs are depth 0; a hidden node is at least 1
    ready = [n for n in hidden if indeg[n] == 0]
    heapq.heapify(ready)
    while ready:  # Kahn's algorithm: longest path on the DAG
        u = heapq.heappop(ready)
        for v in succ[u]:
            depth[v] = max(depth[v], depth[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(ready, v)
    last = max(depth.values(), default=0) + 1
    layer = {}
    for n, (kind, *_rest) in table.items():
        layer[n] = 0 if kind == "input" else last if kind == "output" else depth[n]
    return layer, last


def _assign_tracks(table, layer, n_layers, neighbours, grace) -> tuple[dict, dict]:
    """Greedy interval colouring per layer: a node takes the free track closest to the mean
    height of its older neighbours. Returns ``{node: track}`` and ``{layer: n_tracks}``."""
    ys: dict[int, float] = {}
    track: dict[int, int] = {}
    n_tracks: dict[int, int] = {}
    for kind in ("input", "output"):
        members = sorted((table[n][1], n) for n in table if table[n][0] == kind)
        for k, (_, n) in enumerate(members):
            track[n] = k
            ys[n] = 1.0 - (k + 0.5) / len(members)
        if members:
            n_tracks[layer[members[0][1]]] = len(members)
    by_layer: dict[int, list[int]] = {}
    for n in sorted(table, key=lambda n: (table[n][2], n)):  # birth order
        if table[n][0] == "hidden":
            by_layer.setdefault(layer[n], []).append(n)
    for lay, members in by_layer.items():
        # the most lives (extended by grace) that overlap: a sweep over births and deaths
        marks = sorted([(table[n][2], 1) for n in members] + [(table[n][3] + grace, -1) for n in members],
                       key=lambda m: (m[0], m[1]))  # a death frees its place before a birth
        m = best = 0
        for _, d in marks:
            m += d
            best = max(best, m)
        n_tracks[lay] = best
        free_at = [-_INF] * best  # the step from which each track is free
        for n in members:
            birth, death = table[n][2], table[n][3]
            older = [ys[p] for p in neighbours[n] if p in ys]
            want = sum(older) / len(older) if older else 0.5
            free = [k for k in range(best) if free_at[k] <= birth]
            k = min(free, key=lambda k: (abs((1.0 - (k + 0.5) / best) - want), k))
            track[n] = k
            ys[n] = 1.0 - (k + 0.5) / best
            free_at[k] = death + grace
    return track, n_tracks


def _sweep(table, layer, n_layers, track, n_tracks, neighbours, life, sweeps) -> dict:
    """Barycenter sweeps over whole tracks (a track is the union of the nodes sharing it),
    neighbours weighted by how long the edge to them lived (what is on screen longest). Of
    the orders before and after each sweep, the one with the least *stretch*, the sum over
    the run's edges of ``lifetime * (y_u - y_v)^2`` (which a barycenter step lowers layer by
    layer), is kept. Returns ``{node: rank}``, the node's place in its layer from the top."""
    members: dict[tuple[int, int], list[int]] = {}
    for n, k in track.items():
        members.setdefault((layer[n], k), []).append(n)
    rank = {lay: list(range(m)) for lay, m in n_tracks.items()}  # rank[lay][track]

    def height(n):
        lay = layer[n]
        return 1.0 - (rank[lay][track[n]] + 0.5) / n_tracks[lay]

    def stretch():
        return sum(w * (height(u) - height(v)) ** 2 for (u, v), w in life.items())

    best, best_rank = stretch(), {lay: list(r) for lay, r in rank.items()}
    hidden_layers = sorted(lay for lay in rank if 0 < lay < n_layers)
    for s in range(sweeps):
        forward = s % 2 == 0
        for lay in hidden_layers if forward else hidden_layers[::-1]:
            m = n_tracks[lay]
            key = {}
            for k in range(m):
                ws = [(life.get((n, p), 0.0) + life.get((p, n), 0.0), height(p)) for n in members.get((lay, k), ())
                      for p in neighbours[n] if (layer[p] < lay if forward else layer[p] > lay)]
                total = sum(w for w, _ in ws)
                # a track without neighbours on that side keeps its height; ties keep the order
                y = sum(w * h for w, h in ws) / total if total else 1.0 - (rank[lay][k] + 0.5) / m
                key[k] = (-y, rank[lay][k])
            for r, k in enumerate(sorted(range(m), key=key.__getitem__)):
                rank[lay][k] = r
        now = stretch()
        if now < best:
            best, best_rank = now, {lay: list(r) for lay, r in rank.items()}
    return {n: best_rank[layer[n]][k] for n, k in track.items()}


def _room(c: int, m: int, gap: float) -> float:
    """Least distance between two places of a layer of ``m`` places over ``c`` sub-columns
    (spread over ``STAGGER_SPAN`` of the layer spacing ``gap``), or to the next layer."""
    if c == 1:
        return min(1.0 / m, gap)
    dx = STAGGER_SPAN * gap / (c - 1)
    return min(c / m, math.hypot(dx, 1.0 / m), (1.0 - STAGGER_SPAN) * gap)


def _stagger(m: int, gap: float) -> int:
    """Sub-columns for a layer of ``m`` places: the number (fewest on a tie) with the most
    room (:func:`_room`)."""
    return max(range(1, min(MAX_STAGGER, m) + 1), key=lambda c: (_room(c, m, gap), -c))


def _coordinates(table, layer, rank, n_tracks, last) -> dict:
    """Unit-square positions: layer columns, evenly spread places, staggered crowded layers,
    each hidden layer shifted vertically (:data:`PHASES`) away from the nodes already placed
    in the :data:`PHASE_LOOKBACK` layers on either side (inputs and outputs first, then the
    hidden layers from left to right)."""
    gap = 1.0 / last
    by_layer: dict[int, list[int]] = {}
    for n in sorted(table):
        by_layer.setdefault(layer[n], []).append(n)
    positions: dict[int, tuple[float, float]] = {}

    def place(n, lay, c, phase):
        r, m = rank[n], n_tracks[lay]
        x = lay * gap + (STAGGER_SPAN * gap * ((r % c) / (c - 1) - 0.5) if c > 1 else 0.0)
        return (x, 1.0 - (r + 0.5 + phase) / m)

    for lay in (0, last):
        for n in by_layer.get(lay, ()):
            positions[n] = place(n, lay, 1, 0.0)
    for lay in sorted(set(by_layer) - {0, last}):
        m = n_tracks[lay]
        c = _stagger(m, gap)
        enough = min(c / m if c > 1 else 1.0 / m, PHASE_ENOUGH)  # the layer's own room caps it
        near_layers = [l for l in range(lay - PHASE_LOOKBACK, lay + PHASE_LOOKBACK + 1) if l != lay]
        placed = [positions[p] for l in near_layers for p in by_layer.get(l, ()) if p in positions]
        sample = by_layer[lay][:: max(1, len(by_layer[lay]) // 64)]  # enough to judge a shift

        def room(ph):  # the nearest placed node, counted up to what is enough
            near = min((math.dist(place(n, lay, c, ph), b) for n in sample for b in placed), default=math.inf)
            return min(near, enough)

        rooms = [room(ph) for ph in PHASES]
        phase = PHASES[max(range(len(PHASES)), key=lambda i: (rooms[i], -i))]
        for n in by_layer[lay]:
            positions[n] = place(n, lay, c, phase)
    return positions


def layered_layout(nodes: Iterable, edges: Iterable, *, grace: int = GRACE, sweeps: int = SWEEPS) -> Layout:
    """Lay out every node a run ever had (see the module docstring for the rules).

    Parameters
    ----------
    nodes : iterable of NodeSpan or (id, kind, index, birth, death)
        Every node of the history; ``death`` None for a node alive at the end.
    edges : iterable of EdgeSpan or (u, v, birth, death)
        Every edge lifetime.
    grace : int
        Steps after a node's death before its place can be reused.
    sweeps : int
        Barycenter sweeps.

    Returns
    -------
    Layout

    Raises
    ------
    ValueError
        A node listed twice, an unknown kind, an input or output without index, or an edge
        naming an unlisted node.
    """
    if grace < 0 or sweeps < 0:
        raise ValueError(f"grace and sweeps must be >= 0, got {grace}, {sweeps}")
    table = _nodes_table(nodes)
    edges = list(edges)
    last_step = max([rec[2] for rec in table.values()] + [rec[3] for rec in table.values() if rec[3] != _INF]
                    + [_field(e, "birth", 2) for e in edges] + [0])
    pairs, life = _union_edges(edges, table, last_step)
    layer, last = _layers(table, pairs, life)
    neighbours: dict[int, list[int]] = {n: [] for n in table}
    for u, v in pairs:
        neighbours[u].append(v)
        neighbours[v].append(u)
    track, n_tracks = _assign_tracks(table, layer, last, neighbours, grace)
    rank = _sweep(table, layer, last, track, n_tracks, neighbours, life, sweeps)
    positions = _coordinates(table, layer, rank, n_tracks, last)
    return Layout(positions, layer, rank, last + 1, grace)


def graph_layout(G) -> Layout:
    """:func:`layered_layout` of one graph (every node and edge alive from step 0).

    ``G`` is a ``networkx.DiGraph`` following :mod:`smgrnn_ref.graph`'s conventions.

    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node(0, kind="input", index=0); G.add_node(1, kind="output", index=0)
    >>> G.add_node(2, kind="hidden"); G.add_edges_from([(0, 2), (2, 1)])
    >>> graph_layout(G).positions
    {0: (0.0, 0.5), 1: (1.0, 0.5), 2: (0.5, 0.5)}
    """
    nodes = [(int(n), d["kind"], d.get("index"), 0, None) for n, d in G.nodes(data=True)]
    edges = [(int(u), int(v), 0, None) for u, v in G.edges]
    return layered_layout(nodes, edges)


def meeting_pairs(nodes: Iterable, grace: int = GRACE) -> list[tuple[int, int]]:
    """Every pair of nodes that are on the page together: their lives, each extended by
    ``grace`` steps after death, overlap. (A node that never meets another may share its
    place.)

    >>> meeting_pairs([(0, "hidden", None, 0, 10), (1, "hidden", None, 50, None),
    ...                (2, "hidden", None, 5, None)], grace=20)
    [(0, 2), (1, 2)]
    """
    spans = sorted((_field(n, "birth", 3), int(_field(n, "id", 0)), _field(n, "death", 4)) for n in nodes)
    out = []
    active: list[tuple[float, int]] = []  # (end, id), the lives begun and not yet over
    for birth, nid, death in spans:
        end = _INF if death is None else death + grace
        active = [(e, m) for e, m in active if e > birth]
        out.extend((min(m, nid), max(m, nid)) for _, m in active)
        active.append((end, nid))
    return sorted(out)


def min_distance(positions: Mapping, pairs: Iterable[tuple[int, int]] | None = None) -> float:
    """Smallest distance between the centres of two nodes (of the given pairs, or of all).

    >>> min_distance({0: (0.0, 0.0), 1: (3.0, 4.0), 2: (0.0, 1.0)})
    1.0
    """
    if pairs is None:
        ids = sorted(positions)
        pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    return min((math.dist(positions[a], positions[b]) for a, b in pairs), default=_INF)


def to_pixels(positions: Mapping, width: float, height: float, margin: tuple[float, float, float, float]) -> dict:
    """Unit-square positions on a ``width x height`` pixel canvas with ``(left, top, right,
    bottom)`` margins, ``y`` pointing down (canvas convention).

    >>> to_pixels({0: (0.0, 1.0), 1: (1.0, 0.0)}, 120, 100, (10, 10, 10, 10))
    {0: (10.0, 10.0), 1: (110.0, 90.0)}
    """
    left, top, right, bottom = margin
    w, h = width - left - right, height - top - bottom
    return {n: (left + x * w, top + (1.0 - y) * h) for n, (x, y) in positions.items()}


def node_radius(spacing_px: float) -> float:
    """Radius of a drawn hidden node when the closest two centres are ``spacing_px`` apart:
    ``fill`` of the spacing (so neighbours keep a gap), clipped to ``[min, max]``. The viewer
    (``viewer/static/render.js``) uses the same rule.

    >>> node_radius(100.0), node_radius(10.0), node_radius(1.0)
    (9.0, 4.2, 1.5)
    """
    return min(NODE_RADIUS["max"], max(NODE_RADIUS["min"], NODE_RADIUS["fill"] * spacing_px))


def place_rooms(points: Mapping) -> dict:
    """Distance from each node to the nearest node at *another* place (nodes that share a
    place never meet), in the units of ``points``: what a drawn node may fill. A grid of
    cells of the largest useful size keeps it near-linear; beyond that cell, any radius fits
    (:func:`node_radius` clips at its maximum), so a lone node's room is ``inf``. The viewer
    (``viewer/static/render.js``, ``roomOfPlaces``) does the same.

    >>> place_rooms({0: (0.0, 0.0), 1: (3.0, 4.0), 2: (0.0, 0.0), 3: (100.0, 0.0)})
    {0: 5.0, 1: 5.0, 2: 5.0, 3: inf}
    """
    cell = 2 * NODE_RADIUS["max"] / NODE_RADIUS["fill"]
    places = sorted(set(map(tuple, points.values())))
    grid: dict[tuple[int, int], list] = {}
    for p in places:
        grid.setdefault((math.floor(p[0] / cell), math.floor(p[1] / cell)), []).append(p)
    room = {}
    for p in places:
        gx, gy = math.floor(p[0] / cell), math.floor(p[1] / cell)
        near = [q for dx in (-1, 0, 1) for dy in (-1, 0, 1) for q in grid.get((gx + dx, gy + dy), ()) if q != p]
        room[p] = min((math.dist(p, q) for q in near), default=_INF)
    return {n: room[tuple(p)] for n, p in points.items()}

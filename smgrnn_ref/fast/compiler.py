"""The compiler: node order, levels, blocks and parameter index arrays derived from the graph.

Invariant kept: **positions are a topological order of the blocks**. Position 0 is a constant
``1`` (its outgoing "weights" are the biases), positions ``1..n_inputs`` the input nodes by
``index``, then the other nodes block by block; a block only reads earlier positions (and, if
cyclic, itself), so evaluating the blocks in position order evaluates the graph.

How the blocks are formed: the strongly connected components (SCCs) of ``G`` are levelled
(inputs at level 0; a component's level is one more than the highest level among its
predecessors, 1 when it has none); the acyclic (single-node) components of one level form one
block, grouped by activation (a *run* per activation code, in code order; outputs first within
a run, then by id, so a block's outputs are contiguous rows when they share an activation),
and each cyclic SCC is a block of its own (members sorted by activation, then id), after the
level's acyclic block. The result depends only on the graph's structure and node attributes,
never on the order in which NetworkX stores them: a full compile and the in-place edits of
:mod:`smgrnn_ref.fast.edits` can therefore be compared bit for bit.

The parameter list: the biases of the non-input positions in position order, then one weight
per edge in the layout's edge order. At a fresh compile that is the graph's edge order; when
the previous layout is given, edges it had keep their relative order and come first (new
edges follow in graph order), so incremental edits only append or delete columns. Parameter
``k`` lives at ``Wt[param_dst[k], param_src[k]]`` (a bias is the weight from position 0).

Only the public NetworkX API is used: the private adjacency dicts (``G._pred``, ``G._succ``)
save about 0.1-0.4 ms per compile at 21,000 edges (2.7 ms vs 2.8-3.2 ms for the topological
pass, whose compile takes about 40 ms: under 1 %), not worth reaching into internals.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

#: Activation codes of the kernels (a small int is cheaper to test than a string).
IDENTITY, RELU, TANH = 0, 1, 2
#: Activation code by the name of :data:`smgrnn_ref.graph.ACTIVATIONS`.
ACTIVATION_CODE = {"identity": IDENTITY, "relu": RELU, "tanh": TANH}


class Block:
    """Positions ``[s, e)`` evaluated together.

    ``runs`` lists ``(lo, hi, code)`` in local offsets, in code order; an acyclic block has
    one run per activation, a cyclic block one per stretch of equal activations. ``outs``
    lists ``(local row, output index)`` of the output nodes in the block (``None`` if there
    are none); ``out_slice`` is ``(r0, r1, p0, p1)`` when they are the contiguous rows
    ``r0:r1`` of an acyclic block, whose ``dL/dlogits`` are rows ``p0:p1`` of the logits
    gradient in position order (else ``None``).
    """

    __slots__ = ("s", "e", "cyclic", "runs", "outs", "out_slice")

    def __init__(self, s: int, e: int, cyclic: bool, runs: list):
        self.s, self.e, self.cyclic, self.runs = s, e, cyclic, runs
        self.outs = self.out_slice = None


class Layout:
    """The compiled structure: where every node and parameter lives in the arrays.

    Attributes
    ----------
    nodes : list
        Node id by position (position 0 holds ``None``: the constant 1).
    position : dict
        Position by node id.
    n_fixed : int
        ``1 + n_inputs``: positions below it carry no bias; position ``p >= n_fixed`` has its
        bias at parameter ``p - n_fixed``.
    blocks : list of Block
        In position order.
    block_of : numpy.ndarray
        Block index of every position (0 for positions below ``n_fixed``).
    outputs : list
        Output node ids by ``index``.
    out_positions : numpy.ndarray
        Position of every output, in output index order.
    out_perm : numpy.ndarray
        Output indices in position order (``dL/dlogits[out_perm]`` is in position order).
    edges : list of (int, int)
        The edge of every weight column, in parameter order.
    edge_index : dict
        Column by edge.
    param_src, param_dst : numpy.ndarray
        Parameter ``k`` is ``Wt[param_dst[k], param_src[k]]``.
    levels_fresh : bool
        The blocks are exactly the graph's levels (true after a compile and a relay splice;
        false after an in-place edge deletion, which can lower levels).
    any_cyclic : bool
        Some block is cyclic (no in-place edit changes it).
    """

    __slots__ = ("nodes", "position", "n_fixed", "blocks", "block_of", "outputs", "out_positions",
                 "out_perm", "edges", "edge_index", "param_src", "param_dst", "levels_fresh",
                 "any_cyclic")

    @property
    def n_positions(self) -> int:
        """``N``: the rows of the node value arrays (the constant, inputs, other nodes)."""
        return len(self.nodes)

    @property
    def n_inputs(self) -> int:
        return self.n_fixed - 1

    @property
    def n_biases(self) -> int:
        """Biases come first in the parameter vector: one per non-input node."""
        return len(self.nodes) - self.n_fixed

    @property
    def n_edges(self) -> int:
        return len(self.edges)


def components(G: nx.DiGraph) -> list[tuple[tuple, bool]]:
    """Strongly connected components in a topological order, as ``(members, cyclic)``.

    A Kahn pass when ``G`` is acyclic (the usual case: every component a single node), else
    NetworkX's condensation. Any topological order gives the same layout (see the module
    docstring), so the two need not agree on ties.
    """
    indeg = dict(G.in_degree())
    order = [n for n, d in indeg.items() if d == 0]
    i = 0
    while i < len(order):
        for w in G.successors(order[i]):
            indeg[w] -= 1
            if indeg[w] == 0:
                order.append(w)
        i += 1
    if len(order) == len(indeg):
        return [((n,), False) for n in order]
    cond = nx.condensation(G)
    comps = []
    for c in nx.topological_sort(cond):
        members = tuple(cond.nodes[c]["members"])
        comps.append((members, len(members) > 1))
    return comps


def _components_by_level(G: nx.DiGraph, kinds: dict) -> dict[int, list]:
    """The non-input components grouped by level (level 1 upwards)."""
    level, per_level = {}, {}
    for members, cyclic in components(G):
        if kinds[members[0]] == "input":
            level[members[0]] = 0
            continue
        if cyclic:
            inside = set(members)
            lv = 1 + max((level[p] for m in members for p in G.predecessors(m) if p not in inside), default=0)
        else:
            lv = 1 + max((level[p] for p in G.predecessors(members[0])), default=0)
        for m in members:
            level[m] = lv
        per_level.setdefault(lv, []).append((members, cyclic))
    return per_level


def _cyclic_runs(codes: list[int]) -> list[tuple[int, int, int]]:
    """``(lo, hi, code)`` for each stretch of equal codes."""
    runs = []
    for i, code in enumerate(codes):
        if runs and runs[-1][2] == code:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, code])
    return [tuple(r) for r in runs]


def _append_blocks(nodes: list, per_level: dict, kinds: dict, code: dict) -> list[Block]:
    """Extend ``nodes`` with the blocks of every level, in level order; return the blocks."""
    blocks = []
    for lv in sorted(per_level):
        groups, cyclic_comps = {}, []
        for members, cyclic in per_level[lv]:
            if cyclic:
                cyclic_comps.append(sorted(members))
            else:
                groups.setdefault(code[members[0]], []).append(members[0])
        # acyclic nodes of one level never read each other: one block (one stage of the kernels)
        if groups:
            s = len(nodes)
            runs = []
            for c in sorted(groups):
                lo = len(nodes) - s
                nodes.extend(sorted(groups[c], key=lambda n: (kinds[n] != "output", n)))
                runs.append((lo, len(nodes) - s, c))
            blocks.append(Block(s, len(nodes), False, runs))
        for members in sorted(cyclic_comps):
            s = len(nodes)
            members = sorted(members, key=lambda n: (code[n], n))
            nodes.extend(members)
            blocks.append(Block(s, len(nodes), True, _cyclic_runs([code[n] for n in members])))
    return blocks


def _edge_order(G: nx.DiGraph, previous_index: dict | None) -> tuple[list, np.ndarray]:
    """The edges in parameter order and, per edge, its column in the previous layout (-1:
    new). Carried edges come first in their old order, new ones follow in graph order."""
    edges = list(G.edges)
    E = len(edges)
    if previous_index is None:
        return edges, np.full(E, -1, dtype=np.intp)
    old = np.fromiter(map(previous_index.get, edges, itertools.repeat(-1, E)), dtype=np.intp, count=E)
    order = np.argsort(np.where(old < 0, E + len(previous_index), old), kind="stable")
    return [edges[i] for i in order.tolist()], old[order]


def param_index(nodes: list, edges: list, n_fixed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(param_src, param_dst)``: the ``Wt`` entry of every parameter (biases, then weights)."""
    N, E = len(nodes), len(edges)
    nb = N - n_fixed
    src = np.zeros(nb + E, dtype=np.intp)  # a bias is the weight from position 0
    dst = np.empty(nb + E, dtype=np.intp)
    dst[:nb] = np.arange(n_fixed, N)
    # node id -> position as an array (ids are integers), so edges map in one gather
    ids = np.asarray(nodes[1:], dtype=np.intp)
    pos_of = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.intp)
    pos_of[ids] = np.arange(1, N)
    uv = np.asarray(edges, dtype=np.intp).reshape(E, 2)
    src[nb:] = pos_of[uv[:, 0]]
    dst[nb:] = pos_of[uv[:, 1]]
    return src, dst


def index_outputs(layout: Layout) -> None:
    """Set every block's ``outs`` / ``out_slice`` and the layout's ``out_positions``,
    ``out_perm`` and ``block_of`` from its nodes, positions and blocks."""
    nodes, pos = layout.nodes, layout.position
    out_index = {n: j for j, n in enumerate(layout.outputs)}
    # dL/dlogits is permuted once per step into position order, so the outputs of an acyclic
    # block are one slice of it
    out_positions = sorted(pos[n] for n in layout.outputs)
    rank = {p: r for r, p in enumerate(out_positions)}
    block_of = np.zeros(len(nodes), dtype=np.intp)
    for i, b in enumerate(layout.blocks):
        outs = [(r, out_index[n]) for r, n in enumerate(nodes[b.s:b.e]) if n in out_index]
        b.outs = outs or None
        b.out_slice = None
        if outs and not b.cyclic:
            rows = [r for r, _ in outs]
            if rows == list(range(rows[0], rows[0] + len(rows))):
                p0 = rank[b.s + rows[0]]
                b.out_slice = (rows[0], rows[-1] + 1, p0, p0 + len(rows))
        block_of[b.s:b.e] = i
    layout.block_of = block_of
    layout.out_perm = np.array([out_index[nodes[p]] for p in out_positions], dtype=np.intp)
    layout.out_positions = np.array([pos[n] for n in layout.outputs], dtype=np.intp)


def compile_layout(G: nx.DiGraph, previous: Layout | None = None):
    """Derive the layout of ``G``.

    Parameters
    ----------
    G : networkx.DiGraph
        A valid graph (:func:`smgrnn_ref.graph.validate_graph`).
    previous : Layout, optional
        The layout the arrays currently follow; its edges keep their relative order.

    Returns
    -------
    layout : Layout
    node_src : numpy.ndarray
        Per bias of the new layout, the bias index in ``previous`` (-1: a node new to it).
    edge_src : numpy.ndarray
        Per weight column of the new layout, the column in ``previous`` (-1: a new edge; the
        carried edges are the first ``(edge_src >= 0).sum()``).
    """
    kinds = dict(G.nodes(data="kind"))
    code = {n: ACTIVATION_CODE[a] for n, a in G.nodes(data="activation") if a is not None}
    index = dict(G.nodes(data="index"))
    inputs = sorted((n for n, k in kinds.items() if k == "input"), key=index.__getitem__)
    lay = Layout()
    lay.outputs = sorted((n for n, k in kinds.items() if k == "output"), key=index.__getitem__)
    lay.nodes = [None] + inputs  # position 0: the constant 1 whose "weights" are the biases
    lay.blocks = _append_blocks(lay.nodes, _components_by_level(G, kinds), kinds, code)
    lay.position = {n: i for i, n in enumerate(lay.nodes) if i}
    lay.n_fixed = 1 + len(inputs)
    lay.edges, edge_src = _edge_order(G, None if previous is None else previous.edge_index)
    lay.edge_index = dict(zip(lay.edges, range(len(lay.edges))))
    lay.param_src, lay.param_dst = param_index(lay.nodes, lay.edges, lay.n_fixed)
    index_outputs(lay)
    lay.levels_fresh = True
    lay.any_cyclic = any(b.cyclic for b in lay.blocks)
    nb = lay.n_biases
    if previous is None:
        node_src = np.full(nb, -1, dtype=np.intp)
    else:
        old_pos, old_fixed = previous.position, previous.n_fixed
        node_src = np.fromiter((old_pos.get(n, 0) - old_fixed for n in lay.nodes[lay.n_fixed:]),
                               dtype=np.intp, count=nb)
    return lay, node_src, edge_src


__all__ = ["IDENTITY", "RELU", "TANH", "ACTIVATION_CODE", "Block", "Layout", "components",
           "param_index", "index_outputs", "compile_layout"]

"""Structure edits made in place: edges appended or deleted, relay nodes spliced in.

Invariant kept: **after an in-place edit the layout is still a valid schedule** -- positions stay
a topological order of the blocks, and a cyclic block is still one strongly connected
component -- so the kernels' program (:mod:`smgrnn_ref.fast.tape`), whose order of every sum is
the reference's and depends on the graph alone, gives the very numbers a full compile would
(the blocks may be finer than the graph's levels after a deletion: that changes where rows
are, not what is summed in which order). Only edits that keep it are made here; anything else
(a new or removed node that cannot be spliced, an edge within or into an earlier block, an
edge deleted inside a cyclic block, which might split the component) is left to a full
compile (:func:`smgrnn_ref.fast.compiler.compile_layout`).

* **Appending edges** ``u -> v`` with ``u`` in an earlier block than ``v``: new weight columns
  at the end of the parameter list.
* **Deleting edges** outside cyclic blocks: columns removed; the blocks may now be finer than
  the graph's levels (a deletion can lower levels), so ``levels_fresh`` is cleared.
* **Splicing relays** ``i -> r -> j`` (``i -> j`` kept) whose ends are at least two levels
  apart into an acyclic graph whose blocks are its levels: ``r`` joins level
  ``level(i) + 1`` and no other node changes level; the compile sorts a level's nodes by
  activation, then outputs first, then by id, and a relay has the newest id, so it goes last
  among its level's nodes of its activation (a new run, in activation order, if there are
  none). The result is exactly the node order and blocks of a full compile.

The numeric state of everything else is kept; new elements are read from the graph
(:class:`smgrnn_ref.fast.state.NumericState`). The engine tells its kernel afterwards.
"""

from __future__ import annotations

import numpy as np

from .compiler import ACTIVATION_CODE, Block, index_outputs


def can_add_in_place(layout, u: int, v: int) -> bool:
    """Whether ``u -> v`` leaves the block schedule valid: ``u`` is computed in an earlier
    block than ``v`` (any edge into a later level of an acyclic graph)."""
    pos = layout.position
    if u not in pos or v not in pos:
        return False
    bv = layout.blocks[layout.block_of[pos[v]]]
    return pos[u] < bv.s


def can_remove_in_place(layout, u: int, v: int) -> bool:
    """Whether deleting ``u -> v`` leaves the schedule valid: not inside a cyclic block (it
    might split the component, which the evaluator would then evaluate differently)."""
    pos = layout.position
    bv = layout.blocks[layout.block_of[pos[v]]]
    return not (bv.cyclic and bv.s <= pos[u] < bv.e)


def append_edges(layout, state, G, edges) -> None:
    """New weight columns for ``edges`` (all in the graph) at the end of the parameter list."""
    k0 = len(layout.edges)
    for j, e in enumerate(edges):
        layout.edges.append(e)
        layout.edge_index[e] = k0 + j
    state.append_edges(G, edges)
    pos = layout.position
    layout.param_src = np.concatenate((layout.param_src, np.array([pos[a] for a, _ in edges], dtype=np.intp)))
    layout.param_dst = np.concatenate((layout.param_dst, np.array([pos[b] for _, b in edges], dtype=np.intp)))


def delete_edges(layout, state, columns) -> None:
    """Delete the weight columns ``columns`` (indices into ``layout.edges``)."""
    layout.levels_fresh = False  # a removed edge can lower levels the blocks still hold
    nb = layout.n_biases
    keep = np.ones(nb + layout.n_edges, dtype=bool)
    keep[nb + np.asarray(columns, dtype=np.intp)] = False
    state.keep_params(keep)
    layout.param_src, layout.param_dst = layout.param_src[keep], layout.param_dst[keep]
    layout.edges = [e for e, kept in zip(layout.edges, keep[nb:].tolist()) if kept]
    layout.edge_index = {e: k for k, e in enumerate(layout.edges)}


def _place_relays(layout, G, relays):
    """Where a full compile would put each relay: ``(placed, blocks)`` with ``placed`` the
    sorted ``(old insertion position, block, r)`` and ``blocks`` the old blocks with the
    relays' blocks given their new runs (old bounds); ``None`` when a relay's ends are less
    than two levels apart."""
    pos, block_of, n_fixed, blocks = layout.position, layout.block_of, layout.n_fixed, layout.blocks
    # level(n) - 1 = its block (inputs: level 0, block -1)
    per_block: dict[int, list] = {}
    for i, j, r in relays:
        bi = int(block_of[pos[i]]) if pos[i] >= n_fixed else -1
        if int(block_of[pos[j]]) < bi + 2:
            return None
        per_block.setdefault(bi + 1, []).append(r)
    code_of = {r: ACTIVATION_CODE[G.nodes[r]["activation"]] for _, _, r in relays}
    placed = []
    new_blocks = list(blocks)
    for k, rs in per_block.items():
        b = blocks[k]
        n_new: dict[int, int] = {}
        for r in rs:
            n_new[code_of[r]] = n_new.get(code_of[r], 0) + 1
        old_len = {code: hi - lo for lo, hi, code in b.runs}
        runs, lo = [], 0
        for code in sorted(set(old_len) | set(n_new)):
            # the old nodes of this run end at b.s + (old lengths of the runs up to it)
            q = b.s + sum(n for c, n in old_len.items() if c <= code)
            placed += [(q, k, r) for r in rs if code_of[r] == code]
            hi = lo + old_len.get(code, 0) + n_new.get(code, 0)
            runs.append((lo, hi, code))
            lo = hi
        new_blocks[k] = Block(b.s, b.e, False, runs)
    placed.sort()  # by old position, then block (a block's end is the next one's start), then id
    return placed, new_blocks


def _shift_blocks(blocks: list, placed: list) -> list[Block]:
    """Fresh blocks with bounds shifted by the relays of earlier blocks and widened by their
    own (the previous layout's blocks are left as they were)."""
    added = np.bincount([k for _, k, _ in placed], minlength=len(blocks))
    before = np.concatenate(([0], np.cumsum(added)[:-1]))
    shifted = []
    for k, b in enumerate(blocks):
        shifted.append(Block(b.s + int(before[k]), b.e + int(before[k]) + int(added[k]), False, b.runs))
    return shifted


def splice_relays(layout, state, G, relays) -> bool:
    """Give new relay nodes their positions without a full compile, when that gives exactly
    what a full compile would (see the module docstring).

    Parameters
    ----------
    layout : Layout
        Edited in place.
    state : NumericState
        Edited in place: the relays' biases and their two edges each, read from ``G``.
    G : networkx.DiGraph
        The graph, the relays already in it.
    relays : list of (int, int, int)
        ``(i, j, r)`` per relay, in insertion order (ascending ``r``).

    Returns
    -------
    bool
        False, with nothing changed, when the conditions do not hold (the graph is cyclic,
        an in-place deletion may have lowered levels, or a relay's ends are too close).
    """
    if not layout.levels_fresh or layout.any_cyclic:
        return False
    plan = _place_relays(layout, G, relays)
    if plan is None:
        return False
    placed, blocks = plan
    q_old = np.array([q for q, _, _ in placed], dtype=np.intp)
    # node order: the old one with each relay spliced in before old position q
    nodes, prev = [], 0
    for q, _, r in placed:
        nodes.extend(layout.nodes[prev:q])
        nodes.append(r)
        prev = q
    nodes.extend(layout.nodes[prev:])
    old_nb, n_fixed = layout.n_biases, layout.n_fixed
    # parameters: the biases (position order) get the relays' entries; edges keep theirs
    state.insert_nodes(G, [r for _, _, r in placed], q_old - n_fixed)
    # old position p moves up by the relays spliced in at or before it
    src_e = layout.param_src[old_nb:]
    dst_e = layout.param_dst[old_nb:]
    src_e = src_e + np.searchsorted(q_old, src_e, side="right")
    dst_e = dst_e + np.searchsorted(q_old, dst_e, side="right")
    N, nb = len(nodes), old_nb + len(placed)
    layout.param_src = np.concatenate((np.zeros(nb, dtype=np.intp), src_e))
    layout.param_dst = np.concatenate((np.arange(n_fixed, N, dtype=np.intp), dst_e))
    layout.nodes, layout.position = nodes, {n: p for p, n in enumerate(nodes) if p}
    layout.blocks = _shift_blocks(blocks, placed)
    index_outputs(layout)
    # the relays' edges, read from the graph like any new edge
    append_edges(layout, state, G, [e for i, j, r in relays for e in ((i, r), (r, j))])
    return True


__all__ = ["can_add_in_place", "can_remove_in_place", "append_edges", "delete_edges", "splice_relays"]

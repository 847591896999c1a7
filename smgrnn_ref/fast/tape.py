"""The kernels' program: the reference evaluator's arithmetic, step by step, in a fixed order.

Invariant kept: **every number the kernels compute is the reference engine's, bit for bit** --
a function of the graph and the step's inputs alone, never of the engine's history (node
positions kept by in-place edits, block layout, edge order). Floating-point addition is not
associative, so "the same sum" is not enough: the same terms must be added in the same order.
This module fixes that order to the one of :mod:`smgrnn_ref.evaluate` differentiated by
``autograd`` (the reference engine), and both kernels follow it.

Forward: **instances** and their sources
----------------------------------------
An acyclic node is computed once; a node of a cyclic block once per sweep ``k = 1..K``. Each
such computation is an *instance* with a row of the kernels' value arrays: rows ``0..N-1`` are
the positions of :mod:`smgrnn_ref.fast.compiler` (row 0 the constant 1, then the inputs, then
every node's last instance), rows after them the earlier sweeps of cyclic blocks, and after
those one row per output for ``dL/dlogits`` (backward only). An instance is evaluated exactly as
:func:`smgrnn_ref.evaluate._node_value` does it::

    z = (((b_j + 0) + w_{u1 j} a_{u1}) + w_{u2 j} a_{u2}) + ...    sources u1 < u2 < ... by node id
    a_j = f_j(z)

where a source inside the same cyclic block is its previous sweep's instance (sweep 1 reads
zeros, and ``z + w 0 = z`` exactly, so those terms are left out).

Backward: autograd's order, simulated
-------------------------------------
``autograd`` sums the gradient contributions of a value used several times in the order its
reverse pass reaches the uses, a depth-first walk of the tape (``autograd.util.toposort``). So
``dL/da_u`` is ``c_1 + c_2 + ...`` (``c = w_uj dL/dz_j`` from each consumer instance ``j``, or
``dL/dlogits`` for an output), and a parameter used by several instances (inside a cyclic
block) gets ``g_1 + g_2 + ...``, in that walk's order. :func:`reverse_order` runs the very
algorithm of ``autograd.util.toposort`` on a model of the tape the reference evaluator records
(per instance: ``B = theta[b]``, ``Z0 = B + 0``, then per source ``W = theta[w]``,
``M = W * a_u``, ``Zk = Z(k-1) + M``, and ``A = f(Z)`` unless ``f`` is the identity; the outputs
through ``stack``; the loss a primitive) and records, in order, every contribution to a value
and every use of a parameter. The kernels then **pull** each ``dL/da_u`` from its list in that
order, and sum each parameter's uses in theirs; every batch sum is numpy's pairwise summation
(:func:`numpy.sum`, mirrored by the numba kernel). Signs of zero may differ from autograd's
inside the pass (``0 + c`` for ``c``); they never reach a gradient, which is ``0 + sum``
either way. Tests: ``tests/test_fast.py`` (bit for bit against the reference on random,
cyclic and grown graphs).

The walk is integer work over the tape, ``O(instances + sources)``, compiled with numba when it
is installed (plain Python otherwise: the same function, the same answers); it is redone
whenever the structure changes.
"""

from __future__ import annotations

import numpy as np

from .compiler import IDENTITY

#: Tape items of the simulated reverse pass (see :func:`reverse_order`).
_OUT, _ACT, _Z, _M, _W, _B = 0, 1, 2, 3, 4, 5


class Program:
    """The instances of one layout and the order of every sum (see the module docstring).

    Attributes
    ----------
    n_rows : int
        Rows of the value arrays: positions, earlier sweeps, then one per output.
    loss_row : int
        The row of output 0's ``dL/dlogits`` (output ``o`` at ``loss_row + o``).
    order : numpy.ndarray
        Instance rows in evaluation order.
    code : numpy.ndarray
        Activation code per row.
    bias : numpy.ndarray
        Bias parameter of each row's node (-1 for rows without one).
    fwd_start, fwd_src, fwd_param : numpy.ndarray
        Per row (CSR), its sources' rows and weight parameters, ascending by source node id.
    pull_start, pull_src, pull_param : numpy.ndarray
        Per row (CSR), the contributions to its ``dL/da`` in autograd's order: the consumer's
        row and the weight between them (``-1``: weight 1, a ``dL/dlogits`` row).
    use_start, use_dst, use_src : numpy.ndarray
        Per parameter (CSR), its uses in autograd's order: ``dL/dp += sum_b a[src] dL/dz[dst]``
        (a bias reads row 0, the constant 1).
    single : numpy.ndarray of bool
        Per row: its node is computed once (acyclic), so each of its parameters has this one
        use and a kernel may sum it as soon as the row's ``dL/dz`` is final.
    shared : numpy.ndarray
        The parameters of the other rows (cyclic blocks: one use per sweep), summed over
        their uses in order after the pass.
    stages : list of (int, int, list)
        Row ranges ``[lo, hi)`` in evaluation order whose instances read only earlier stages
        (a block, or one sweep of a cyclic block), with the block's activation runs.
    """

    __slots__ = ("n_rows", "loss_row", "order", "code", "bias", "fwd_start", "fwd_src", "fwd_param",
                 "pull_start", "pull_src", "pull_param", "use_start", "use_dst", "use_src", "single", "shared",
                 "stages")


def _csr(keys: np.ndarray, n: int, *columns) -> tuple:
    """``(start, *columns)`` grouped by ``keys`` (a stable sort: each group keeps its order)."""
    order = np.argsort(keys, kind="stable")
    start = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(np.bincount(keys, minlength=n), out=start[1:])
    return (start, *(np.ascontiguousarray(c[order], dtype=np.intp) for c in columns))


def _instances(layout, K: int):
    """Rows of the earlier sweeps of cyclic blocks: ``(n_value_rows, base, order, stages)``
    with ``base[block index]`` the first extra row of a cyclic block (its sweep ``k`` member
    ``i`` at ``base + (k - 1) m + i``)."""
    N = layout.n_positions
    base, order, stages, extra = {}, [], [], N
    for bi, b in enumerate(layout.blocks):
        if b.cyclic:
            m = b.e - b.s
            base[bi] = extra
            for k in range(1, K):
                lo = extra + (k - 1) * m
                order.extend(range(lo, lo + m))
                stages.append((lo, lo + m, b.runs))
            extra += (K - 1) * m
        order.extend(range(b.s, b.e))
        stages.append((b.s, b.e, b.runs))
    return extra, base, np.asarray(order, dtype=np.intp), stages


def _forward_entries(layout, K: int, base: dict):
    """Every instance's sources as ``(row, source row, weight parameter)``, per row in
    ascending source node id (sweep-1 reads of zeros left out)."""
    nb, E = layout.n_biases, layout.n_edges
    src, dst = layout.param_src[nb:], layout.param_dst[nb:]
    ids = np.asarray([-1] + list(layout.nodes[1:]), dtype=np.int64)
    by = np.lexsort((ids[src], dst))  # by destination, then source id
    src, dst, param = src[by], dst[by], (nb + np.arange(E, dtype=np.intp))[by]
    blk = layout.block_of[dst]
    cyclic_dst = np.array([b.cyclic for b in layout.blocks] or [False], dtype=bool)[blk]
    rows, srcs, params = [dst[~cyclic_dst]], [src[~cyclic_dst]], [param[~cyclic_dst]]
    if cyclic_dst.any():
        d, s, p, bk = dst[cyclic_dst], src[cyclic_dst], param[cyclic_dst], blk[cyclic_dst]
        starts = np.array([layout.blocks[i].s for i in bk.tolist()], dtype=np.intp)
        ends = np.array([layout.blocks[i].e for i in bk.tolist()], dtype=np.intp)
        bases = np.array([base[i] for i in bk.tolist()], dtype=np.intp)
        m = ends - starts
        internal = (s >= starts) & (s < ends)

        def row(pos, k):  # the instance of the member at position pos in sweep k
            return pos if k == K else bases + (k - 1) * m + (pos - starts)

        for k in range(1, K + 1):
            # an internal source is its previous sweep's instance; in sweep 1 it reads zeros
            keep = ~internal if k == 1 else np.ones(len(d), dtype=bool)
            sk = np.where(internal, row(s, k - 1), s) if k > 1 else s
            rows.append(np.asarray(row(d, k), dtype=np.intp)[keep])
            srcs.append(np.asarray(sk, dtype=np.intp)[keep])
            params.append(p[keep])
    return np.concatenate(rows), np.concatenate(srcs), np.concatenate(params)


def build_program(layout, sweeps: int) -> Program:
    """The program of ``layout`` with ``K = sweeps`` sweeps in cyclic blocks.

    Parameters
    ----------
    layout : smgrnn_ref.fast.compiler.Layout
    sweeps : int

    Returns
    -------
    Program
    """
    K, N, nf = int(sweeps), layout.n_positions, layout.n_fixed
    n_values, base, order, stages = _instances(layout, K)
    n_out = len(layout.outputs)
    prog = Program()
    prog.n_rows, prog.loss_row, prog.order, prog.stages = n_values + n_out, n_values, order, stages
    R = prog.n_rows
    # activation code and bias of every row (an earlier sweep's row is its member's)
    row_pos = np.arange(R, dtype=np.intp)
    for bi, lo in base.items():
        b = layout.blocks[bi]
        m = b.e - b.s
        row_pos[lo:lo + (K - 1) * m] = np.tile(np.arange(b.s, b.e), K - 1)
    row_pos[n_values:] = 0
    code = np.full(N, IDENTITY, dtype=np.intp)
    for b in layout.blocks:
        for lo, hi, c in b.runs:
            code[b.s + lo:b.s + hi] = c
    prog.code = code[row_pos]
    prog.bias = np.where(row_pos >= nf, row_pos - nf, -1).astype(np.intp)
    rows, srcs, params = _forward_entries(layout, K, base)
    prog.fwd_start, prog.fwd_src, prog.fwd_param = _csr(rows, R, srcs, params)
    P = layout.n_biases + layout.n_edges
    con, use = reverse_order(prog.order, prog.code != IDENTITY, prog.fwd_start, prog.fwd_src, prog.fwd_param,
                             prog.bias, np.asarray(layout.out_positions, dtype=np.intp), nf, n_values)
    prog.pull_start, prog.pull_src, prog.pull_param = _csr(con[0], R, con[1], con[2])
    prog.use_start, prog.use_dst, prog.use_src = _csr(use[0], P, use[1], use[2])
    # rows of acyclic blocks hold their parameters' only use
    single = np.zeros(R, dtype=np.bool_)
    for b in layout.blocks:
        if not b.cyclic:
            single[b.s:b.e] = True
    prog.single = single
    shared = np.zeros(P, dtype=np.bool_)
    cyc_rows = np.flatnonzero(~single[:n_values] & (row_pos[:n_values] >= nf))
    shared[prog.bias[cyc_rows]] = True
    for r in cyc_rows.tolist():
        shared[prog.fwd_param[prog.fwd_start[r]:prog.fwd_start[r + 1]]] = True
    prog.shared = np.flatnonzero(shared).astype(np.intp)
    return prog


def _walk(order, act_node, fwd_start, fwd_src, fwd_param, bias, out_rows, n_fixed, loss_row):
    """The reverse pass of the reference's tape (``autograd.util.toposort``, the second phase),
    on integer arrays (numba-compilable). Returns the contributions ``(target, source row,
    parameter)`` and the parameter uses ``(parameter, dst row, src row)`` in the order the
    pass makes them, with their counts."""
    R = act_node.shape[0]
    n_out = out_rows.shape[0]
    # the first phase: which values the loss reaches, and how many uses (children) each has
    reach = np.zeros(R, dtype=np.bool_)
    count = np.zeros(R, dtype=np.int64)
    for o in range(n_out):
        reach[out_rows[o]] = True
        count[out_rows[o]] += 1
    for i in range(order.shape[0] - 1, -1, -1):
        r = order[i]
        if reach[r]:
            for q in range(fwd_start[r], fwd_start[r + 1]):
                s = fwd_src[q]
                if s >= n_fixed:
                    reach[s] = True
                    count[s] += 1
    n_ent = fwd_src.shape[0]
    cap = n_out + 3 * n_ent + 3 * R + 1
    st_t = np.empty(cap, dtype=np.int64)
    st_r = np.empty(cap, dtype=np.int64)
    st_k = np.empty(cap, dtype=np.int64)
    con_t = np.empty(n_ent + n_out, dtype=np.int64)
    con_s = np.empty(n_ent + n_out, dtype=np.int64)
    con_p = np.empty(n_ent + n_out, dtype=np.int64)
    use_p = np.empty(n_ent + R, dtype=np.int64)
    use_d = np.empty(n_ent + R, dtype=np.int64)
    use_s = np.empty(n_ent + R, dtype=np.int64)
    nc = 0
    nu = 0
    # stack(outputs) = concatenate(a_o[:, None] ...): its parents, pushed in output order
    sp = 0
    for o in range(n_out):
        st_t[sp] = _OUT
        st_r[sp] = o
        st_k[sp] = 0
        sp += 1
    while sp > 0:
        sp -= 1
        t, r, k = st_t[sp], st_r[sp], st_k[sp]
        ready = -1  # a value whose last child this item is: pushed after the item's own parents
        if t == _OUT:
            # dL/dlogits reaches output o's value
            u = out_rows[r]
            con_t[nc], con_s[nc], con_p[nc] = u, loss_row + r, -1
            nc += 1
            ready = u
        elif t == _ACT:
            # a = f(Z_n): its one parent, the last partial sum
            st_t[sp], st_r[sp], st_k[sp] = _Z, r, fwd_start[r + 1] - fwd_start[r]
            sp += 1
        elif t == _Z:
            if k > 0:
                # Z_k = Z_(k-1) + M_k: parents pushed in argument order, so M_k is popped first
                st_t[sp], st_r[sp], st_k[sp] = _Z, r, k - 1
                st_t[sp + 1], st_r[sp + 1], st_k[sp + 1] = _M, r, k
                sp += 2
            else:
                # Z_0 = B + 0
                st_t[sp], st_r[sp], st_k[sp] = _B, r, 0
                sp += 1
        elif t == _M:
            # M_k = W_k * a_src: w dL/dz reaches a_src now; parents W_k, then a_src
            q = fwd_start[r] + k - 1
            s = fwd_src[q]
            if s >= n_fixed:
                con_t[nc], con_s[nc], con_p[nc] = s, r, fwd_param[q]
                nc += 1
                ready = s
            st_t[sp], st_r[sp], st_k[sp] = _W, r, k
            sp += 1
        elif t == _W:
            # W_k = theta[w]: the weight's gradient gets this use
            q = fwd_start[r] + k - 1
            use_p[nu], use_d[nu], use_s[nu] = fwd_param[q], r, fwd_src[q]
            nu += 1
        else:
            # B = theta[b]: the bias's gradient gets this use (times the constant row 0)
            use_p[nu], use_d[nu], use_s[nu] = bias[r], r, 0
            nu += 1
        if ready >= 0:
            # autograd pushes a parent when its last child is processed
            if count[ready] == 1:
                if act_node[ready]:
                    st_t[sp], st_r[sp], st_k[sp] = _ACT, ready, 0
                else:  # the identity adds no tape node: the value is the last partial sum
                    st_t[sp], st_r[sp], st_k[sp] = _Z, ready, fwd_start[ready + 1] - fwd_start[ready]
                sp += 1
            else:
                count[ready] -= 1
    return con_t, con_s, con_p, nc, use_p, use_d, use_s, nu


#: :func:`_walk`, compiled by numba on first use when it can be imported (else itself).
_walk_impl = None


def reverse_order(order, act_node, fwd_start, fwd_src, fwd_param, bias, out_rows, n_fixed: int, loss_row: int):
    """Autograd's order of the reverse pass over the reference's tape (see the module docstring).

    Parameters
    ----------
    order : numpy.ndarray
        Instance rows in evaluation order.
    act_node : numpy.ndarray of bool
        Per row: its activation records a tape node (not the identity).
    fwd_start, fwd_src, fwd_param : numpy.ndarray
        The forward sources (CSR, ascending source id).
    bias : numpy.ndarray
        Bias parameter per row.
    out_rows : numpy.ndarray
        The row of every output's value, in output index order.
    n_fixed : int
        Rows below it hold constants (the 1, the inputs): no gradient flows into them.
    loss_row : int
        The row of output 0's ``dL/dlogits``.

    Returns
    -------
    contributions : (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(target row, source row, weight parameter or -1)`` in order.
    uses : (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``(parameter, dst row, src row)`` in order.
    """
    global _walk_impl
    if _walk_impl is None:
        try:
            import numba
        except ImportError:
            _walk_impl = _walk
        else:
            _walk_impl = numba.njit(cache=True, nogil=True)(_walk)
    args = (order, np.ascontiguousarray(act_node, dtype=np.bool_), fwd_start, fwd_src, fwd_param, bias,
            out_rows, int(n_fixed), int(loss_row))
    ct, cs, cp, nc, up, ud, us, nu = _walk_impl(*args)
    return (ct[:nc], cs[:nc], cp[:nc]), (up[:nu], ud[:nu], us[:nu])


__all__ = ["Program", "build_program", "reverse_order"]

"""The compiled kernel of the fast engine: the program of :mod:`smgrnn_ref.fast.tape`, one loop
per instance over its sources (numba).

Invariant kept: **the reference's bits** -- each pre-activation is summed in the program's
order (bias, then sources by ascending node id), ``tanh`` is
:func:`smgrnn_ref.numerics.tanh_scalar` (the twin of the reference's, bit for bit), each
``dL/da`` is pulled from its contributions in autograd's order, and every batch sum is numpy's
pairwise summation (:func:`pairwise_dot`, equal to :func:`numpy.sum` of the products: tested on
every length up to 1,000). numba compiles without fast-math, so LLVM neither fuses a multiply
and an add nor reorders a sum: the bits do not depend on the CPU the code is compiled for
(``NUMBA_CPU_NAME=generic`` gives the same run, ``tests/test_machine_independence.py``).

The passes are plain Python functions compiled lazily by :func:`compiled_kernels` with
``numba.njit(cache=True)`` (the machine code is cached next to this file across processes, so
only the first process compiles, a few seconds). The batch is innermost (contiguous rows of
``A``), so the cost is the arithmetic alone, whatever the graph's depth;
``error_model="numpy"`` (no zero-division checks) lets LLVM vectorise the loops over the batch
(element-wise work, whose results do not depend on the vector width).

Activation codes are those of :mod:`smgrnn_ref.fast.compiler` (numba freezes the module-level
ints ``TANH`` and ``RELU`` into the compiled code as constants).
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from .compiler import RELU, TANH
from .kernel import Kernel
from .tape import build_program

#: numpy's pairwise summation: blocks of at most this many terms are summed with 8
#: accumulators, longer runs are split in two (``PW_BLOCKSIZE`` in numpy's ``loops_utils.h``).
PAIRWISE_BLOCK = 128


def pairwise_block(P, i, Q, k, lo, n):
    """``sum_b P[i, b] Q[k, b]`` over ``b in [lo, lo + n)``, ``n <= PAIRWISE_BLOCK``, in the
    order of numpy's pairwise summation of the products (one block)."""
    if n < 8:
        res = 0.0
        for b in range(lo, lo + n):
            res += P[i, b] * Q[k, b]
        return res
    r0 = P[i, lo] * Q[k, lo]
    r1 = P[i, lo + 1] * Q[k, lo + 1]
    r2 = P[i, lo + 2] * Q[k, lo + 2]
    r3 = P[i, lo + 3] * Q[k, lo + 3]
    r4 = P[i, lo + 4] * Q[k, lo + 4]
    r5 = P[i, lo + 5] * Q[k, lo + 5]
    r6 = P[i, lo + 6] * Q[k, lo + 6]
    r7 = P[i, lo + 7] * Q[k, lo + 7]
    j = 8
    while j < n - n % 8:
        b = lo + j
        r0 += P[i, b] * Q[k, b]
        r1 += P[i, b + 1] * Q[k, b + 1]
        r2 += P[i, b + 2] * Q[k, b + 2]
        r3 += P[i, b + 3] * Q[k, b + 3]
        r4 += P[i, b + 4] * Q[k, b + 4]
        r5 += P[i, b + 5] * Q[k, b + 5]
        r6 += P[i, b + 6] * Q[k, b + 6]
        r7 += P[i, b + 7] * Q[k, b + 7]
        j += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while j < n:
        res += P[i, lo + j] * Q[k, lo + j]
        j += 1
    return res


def pairwise_dot(P, i, Q, k, lo, n):
    """``sum_b P[i, b] Q[k, b]`` over ``[lo, lo + n)`` in numpy's pairwise order: blocks of
    :data:`PAIRWISE_BLOCK`, a longer range split at half (rounded down to a multiple of 8), the
    halves summed first, then added. numpy's recursion, run on an explicit stack (numba's cache
    does not keep recursive functions)."""
    if n <= PAIRWISE_BLOCK:
        return _block_compiled(P, i, Q, k, lo, n)
    # frames (start, length, state: 0 new, 1 left done, 2 both done); partial sums on a stack
    f_lo = np.empty(64, dtype=np.int64)
    f_n = np.empty(64, dtype=np.int64)
    f_st = np.zeros(64, dtype=np.int64)
    vals = np.empty(64)
    f_lo[0], f_n[0], f_st[0] = lo, n, 0
    sp, vp = 1, 0
    while sp > 0:
        top = sp - 1
        m = f_n[top]
        if m <= PAIRWISE_BLOCK:
            vals[vp] = _block_compiled(P, i, Q, k, f_lo[top], m)
            vp += 1
            sp -= 1
            continue
        m2 = m // 2
        m2 -= m2 % 8
        if f_st[top] == 0:  # the left half first
            f_st[top] = 1
            f_lo[sp], f_n[sp], f_st[sp] = f_lo[top], m2, 0
            sp += 1
        elif f_st[top] == 1:  # then the right half
            f_st[top] = 2
            f_lo[sp], f_n[sp], f_st[sp] = f_lo[top] + m2, m - m2, 0
            sp += 1
        else:  # left + right
            vals[vp - 2] = vals[vp - 2] + vals[vp - 1]
            vp -= 1
            sp -= 1
    return vals[0]


def batch_dot(P, i, Q, k, B):
    """:func:`numpy.sum` of ``P[i] * Q[k]`` (length ``B``), bit for bit: ``0 + pairwise``."""
    return 0.0 + _pairwise_compiled(P, i, Q, k, 0, B)


#: The compiled helpers, bound by :func:`compiled_kernels` (the passes read these globals).
_tanh_compiled = _block_compiled = _pairwise_compiled = _batch_dot_compiled = None


def forward_pass(A, Z, theta, order, code, bias, fwd_start, fwd_src, fwd_param):
    """Forward pass in place: every instance row of ``order``, ``A`` (rows ``0..n_fixed-1`` set
    by the caller: the constant 1 and the inputs), ``Z`` the pre-activations."""
    B = A.shape[1]
    for i in range(order.shape[0]):
        j = order[i]
        # z = b_j + 0 (as the reference's b + zeros(batch))
        bias_j = theta[bias[j]]
        for b in range(B):
            Z[j, b] = bias_j + 0.0
        # + w_uj a_u, sources by ascending node id
        for q in range(fwd_start[j], fwd_start[j + 1]):
            w = theta[fwd_param[q]]
            u = fwd_src[q]
            for b in range(B):
                Z[j, b] += w * A[u, b]
        # a_j = f_j(z)
        c = code[j]
        if c == TANH:
            for b in range(B):
                A[j, b] = _tanh_compiled(Z[j, b])
        elif c == RELU:
            for b in range(B):
                z = Z[j, b]
                A[j, b] = 0.0 if z < 0.0 else z
        else:
            for b in range(B):
                A[j, b] = Z[j, b]


def backward_pass(A, Z, D, theta, order, code, pull_start, pull_src, pull_param, use_start, use_dst, use_src,
                  grad):
    """Backward pass: ``D`` holds ``dL/dlogits`` in its loss rows (set by the caller); every
    instance's ``dL/da`` is pulled from its contributions in autograd's order, then turned into
    ``dL/dz`` in place; ``grad`` (biases then weights, the engine's order) sums each
    parameter's uses in order."""
    B = A.shape[1]
    for i in range(order.shape[0] - 1, -1, -1):
        j = order[i]
        # dL/da_j = sum of w dL/dz (or dL/dlogits, weight 1) over its uses, in order
        for b in range(B):
            D[j, b] = 0.0
        for q in range(pull_start[j], pull_start[j + 1]):
            p = pull_param[q]
            w = theta[p] if p >= 0 else 1.0
            c = pull_src[q]
            for b in range(B):
                D[j, b] += w * D[c, b]
        # dL/dz_j = dL/da_j f'(z_j)  (relu: autograd's 1/2 at exactly zero)
        c = code[j]
        if c == TANH:
            for b in range(B):
                a = A[j, b]
                D[j, b] *= 1.0 - a * a
        elif c == RELU:
            for b in range(B):
                z = Z[j, b]
                D[j, b] *= 1.0 if z > 0.0 else (0.5 if z == 0.0 else 0.0)
    # dL/dp = sum over uses of sum_batch a_src dL/dz_dst
    for p in range(grad.shape[0]):
        g = 0.0
        for q in range(use_start[p], use_start[p + 1]):
            g += _batch_dot_compiled(A, use_src[q], D, use_dst[q], B)
        grad[p] = g


#: ``(forward_pass, backward_pass)`` compiled, ``False`` when numba cannot be imported,
#: ``None`` before the first call of :func:`compiled_kernels`.
_COMPILED = None


def compiled_kernels():
    """``(forward_pass, backward_pass)`` compiled with ``numba.njit(cache=True)``, or ``None``
    when numba cannot be imported (numba is imported on the first call only)."""
    global _COMPILED, _tanh_compiled, _block_compiled, _pairwise_compiled, _batch_dot_compiled
    if _COMPILED is None:
        try:
            import numba
        except ImportError:
            _COMPILED = False
        else:
            opts = dict(cache=True, nogil=True, error_model="numpy")
            _tanh_compiled = numba.njit(inline="always", **opts)(numerics.tanh_scalar)
            _block_compiled = numba.njit(**opts)(pairwise_block)
            _pairwise_compiled = numba.njit(**opts)(pairwise_dot)
            _batch_dot_compiled = numba.njit(**opts)(batch_dot)
            _COMPILED = (numba.njit(**opts)(forward_pass), numba.njit(**opts)(backward_pass))
    return _COMPILED or None


def compiled_batch_dot():
    """:func:`batch_dot` compiled (for tests), or ``None`` without numba."""
    return _batch_dot_compiled if compiled_kernels() else None


class NumbaBuffers:
    """Work arrays of the compiled passes for one batch size (one program)."""

    def __init__(self, prog, batch: int):
        R = prog.n_rows
        self.A = np.zeros((R, batch))
        self.A[0] = 1.0
        self.Z = np.zeros((R, batch))
        self.D = np.zeros((R, batch))


class NumbaKernel(Kernel):
    """The compiled passes over the program's CSR arrays (needs numba)."""

    name = "numba"

    def __init__(self, sweeps: int):
        super().__init__(sweeps)
        self._forward, self._backward = compiled_kernels()

    def reindex(self, layout, theta):
        """The program of the layout (:func:`smgrnn_ref.fast.tape.build_program`)."""
        old = getattr(self, "prog", None)
        self.layout = layout
        self.prog = build_program(layout, self.sweeps)
        if old is None or old.n_rows != self.prog.n_rows:
            self._buffers = {}  # work arrays of another number of rows

    def _new_buffers(self, batch):
        return NumbaBuffers(self.prog, batch)

    def forward(self, X, theta):
        bf = self.buffers(X.shape[0])
        pr = self.prog
        bf.A[1:self.layout.n_fixed] = X.T
        self._forward(bf.A, bf.Z, theta, pr.order, pr.code, pr.bias, pr.fwd_start, pr.fwd_src, pr.fwd_param)
        return bf

    def backward(self, bf, dout, theta):
        pr = self.prog
        grad = np.empty(len(theta))
        bf.D[pr.loss_row:] = dout
        self._backward(bf.A, bf.Z, bf.D, theta, pr.order, pr.code, pr.pull_start, pr.pull_src, pr.pull_param,
                       pr.use_start, pr.use_dst, pr.use_src, grad)
        return grad


__all__ = ["PAIRWISE_BLOCK", "pairwise_block", "pairwise_dot", "batch_dot", "forward_pass", "backward_pass",
           "compiled_kernels", "compiled_batch_dot", "NumbaBuffers", "NumbaKernel"]

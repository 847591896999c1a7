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
only the first process compiles, a few seconds; :func:`jit_cached` keys the cache on
``numerics.py`` as well, whose ``tanh_scalar`` the passes inline). The batch is innermost (contiguous rows of
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


def pairwise_block(p, q, lo, n):
    """``sum_b p[b] q[b]`` over ``b in [lo, lo + n)``, ``n <= PAIRWISE_BLOCK``, in the order of
    numpy's pairwise summation of the products (one block: 8 accumulators, then the rest)."""
    if n < 8:
        res = 0.0
        for b in range(lo, lo + n):
            res += p[b] * q[b]
        return res
    r0 = p[lo] * q[lo]
    r1 = p[lo + 1] * q[lo + 1]
    r2 = p[lo + 2] * q[lo + 2]
    r3 = p[lo + 3] * q[lo + 3]
    r4 = p[lo + 4] * q[lo + 4]
    r5 = p[lo + 5] * q[lo + 5]
    r6 = p[lo + 6] * q[lo + 6]
    r7 = p[lo + 7] * q[lo + 7]
    j = 8
    while j < n - n % 8:
        b = lo + j
        r0 += p[b] * q[b]
        r1 += p[b + 1] * q[b + 1]
        r2 += p[b + 2] * q[b + 2]
        r3 += p[b + 3] * q[b + 3]
        r4 += p[b + 4] * q[b + 4]
        r5 += p[b + 5] * q[b + 5]
        r6 += p[b + 6] * q[b + 6]
        r7 += p[b + 7] * q[b + 7]
        j += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while j < n:
        res += p[lo + j] * q[lo + j]
        j += 1
    return res


def pairwise_dot(p, q, lo, n):
    """``sum_b p[b] q[b]`` over ``[lo, lo + n)`` in numpy's pairwise order: blocks of
    :data:`PAIRWISE_BLOCK`, a longer range split at half (rounded down to a multiple of 8), the
    halves summed first, then added. numpy's recursion, run on an explicit stack (numba's cache
    does not keep recursive functions)."""
    if n <= PAIRWISE_BLOCK:
        return _block_compiled(p, q, lo, n)
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
            vals[vp] = _block_compiled(p, q, f_lo[top], m)
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


def batch_dot(p, q):
    """:func:`numpy.sum` of ``p * q`` (two rows of the same length), bit for bit:
    ``0 + pairwise`` (one block inline, the common case; longer rows split)."""
    n = p.shape[0]
    if n <= PAIRWISE_BLOCK:
        return 0.0 + _block_compiled(p, q, 0, n)
    return 0.0 + _pairwise_compiled(p, q, 0, n)


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


def backward_pass(A, Z, D, theta, order, code, bias, fwd_start, fwd_src, fwd_param, pull_start, pull_src,
                  pull_param, single, shared, use_start, use_dst, use_src, grad):
    """Backward pass: ``D`` holds ``dL/dlogits`` in its loss rows (set by the caller); every
    instance's ``dL/da`` is pulled from its contributions in autograd's order, then turned into
    ``dL/dz`` in place; ``grad`` (biases then weights, the engine's order; zeros on entry) gets
    each parameter's batch sums: at once for a row computed once (its parameters' only use),
    after the pass over their uses in order for the ``shared`` ones (cyclic blocks)."""
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
        if single[j]:
            # dL/dp = 0 + sum_batch a_src dL/dz_j for the bias (a_src = 1) and each weight
            dj = D[j]
            grad[bias[j]] = 0.0 + _batch_dot_compiled(A[0], dj)
            for q in range(fwd_start[j], fwd_start[j + 1]):
                grad[fwd_param[q]] = 0.0 + _batch_dot_compiled(A[fwd_src[q]], dj)
    # a parameter of a cyclic block: 0 + its uses' batch sums, in autograd's order
    for k in range(shared.shape[0]):
        p = shared[k]
        g = 0.0
        for q in range(use_start[p], use_start[p + 1]):
            g += _batch_dot_compiled(A[use_src[q]], D[use_dst[q]])
        grad[p] = g


#: ``(forward_pass, backward_pass)`` compiled, ``False`` when numba cannot be imported,
#: ``None`` before the first call of :func:`compiled_kernels`.
_COMPILED = None


def source_fingerprint() -> str:
    """A digest of the source files whose compiled functions others call: ``numerics.py``
    (the scalar twins) and this file (the batch sums); see :func:`jit_cached`."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha256(Path(numerics.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def jit_cached(numba, fn, **opts):
    """``numba.njit(cache=True, **opts)`` of ``fn``, its cache keyed on the source of the
    functions it calls from other files too.

    numba's cache is invalidated when the cached function's own file changes, not when a
    function it calls from another file does (a documented limitation), so an edit of
    ``numerics.tanh_scalar`` would leave stale machine code in use. The function is compiled
    under a name that carries :func:`source_fingerprint` (numba names its cache files after
    it), so other sources get other cache files.
    """
    import types

    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    twin.__qualname__ = f"{fn.__qualname__}_{source_fingerprint()}"
    twin.__doc__ = fn.__doc__
    return numba.njit(cache=True, **opts)(twin)


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
            opts = dict(nogil=True, error_model="numpy")
            _tanh_compiled = jit_cached(numba, numerics.tanh_scalar, inline="always", **opts)
            _block_compiled = jit_cached(numba, pairwise_block, inline="always", **opts)
            _pairwise_compiled = jit_cached(numba, pairwise_dot, **opts)
            _batch_dot_compiled = jit_cached(numba, batch_dot, inline="always", **opts)
            _COMPILED = (jit_cached(numba, forward_pass, **opts), jit_cached(numba, backward_pass, **opts))
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
        grad = np.zeros(len(theta))
        bf.D[pr.loss_row:] = dout
        self._backward(bf.A, bf.Z, bf.D, theta, pr.order, pr.code, pr.bias, pr.fwd_start, pr.fwd_src, pr.fwd_param,
                       pr.pull_start, pr.pull_src, pr.pull_param, pr.single, pr.shared, pr.use_start, pr.use_dst,
                       pr.use_src, grad)
        return grad


__all__ = ["source_fingerprint", "jit_cached", "PAIRWISE_BLOCK", "pairwise_block", "pairwise_dot", "batch_dot", "forward_pass", "backward_pass",
           "compiled_kernels", "compiled_batch_dot", "NumbaBuffers", "NumbaKernel"]

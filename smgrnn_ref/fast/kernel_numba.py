"""The compiled kernel of the fast engine: one loop per node over its incoming edges (numba).

Invariant kept: **a node is computed from values already final** -- positions run in block
order, every acyclic node reads only earlier positions, and a cyclic block is swept ``K`` times
from zero (the evaluator's semantics, :mod:`smgrnn_ref.evaluate`) before any later node reads
it. The backward pass visits the blocks in reverse and, inside a cyclic block, the sweeps in
reverse.

The passes are plain Python functions compiled lazily by :func:`compiled_kernels` with
``numba.njit(cache=True)`` (the machine code is cached next to this file across processes, so
only the first process compiles, a few seconds). Incoming edges are stored by destination
position (CSR: ``in_start``, ``in_src``, ``in_param``), the batch innermost (contiguous rows
of ``A``), so the cost is the arithmetic alone, whatever the graph's depth.
``error_model="numpy"`` (no zero-division checks) lets LLVM vectorise the batch loops, and
``tanh`` is :func:`fast_tanh` (within 3 ulp of numpy's, vectorisable), because libm's scalar
``tanh`` cost more than all the rest of the arithmetic.

Activation codes are those of :mod:`smgrnn_ref.fast.compiler` (numba freezes the module-level
ints ``TANH`` and ``RELU`` into the compiled code as constants).
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from .compiler import RELU, TANH
from .kernel import Kernel

_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split
_INV_LN2 = 1.44269504088896338700e+00
(_E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = (
    1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880, 1 / 3628800,
    1 / 39916800, 1 / 479001600, 1 / 6227020800)


def fast_tanh(z):
    """``tanh(z)`` within 3 ulp of numpy's (its absolute error is below ``4e-16``), branch-free
    so that LLVM vectorises the loops that call it (libm's ``tanh`` is a scalar call, several
    times slower than the whole affine part of a node).

    ``tanh |z| = -m / (2 + m)`` with ``m = expm1(-2|z|)``; ``expm1`` by range reduction
    ``2|z| = k ln 2 + r`` (``|r| <= ln(2)/2``), a degree-13 Taylor polynomial for
    ``expm1(-r)`` and ``2^-k`` from the bits of ``k`` (exact powers of two). ``|z| >= 20``
    gives exactly ``+-1`` (as the rounded ``tanh``); NaN stays NaN.
    """
    y = 2.0 * abs(z)
    y = min(y, 40.0)
    kf = np.floor(y * _INV_LN2 + 0.5)
    x = (kf * _LN2_HI - y) + kf * _LN2_LO  # -r
    q = x * (_E1 + x * (_E2 + x * (_E3 + x * (_E4 + x * (_E5 + x * (_E6 + x * (_E7 + x * (
        _E8 + x * (_E9 + x * (_E10 + x * (_E11 + x * (_E12 + x * _E13))))))))))))
    sc = 1.0
    bit = kf >= 32.0
    sc = sc * (2.3283064365386963e-10 if bit else 1.0)
    kf = kf - (32.0 if bit else 0.0)
    bit = kf >= 16.0
    sc = sc * (1.52587890625e-05 if bit else 1.0)
    kf = kf - (16.0 if bit else 0.0)
    bit = kf >= 8.0
    sc = sc * (0.00390625 if bit else 1.0)
    kf = kf - (8.0 if bit else 0.0)
    bit = kf >= 4.0
    sc = sc * (0.0625 if bit else 1.0)
    kf = kf - (4.0 if bit else 0.0)
    bit = kf >= 2.0
    sc = sc * (0.25 if bit else 1.0)
    kf = kf - (2.0 if bit else 0.0)
    sc = sc * (0.5 if kf >= 1.0 else 1.0)
    m = sc * q + (sc - 1.0)  # exp(-2|z|) - 1, no cancellation for small |z|
    r = -m / (2.0 + m)
    r = r if z >= 0.0 else -r
    return r if z == z else z


def rowdot(P, i, Q, k, B):
    """``sum_b P[i, b] Q[k, b]`` with four partial sums (vectorisable, unlike one chain)."""
    s0 = s1 = s2 = s3 = 0.0
    B4 = B - B % 4
    for b in range(0, B4, 4):
        s0 += P[i, b] * Q[k, b]
        s1 += P[i, b + 1] * Q[k, b + 1]
        s2 += P[i, b + 2] * Q[k, b + 2]
        s3 += P[i, b + 3] * Q[k, b + 3]
    for b in range(B4, B):
        s0 += P[i, b] * Q[k, b]
    return (s0 + s1) + (s2 + s3)


#: The compiled helpers, bound by :func:`compiled_kernels` (the passes read these globals).
_tanh_compiled = _rowdot_compiled = None


def forward_pass(A, Z, SA, SZ, theta, in_start, in_src, in_param, code, block_start, block_end,
                 block_cyclic, n_fixed, K):
    """Forward pass in place: ``A`` (``N x B``, rows ``0..n_fixed-1`` set by the caller), ``Z``
    the pre-activations; a cyclic block keeps its sweeps in ``SA[k]`` (``a^(k)``) and ``SZ[k-1]``
    (``z^(k)``)."""
    B = A.shape[1]
    for bi in range(block_start.shape[0]):
        s = block_start[bi]
        e = block_end[bi]
        if block_cyclic[bi] == 0:
            for j in range(s, e):
                bias = theta[j - n_fixed]
                for b in range(B):
                    Z[j, b] = bias
                for q in range(in_start[j], in_start[j + 1]):
                    w = theta[in_param[q]]
                    u = in_src[q]
                    for b in range(B):
                        Z[j, b] += w * A[u, b]
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
        else:
            # the part from earlier nodes and the bias, constant over the sweeps, into Z
            for j in range(s, e):
                bias = theta[j - n_fixed]
                for b in range(B):
                    Z[j, b] = bias
                    SA[0, j, b] = 0.0
                for q in range(in_start[j], in_start[j + 1]):
                    u = in_src[q]
                    if u < s:
                        w = theta[in_param[q]]
                        for b in range(B):
                            Z[j, b] += w * A[u, b]
            # K synchronous sweeps from zero
            for k in range(1, K + 1):
                for j in range(s, e):
                    for b in range(B):
                        SZ[k - 1, j, b] = Z[j, b]
                    for q in range(in_start[j], in_start[j + 1]):
                        u = in_src[q]
                        if u >= s:
                            w = theta[in_param[q]]
                            for b in range(B):
                                SZ[k - 1, j, b] += w * SA[k - 1, u, b]
                    c = code[j]
                    for b in range(B):
                        z = SZ[k - 1, j, b]
                        if c == TANH:
                            SA[k, j, b] = _tanh_compiled(z)
                        elif c == RELU:
                            SA[k, j, b] = 0.0 if z < 0.0 else z
                        else:
                            SA[k, j, b] = z
            for j in range(s, e):
                for b in range(B):
                    A[j, b] = SA[K, j, b]


def backward_pass(A, Z, DA, W1, W2, SA, SZ, dout, out_pos, theta, in_start, in_src, in_param, code,
                  block_start, block_end, block_cyclic, n_fixed, K, grad):
    """Backward pass: ``grad`` (biases then weights, the engine's order) from ``dout``
    (``n_out x B``, output index order). ``DA`` accumulates ``dL/da`` and then holds
    ``dL/dz`` of each node; ``W1``, ``W2`` are work rows for the sweeps of cyclic blocks."""
    N, B = A.shape
    for j in range(n_fixed, N):
        for b in range(B):
            DA[j, b] = 0.0
    for c in range(out_pos.shape[0]):
        j = out_pos[c]
        for b in range(B):
            DA[j, b] += dout[c, b]
    for bi in range(block_start.shape[0] - 1, -1, -1):
        s = block_start[bi]
        e = block_end[bi]
        if block_cyclic[bi] != 0:
            # back through a^(k) = f(z_ext + Wc a^(k-1)): W1 = dL/dz^(k), W2 = sum over k
            for j in range(s, e):
                for b in range(B):
                    W2[j, b] = 0.0
                for q in range(in_start[j], in_start[j + 1]):
                    if in_src[q] >= s:
                        grad[in_param[q]] = 0.0
            for k in range(K, 0, -1):
                for j in range(s, e):
                    c = code[j]
                    for b in range(B):
                        if c == TANH:
                            a = SA[k, j, b]
                            d = DA[j, b] * (1.0 - a * a)
                        elif c == RELU:
                            z = SZ[k - 1, j, b]
                            d = DA[j, b] * (1.0 if z > 0.0 else (0.5 if z == 0.0 else 0.0))
                        else:
                            d = DA[j, b]
                        W1[j, b] = d
                        W2[j, b] += d
                        DA[j, b] = 0.0
                for j in range(s, e):
                    for q in range(in_start[j], in_start[j + 1]):
                        u = in_src[q]
                        if u >= s:
                            p = in_param[q]
                            w = theta[p]
                            grad[p] += _rowdot_compiled(W1, j, SA[k - 1], u, B)
                            for b in range(B):
                                DA[u, b] += w * W1[j, b]
            for j in range(e - 1, s - 1, -1):
                for b in range(B):
                    DA[j, b] = W2[j, b]
        for j in range(e - 1, s - 1, -1):
            if block_cyclic[bi] == 0:
                c = code[j]
                if c == TANH:
                    for b in range(B):
                        a = A[j, b]
                        DA[j, b] *= 1.0 - a * a
                elif c == RELU:
                    for b in range(B):
                        z = Z[j, b]
                        DA[j, b] *= 1.0 if z > 0.0 else (0.5 if z == 0.0 else 0.0)
            grad[j - n_fixed] = _rowdot_compiled(DA, j, A, 0, B)  # row 0 of A is 1
            for q in range(in_start[j], in_start[j + 1]):
                u = in_src[q]
                if u >= s:
                    continue  # inside a cyclic block: done above, summed over the sweeps
                p = in_param[q]
                grad[p] = _rowdot_compiled(DA, j, A, u, B)
                if u >= n_fixed:
                    w = theta[p]
                    for b in range(B):
                        DA[u, b] += w * DA[j, b]


#: ``(forward_pass, backward_pass)`` compiled, ``False`` when numba cannot be imported,
#: ``None`` before the first call of :func:`compiled_kernels`.
_COMPILED = None


def compiled_kernels():
    """``(forward_pass, backward_pass)`` compiled with ``numba.njit(cache=True)``, or ``None``
    when numba cannot be imported (numba is imported on the first call only)."""
    global _COMPILED, _tanh_compiled, _rowdot_compiled
    if _COMPILED is None:
        try:
            import numba
        except ImportError:
            _COMPILED = False
        else:
            opts = dict(cache=True, nogil=True, error_model="numpy")
            _tanh_compiled = numba.njit(inline="always", **opts)(numerics.tanh_scalar)
            _rowdot_compiled = numba.njit(inline="always", **opts)(rowdot)
            _COMPILED = (numba.njit(**opts)(forward_pass), numba.njit(**opts)(backward_pass))
    return _COMPILED or None


class NumbaBuffers:
    """Work arrays of the compiled passes for one batch size (one layout)."""

    def __init__(self, layout, batch: int, sweeps: int):
        N = layout.n_positions
        self.A = np.empty((N, batch))
        self.A[0] = 1.0
        self.Z = np.empty((N, batch))
        self.DA = np.empty((N, batch))
        if layout.any_cyclic:
            K = sweeps
            self.W1, self.W2 = np.empty((N, batch)), np.empty((N, batch))
            self.SA, self.SZ = np.empty((K + 1, N, batch)), np.empty((K, N, batch))
        else:  # unused: placeholders of the same types (one compiled specialisation)
            self.W1 = self.W2 = np.empty((1, 1))
            self.SA = self.SZ = np.empty((1, 1, 1))


class NumbaKernel(Kernel):
    """The compiled passes over the layout's CSR arrays (needs numba)."""

    name = "numba"

    def __init__(self, sweeps: int):
        super().__init__(sweeps)
        self._forward, self._backward = compiled_kernels()

    def reindex(self, layout, theta):
        """Incoming edges by destination position (CSR, sources ascending), activation codes
        by position, block bounds."""
        self.layout = layout
        N, nb = layout.n_positions, layout.n_biases
        dst, src = layout.param_dst[nb:], layout.param_src[nb:]
        order = np.lexsort((src, dst))
        self.in_param = (nb + order).astype(np.intp)
        self.in_src = np.ascontiguousarray(src[order], dtype=np.intp)
        self.in_start = np.zeros(N + 1, dtype=np.intp)
        np.cumsum(np.bincount(dst, minlength=N), out=self.in_start[1:])
        code = np.zeros(N, dtype=np.intp)
        for b in layout.blocks:
            for lo, hi, c in b.runs:
                code[b.s + lo:b.s + hi] = c
        self.code = code
        self.block_start = np.array([b.s for b in layout.blocks], dtype=np.intp)
        self.block_end = np.array([b.e for b in layout.blocks], dtype=np.intp)
        self.block_cyclic = np.array([b.cyclic for b in layout.blocks], dtype=np.intp)

    def _new_buffers(self, batch):
        return NumbaBuffers(self.layout, batch, self.sweeps)

    def forward(self, X, theta):
        bf = self.buffers(X.shape[0])
        bf.A[1:self.layout.n_fixed] = X.T
        self._forward(bf.A, bf.Z, bf.SA, bf.SZ, theta, self.in_start, self.in_src, self.in_param,
                      self.code, self.block_start, self.block_end, self.block_cyclic,
                      self.layout.n_fixed, self.sweeps)
        return bf

    def backward(self, bf, dout, theta):
        grad = np.empty(len(theta))
        self._backward(bf.A, bf.Z, bf.DA, bf.W1, bf.W2, bf.SA, bf.SZ, np.ascontiguousarray(dout),
                       self.layout.out_positions, theta, self.in_start, self.in_src, self.in_param,
                       self.code, self.block_start, self.block_end, self.block_cyclic,
                       self.layout.n_fixed, self.sweeps, grad)
        return grad


__all__ = ["fast_tanh", "rowdot", "forward_pass", "backward_pass", "compiled_kernels", "NumbaBuffers",
           "NumbaKernel"]

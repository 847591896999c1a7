"""The numpy kernel of the fast engine: the program of :mod:`smgrnn_ref.fast.tape`, one stage
(a block, or one sweep of a cyclic block) at a time, one source rank at a time.

Invariant kept: **the numba kernel's bits, which are the reference's** -- the same operations
in the same order, only grouped differently. No BLAS: a matrix product sums in an order chosen
per CPU (``OPENBLAS_CORETYPE``), so every sum here is either element-wise (one term added to
many rows at once) or :func:`numpy.sum` of a contiguous vector (numpy's pairwise summation,
whose order is fixed).

Forward, per stage ``[lo, hi)`` (its instances read only earlier stages)::

    Z = b + 0
    for r = 0, 1, ...:   Z[rows with an r-th source] += w_r a[r-th source]     (ascending node id)
    A = f(Z)                                   (tanh: smgrnn_ref.numerics.tanh, as the reference)

Backward, stages in reverse::

    D = 0
    for r = 0, 1, ...:   D[rows with an r-th contribution] += w_r D[r-th contributor]
                                                       (autograd's order; w = 1 for dL/dlogits)
    D *= f'(Z)          (tanh: 1 - A^2; relu: 1, 1/2 at exactly zero as autograd's maximum, 0)

and each parameter's gradient is ``0 + sum over its uses (in order) of numpy.sum(a_src dL/dz_dst)``.

The cost is about a constant per stage and source rank (a few numpy calls) plus the
arithmetic, so deep graphs and nodes with many sources cost more than with the numba kernel,
which is the default whenever numba is installed.
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from .compiler import IDENTITY, RELU, TANH
from .kernel import Kernel
from .tape import build_program

#: Parameter uses whose products are formed at once in the gradient sums (a chunk of
#: ``USE_CHUNK x batch`` doubles: 2 MB at batch 64).
USE_CHUNK = 4096


def act_forward(code: int, z: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = f(z)`` for the activation ``code``."""
    if code == TANH:
        out[...] = numerics.tanh(z)
    elif code == IDENTITY:
        out[...] = z
    else:
        np.maximum(z, 0.0, out=out)


def relu_slope(z: np.ndarray) -> np.ndarray:
    """``relu'(z)``, with autograd's convention for ``maximum(z, 0)``: a tie at exactly
    ``z == 0`` splits the gradient evenly (slope 1/2)."""
    return (z > 0.0) + 0.5 * (z == 0.0)


def act_grad(code: int, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> None:
    """``da *= f'(z)`` in place, given ``z`` and ``a = f(z)``."""
    if code == TANH:
        # tanh' = 1 - tanh^2 (the derivative numerics.tanh gives autograd)
        da *= 1.0 - a * a
    elif code == RELU:
        da *= relu_slope(z)


def _ranked(start: np.ndarray, stage_of_row: np.ndarray, stages: list, src: np.ndarray, param: np.ndarray) -> list:
    """Per stage, ``(src, param, ranks)``: the sources and parameters of all its entries (of the
    CSR ``start``) ordered by rank ``r = 0, 1, ...`` (the ``r``-th entry of every row that has
    one), and per rank ``(a, b, local rows)`` -- its entries are ``[a, b)`` of those arrays,
    ``local rows`` is ``None`` when it is the whole stage in order."""
    n = int(start[-1])
    rows = np.repeat(np.arange(len(start) - 1), np.diff(start))
    rank = np.arange(n) - start[rows]
    st = stage_of_row[rows]
    order = np.lexsort((rows, rank, st))
    rows, rank, st, src, param = rows[order], rank[order], st[order], src[order], param[order]
    out = [(src[:0], param[:0], []) for _ in stages]
    if n == 0:
        return out
    # the stages' stretches, and inside each the ranks' stretches
    cut = np.flatnonzero((np.diff(rank) != 0) | (np.diff(st) != 0)) + 1
    bounds = list(zip(np.concatenate(([0], cut)).tolist(), np.concatenate((cut, [n])).tolist()))
    first = {}
    for a, b in bounds:
        s = int(st[a])
        first.setdefault(s, a)
        lo, hi, _ = stages[s]
        whole = b - a == hi - lo  # every row of the stage, ascending: a slice does it
        out[s][2].append((a - first[s], b - first[s], None if whole else rows[a:b] - lo))
    for s, a in first.items():
        b = a + sum(hi_ - lo_ for lo_, hi_, _ in out[s][2])
        out[s] = (src[a:b], param[a:b], out[s][2])
    return out


class NumpyBuffers:
    """Work arrays for one batch size (one program)."""

    def __init__(self, prog, batch: int):
        R = prog.n_rows
        self.A = np.zeros((R, batch))  # instance values; row 0 is the constant 1
        self.A[0] = 1.0
        self.Z = np.zeros((R, batch))  # pre-activations
        self.D = np.zeros((R, batch))  # dL/da, then dL/dz; the loss rows hold dL/dlogits


class NumpyKernel(Kernel):
    """The program by stages and ranks, numpy element-wise operations only."""

    name = "numpy"

    def reindex(self, layout, theta):
        """The program of the layout, grouped by stage and rank."""
        old = getattr(self, "prog", None)
        self.layout = layout
        pr = self.prog = build_program(layout, self.sweeps)
        if old is None or old.n_rows != pr.n_rows:
            self._buffers = {}
        stage_of_row = np.zeros(pr.n_rows, dtype=np.intp)
        for i, (lo, hi, _) in enumerate(pr.stages):
            stage_of_row[lo:hi] = i
        P = len(theta)
        self.fwd_ranks = _ranked(pr.fwd_start, stage_of_row, pr.stages, pr.fwd_src, pr.fwd_param)
        # weight -1 (dL/dlogits) reads the 1 appended to theta
        pull_param = np.where(pr.pull_param >= 0, pr.pull_param, P)
        self.pull_ranks = _ranked(pr.pull_start, stage_of_row, pr.stages, pr.pull_src, pull_param)
        # the uses of every parameter, rank by rank (the r-th use of each parameter having one)
        n = int(pr.use_start[-1])
        par = np.repeat(np.arange(P), np.diff(pr.use_start))
        rank = np.arange(n) - pr.use_start[par]
        order = np.lexsort((par, rank))
        cut = np.flatnonzero(np.diff(rank[order]) != 0) + 1
        self.use_ranks = [(par[order][a:b], pr.use_src[order][a:b], pr.use_dst[order][a:b]) for a, b in
                          zip(np.concatenate(([0], cut)).tolist(), np.concatenate((cut, [n])).tolist()) if b > a]
        self.stage_bias = [pr.bias[lo:hi] for lo, hi, _ in pr.stages]

    def _new_buffers(self, batch):
        return NumpyBuffers(self.prog, batch)

    def forward(self, X, theta):
        bf = self.buffers(X.shape[0])
        A, Z = bf.A, bf.Z
        A[1:self.layout.n_fixed] = X.T
        for (lo, hi, runs), bias, (src, param, ranks) in zip(self.prog.stages, self.stage_bias, self.fwd_ranks):
            Zs = Z[lo:hi]
            # z = b + 0
            np.add(theta[bias][:, None], 0.0, out=Zs)
            # + w a, one source rank at a time (ascending node id); the terms formed at once
            terms = theta[param][:, None] * A[src]
            for a, b, rows in ranks:
                if rows is None:
                    Zs += terms[a:b]
                else:
                    Zs[rows] += terms[a:b]
            for rlo, rhi, code in runs:
                act_forward(code, Zs[rlo:rhi], A[lo + rlo:lo + rhi])
        return bf

    def backward(self, bf, dout, theta):
        A, Z, D, pr = bf.A, bf.Z, bf.D, self.prog
        D[pr.loss_row:] = dout
        weights = np.concatenate((theta, [1.0]))
        for (lo, hi, runs), (src, param, ranks) in zip(reversed(pr.stages), reversed(self.pull_ranks)):
            Ds = D[lo:hi]
            Ds[...] = 0.0
            # dL/da = sum of w dL/dz over the uses, one contribution rank at a time (the
            # contributors are in later stages: final), the terms formed at once
            terms = weights[param][:, None] * D[src]
            for a, b, rows in ranks:
                if rows is None:
                    Ds += terms[a:b]
                else:
                    Ds[rows] += terms[a:b]
            # dL/dz = dL/da f'(z)
            for rlo, rhi, code in runs:
                act_grad(code, Z[lo + rlo:lo + rhi], A[lo + rlo:lo + rhi], Ds[rlo:rhi])
        return self._param_grads(A, D, len(theta))

    @staticmethod
    def _batch_sums(A, D, src, dst) -> np.ndarray:
        """``numpy.sum(A[src[i]] * D[dst[i]])`` for every ``i`` (numpy's pairwise order per row),
        in chunks of :data:`USE_CHUNK`."""
        out = np.empty(len(src))
        for a in range(0, len(src), USE_CHUNK):
            b = a + USE_CHUNK
            np.sum(A[src[a:b]] * D[dst[a:b]], axis=1, out=out[a:b])
        return out

    def _param_grads(self, A, D, P) -> np.ndarray:
        """Every parameter's gradient: ``0 + `` its uses' batch sums, in order."""
        grad = np.zeros(P)
        for par, src, dst in self.use_ranks:
            grad[par] += self._batch_sums(A, D, src, dst)
        return grad


__all__ = ["USE_CHUNK", "act_forward", "relu_slope", "act_grad", "NumpyBuffers", "NumpyKernel"]

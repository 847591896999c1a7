"""The numpy kernel of the fast engine: one matrix product per block.

Invariant kept: **``Wt`` holds exactly the current parameters** -- ``Wt[pos(v), pos(u)] = w_uv``,
``Wt[pos(v), 0] = b_v`` and zero everywhere else -- rewritten after every optimizer step (one
``np.put``) and after every change of the parameter list (deleted parameters zeroed first).

A block ``[s, e)`` only reads earlier positions, so it is evaluated by one product::

    A[s:e] = f( Wt[s:e, :s] @ A[:s] )          (row 0 of A is 1: the biases are column 0)

and a cyclic block by ``K`` synchronous sweeps from zero (the evaluator's semantics)::

    a^(0) = 0,   a^(k) = f( Wt[s:e, :s] @ A[:s] + Wt[s:e, s:e] @ a^(k-1) ),   k = 1..K

The backward pass is written by hand: ``dL/dZ`` of a block is ``dL/dA * f'(Z)`` (``tanh``:
``1 - A^2``; ``relu``: ``1``, ``1/2`` at exactly zero as autograd's ``maximum`` has it, else
``0``; identity: ``1``), pulled from the later nodes that read the block
(``Wt[e:, s:e].T @ dL/dZ[e:]``), and through the sweeps of a cyclic block in reverse. Weight
gradients are ``sum_batch dL/dZ[v] * A[u]`` per edge; for an edge inside a cyclic block they
are summed over the sweeps with the previous sweep's values.

The cost of a pass is about a constant per block (two numpy calls forward, two backward) plus
the arithmetic, so deep graphs cost more than wide ones; ``Wt`` is ``N x N`` floats, so very
large graphs need the numba kernel.
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from .compiler import IDENTITY, RELU, TANH
from .kernel import Kernel

#: How an acyclic block applies its activations: all linear, identity rows then tanh rows,
#: or anything else (relu present) run by run.
_LINEAR, _TANH_ROWS, _MIXED = 0, 1, 2

#: Weight gradients by one dense product ``Dz A^T`` then a gather, rather than a gather of
#: both factors per parameter, while the graph has at most this many node pairs per parameter
#: (measured: the dense product wins until the graph is quite sparse).
DENSE_GRAD_PAIRS_PER_PARAM = 16


def act_forward(code: int, z: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = f(z)`` for the activation ``code``."""
    if code == TANH:
        out[...] = numerics.tanh(z)
    elif code == IDENTITY:
        if out is not z:
            out[...] = z
    else:
        np.maximum(z, 0.0, out=out)


def relu_slope(z: np.ndarray) -> np.ndarray:
    """``relu'(z)``, with autograd's convention for ``maximum(z, 0)``: a tie at exactly
    ``z == 0`` splits the gradient evenly (slope 1/2)."""
    return (z > 0.0) + 0.5 * (z == 0.0)


def act_grad(code: int, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """``dL/dz = dL/da * f'(z)`` given ``z`` and ``a = f(z)``."""
    if code == TANH:
        # tanh' = 1 - tanh^2 (autograd writes 1 / cosh^2: equal up to rounding)
        return da * (1.0 - a * a)
    if code == IDENTITY:
        return da
    return da * relu_slope(z)


def _block_modes(b, s, e, A, Dz, Fp, Z):
    """``(mode, forward extra, backward extra)`` of the acyclic block ``b`` at ``[s, e)``."""
    codes = [c for _, _, c in b.runs]
    if RELU in codes:
        # general: z kept for the relu slope, each run's activation on its rows
        return _MIXED, (Z[s:e], b.runs, A[s:e]), (Z[s:e], b.runs, Fp[s:e])
    if TANH in codes:
        # identity rows (if any) first, then one tanh run: tanh in place on its rows
        lo, hi, _ = b.runs[-1]
        return _TANH_ROWS, A[s + lo:s + hi], (Dz[s + lo:s + hi], Fp[s + lo:s + hi])
    return _LINEAR, None, None


class NumpyBuffers:
    """Work arrays for one batch size and the per-block views into them (built once per
    layout and batch size, so the block loops only call numpy kernels)."""

    def __init__(self, layout, Wt: np.ndarray, dense_grad: bool, batch: int):
        N, n_fixed = layout.n_positions, layout.n_fixed
        self.A = np.empty((N, batch))  # node values; row 0 is the constant 1 that carries biases
        self.A[0] = 1.0
        self.Dz = np.zeros((N, batch))  # dL/dz per node
        self.Fp = np.empty((N, batch))  # 1 - A^2 (tanh slopes), computed for all rows at once
        self.Z = np.empty((N, batch))  # pre-activations of relu blocks (their slope needs z)
        self.GW = np.empty((N - n_fixed, N)) if dense_grad else None
        self.sweeps = {}
        self.fwd, self.bwd = [], []
        A, Dz = self.A, self.Dz
        for i, b in enumerate(layout.blocks):
            s, e = b.s, b.e
            if b.cyclic:
                self.fwd.append((None, i, b, None, None))
                self.bwd.append((None, i, b, None, None, None))
                continue
            mode, fx, bx = _block_modes(b, s, e, A, Dz, self.Fp, self.Z)
            self.fwd.append((Wt[s:e, :s], A[:s], A[s:e], mode, fx))
            outs = None
            if b.out_slice is not None:
                r0, r1, p0, p1 = b.out_slice
                outs = (Dz[s + r0:s + r1], p0, p1, True)
            elif b.outs:
                outs = (Dz[s:e], np.array([r for r, _ in b.outs]), np.array([c for _, c in b.outs]), False)
            # pull: dL/dA of the block from the later nodes that read it
            self.bwd.append((Wt[e:, s:e].T, Dz[e:], Dz[s:e], mode, bx, outs))
        self.bwd.reverse()
        self.any_tanh = any(c == TANH for b in layout.blocks for _, _, c in b.runs)


class NumpyKernel(Kernel):
    """Block products over the dense transposed weight matrix ``Wt``."""

    name = "numpy"

    def compile(self, layout, theta):
        # a new node order: a new matrix (its size is the number of positions)
        self.Wt = np.zeros((layout.n_positions, layout.n_positions))
        super().compile(layout, theta)

    def reindex(self, layout, theta):
        """Flat ``Wt`` indices of the parameters, the weight-gradient strategy, the internal
        edges of cyclic blocks; writes the parameters into ``Wt``."""
        self.layout = layout
        psrc, pdst, N, n_fixed = layout.param_src, layout.param_dst, layout.n_positions, layout.n_fixed
        self.wt_index = pdst * N + psrc  # flat index of every parameter in Wt
        dense = (N - n_fixed) * N <= DENSE_GRAD_PAIRS_PER_PARAM * len(psrc)
        self.grad_index = (pdst - n_fixed) * N + psrc  # ... and in the dense gradient GW
        # edges with both ends in a cyclic block: (parameters, local dst, local src)
        self.internal = {}
        for i, b in enumerate(layout.blocks):
            if b.cyclic:
                inside = np.nonzero((pdst >= b.s) & (pdst < b.e) & (psrc >= b.s) & (psrc < b.e))[0]
                self.internal[i] = (inside, pdst[inside] - b.s, psrc[inside] - b.s)
        np.put(self.Wt, self.wt_index, theta)
        for B, bf in list(self._buffers.items()):
            if (bf.GW is not None) != dense:
                del self._buffers[B]  # gradient strategy changed: rebuild the work arrays
        self.dense_grad = dense

    def drop_params(self, params):
        self.Wt.flat[self.wt_index[params]] = 0.0

    def params_updated(self, theta):
        np.put(self.Wt, self.wt_index, theta)

    def _new_buffers(self, batch):
        return NumpyBuffers(self.layout, self.Wt, self.dense_grad, batch)

    def forward(self, X, theta):
        bf = self.buffers(X.shape[0])
        bf.A[1:self.layout.n_fixed] = X.T
        matmul = np.matmul
        for W, src, dst, mode, x in bf.fwd:
            if W is None:
                self._forward_cyclic(bf, src, dst)  # (block index, block)
            elif mode == _TANH_ROWS:
                # z = sum_i w_ij a_i + b_j (row 0 of A is 1: the biases), then tanh in place
                # on the tanh rows; identity rows (outputs) keep z
                matmul(W, src, out=dst)
                x[...] = numerics.tanh(x)
            elif mode == _LINEAR:
                matmul(W, src, out=dst)
            else:
                Zb, runs, Ab = x
                matmul(W, src, out=Zb)
                for lo, hi, code in runs:
                    act_forward(code, Zb[lo:hi], Ab[lo:hi])
        return bf

    def _forward_cyclic(self, bf, i, b) -> None:
        """K synchronous sweeps from zero over a cyclic block; the sweeps are kept for
        the backward pass."""
        s, e, Wt, A = b.s, b.e, self.Wt, bf.A
        # the part from earlier nodes and the bias: constant over the sweeps
        z_ext = Wt[s:e, :s] @ A[:s]
        Wc = Wt[s:e, s:e]
        a = np.zeros_like(z_ext)
        sweeps = [(None, a)]
        for _ in range(self.sweeps):
            zk = z_ext + Wc @ a
            a = np.empty_like(zk)
            for lo, hi, code in b.runs:
                act_forward(code, zk[lo:hi], a[lo:hi])
            sweeps.append((zk, a))
        A[s:e] = a
        bf.sweeps[i] = sweeps

    def backward(self, bf, dout, theta):
        A, Fp = bf.A, bf.Fp
        doutT = dout  # n_out x batch, output index order (cyclic blocks)
        doutP = dout[self.layout.out_perm]  # the same rows in position order (acyclic blocks)
        if bf.any_tanh:
            # tanh slopes of every node at once: cheaper than one call per block
            np.multiply(A, A, out=Fp)
            np.subtract(1.0, Fp, out=Fp)
        matmul, multiply = np.matmul, np.multiply
        internal = []
        for Wp, dsrc, ddst, mode, x, outs in bf.bwd:
            if Wp is None:
                internal.append(self._backward_cyclic(bf, dsrc, ddst, doutT))
                continue
            # pull dL/dA of the block from the later nodes that read it
            matmul(Wp, dsrc, out=ddst)
            if outs is not None:
                # + dL/dlogits on the output rows
                v, a, b, contiguous = outs
                if contiguous:
                    np.add(v, doutP[a:b], out=v)
                else:
                    v[a] += doutT[b]
            if mode == _TANH_ROWS:
                multiply(x[0], x[1], out=x[0])
            elif mode == _MIXED:
                Zb, runs, Fb = x
                for lo, hi, code in runs:
                    if code == TANH:
                        ddst[lo:hi] *= Fb[lo:hi]
                    elif code == RELU:
                        ddst[lo:hi] *= relu_slope(Zb[lo:hi])
        return self._weight_grads(bf, internal)

    def _weight_grads(self, bf, internal) -> np.ndarray:
        """Every parameter's gradient from the ``dL/dz`` of the pass (cyclic blocks' internal
        edges from their sweeps)."""
        A, Dz, n_fixed = bf.A, bf.Dz, self.layout.n_fixed
        if self.dense_grad:
            # dL/dw_uv = sum_batch dL/dz_v a_u for all pairs, then the parameters' entries
            np.matmul(Dz[n_fixed:], A.T, out=bf.GW)
            grad = np.take(bf.GW, self.grad_index)
        else:
            grad = np.einsum("kb,kb->k", Dz[self.layout.param_dst], A[self.layout.param_src])
        for i, gWc in internal:
            # inside a cyclic block the weight met a different a_u at every sweep
            params, dst, src = self.internal[i]
            grad[params] = gWc[dst, src]
        return grad

    def _backward_cyclic(self, bf, i, b, doutT):
        """Back through the sweeps ``a^(k) = f(z_ext + Wc a^(k-1))`` of a cyclic block."""
        s, e, Wt, Dz = b.s, b.e, self.Wt, bf.Dz
        sweeps = bf.sweeps[i]
        da = Wt[e:, s:e].T @ Dz[e:]
        if b.outs:
            for r, c in b.outs:
                da[r] += doutT[c]
        Wc = Wt[s:e, s:e]
        dz = np.zeros_like(da)
        gWc = np.zeros((e - s, e - s))
        for k in range(len(sweeps) - 1, 0, -1):
            zk, ak = sweeps[k]
            dzk = np.empty_like(zk)
            for lo, hi, code in b.runs:
                dzk[lo:hi] = act_grad(code, zk[lo:hi], ak[lo:hi], da[lo:hi])
            dz += dzk
            gWc += dzk @ sweeps[k - 1][1].T
            da = Wc.T @ dzk
        # the bias and the weights from earlier nodes see the sum over the sweeps
        Dz[s:e] = dz
        return i, gWc


__all__ = ["DENSE_GRAD_PAIRS_PER_PARAM", "act_forward", "relu_slope", "act_grad", "NumpyBuffers",
           "NumpyKernel"]

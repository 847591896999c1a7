"""The fast engine: the reference engine's arithmetic on arrays derived from the graph.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via
Local Structural Plasticity", arXiv 2512.12713) trains the weights of a growing directed graph
``G_t = (V_t, E_t)`` with Adam on a distillation loss while the Structural Plasticity Module
(SPM) edits the structure from windowed statistics of the weight updates ``Delta w_{k,t}``.
:class:`smgrnn_ref.engine.ReferenceEngine` does this one node and one parameter at a time
(autograd, Python dicts, deques) and is the code to read; :class:`FastEngine` has the same
interface and produces the same losses, gradients, Adam states, recorded windows and SPM
events (up to floating-point rounding, about ``1e-15``), many times faster.

How the arrays are derived from the graph
-----------------------------------------
The NetworkX graph stays the source of truth of the **structure**. At construction and after a
structural edit that needs it, :meth:`FastEngine._compile` derives:

* a **node order** (positions ``0..N-1``): position 0 is a constant ``1`` whose outgoing
  "weights" are the biases, then the input nodes by ``index``, then the other nodes in
  *blocks*. The strongly connected components (SCCs) of ``G`` are levelled (inputs at level
  0; a component's level is one more than the highest level among its predecessors); the
  acyclic (single-node) components of one level that share an activation form one block, and
  each cyclic SCC is a block of its own (members sorted by activation). A block only reads
  earlier positions (and, if cyclic, itself), so it is evaluated by one matrix product::

      A[s:e] = f( Wt[s:e, :s] @ A[:s] )          (row 0 of A is 1: the biases are column 0)

  and a cyclic block by ``K`` synchronous sweeps from zero, the evaluator's semantics
  (:mod:`smgrnn_ref.evaluate`)::

      a^(0) = 0,   a^(k) = f( Wt[s:e, :s] @ A[:s] + Wt[s:e, s:e] @ a^(k-1) ),   k = 1..K

  With the ``numpy`` kernel the cost of a pass is therefore about a constant per block (two
  numpy calls forward, two backward) plus the arithmetic: deep graphs cost more than wide
  ones. The ``numba`` kernel (the default when numba is importable, see ``kernel``) runs the
  same schedule as two compiled functions, one loop per node over its incoming edges (CSR by
  destination position) with the batch innermost, so its cost is the arithmetic alone;
  ``tanh`` there is :func:`_nb_tanh` (within 3 ulp of numpy's, vectorisable).
* a **dense transposed weight matrix** ``Wt`` (``N x N``, ``Wt[pos(v), pos(u)] = w_uv`` and
  ``Wt[pos(v), 0] = b_v``), rewritten from the parameter vector after each optimizer step
  (one ``np.put``);
* a **parameter vector** ``theta`` = biases of the non-input nodes in position order, then the
  edge weights in the engine's edge order (the graph's order at a full compile; carried edges
  keep their place and new edges are appended), with Adam moments ``m``, ``v`` and
  per-parameter step counts ``t`` alongside, so one Adam step is a handful of vectorised
  operations (``1 - beta^t`` comes from a table computed with Python's ``beta ** t``, the
  expression of :func:`smgrnn_ref.optim.adam_update`, so the steps are bit-for-bit the same);
* **ring buffers** ``U`` (``T x E``) of the last ``T`` weight updates of every edge and
  ``Act`` (``T x (N - 1 - n_in)``) of the recorded batch-mean activations, one row per
  training step, with a per-column fill count (a relay's refractory clear sets it to zero).

Numeric state of elements that survive a structural edit is carried over by key (edge
``(u, v)`` or node id), never re-read from the graph; new elements are read from the graph
(fresh Adam state, empty windows, the weights the SPM drew). Only what is needed is rebuilt:
random growth whose new edges run from an earlier block into a later one appends parameter
columns, and pruning outside cyclic blocks deletes columns, both leaving the node order and
blocks as they are (the schedule stays valid; an acyclic graph's values do not depend on
which valid schedule evaluates them). A relay ``i -> r -> j`` whose ends are at least two
levels apart is spliced into the node order where a full compile would put it (the blocks
must still be the graph's levels, so not after an in-place removal); any other new or removed
node, or an edge that would break the schedule (or split a cyclic component), derives
everything again.

The backward pass is written by hand: ``dL/dZ`` of a block is ``dL/dA * f'(Z)`` (``tanh``:
``1 - A^2``; ``relu``: ``1``, ``1/2`` at exactly zero as autograd's ``maximum`` has it, else
``0``; identity: ``1``), pulled from the later nodes that read the block (``Wt[e:, s:e].T @ dL/dZ[e:]``), and through
the sweeps of a cyclic block in reverse. Weight gradients are ``sum_batch dL/dZ[v] * A[u]`` per edge; for an
edge inside a cyclic block they are summed over the sweeps with the previous sweep's values.

The SPM's *decisions* (which edges are unstable, which are pruning candidates) are
vectorised over the ring buffer. Windows whose criterion is within ``1e-9`` (relative) of its
threshold -- where the order of summation could matter -- are re-judged by the reference
functions :func:`smgrnn_ref.spm.is_unstable` / :func:`smgrnn_ref.spm.is_prune_candidate` on the
chronological window, so the decisions are exactly the reference rules'. The *edits* are made
by the reference functions (:func:`~smgrnn_ref.spm.insert_relay`,
:func:`~smgrnn_ref.spm.random_growth`, :func:`~smgrnn_ref.spm.remove_orphans`) or, for pruning,
by the same sorted candidate list and the same single ``rng.choice`` draw as
:func:`~smgrnn_ref.spm.prune`, so random draws, node ids and events are identical.

Lazy synchronisation
--------------------
Training steps update the arrays only. Reading :attr:`FastEngine.graph` (or ``.G``) writes
every weight, bias, Adam moment and count, ``updates`` and ``activations`` window back into
the graph's attributes (the deque objects are refilled in place), so the graph then equals
the one the reference engine would hold after the same steps. This costs ``O(T (N + E))``;
read :attr:`FastEngine.structure` instead when only the structure is needed. After editing
the graph by hand (structure *or* attributes), call :meth:`FastEngine.invalidate` so the
arrays are derived again.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph
>>> from smgrnn_ref.config import AdamConfig, SPMConfig
>>> from smgrnn_ref.engine import ReferenceEngine
>>> G = initial_graph(3, 2, rng=np.random.default_rng(0))
>>> ref = ReferenceEngine(G.copy(), adam=AdamConfig(), spm=SPMConfig())
>>> fast = FastEngine(G.copy(), adam=AdamConfig(), spm=SPMConfig())
>>> rng = np.random.default_rng(1)
>>> X, target = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
>>> abs(ref.train_step(X, target) - fast.train_step(X, target)) < 1e-12
True
>>> bool(np.allclose(ref.forward(X), fast.forward(X), rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from .config import AdamConfig, SPMConfig
from .evaluate import check_batch
from .graph import validate_graph
from .losses import get_loss

#: Relative margin of the vectorised SPM criteria: a window whose criterion lies within this
#: fraction of its scale from the threshold is judged again by the reference function on the
#: chronological window (summation order changes the statistics by ~1e-16 relative).
DECISION_MARGIN = 1e-9

#: Columns of the update window processed at once by the vectorised statistics (T x 256
#: doubles = 200 KB at T = 100: within a core's L2 cache).
_STATS_CHUNK = 256

#: Activation codes of the block loops (a small int is cheaper to test than a string).
_IDENTITY, _RELU, _TANH = 0, 1, 2

#: How an acyclic block applies its activations: all linear, identity rows then tanh rows,
#: or anything else (relu present) run by run.
_LINEAR, _TANH_ROWS, _MIXED = 0, 1, 2
_ACT_CODE = {"identity": _IDENTITY, "relu": _RELU, "tanh": _TANH}


def _act_forward(code: int, z: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = f(z)`` for the activation ``code``."""
    if code == _TANH:
        np.tanh(z, out=out)
    elif code == _IDENTITY:
        if out is not z:
            out[...] = z
    else:
        np.maximum(z, 0.0, out=out)


def _relu_slope(z: np.ndarray) -> np.ndarray:
    """``relu'(z)``, with autograd's convention for ``maximum(z, 0)``: a tie at exactly
    ``z == 0`` splits the gradient evenly (slope 1/2)."""
    return (z > 0.0) + 0.5 * (z == 0.0)


def _act_grad(code: int, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """``dL/dz = dL/da * f'(z)`` given ``z`` and ``a = f(z)``."""
    if code == _TANH:
        # tanh' = 1 - tanh^2 (autograd writes 1 / cosh^2: equal up to rounding)
        return da * (1.0 - a * a)
    if code == _IDENTITY:
        return da
    return da * _relu_slope(z)


class _Block:
    """Positions ``[s, e)`` evaluated together (see the module docstring).

    ``runs`` lists ``(lo, hi, code)`` in local offsets: one run per activation, in code order.
    ``outs`` lists ``(local row, output index)`` of the output nodes in the block. A cyclic
    block also holds the parameter indices of its internal edges (both ends in the block) and
    their local ``(dst, src)`` offsets, whose gradients are summed over the sweeps.
    """

    __slots__ = ("s", "e", "cyclic", "runs", "act", "outs", "out_slice", "int_params", "int_dst", "int_src")

    def __init__(self, s, e, cyclic, runs):
        self.s, self.e, self.cyclic, self.runs = s, e, cyclic, runs
        self.act = runs[0][2] if len(runs) == 1 else None
        self.outs = self.out_slice = None
        self.int_params = self.int_dst = self.int_src = None


class _Buffers:
    """Work arrays for one batch size and the per-block views into them (built once per
    compiled structure and batch size, so the block loops only call numpy kernels)."""

    def __init__(self, eng: "FastEngine", B: int):
        N, off, Wt = eng._N, eng._off, eng._Wt
        self.A = np.empty((N, B))  # node values; row 0 is the constant 1 that carries biases
        self.A[0] = 1.0
        self.Dz = np.zeros((N, B))  # dL/dz per node
        self.Fp = np.empty((N, B))  # 1 - A^2 (tanh slopes), computed for all rows at once
        self.Z = np.empty((N, B))  # pre-activations of relu blocks (their slope needs z)
        self.GW = np.empty((N - off, N)) if eng._dense_grad else None
        self.sweeps = {}
        self.fwd, self.bwd = [], []
        A, Dz, Fp, Z = self.A, self.Dz, self.Fp, self.Z
        for i, b in enumerate(eng._blocks):
            s, e = b.s, b.e
            if b.cyclic:
                self.fwd.append((None, i, b, None, None))
                self.bwd.append((None, i, b, None, None, None))
                continue
            codes = [c for _, _, c in b.runs]
            if _RELU in codes:
                # general: z kept for the relu slope, each run's activation on its rows
                mode, fx, bx = _MIXED, (Z[s:e], b.runs, A[s:e]), (Z[s:e], b.runs, Fp[s:e])
            elif _TANH in codes:
                # identity rows (if any) first, then one tanh run: tanh in place on its rows
                lo, hi, _ = b.runs[-1]
                mode, fx, bx = _TANH_ROWS, A[s + lo:s + hi], (Dz[s + lo:s + hi], Fp[s + lo:s + hi])
            else:
                mode, fx, bx = _LINEAR, None, None
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
        self.any_tanh = any(c == _TANH for b in eng._blocks for _, _, c in b.runs)



# --- the compiled kernel (numba) -------------------------------------------------------------
#
# Plain Python functions at module level, compiled lazily by :func:`_numba_kernels` with
# ``numba.njit(cache=True)`` (the machine code is cached next to this file across processes).
# One loop per node over its incoming edges (CSR by destination position), the batch innermost
# (contiguous rows of ``A``); no numpy call per level, so deep graphs cost only their
# arithmetic. Activation codes: 0 identity, 1 relu, 2 tanh (``_IDENTITY``, ``_RELU``, ``_TANH``).
# ``error_model="numpy"`` (no zero-division checks) lets LLVM vectorise the batch loops.

_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split
_INV_LN2 = 1.44269504088896338700e+00
(_E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = (
    1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880, 1 / 3628800,
    1 / 39916800, 1 / 479001600, 1 / 6227020800)


def _nb_tanh(z):
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


def _nb_rowdot(P, i, Q, k, B):
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


#: The compiled helpers, bound by :func:`_numba_kernels` (the kernels read these globals).
_nb_tanh_c = _nb_rowdot_c = None


def _nb_forward(A, Z, SA, SZ, theta, in_ptr, in_src, in_par, act, blk_s, blk_e, blk_cyc, off, K):
    """Forward pass in place: ``A`` (``N x B``, rows ``0..off-1`` set by the caller), ``Z`` the
    pre-activations; a cyclic block keeps its sweeps in ``SA[k]`` (``a^(k)``) and ``SZ[k-1]``
    (``z^(k)``)."""
    B = A.shape[1]
    for bi in range(blk_s.shape[0]):
        s = blk_s[bi]
        e = blk_e[bi]
        if blk_cyc[bi] == 0:
            for j in range(s, e):
                bias = theta[j - off]
                for b in range(B):
                    Z[j, b] = bias
                for q in range(in_ptr[j], in_ptr[j + 1]):
                    w = theta[in_par[q]]
                    u = in_src[q]
                    for b in range(B):
                        Z[j, b] += w * A[u, b]
                c = act[j]
                if c == 2:
                    for b in range(B):
                        A[j, b] = _nb_tanh_c(Z[j, b])
                elif c == 1:
                    for b in range(B):
                        z = Z[j, b]
                        A[j, b] = 0.0 if z < 0.0 else z
                else:
                    for b in range(B):
                        A[j, b] = Z[j, b]
        else:
            # the part from earlier nodes and the bias, constant over the sweeps, into Z
            for j in range(s, e):
                bias = theta[j - off]
                for b in range(B):
                    Z[j, b] = bias
                    SA[0, j, b] = 0.0
                for q in range(in_ptr[j], in_ptr[j + 1]):
                    u = in_src[q]
                    if u < s:
                        w = theta[in_par[q]]
                        for b in range(B):
                            Z[j, b] += w * A[u, b]
            # K synchronous sweeps from zero
            for k in range(1, K + 1):
                for j in range(s, e):
                    for b in range(B):
                        SZ[k - 1, j, b] = Z[j, b]
                    for q in range(in_ptr[j], in_ptr[j + 1]):
                        u = in_src[q]
                        if u >= s:
                            w = theta[in_par[q]]
                            for b in range(B):
                                SZ[k - 1, j, b] += w * SA[k - 1, u, b]
                    c = act[j]
                    for b in range(B):
                        z = SZ[k - 1, j, b]
                        if c == 2:
                            SA[k, j, b] = _nb_tanh_c(z)
                        elif c == 1:
                            SA[k, j, b] = 0.0 if z < 0.0 else z
                        else:
                            SA[k, j, b] = z
            for j in range(s, e):
                for b in range(B):
                    A[j, b] = SA[K, j, b]


def _nb_backward(A, Z, DA, W1, W2, SA, SZ, dout, out_pos, theta, in_ptr, in_src, in_par, act,
                 blk_s, blk_e, blk_cyc, off, K, grad):
    """Backward pass: ``grad`` (biases then weights, the engine's order) from ``dout``
    (``n_out x B``, output index order). ``DA`` accumulates ``dL/da`` and then holds
    ``dL/dz`` of each node; ``W1``, ``W2`` are work rows for the sweeps of cyclic blocks."""
    N, B = A.shape
    for j in range(off, N):
        for b in range(B):
            DA[j, b] = 0.0
    for c in range(out_pos.shape[0]):
        j = out_pos[c]
        for b in range(B):
            DA[j, b] += dout[c, b]
    for bi in range(blk_s.shape[0] - 1, -1, -1):
        s = blk_s[bi]
        e = blk_e[bi]
        if blk_cyc[bi] != 0:
            # back through a^(k) = f(z_ext + Wc a^(k-1)): W1 = dL/dz^(k), W2 = sum over k
            for j in range(s, e):
                for b in range(B):
                    W2[j, b] = 0.0
                for q in range(in_ptr[j], in_ptr[j + 1]):
                    if in_src[q] >= s:
                        grad[in_par[q]] = 0.0
            for k in range(K, 0, -1):
                for j in range(s, e):
                    c = act[j]
                    for b in range(B):
                        if c == 2:
                            a = SA[k, j, b]
                            d = DA[j, b] * (1.0 - a * a)
                        elif c == 1:
                            z = SZ[k - 1, j, b]
                            d = DA[j, b] * (1.0 if z > 0.0 else (0.5 if z == 0.0 else 0.0))
                        else:
                            d = DA[j, b]
                        W1[j, b] = d
                        W2[j, b] += d
                        DA[j, b] = 0.0
                for j in range(s, e):
                    for q in range(in_ptr[j], in_ptr[j + 1]):
                        u = in_src[q]
                        if u >= s:
                            p = in_par[q]
                            w = theta[p]
                            grad[p] += _nb_rowdot_c(W1, j, SA[k - 1], u, B)
                            for b in range(B):
                                DA[u, b] += w * W1[j, b]
            for j in range(e - 1, s - 1, -1):
                for b in range(B):
                    DA[j, b] = W2[j, b]
        for j in range(e - 1, s - 1, -1):
            if blk_cyc[bi] == 0:
                c = act[j]
                if c == 2:
                    for b in range(B):
                        a = A[j, b]
                        DA[j, b] *= 1.0 - a * a
                elif c == 1:
                    for b in range(B):
                        z = Z[j, b]
                        DA[j, b] *= 1.0 if z > 0.0 else (0.5 if z == 0.0 else 0.0)
            grad[j - off] = _nb_rowdot_c(DA, j, A, 0, B)  # row 0 of A is 1
            for q in range(in_ptr[j], in_ptr[j + 1]):
                u = in_src[q]
                if u >= s:
                    continue  # inside a cyclic block: done above, summed over the sweeps
                p = in_par[q]
                grad[p] = _nb_rowdot_c(DA, j, A, u, B)
                if u >= off:
                    w = theta[p]
                    for b in range(B):
                        DA[u, b] += w * DA[j, b]


_NUMBA = None


def _numba_kernels():
    """``(forward, backward)`` compiled with ``numba.njit(cache=True)``, or ``None`` when
    numba cannot be imported."""
    global _NUMBA, _nb_tanh_c, _nb_rowdot_c
    if _NUMBA is None:
        try:
            import numba
        except ImportError:
            _NUMBA = False
        else:
            opts = dict(cache=True, nogil=True, error_model="numpy")
            _nb_tanh_c = numba.njit(inline="always", **opts)(_nb_tanh)
            _nb_rowdot_c = numba.njit(inline="always", **opts)(_nb_rowdot)
            _NUMBA = (numba.njit(**opts)(_nb_forward), numba.njit(**opts)(_nb_backward))
    return _NUMBA or None


class _NumbaBuffers:
    """Work arrays of the compiled kernel for one batch size (one compiled structure)."""

    def __init__(self, eng: "FastEngine", B: int):
        N = eng._N
        self.A = np.empty((N, B))
        self.A[0] = 1.0
        self.Z = np.empty((N, B))
        self.DA = np.empty((N, B))
        if any(b.cyclic for b in eng._blocks):
            K = int(eng.spm.sweeps)
            self.W1, self.W2 = np.empty((N, B)), np.empty((N, B))
            self.SA, self.SZ = np.empty((K + 1, N, B)), np.empty((K, N, B))
        else:  # unused: placeholders of the same types (one compiled specialisation)
            self.W1 = self.W2 = np.empty((1, 1))
            self.SA = self.SZ = np.empty((1, 1, 1))


class FastEngine:
    """Trains one SMGrNN graph with array arithmetic; same interface and results as
    :class:`smgrnn_ref.engine.ReferenceEngine`.

    Parameters
    ----------
    G : networkx.DiGraph
        The model (conventions of :mod:`smgrnn_ref.graph`); its structure is edited in place,
        its numeric attributes are written back lazily (see :attr:`graph`).
    adam : AdamConfig
        Optimizer hyper-parameters.
    spm : SPMConfig
        Structural Plasticity Module hyper-parameters (also ``sweeps`` K for cycles).
    loss : {"kl", "mse", "ce"}
        Distillation loss against the expert's logits, or ``"ce"`` against class probabilities.
    kernel : {"auto", "numba", "numpy"}
        How the forward and backward passes run: ``"numba"`` a compiled loop over the nodes
        (cost independent of the graph's depth; needs numba), ``"numpy"`` one matrix product
        per block, ``"auto"`` (default) numba when it can be imported, else numpy. The
        resolved name is :attr:`kernel`.

    Raises
    ------
    ValueError
        For an invalid graph, an unknown loss, or a graph window ``T`` that differs from
        ``spm.T`` (the reference engine's checks and messages), or an unknown ``kernel``.
    ImportError
        For ``kernel="numba"`` when numba cannot be imported.
    """

    name = "fast"

    #: Splice relay nodes into the node order when that gives exactly what a full compile
    #: would (:meth:`_insert_relays_in_place`); ``False`` always compiles (a test switch: the
    #: two must train identically).
    incremental_relays = True

    def __init__(self, G: nx.DiGraph, *, adam: AdamConfig, spm: SPMConfig, loss: str = "kl",
                 kernel: str = "auto"):
        validate_graph(G)
        get_loss(loss)  # fail early on an unknown loss name
        if kernel not in ("auto", "numba", "numpy"):
            raise ValueError(f"unknown kernel {kernel!r}; known: ['auto', 'numba', 'numpy']")
        if kernel != "numpy":
            self._nb_kernels = _numba_kernels()
            if self._nb_kernels is None and kernel == "numba":
                raise ImportError("kernel='numba' needs numba (pip install numba)")
        else:
            self._nb_kernels = None
        #: The kernel in use: ``"numba"`` or ``"numpy"``.
        self.kernel = "numpy" if self._nb_kernels is None else "numba"
        if G.graph["T"] != spm.T:
            raise ValueError(f"graph window T={G.graph['T']} differs from SPMConfig.T={spm.T}")
        self._G, self.adam, self.spm, self.loss = G, adam, spm, loss
        self._T = int(spm.T)
        # tables of 1 - beta**t computed with Python floats exactly as optim.adam_update does
        # (repeated multiplication would drift from beta**t in the last bits)
        self._bc1 = np.ones(1)
        self._bc2 = np.ones(1)
        # next ring-buffer rows to write (activations, updates): one row per training step
        # for every column at once; a column's fill count says how many rows are its own
        self._aptr = self._uptr = 0
        self._load_from_graph()

    # --- the graph ------------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The graph with every attribute current (written back from the arrays on read).

        The first read after training steps costs ``O(T (N + E))``; later reads are free until
        the next step. Call :meth:`invalidate` after editing the returned graph by hand.
        """
        if self._dirty:
            self._sync_to_graph()
        return self._G

    #: Alias of :attr:`graph`, for code written against ``ReferenceEngine.G``.
    G = graph

    @property
    def structure(self) -> nx.DiGraph:
        """The graph **without** writing numeric attributes back: its nodes and edges are
        current, its weights, biases, Adam states and windows may be stale. Free."""
        return self._G

    def invalidate(self) -> None:
        """Derive every array from the graph again (call after editing the graph by hand)."""
        if self._dirty:
            # the hand edit was made on a synced graph (reading .graph synced it); keep the
            # arrays' state for anything not edited by writing it back first
            self._sync_to_graph()
        self._load_from_graph()

    # --- compilation ------------------------------------------------------------------------

    def _load_from_graph(self) -> None:
        """Build all arrays from the graph's attributes (construction, :meth:`invalidate`)."""
        self._edges, self._pos, self._nodes = [], {}, []
        self._compile(carry=False)
        self._dirty = False

    def _components(self, G):
        """Components in topological order as ``(members, cyclic)``; a fast Kahn pass when
        ``G`` is acyclic (the usual case), NetworkX's condensation otherwise."""
        pred, succ = G._pred, G._succ  # the adjacency dicts; public views are much slower
        indeg = {n: len(p) for n, p in pred.items()}
        order = [n for n, d in indeg.items() if d == 0]
        i = 0
        while i < len(order):
            for w in succ[order[i]]:
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

    def _compile(self, carry: bool) -> None:
        """Derive the node order, blocks, index arrays and ``Wt`` from the graph's structure.

        With ``carry=True`` the numeric state (parameters, Adam, windows) of nodes and edges
        that already existed is carried over from the current arrays by key; everything else
        is read from the graph.
        """
        G, T = self._G, self._T
        nd = G._node
        # --- node order: the constant-1 row, inputs by index, then blocks by level ----------
        kinds = {n: d["kind"] for n, d in nd.items()}
        inputs = sorted((n for n, k in kinds.items() if k == "input"), key=lambda n: nd[n]["index"])
        outputs = sorted((n for n, k in kinds.items() if k == "output"), key=lambda n: nd[n]["index"])
        level, per_level = {}, {}
        pred = G._pred
        for members, cyclic in self._components(G):
            if kinds[members[0]] == "input":
                level[members[0]] = 0
                continue
            if cyclic:
                mset = set(members)
                lv = 1 + max((level[p] for m in members for p in pred[m] if p not in mset), default=0)
            else:
                lv = 1 + max((level[p] for p in pred[members[0]]), default=0)
            for m in members:
                level[m] = lv
            per_level.setdefault(lv, []).append((members, cyclic))
        nodes = [None] + inputs  # position 0: the constant 1 whose "weights" are the biases
        blocks = []
        for lv in sorted(per_level):
            groups, cyclic_comps = {}, []
            for members, cyclic in per_level[lv]:
                if cyclic:
                    cyclic_comps.append(sorted(members))
                else:
                    groups.setdefault(_ACT_CODE[nd[members[0]]["activation"]], []).append(members[0])
            # acyclic nodes of one level never read each other: one block (one matrix
            # product), its nodes grouped by activation, outputs first within a group (so a
            # block's outputs are contiguous rows)
            if groups:
                s = len(nodes)
                runs = []
                for code in sorted(groups):
                    lo = len(nodes) - s
                    nodes.extend(sorted(groups[code], key=lambda n: (kinds[n] != "output", n)))
                    runs.append((lo, len(nodes) - s, code))
                blocks.append(_Block(s, len(nodes), False, runs))
            for members in sorted(cyclic_comps):
                s = len(nodes)
                members = sorted(members, key=lambda n: (_ACT_CODE[nd[n]["activation"]], n))
                nodes.extend(members)
                runs = []
                for i, n in enumerate(members):
                    code = _ACT_CODE[nd[n]["activation"]]
                    if runs and runs[-1][2] == code:
                        runs[-1][1] = i + 1
                    else:
                        runs.append([i, i + 1, code])
                blocks.append(_Block(s, len(nodes), True, [tuple(r) for r in runs]))
        pos = {n: i for i, n in enumerate(nodes) if i}
        # edge order is free (decisions sort their few hits by key): carried edges keep
        # theirs, so incremental edits only append or delete columns
        edges = list(G.edges)
        E = len(edges)
        if carry:
            # carried edges first in their old order, then new ones in graph order (stable)
            old_edge = np.fromiter(map(self._edge_index.get, edges, itertools.repeat(-1, E)), dtype=np.intp, count=E)
            order = np.argsort(np.where(old_edge < 0, E + len(self._edge_index), old_edge), kind="stable")
            edges, old_edge = [edges[i] for i in order.tolist()], old_edge[order]
        else:
            old_edge = np.full(E, -1, dtype=np.intp)
        N, n_in = len(nodes), len(inputs)
        off = 1 + n_in
        nb = N - off
        P = nb + E
        # parameter k lives at Wt[pdst[k], psrc[k]]: a bias is the weight from row 0
        psrc = np.zeros(P, dtype=np.intp)
        pdst = np.empty(P, dtype=np.intp)
        pdst[:nb] = np.arange(off, N)
        # node id -> position as an array (ids are integers), so edges map in one gather
        ids = np.asarray(nodes[1:], dtype=np.intp)
        pos_of = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.intp)
        pos_of[ids] = np.arange(1, N)
        uv = np.asarray(edges, dtype=np.intp).reshape(E, 2)
        psrc[nb:] = pos_of[uv[:, 0]]
        pdst[nb:] = pos_of[uv[:, 1]]
        block_of = self._index_outputs(nodes, pos, blocks, outputs)

        # --- numeric state: carried over by key, or read from the graph -------------------
        theta, m, v = np.empty(P), np.empty(P), np.empty(P)
        t = np.empty(P, dtype=np.int64)
        U, ucount = np.zeros((T, E)), np.zeros(E, dtype=np.int64)
        Act, acount = np.zeros((T, nb)), np.zeros(nb, dtype=np.int64)
        if carry:
            old_pos = self._pos
            old_node = np.fromiter((old_pos.get(n, 0) - self._off for n in nodes[off:]), dtype=np.intp, count=nb)
        else:
            old_node = np.full(nb, -1, dtype=np.intp)
        # kept nodes: their bias, Adam state and activation window
        keep = np.nonzero(old_node >= 0)[0]
        if keep.size:
            old = old_node[keep]
            for new_a, old_a in ((theta, self._theta), (m, self._m), (v, self._v), (t, self._t)):
                new_a[keep] = old_a[old]
            Act[:, keep] = self._Act[:, old]
            acount[keep] = self._acount[old]
        new = np.nonzero(old_node < 0)[0]
        if new.size:
            theta[new], m[new], v[new], t[new], Act[:, new], acount[new] = \
                self._new_node_state([nodes[off + i] for i in new.tolist()])
        # kept edges: weight, Adam state and update window
        n = int((old_edge >= 0).sum())  # carried edges are the first n (edge order above)
        if n:
            old = old_edge[:n]
            for new_a, old_a in ((theta, self._theta), (m, self._m), (v, self._v), (t, self._t)):
                new_a[nb:nb + n] = old_a[self._nb + old]
            # no edge removed since the last compile (e.g. a relay step): one slice copy
            same = n == self._U.shape[1] and bool((old == np.arange(n)).all())
            U[:, :n] = self._U if same else self._U[:, old]
            ucount[:n] = self._ucount[old]
        new = np.nonzero(old_edge < 0)[0]
        if new.size:
            j = nb + new
            theta[j], m[j], v[j], t[j], U[:, new], ucount[new] = \
                self._new_edge_state([edges[k] for k in new.tolist()])

        self._nodes, self._pos, self._edges, self._outputs = nodes, pos, edges, outputs
        self._edge_index = dict(zip(edges, range(E)))
        self._N, self._n_in, self._off, self._nb = N, n_in, off, nb
        self._psrc, self._pdst = psrc, pdst
        self._blocks, self._block_of = blocks, block_of
        # the blocks are now exactly the levels of G (see _insert_relays_in_place)
        self._levels_fresh = True
        self._any_cyclic = any(b.cyclic for b in blocks)  # no edit in place changes it
        self._theta, self._m, self._v, self._t = theta, m, v, t
        self._U, self._ucount, self._Act, self._acount = U, ucount, Act, acount
        # the dense weight matrix serves the numpy kernel only: N^2 floats would not fit
        # in memory for the graphs a growth-only run reaches (tens of thousands of nodes)
        self._Wt = np.zeros((N, N)) if self._nb_kernels is None else None
        self._bufs = {}
        self._index_params()
        self._tmax = int(t.max(initial=0))
        self._ensure_bias_tables(self._tmax + 1)

    def _graph_state(self, attrs, value: str, window: str, ptr: int):
        """The state of elements new to the arrays, read from their graph attribute dicts
        ``attrs``: ``value`` (``"bias"`` or ``"weight"``), Adam ``m``, ``v``, ``t``, the
        ``window`` deque (``"activations"`` or ``"updates"``) as ``T x n`` ring-buffer columns
        ending before row ``ptr``, and the windows' fill counts."""
        n = len(attrs)
        x, m, v = np.empty(n), np.empty(n), np.empty(n)
        t = np.empty(n, dtype=np.int64)
        cols, counts = np.zeros((self._T, n)), np.zeros(n, dtype=np.int64)
        for c, d in enumerate(attrs):
            x[c], m[c], v[c], t[c] = d[value], d["adam_m"], d["adam_v"], d["adam_t"]
            hist = list(d[window])
            counts[c] = len(hist)
            if hist:
                cols[self._rows(len(hist), ptr), c] = hist
        return x, m, v, t, cols, counts

    def _new_node_state(self, ids):
        """:meth:`_graph_state` of nodes ``ids``: bias and activation window."""
        nd = self._G._node
        return self._graph_state([nd[n] for n in ids], "bias", "activations", self._aptr)

    def _new_edge_state(self, edges):
        """:meth:`_graph_state` of ``edges``: weight and update window."""
        adj = self._G._adj
        return self._graph_state([adj[a][b] for a, b in edges], "weight", "updates", self._uptr)

    def _index_outputs(self, nodes, pos, blocks, outputs) -> np.ndarray:
        """Each block's output rows (``outs``; ``out_slice`` when they are contiguous), the
        output positions and permutation; returns the block index of every position."""
        out_index = {n: j for j, n in enumerate(outputs)}
        # dL/dlogits is permuted once per step into position order, so the outputs of an
        # acyclic block are one slice of it
        out_positions = sorted(pos[n] for n in outputs)
        rank = {p_: r for r, p_ in enumerate(out_positions)}
        block_of = np.zeros(len(nodes), dtype=np.intp)
        for i, b in enumerate(blocks):
            outs = [(r, out_index[n]) for r, n in enumerate(nodes[b.s:b.e]) if n in out_index]
            b.outs = outs or None
            b.out_slice = None
            if outs and not b.cyclic:
                rows = [r for r, _ in outs]
                if rows == list(range(rows[0], rows[0] + len(rows))):
                    p0 = rank[b.s + rows[0]]
                    b.out_slice = (rows[0], rows[-1] + 1, p0, p0 + len(rows))
            block_of[b.s:b.e] = i
        self._out_perm = np.array([out_index[nodes[p_]] for p_ in out_positions], dtype=np.intp)
        self._out_pos = np.array([pos[n] for n in outputs], dtype=np.intp)
        return block_of

    def _index_params(self) -> None:
        """Everything derived from the parameter list alone (after a compile or an
        incremental edge edit); writes the weights into ``Wt``."""
        psrc, pdst, N, off = self._psrc, self._pdst, self._N, self._off
        P = len(psrc)
        self._E = P - self._nb
        self._wflat = pdst * N + psrc  # flat index of every parameter in Wt
        # weight gradients: one dense product Dz A^T then a gather is cheaper than gathering
        # P rows of both while the graph is not too sparse (few nodes per parameter)
        self._dense_grad = (N - off) * N <= 16 * P
        self._gflat = (pdst - off) * N + psrc
        for b in self._blocks:
            if b.cyclic:
                inside = np.nonzero((pdst >= b.s) & (pdst < b.e) & (psrc >= b.s) & (psrc < b.e))[0]
                b.int_params, b.int_dst, b.int_src = inside, pdst[inside] - b.s, psrc[inside] - b.s
        if self._nb_kernels is not None:
            self._index_csr()
            return
        np.put(self._Wt, self._wflat, self._theta)
        for B, bf in list(self._bufs.items()):
            if (bf.GW is None) == self._dense_grad:
                del self._bufs[B]  # gradient strategy changed: rebuild the work arrays

    def _index_csr(self) -> None:
        """The compiled kernel's arrays: incoming edges by destination position (CSR, sources
        ascending), activation codes by position, block bounds."""
        N, nb = self._N, self._nb
        dst, src = self._pdst[nb:], self._psrc[nb:]
        order = np.lexsort((src, dst))
        self._in_par = (nb + order).astype(np.intp)
        self._in_src = np.ascontiguousarray(src[order], dtype=np.intp)
        self._in_ptr = np.zeros(N + 1, dtype=np.intp)
        np.cumsum(np.bincount(dst, minlength=N), out=self._in_ptr[1:])
        act = np.zeros(N, dtype=np.intp)
        for b in self._blocks:
            for lo, hi, code in b.runs:
                act[b.s + lo:b.s + hi] = code
        self._act = act
        self._blk_s = np.array([b.s for b in self._blocks], dtype=np.intp)
        self._blk_e = np.array([b.e for b in self._blocks], dtype=np.intp)
        self._blk_cyc = np.array([b.cyclic for b in self._blocks], dtype=np.intp)

    def _can_add_in_place(self, u: int, v: int) -> bool:
        """Whether ``u -> v`` leaves the block schedule valid: ``u`` is computed in an
        earlier block than ``v`` (any edge into a later level of an acyclic graph)."""
        pos = self._pos
        if u not in pos or v not in pos:
            return False
        bv = self._blocks[self._block_of[pos[v]]]
        return pos[u] < bv.s

    def _can_remove_in_place(self, u: int, v: int) -> bool:
        """Whether deleting ``u -> v`` leaves the schedule valid: not inside a cyclic block
        (it might split the component, which the evaluator would then evaluate differently)."""
        bv = self._blocks[self._block_of[self._pos[v]]]
        return not (bv.cyclic and bv.s <= self._pos[u] < bv.e)

    def _add_edges_in_place(self, edges) -> None:
        """Append parameters for new edges (weights and state read from the graph)."""
        k0 = len(self._edges)
        for j, e in enumerate(edges):
            self._edges.append(e)
            self._edge_index[e] = k0 + j
        w, m, v, t, cols, counts = self._new_edge_state(edges)
        self._theta = np.concatenate((self._theta, w))
        self._m = np.concatenate((self._m, m))
        self._v = np.concatenate((self._v, v))
        self._t = np.concatenate((self._t, t))
        self._U = np.concatenate((self._U, cols), axis=1)
        self._ucount = np.concatenate((self._ucount, counts))
        pos = self._pos
        self._psrc = np.concatenate((self._psrc, np.array([pos[a] for a, _ in edges], dtype=np.intp)))
        self._pdst = np.concatenate((self._pdst, np.array([pos[b] for _, b in edges], dtype=np.intp)))
        self._tmax = max(self._tmax, int(t.max()))
        self._ensure_bias_tables(self._tmax + 1)
        self._index_params()

    def _insert_relays_in_place(self, relays) -> bool:
        """Give new relay nodes their positions without deriving everything again.

        Only when the result is exactly the node order and blocks a full compile would
        derive, so the arithmetic (summation order included) is unchanged:

        * the graph is acyclic and its blocks are its levels (nothing was removed in place
          since the last compile, which can lower levels);
        * every relay ``i -> r -> j`` (``i -> j`` kept) has ``level(j) >= level(i) + 2``, so
          ``r`` joins level ``level(i) + 1`` and no other node changes level.

        The compile sorts a level's nodes by activation, then outputs first, then by id; a
        relay has the newest id, so it goes last among its level's nodes of its activation
        (a new run, in activation order, if there are none). Parameters, Adam state and
        windows of everything else are kept; the relay's bias and state, and its two edges,
        are read from the graph as a compile reads new elements.

        Parameters
        ----------
        relays : list of (int, int, int)
            ``(i, j, r)`` per relay, in insertion order (ascending ``r``).

        Returns
        -------
        bool
            False, with nothing changed, when the conditions do not hold.
        """
        if not self._levels_fresh or self._any_cyclic:
            return False
        pos, block_of, off, nodes = self._pos, self._block_of, self._off, self._nodes
        nd = self._G._node
        blocks = self._blocks
        # level(n) - 1 = its block (inputs: level 0, block -1)
        placed = []  # (old insertion position, block, r)
        per_block: dict[int, list] = {}
        for i, j, r in relays:
            bi = int(block_of[pos[i]]) if pos[i] >= off else -1
            if int(block_of[pos[j]]) < bi + 2:
                return False
            per_block.setdefault(bi + 1, []).append(r)
        code_of = {r: _ACT_CODE[nd[r]["activation"]] for _, _, r in relays}
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
            new_blocks[k] = _Block(b.s, b.e, False, runs)
        placed.sort()  # by old position, then block (a block's end is the next one's start), then id
        q_old = np.array([q for q, _, _ in placed], dtype=np.intp)
        # node order: the old one with each relay spliced in before old position q
        new_nodes, prev = [], 0
        for q, _, r in placed:
            new_nodes.extend(nodes[prev:q])
            new_nodes.append(r)
            prev = q
        new_nodes.extend(nodes[prev:])
        # block bounds: shifted by the relays of earlier blocks, widened by their own
        added = np.bincount([k for _, k, _ in placed], minlength=len(blocks))
        before = np.concatenate(([0], np.cumsum(added)[:-1]))
        for k, b in enumerate(new_blocks):
            blk = b if k in per_block else _Block(b.s, b.e, False, b.runs)  # fresh objects throughout
            blk.s, blk.e = b.s + int(before[k]), b.e + int(before[k]) + int(added[k])
            new_blocks[k] = blk
        n_new_total = len(placed)
        N = self._N + n_new_total
        nb = self._nb + n_new_total
        new_pos = {n: p_ for p_, n in enumerate(new_nodes) if p_}

        # parameters: biases (position order) get the relays' entries; edges keep theirs
        idx = q_old - off
        rs = [r for _, _, r in placed]
        old_nb = self._nb

        def spliced(a, values):
            return np.concatenate((np.insert(a[:old_nb], idx, values), a[old_nb:]))

        bias, m, v, t, cols, counts = self._new_node_state(rs)
        self._theta, self._m, self._v, self._t = (spliced(a, x) for a, x in
                                                  ((self._theta, bias), (self._m, m), (self._v, v), (self._t, t)))
        self._Act = np.insert(self._Act, idx, cols, axis=1)
        self._acount = np.insert(self._acount, idx, counts)
        # old position p moves up by the relays spliced in at or before it
        shift = lambda p_: p_ + np.searchsorted(q_old, p_, side="right")  # noqa: E731
        psrc_e, pdst_e = shift(self._psrc[old_nb:]), shift(self._pdst[old_nb:])
        self._psrc = np.concatenate((np.zeros(nb, dtype=np.intp), psrc_e))
        self._pdst = np.concatenate((np.arange(off, N, dtype=np.intp), pdst_e))

        self._nodes, self._pos, self._N, self._nb = new_nodes, new_pos, N, nb
        self._blocks = new_blocks
        self._block_of = self._index_outputs(new_nodes, new_pos, new_blocks, self._outputs)
        self._Wt = np.zeros((N, N)) if self._nb_kernels is None else None
        self._bufs = {}
        # the relays' edges, read from the graph like any new edge (then everything indexed)
        self._add_edges_in_place([e for i, j, r in relays for e in ((i, r), (r, j))])
        return True

    def _remove_edges_in_place(self, ks) -> None:
        """Delete the parameters of edges ``ks`` (indices into ``_edges``)."""
        self._levels_fresh = False  # a removed edge can lower levels the blocks still hold
        nb = self._nb
        ks = np.asarray(ks, dtype=np.intp)
        if self._Wt is not None:
            self._Wt.flat[self._wflat[nb + ks]] = 0.0
        keep_p = np.ones(len(self._theta), dtype=bool)
        keep_p[nb + ks] = False
        keep_e = keep_p[nb:]
        self._theta, self._m, self._v, self._t = (a[keep_p] for a in (self._theta, self._m, self._v, self._t))
        self._psrc, self._pdst = self._psrc[keep_p], self._pdst[keep_p]
        self._U, self._ucount = self._U[:, keep_e], self._ucount[keep_e]
        self._edges = [e for e, kept in zip(self._edges, keep_e.tolist()) if kept]
        self._edge_index = {e: k for k, e in enumerate(self._edges)}
        self._index_params()

    def _buffers(self, B: int) -> _Buffers:
        bf = self._bufs.get(B)
        if bf is None:
            if len(self._bufs) >= 4:  # a few batch sizes in use (acting, training): keep those
                self._bufs.clear()
            bf = self._bufs[B] = (_Buffers if self._nb_kernels is None else _NumbaBuffers)(self, B)
        return bf

    def _rows(self, n: int, ptr: int) -> np.ndarray:
        """Ring-buffer rows of the last ``n`` entries written before row ``ptr``, oldest first."""
        return (ptr - n + np.arange(n)) % self._T

    def _ensure_bias_tables(self, t_max: int) -> None:
        """Extend the ``1 - beta**t`` tables to cover step counts up to ``t_max``."""
        n = len(self._bc1)
        if t_max < n:
            return
        n_new = max(2 * n, t_max + 1, 1024)
        b1, b2 = self.adam.beta1, self.adam.beta2
        # Python float ** int, the very expression of optim.adam_update
        self._bc1 = np.array([1.0 - b1**k for k in range(n_new)])
        self._bc2 = np.array([1.0 - b2**k for k in range(n_new)])

    # --- synchronisation back to the graph -----------------------------------------------

    def _chronological(self, buf: np.ndarray, counts: np.ndarray, ptr: int) -> list:
        """Per column, the list of its last ``count`` entries, oldest first."""
        T = self._T
        ordered = buf[self._rows(T, ptr)].T.tolist()  # (columns, T), oldest first
        return [row[T - c:] if c else [] for row, c in zip(ordered, counts.tolist())]

    def _sync_to_graph(self) -> None:
        """Write every numeric attribute from the arrays into the graph."""
        G, nb = self._G, self._nb
        theta, m, v, t = (a.tolist() for a in (self._theta, self._m, self._v, self._t))
        acts = self._chronological(self._Act, self._acount, self._aptr)
        nd = G._node
        for i, n in enumerate(self._nodes[self._off:]):
            d = nd[n]
            d["bias"], d["adam_m"], d["adam_v"], d["adam_t"] = theta[i], m[i], v[i], t[i]
            d["activations"].clear()
            d["activations"].extend(acts[i])
        ups = self._chronological(self._U, self._ucount, self._uptr)
        adj = G._adj
        for k, (a, b) in enumerate(self._edges):
            d = adj[a][b]
            j = nb + k
            d["weight"], d["adam_m"], d["adam_v"], d["adam_t"] = theta[j], m[j], v[j], t[j]
            d["updates"].clear()
            d["updates"].extend(ups[k])
        self._dirty = False

    # --- forward / backward -----------------------------------------------------------------

    def _check_inputs(self, X) -> np.ndarray:
        return check_batch(X, self._n_in)

    def _forward(self, X: np.ndarray) -> _Buffers:
        """Evaluate every node; the values are left in ``bf.A`` (``N x batch``)."""
        bf = self._buffers(X.shape[0])
        A = bf.A
        A[1:self._off] = X.T
        if self._nb_kernels is not None:
            self._nb_kernels[0](A, bf.Z, bf.SA, bf.SZ, self._theta, self._in_ptr, self._in_src,
                                self._in_par, self._act, self._blk_s, self._blk_e, self._blk_cyc,
                                self._off, int(self.spm.sweeps))
            return bf
        matmul, tanh, maximum = np.matmul, np.tanh, np.maximum
        for W, src, dst, mode, x in bf.fwd:
            if W is None:
                self._forward_cyclic(bf, src, dst)  # (block index, block)
            elif mode == _TANH_ROWS:
                # z = sum_i w_ij a_i + b_j (row 0 of A is 1: the biases), then tanh in place
                # on the tanh rows; identity rows (outputs) keep z
                matmul(W, src, out=dst)
                tanh(x, out=x)
            elif mode == _LINEAR:
                matmul(W, src, out=dst)
            else:
                Zb, runs, Ab = x
                matmul(W, src, out=Zb)
                for lo, hi, code in runs:
                    _act_forward(code, Zb[lo:hi], Ab[lo:hi])
        return bf

    def _forward_cyclic(self, bf: _Buffers, i: int, b: _Block) -> None:
        """K synchronous sweeps from zero over a cyclic block; the sweeps are kept for
        the backward pass."""
        s, e, Wt, A = b.s, b.e, self._Wt, bf.A
        # the part from earlier nodes and the bias: constant over the sweeps
        z_ext = Wt[s:e, :s] @ A[:s]
        Wc = Wt[s:e, s:e]
        a = np.zeros_like(z_ext)
        sweeps = [(None, a)]
        for _ in range(self.spm.sweeps):
            zk = z_ext + Wc @ a
            a = np.empty_like(zk)
            for lo, hi, code in b.runs:
                _act_forward(code, zk[lo:hi], a[lo:hi])
            sweeps.append((zk, a))
        A[s:e] = a
        bf.sweeps[i] = sweeps

    def _loss_grad_out(self, O: np.ndarray, target: np.ndarray):
        """Loss and ``dL/d logits`` for the student's logits ``O`` (``n_out x batch``, the
        output rows of ``A``) and the expert's ``target`` (``batch x n_out``).

        Works on the transposed ``n_out x batch`` layout with loops over the few outputs:
        numpy's reductions along a short axis cost far more than a couple of ufunc calls.
        """
        n, B = O.shape
        Tt = target.T
        if self.loss in ("kl", "ce"):
            def softmax_parts(z):
                # max-shifted, as autograd's logsumexp: log p = (z - max) - log sum exp
                mx = z[0].copy()
                for j in range(1, n):
                    np.maximum(mx, z[j], out=mx)
                z = z - mx
                ez = np.exp(z)
                s = ez[0].copy()
                for j in range(1, n):
                    s += ez[j]
                return z - np.log(s), ez / s

            log_ps, ps = softmax_parts(O)
            if self.loss == "kl":
                log_pe, pe = softmax_parts(Tt)
                diff = log_pe - log_ps
                loss = np.dot(pe.ravel(), diff.ravel()) / B
            else:
                # "ce": the target rows are class probabilities y; -sum_a y_a log p_S(a)
                pe = Tt
                loss = -np.dot(pe.ravel(), log_ps.ravel()) / B
            # d/dz_S of -sum_a p_E log p_S = p_S sum_a p_E - p_E, averaged over the batch
            spe = pe[0].copy()
            for j in range(1, n):
                spe += pe[j]
            dout = (ps * spe - pe) / B
        else:
            diff = O - Tt
            loss = np.dot(diff.ravel(), diff.ravel()) / diff.size
            dout = (2.0 / diff.size) * diff
        return float(loss), dout

    def _backward(self, bf: _Buffers, dout: np.ndarray) -> np.ndarray:
        """The gradient of the loss w.r.t. ``theta`` (biases then weights, engine order)."""
        if self._nb_kernels is not None:
            grad = np.empty(len(self._theta))
            self._nb_kernels[1](bf.A, bf.Z, bf.DA, bf.W1, bf.W2, bf.SA, bf.SZ,
                                np.ascontiguousarray(dout), self._out_pos, self._theta,
                                self._in_ptr, self._in_src, self._in_par, self._act, self._blk_s,
                                self._blk_e, self._blk_cyc, self._off, int(self.spm.sweeps), grad)
            return grad
        A, Dz, Fp = bf.A, bf.Dz, bf.Fp
        doutT = dout  # n_out x batch, output index order (cyclic blocks)
        doutP = dout[self._out_perm]  # the same rows in position order (acyclic blocks)
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
                    if code == _TANH:
                        ddst[lo:hi] *= Fb[lo:hi]
                    elif code == _RELU:
                        ddst[lo:hi] *= _relu_slope(Zb[lo:hi])
        off = self._off
        if self._dense_grad:
            # dL/dw_uv = sum_batch dL/dz_v a_u for all pairs, then the parameters' entries
            np.matmul(Dz[off:], A.T, out=bf.GW)
            grad = np.take(bf.GW, self._gflat)
        else:
            grad = np.einsum("kb,kb->k", Dz[self._pdst], A[self._psrc])
        for b, gWc in internal:
            # inside a cyclic block the weight met a different a_u at every sweep
            grad[b.int_params] = gWc[b.int_dst, b.int_src]
        return grad

    def _backward_cyclic(self, bf: _Buffers, i: int, b: _Block, doutT: np.ndarray):
        """Back through the sweeps ``a^(k) = f(z_ext + Wc a^(k-1))`` of a cyclic block."""
        s, e, Wt, Dz = b.s, b.e, self._Wt, bf.Dz
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
                dzk[lo:hi] = _act_grad(code, zk[lo:hi], ak[lo:hi], da[lo:hi])
            dz += dzk
            gWc += dzk @ sweeps[k - 1][1].T
            da = Wc.T @ dzk
        # the bias and the weights from earlier nodes see the sum over the sweeps
        Dz[s:e] = dz
        return b, gWc

    def _check_target(self, X, expert_logits) -> np.ndarray:
        expert_logits = np.asarray(expert_logits, dtype=float)
        shape = (X.shape[0], len(self._out_pos))
        if expert_logits.shape != shape:
            raise ValueError(f"expert_logits must have shape {shape}, got {expert_logits.shape}")
        return expert_logits

    # --- the engine interface -------------------------------------------------------------

    def forward(self, X) -> np.ndarray:
        """Outputs ``(batch, n_outputs)`` for inputs ``X``.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)

        Returns
        -------
        numpy.ndarray, shape (batch, n_outputs)
        """
        X = self._check_inputs(X)
        return self._forward(X).A[self._out_pos].T

    def loss_and_grad(self, X, expert_logits) -> tuple[float, np.ndarray]:
        """The loss and its gradient in the reference parameter order
        (:func:`smgrnn_ref.params.param_keys`: biases by node id, then weights by ``(u, v)``).

        For tests and tools; :meth:`train_step` uses the engine's internal order.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)
        expert_logits : array_like, shape (batch, n_outputs)

        Returns
        -------
        (float, numpy.ndarray)
        """
        X = self._check_inputs(X)
        target = self._check_target(X, expert_logits)
        bf = self._forward(X)
        loss, dout = self._loss_grad_out(bf.A[self._out_pos], target)
        grad = self._backward(bf, dout)
        order = np.argsort(np.asarray(self._nodes[self._off:], dtype=np.int64), kind="stable")
        worder = sorted(range(len(self._edges)), key=self._edges.__getitem__)
        return loss, np.concatenate([grad[:self._nb][order], grad[self._nb:][worder]])

    def train_step(self, X, expert_logits) -> float:
        """One optimizer step on the minibatch; return the loss before the step.

        Records the batch mean activation of every hidden / output node (from this forward
        pass, before the update) and every edge's applied change ``Delta w`` in the ring
        buffers, as the reference engine does in the graph's deques.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)
        expert_logits : array_like, shape (batch, n_outputs)

        Returns
        -------
        float
        """
        X = self._check_inputs(X)
        target = self._check_target(X, expert_logits)
        bf = self._forward(X)
        A, T = bf.A, self._T
        loss, dout = self._loss_grad_out(A[self._out_pos], target)
        g = self._backward(bf, dout)
        # the activations window: batch means (sum / batch, as np.mean) before the update
        np.divide(A[self._off:].sum(axis=1), X.shape[0], out=self._Act[self._aptr])
        np.minimum(self._acount + 1, T, out=self._acount)
        self._aptr = (self._aptr + 1) % T
        self._dirty = True
        if not np.isfinite(g).all():
            # as optim.adam_step: the activations are recorded, nothing is updated
            raise ValueError("gradient contains NaN or inf")
        # Adam, vectorised; the same floating-point operations in the same order as
        # optim.adam_update, so the results are bit-for-bit those of the reference
        a, m, v = self.adam, self._m, self._v
        t = self._t
        t += 1
        self._tmax += 1  # the largest step count: every count grew by one
        if self._tmax >= len(self._bc1):
            self._ensure_bias_tables(self._tmax)
        # m <- beta1 m + (1 - beta1) g
        m *= a.beta1
        m += (1.0 - a.beta1) * g
        # v <- beta2 v + (1 - beta2) g g
        v *= a.beta2
        v += (1.0 - a.beta2) * g * g
        # Delta = -lr m_hat / (sqrt(v_hat) + eps)
        delta = m / self._bc1[t]
        delta *= -a.lr
        den = v / self._bc2[t]
        np.sqrt(den, out=den)
        den += a.eps
        delta /= den
        self._theta += delta
        # Delta w_{k,t}: every edge's window gets this step's change
        self._U[self._uptr] = delta[self._nb:]
        np.minimum(self._ucount + 1, T, out=self._ucount)
        self._uptr = (self._uptr + 1) % T
        if self._nb_kernels is None:  # the compiled kernel reads theta itself
            np.put(self._Wt, self._wflat, self._theta)
        return loss

    # --- the Structural Plasticity Module -------------------------------------------------

    def _window(self, k: int) -> list:
        """Edge ``k``'s window, oldest first (as its ``updates`` deque holds it)."""
        c = int(self._ucount[k])
        return self._U[self._rows(c, self._uptr), k].tolist() if c else []

    def _window_stats(self, variance: bool = True):
        """Vectorised ``mu``, ``sigma^2`` (population) and ``max |Delta w|`` of every window
        (meaningful for full windows only)."""
        U, T = self._U, self._T
        E = U.shape[1]
        mu, s2, M = np.empty(E), np.empty(E) if variance else None, np.empty(E)
        # column chunks that stay in cache: the cost per edge does not grow with E
        for a in range(0, E, _STATS_CHUNK):
            c = U[:, a:a + _STATS_CHUNK]
            m = np.add.reduce(c, axis=0) / T
            mu[a:a + _STATS_CHUNK] = m
            np.maximum(np.maximum.reduce(c, axis=0), -np.minimum.reduce(c, axis=0), out=M[a:a + _STATS_CHUNK])
            if variance:
                dev = c - m
                s2[a:a + _STATS_CHUNK] = np.einsum("ij,ij->j", dev, dev) / T
        return mu, s2, M

    def unstable_edges(self) -> list[tuple[int, int]]:
        """Edges meeting the instability criterion now (full windows only).

        Vectorised over the update ring buffer; borderline windows are re-judged by
        :func:`smgrnn_ref.spm.is_unstable`, so the result equals that rule applied to every
        edge of the synchronised graph.

        Returns
        -------
        list of (int, int)
            In sorted ``(u, v)`` order, the order edge-driven growth visits them.
        """
        return [self._edges[k] for k in self._unstable_indices()]

    def _unstable_indices(self) -> np.ndarray:
        from .spm import INSTABILITY_SIGMA_FACTOR, is_unstable

        cfg = self.spm
        full = self._ucount == self._T
        if not full.any():
            return []
        mu, s2, M = self._window_stats()
        amu, sig = np.abs(mu), np.sqrt(s2)
        # |mu| < 0.5 sigma  and  sigma^2 > lambda |mu|, each as a margin c > 0
        c1 = INSTABILITY_SIGMA_FACTOR * sig - amu
        c2 = s2 - cfg.lambda_edge * amu
        # how far rounding can move each margin: a few ulps of the window's scale
        tol1 = DECISION_MARGIN * (M + sig)
        tol2 = DECISION_MARGIN * (M * M + cfg.lambda_edge * M)
        sure = full & (c1 > tol1) & (c2 > tol2)
        # neither surely in nor surely out: ask the reference rule
        unsure = full & ~sure & (c1 >= -tol1) & (c2 >= -tol2)
        for k in np.nonzero(unsure)[0]:
            sure[k] = is_unstable(self._window(k), cfg.lambda_edge, self._T)
        return self._by_key(np.nonzero(sure)[0])

    def prune_candidates(self) -> list[tuple[int, int]]:
        """The pruning candidate set ``W_t`` now (full windows only).

        Vectorised; borderline windows are re-judged by
        :func:`smgrnn_ref.spm.is_prune_candidate`.

        Returns
        -------
        list of (int, int)
            In sorted ``(u, v)`` order, the order :func:`smgrnn_ref.spm.prune` lists them.
        """
        return [self._edges[k] for k in self._prune_indices()]

    def _prune_indices(self) -> np.ndarray:
        from .spm import is_prune_candidate

        cfg = self.spm
        w = self._theta[self._nb:]
        # |w| <= tau_w is exact (the same float as in the graph); only mu needs a margin
        full = (self._ucount == self._T) & (np.abs(w) <= cfg.tau_w)
        if not full.any():
            return []
        mu, _, M = self._window_stats(variance=False)
        amu = np.abs(mu)
        tol = DECISION_MARGIN * M
        sure = full & (amu < cfg.tau_delta - tol)
        unsure = full & ~sure & (amu <= cfg.tau_delta + tol)
        for k in np.nonzero(unsure)[0]:
            sure[k] = is_prune_candidate(float(w[k]), self._window(k), cfg.tau_w, cfg.tau_delta, self._T)
        return self._by_key(np.nonzero(sure)[0])

    def _by_key(self, ks) -> list:
        """Edge indices in sorted ``(u, v)`` order: the order the reference rules visit."""
        edges = self._edges
        return sorted(ks.tolist(), key=edges.__getitem__)

    def spm_step(self, t: int, rng: np.random.Generator) -> list:
        """One Structural Plasticity Module step (pruning when ``t mod s == 0``).

        Same schedule, ablation switches, random draws and events as
        :func:`smgrnn_ref.spm.spm_step`; see the module docstring for what is vectorised.

        Parameters
        ----------
        t : int
            The training step (``>= 0``).
        rng : numpy.random.Generator

        Returns
        -------
        list of events
        """
        from . import spm as S
        from .events import EdgePruned

        cfg, G = self.spm, self._G
        if G.graph["T"] != cfg.T:
            raise ValueError(f"graph window T={G.graph['T']} differs from SPMConfig.T={cfg.T}")
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (explicit seeding)")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be an integer >= 0, got {t!r}")
        events = []
        pruned, added, full_compile = [], [], False
        if S.is_pruning_step(t, cfg.s):
            if cfg.enable_pruning:
                # prune: W_t in sorted order, then one rng.choice, as spm.prune draws it
                W_t = self._prune_indices()
                n = S.n_pruned(cfg.eta_prune, len(W_t))
                if n:
                    chosen = sorted(rng.choice(len(W_t), n, replace=False))
                    for idx in chosen:
                        k = W_t[idx]
                        u, v = self._edges[k]
                        events.append(EdgePruned(step=t, edge=(u, v), weight=float(self._theta[self._nb + k])))
                        G.remove_edge(u, v)
                        pruned.append(k)
                        full_compile |= not self._can_remove_in_place(u, v)
                orphans = S.remove_orphans(G, t)
                events += orphans
                full_compile |= bool(orphans)
        else:
            relays = []
            if cfg.enable_edge_growth:
                for k in self._unstable_indices():
                    ev = S.insert_relay(G, self._edges[k], rng, cfg, t=t)
                    events.append(ev)
                    relays.append((*ev.edge, ev.node))
                    # the refractory clear, mirrored in the ring buffer
                    self._ucount[k] = 0
            if cfg.enable_random_growth:
                # positions are a topological order of the nodes they hold (a relay just
                # inserted on i -> j only adds paths i -> j already gives), so random growth
                # can skip path searches; not within cyclic blocks
                rank = None if self._any_cyclic else self._pos
                grown = S.random_growth(G, t, rng, cfg, rank=rank)
                events += grown
                added = [e.edge for e in grown]
            # new nodes need positions: spliced in when the levels allow, else a full compile
            if relays and (not self.incremental_relays or not self._insert_relays_in_place(relays)):
                full_compile = True
            if not full_compile:
                full_compile = not all(self._can_add_in_place(u, v) for u, v in added)
        # recompile only what is needed: new or removed nodes, or an edge that changes the
        # block schedule, derive everything again; other edge edits append or delete columns
        if full_compile:
            self._compile(carry=True)
        elif pruned:
            self._remove_edges_in_place(pruned)
        elif added:
            self._add_edges_in_place(added)
        return events


__all__ = ["FastEngine", "DECISION_MARGIN"]

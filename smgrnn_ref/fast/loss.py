"""The distillation loss and its gradient w.r.t. the logits, on the kernels' layout.

Invariant kept: **the reference's loss and** ``dL/dlogits`` **bit for bit**. Without numba this
calls :data:`smgrnn_ref.losses.VALUE_AND_GRAD`, the very functions whose closed-form derivative
the reference engine's ``autograd`` primitives use (they use only element-wise operations, sums
over the actions in index order and a batch sum of a contiguous vector, so the transposed
layout changes no bit). With numba the same operations run compiled, one sample at a time
(:func:`kl_pass`, :func:`ce_pass`, :func:`mse_pass`; ``numerics.exp_scalar`` / ``log_scalar`` are the twins of
``numerics.exp`` / ``log``, the batch sum numpy's pairwise order), because the numpy version's
few hundred small array operations cost more than a whole training step of a small graph; the
two are compared bit for bit in ``tests/test_fast_exact.py``.

The student's logits arrive as the output rows of the node values, ``n_out x batch``
(transposed against :mod:`smgrnn_ref.losses`).
"""

from __future__ import annotations

import numpy as np

from .. import numerics
from ..losses import VALUE_AND_GRAD
from . import kernel_numba

#: The compiled helpers and passes, bound by :func:`compiled_losses` (``False``: no numba).
_exp_compiled = _log_compiled = _COMPILED = None


def _softmax_row(z, b, out_log, out_p, transposed):
    """``log p`` and ``p`` of sample ``b`` (as :func:`smgrnn_ref.losses.softmax_parts`): ``z``
    is ``n x B`` (``transposed``) or ``B x n``."""
    n = out_log.shape[0]
    m = z[0, b] if transposed else z[b, 0]
    for a in range(1, n):
        v = z[a, b] if transposed else z[b, a]
        m = m if (m >= v or m != m) else v  # numpy.maximum
    s = 0.0
    for a in range(n):
        v = z[a, b] if transposed else z[b, a]
        out_log[a] = v - m
        e = _exp_compiled(out_log[a])
        out_p[a] = e
        s = e if a == 0 else s + e
    ls = _log_compiled(s)
    for a in range(n):
        out_log[a] = out_log[a] - ls
        out_p[a] = out_p[a] / s


def kl_pass(O, T, G, per):
    """KL loss of student logits ``O`` (``n x B``) against expert logits ``T`` (``B x n``);
    ``G`` receives ``dL/dlogits`` (``n x B``), ``per`` (``B``) the per-sample terms."""
    n, B = O.shape
    log_ps, ps = np.empty(n), np.empty(n)
    log_pe, pe = np.empty(n), np.empty(n)
    for b in range(B):
        _softmax_row_compiled(O, b, log_ps, ps, True)
        _softmax_row_compiled(T, b, log_pe, pe, False)
        # sum_a p_E (log p_E - log p_S), and dL/dz_S = (p_S - p_E) / B
        acc = 0.0
        for a in range(n):
            term = pe[a] * (log_pe[a] - log_ps[a])
            acc = term if a == 0 else acc + term
            G[a, b] = (ps[a] - pe[a]) / B
        per[b] = acc
    return _batch_sum(per) / B


def ce_pass(O, Y, G, per):
    """Cross-entropy of student logits ``O`` (``n x B``) to class probabilities ``Y``
    (``B x n``), as :func:`kl_pass` (the operations of
    :func:`smgrnn_ref.losses.ce_value_and_grad` in its order)."""
    n, B = O.shape
    log_ps, ps = np.empty(n), np.empty(n)
    for b in range(B):
        _softmax_row_compiled(O, b, log_ps, ps, True)
        # -sum_a y(a) log p_S(a) and sum_c y(c), each in index order
        acc = 0.0
        sy = 0.0
        for a in range(n):
            term = Y[b, a] * log_ps[a]
            acc = term if a == 0 else acc + term
            sy = Y[b, a] if a == 0 else sy + Y[b, a]
        # dL/dz_S = (p_S sum_c y(c) - y) / B
        for a in range(n):
            G[a, b] = (ps[a] * sy - Y[b, a]) / B
        per[b] = -acc
    return _batch_sum(per) / B


def mse_pass(O, T, G, per):
    """MSE of student logits ``O`` (``n x B``) against expert logits ``T`` (``B x n``), as
    :func:`kl_pass`."""
    n, B = O.shape
    size = n * B
    scale = 2.0 / size
    for b in range(B):
        acc = 0.0
        for a in range(n):
            d = O[a, b] - T[b, a]
            acc = d * d if a == 0 else acc + d * d
            G[a, b] = scale * d
        per[b] = acc
    return _batch_sum(per) / size


def _batch_sum_py(per):
    """:func:`numpy.sum` of ``per``, bit for bit (products with 1 are exact)."""
    return kernel_numba._batch_dot_compiled(per, np.ones(per.shape[0]))


_batch_sum = _softmax_row_compiled = None


def compiled_losses():
    """``{"kl": kl_pass, "ce": ce_pass, "mse": mse_pass}`` compiled, or ``None`` without numba."""
    global _COMPILED, _exp_compiled, _log_compiled, _batch_sum, _softmax_row_compiled
    if _COMPILED is None:
        if kernel_numba.compiled_kernels() is None:
            _COMPILED = False
        else:
            import numba

            opts = dict(nogil=True, error_model="numpy")
            jit = kernel_numba.jit_cached
            _exp_compiled = jit(numba, numerics.exp_scalar, inline="always", **opts)
            _log_compiled = jit(numba, numerics.log_scalar, inline="always", **opts)
            _batch_sum = jit(numba, _batch_sum_py, **opts)
            _softmax_row_compiled = jit(numba, _softmax_row, **opts)
            _COMPILED = {"kl": jit(numba, kl_pass, **opts), "ce": jit(numba, ce_pass, **opts),
                         "mse": jit(numba, mse_pass, **opts)}
    return _COMPILED or None


def loss_and_logit_grad(loss: str, O: np.ndarray, target: np.ndarray, compiled: bool | None = None):
    """The loss and ``dL/dlogits``.

    Parameters
    ----------
    loss : {"kl", "ce", "mse"}
    O : numpy.ndarray, shape (n_out, batch)
        The student's logits.
    target : numpy.ndarray, shape (batch, n_out)
        The expert's logits (``"kl"``, ``"mse"``) or class probabilities (``"ce"``; one-hot rows
        for hard labels).
    compiled : bool, optional
        Use the compiled passes (default: when numba can be imported) or numpy's
        :data:`smgrnn_ref.losses.VALUE_AND_GRAD`; the same bits either way.

    Returns
    -------
    (float, numpy.ndarray of shape (n_out, batch))

    Examples
    --------
    >>> loss, d = loss_and_logit_grad("mse", np.array([[1.0, 0.0]]), np.zeros((2, 1)))
    >>> loss, d.tolist()
    (0.5, [[1.0, 0.0]])
    """
    passes = compiled_losses() if compiled is not False else None
    if passes is None:
        value, grad = VALUE_AND_GRAD[loss](O.T, target)
        return value, grad.T
    O, target = np.ascontiguousarray(O, dtype=np.float64), np.ascontiguousarray(target, dtype=np.float64)
    if O.shape != target.T.shape:
        raise ValueError(f"student and expert logits differ in shape: {O.T.shape} vs {target.shape}")
    G = np.empty_like(O)
    value = passes[loss](O, target, G, np.empty(O.shape[1]))
    return float(value), G


__all__ = ["kl_pass", "ce_pass", "mse_pass", "compiled_losses", "loss_and_logit_grad"]

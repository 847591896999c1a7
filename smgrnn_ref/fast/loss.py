"""The distillation loss and its gradient w.r.t. the logits, on the kernels' layout.

Invariant kept: **the same loss as** :mod:`smgrnn_ref.losses` (``"kl"``: ``KL(p_E || p_S)``
averaged over the batch; ``"ce"``: cross-entropy to target class probabilities; ``"mse"``:
mean squared error of the logits), up to rounding, and
``dL/dlogits`` its exact derivative. The student's logits arrive as the output rows of the
node values, ``n_out x batch`` (transposed against :mod:`smgrnn_ref.losses`); the loops run
over the few outputs, because numpy's reductions along a short axis cost far more than a
couple of ufunc calls.
"""

from __future__ import annotations

import numpy as np


def _softmax_parts(z: np.ndarray):
    """``(log p, p)`` of ``softmax`` over the rows of ``z`` (``n x batch``), max-shifted as
    autograd's ``logsumexp``: ``log p = (z - max) - log sum exp``."""
    n = z.shape[0]
    mx = z[0].copy()
    for j in range(1, n):
        np.maximum(mx, z[j], out=mx)
    z = z - mx
    ez = np.exp(z)
    s = ez[0].copy()
    for j in range(1, n):
        s += ez[j]
    return z - np.log(s), ez / s


def loss_and_logit_grad(loss: str, O: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and ``dL/dlogits``.

    Parameters
    ----------
    loss : {"kl", "ce", "mse"}
    O : numpy.ndarray, shape (n_out, batch)
        The student's logits.
    target : numpy.ndarray, shape (batch, n_out)
        The expert's logits (``"kl"``, ``"mse"``) or class probabilities (``"ce"``; one-hot rows
        for hard labels).

    Returns
    -------
    (float, numpy.ndarray of shape (n_out, batch))

    Examples
    --------
    >>> loss, d = loss_and_logit_grad("mse", np.array([[1.0, 0.0]]), np.zeros((2, 1)))
    >>> loss, d.tolist()
    (0.5, [[1.0, 0.0]])
    """
    n, B = O.shape
    Tt = target.T
    if loss in ("kl", "ce"):
        log_ps, ps = _softmax_parts(O)
        if loss == "kl":
            log_pe, pe = _softmax_parts(Tt)
            diff = log_pe - log_ps
            value = np.dot(pe.ravel(), diff.ravel()) / B
        else:
            # the target rows are class probabilities y: -sum_a y_a log p_S(a)
            pe = Tt
            value = -np.dot(pe.ravel(), log_ps.ravel()) / B
        # d/dz_S of -sum_a p_E log p_S = p_S sum_a p_E - p_E, averaged over the batch
        spe = pe[0].copy()
        for j in range(1, n):
            spe += pe[j]
        dout = (ps * spe - pe) / B
    else:
        diff = O - Tt
        value = np.dot(diff.ravel(), diff.ravel()) / diff.size
        dout = (2.0 / diff.size) * diff
    return float(value), dout


__all__ = ["loss_and_logit_grad"]

"""The distillation loss and its gradient w.r.t. the logits, on the kernels' layout.

Invariant kept: **the reference's loss and** ``dL/dlogits`` **bit for bit**: this calls
:data:`smgrnn_ref.losses.VALUE_AND_GRAD`, the very functions whose closed-form derivative the
reference engine's ``autograd`` primitives use. The student's logits arrive as the output rows
of the node values, ``n_out x batch`` (transposed against :mod:`smgrnn_ref.losses`); those
functions use only element-wise operations, sums over the actions in index order and a batch
sum of a contiguous vector, so the layout changes no bit.
"""

from __future__ import annotations

import numpy as np

from ..losses import VALUE_AND_GRAD


def loss_and_logit_grad(loss: str, O: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and ``dL/dlogits``.

    Parameters
    ----------
    loss : {"kl", "mse"}
    O : numpy.ndarray, shape (n_out, batch)
        The student's logits.
    target : numpy.ndarray, shape (batch, n_out)
        The expert's logits.

    Returns
    -------
    (float, numpy.ndarray of shape (n_out, batch))

    Examples
    --------
    >>> loss, d = loss_and_logit_grad("mse", np.array([[1.0, 0.0]]), np.zeros((2, 1)))
    >>> loss, d.tolist()
    (0.5, [[1.0, 0.0]])
    """
    value, grad = VALUE_AND_GRAD[loss](O.T, target)
    return value, grad.T


__all__ = ["loss_and_logit_grad"]

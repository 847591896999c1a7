"""Training losses ``L_t(theta)``: distillation losses and the cross-entropy to class labels.

The paper trains the student's weights with a supervised distillation loss between student and
expert outputs (Jia & Zhou, arXiv 2512.12713; MSE or cross-entropy). The two distillation losses
take the **expert's logits** as the target, so one labelled dataset serves either:

* ``"kl"``: ``KL(p_E || p_S)`` averaged over the batch, with ``p = softmax(logits)``;
  its gradient equals that of the cross-entropy ``-sum_a p_E(a) log p_S(a)``;
* ``"mse"``: mean squared error between student and expert logits (also the regression loss
  of :class:`smgrnn_ref.estimators.SMGrNNRegressor`).

The third takes **class probabilities** as the target (one-hot rows for hard labels), for
training on a labelled dataset (:class:`smgrnn_ref.estimators.SMGrNNClassifier`):

* ``"ce"``: the cross-entropy ``-sum_a y_a log softmax(z_S)_a`` averaged over the batch.

Each is a pure function of the parameter vector through :func:`loss_params`, so
``autograd.grad`` gives the gradient.

Examples
--------
>>> import numpy as np
>>> float(kl(np.zeros((1, 2)), np.zeros((1, 2))))  # identical distributions
0.0
>>> round(float(mse(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))), 6)
0.5
>>> round(float(ce(np.zeros((1, 2)), np.array([[1.0, 0.0]]))), 6) == round(float(np.log(2.0)), 6)
True
"""

from __future__ import annotations

import autograd.numpy as anp
from autograd import value_and_grad

from .evaluate import Plan, forward_params


def logsumexp(logits):
    """``log sum_b exp z_b`` row by row, shifted by the row maximum ``m`` so no ``exp``
    overflows: ``m + log sum_b exp(z_b - m)`` (the shift cancels in value and gradient).

    Written with ``autograd.numpy`` alone (``autograd.scipy`` would pull in scipy).

    Parameters
    ----------
    logits : array, shape (batch, n)

    Returns
    -------
    array, shape (batch, 1)

    Examples
    --------
    >>> import numpy as np
    >>> float(logsumexp(np.array([[1000.0, 1000.0]]))[0, 0]) == 1000.0 + float(np.log(2.0))
    True
    """
    # m: the row maximum
    m = anp.max(logits, axis=1, keepdims=True)
    # m + log sum_b exp(z_b - m)
    return m + anp.log(anp.sum(anp.exp(logits - m), axis=1, keepdims=True))


def log_softmax(logits):
    """``log p(a) = z_a - log sum_b exp z_b`` row by row (stable through :func:`logsumexp`).

    Parameters
    ----------
    logits : array, shape (batch, n)

    Returns
    -------
    array, shape (batch, n)

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.allclose(log_softmax(np.array([[0.0, 0.0]])), np.log(0.5)))
    True
    """
    return logits - logsumexp(logits)


def kl(student_logits, expert_logits):
    """``mean_batch sum_a p_E(a) (log p_E(a) - log p_S(a))``.

    Parameters
    ----------
    student_logits, expert_logits : array, shape (batch, n_actions)

    Returns
    -------
    float (an autograd scalar while differentiating)

    Examples
    --------
    >>> import numpy as np
    >>> p = float(kl(np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])))  # p_E = (3/4, 1/4)
    >>> bool(np.isclose(p, 0.75 * np.log(1.5) + 0.25 * np.log(0.5)))
    True
    """
    # log p_S and log p_E
    log_ps = log_softmax(student_logits)
    log_pe = log_softmax(expert_logits)
    # p_E
    pe = anp.exp(log_pe)
    # sum over actions, mean over the batch
    return anp.mean(anp.sum(pe * (log_pe - log_ps), axis=1))


def mse(student_logits, expert_logits):
    """``mean_{batch, a} (z_S(a) - z_E(a))^2``.

    Parameters
    ----------
    student_logits, expert_logits : array, shape (batch, n_actions)

    Returns
    -------
    float (an autograd scalar while differentiating)
    """
    return anp.mean((student_logits - expert_logits) ** 2)


def ce(student_logits, target_probs):
    """``-mean_batch sum_a y_a log p_S(a)``, the targets ``y`` rows of class probabilities.

    Unlike :func:`kl`, the target is not a row of logits: for hard labels ``y`` is one-hot, and
    the loss is the negative log-likelihood of the labels. Its gradient with respect to the
    student's logits is ``(p_S sum_a y_a - y) / batch``.
    """
    # log p_S
    log_ps = log_softmax(student_logits)
    # -sum over classes of y_a log p_S(a), mean over the batch
    return -anp.mean(anp.sum(target_probs * log_ps, axis=1))


#: Loss functions by name (the engines' ``loss``). ``"kl"`` and ``"mse"`` distil an expert's
#: logits; ``"ce"`` expects class probabilities as its target (the estimators' classifier).
LOSSES = {"kl": kl, "mse": mse, "ce": ce}


def get_loss(name: str):
    """The loss function called ``name``.

    Parameters
    ----------
    name : {"kl", "mse", "ce"}

    Returns
    -------
    callable
        ``loss(student_logits, target)``: the expert's logits for ``"kl"`` and ``"mse"``,
        class probabilities for ``"ce"``.

    Raises
    ------
    ValueError
        Listing the known names.

    Examples
    --------
    >>> get_loss("hinge")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'hinge'; known: ['ce', 'kl', 'mse']
    """
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    return LOSSES[name]


def loss_params(theta, plan: Plan, X, expert_logits, loss: str = "kl"):
    """``L(theta)``: the distillation loss of the network with parameters ``theta``.

    Parameters
    ----------
    theta : array_like
        The parameter vector in ``plan.keys`` order.
    plan : smgrnn_ref.evaluate.Plan
    X : numpy.ndarray, shape (batch, n_inputs)
    expert_logits : numpy.ndarray, shape (batch, n_outputs)
    loss : {"kl", "mse"}

    Returns
    -------
    float (an autograd scalar while differentiating)

    Raises
    ------
    ValueError
        For an unknown loss name.
    """
    return get_loss(loss)(forward_params(theta, plan, X), expert_logits)


#: ``(L(theta), dL/dtheta)`` by reverse-mode autodiff, with the signature of :func:`loss_params`.
loss_and_grad = value_and_grad(loss_params)

__all__ = ["logsumexp", "log_softmax", "kl", "mse", "ce", "LOSSES", "get_loss", "loss_params", "loss_and_grad"]

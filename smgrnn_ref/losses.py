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

How the numbers are computed (the same bits on every machine, and in both engines)
----------------------------------------------------------------------------------
Each loss is an ``autograd`` primitive whose derivative is written out in closed form
(:func:`kl_value_and_grad`, :func:`mse_value_and_grad`, :func:`ce_value_and_grad`; checked against finite differences in
``tests/test_grads.py``), and the fast engine (:mod:`smgrnn_ref.fast.loss`) calls the very same
functions, so both engines get the same loss and ``dL/dlogits`` bit for bit. Inside them:
``exp`` and ``log`` are :mod:`smgrnn_ref.numerics`' (numpy's depend on the CPU), sums over the
few actions run column by column in index order (the same whatever the memory layout of the
logits), and the batch mean is :func:`numpy.sum` of a contiguous vector (numpy's pairwise
summation, whose order is fixed) divided by the batch size.

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

import numpy as np
from autograd import value_and_grad
from autograd.extend import defvjp, primitive

from . import numerics
from .evaluate import Plan, forward_params


def _columns_sum(x) -> np.ndarray:
    """``sum_a x[:, a]`` for ``a = 0, 1, ...`` in that order (a fixed order for any layout)."""
    s = x[:, 0].copy()
    for a in range(1, x.shape[1]):
        s += x[:, a]
    return s


def _as_logits(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (batch, n) with batch, n >= 1, got {x.shape}")
    return x


def softmax_parts(logits) -> tuple[np.ndarray, np.ndarray]:
    """``(log p, p)`` with ``p = softmax(logits)`` row by row, shifted by the row maximum so no
    ``exp`` overflows.

    ::

        m = max_a z_a,   e_a = exp(z_a - m),   s = sum_a e_a,
        log p_a = (z_a - m) - log s,   p_a = e_a / s

    Parameters
    ----------
    logits : numpy.ndarray, shape (batch, n)

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Both of shape ``(batch, n)``.

    Examples
    --------
    >>> log_p, p = softmax_parts(np.array([[1000.0, 1000.0]]))
    >>> log_p.tolist(), p.tolist()
    ([[-0.6931471805599453, -0.6931471805599453]], [[0.5, 0.5]])
    """
    z = _as_logits(logits, "logits")
    # m = max_a z_a (exact in any order)
    m = z[:, 0].copy()
    for a in range(1, z.shape[1]):
        np.maximum(m, z[:, a], out=m)
    # z - m and e = exp(z - m)
    shifted = z - m[:, None]
    e = numerics.exp(shifted)
    # s = sum_a e_a
    s = _columns_sum(e)
    # log p = (z - m) - log s,  p = e / s
    return shifted - numerics.log(s)[:, None], e / s[:, None]


def logsumexp(logits):
    """``log sum_b exp z_b`` row by row, shifted by the row maximum ``m`` so no ``exp``
    overflows: ``m + log sum_b exp(z_b - m)``.

    Parameters
    ----------
    logits : numpy.ndarray, shape (batch, n)

    Returns
    -------
    numpy.ndarray, shape (batch, 1)

    Examples
    --------
    >>> float(logsumexp(np.array([[1000.0, 1000.0]]))[0, 0]) == 1000.0 + float(numerics.log(2.0))
    True
    """
    z = _as_logits(logits, "logits")
    # m: the row maximum
    m = z.max(axis=1)
    # m + log sum_b exp(z_b - m)
    return (m + numerics.log(_columns_sum(numerics.exp(z - m[:, None]))))[:, None]


def log_softmax(logits):
    """``log p(a) = z_a - log sum_b exp z_b`` row by row (the first part of :func:`softmax_parts`).

    Parameters
    ----------
    logits : numpy.ndarray, shape (batch, n)

    Returns
    -------
    numpy.ndarray, shape (batch, n)

    Examples
    --------
    >>> bool(np.allclose(log_softmax(np.array([[0.0, 0.0]])), np.log(0.5)))
    True
    """
    return softmax_parts(logits)[0]


def kl_value_and_grad(student_logits, expert_logits) -> tuple[float, np.ndarray]:
    """``KL(p_E || p_S)`` averaged over the batch, and its gradient w.r.t. the student's logits.

    ::

        L = (1/B) sum_b sum_a p_E(a) (log p_E(a) - log p_S(a))
        dL/dz_S(a) = (p_S(a) - p_E(a)) / B

    (the derivative of ``-sum_a p_E log p_S`` through the softmax, using ``sum_a p_E = 1``).

    Parameters
    ----------
    student_logits, expert_logits : numpy.ndarray, shape (batch, n)

    Returns
    -------
    (float, numpy.ndarray of shape (batch, n))

    Examples
    --------
    >>> value, grad = kl_value_and_grad(np.zeros((1, 2)), np.array([[np.log(3.0), 0.0]]))
    >>> round(value, 12), grad.round(12).tolist()   # p_E = (3/4, 1/4), p_S = (1/2, 1/2)
    (0.130812035941, [[-0.25, 0.25]])
    """
    log_ps, ps = softmax_parts(student_logits)
    log_pe, pe = softmax_parts(expert_logits)
    if log_ps.shape != log_pe.shape:
        raise ValueError(f"student and expert logits differ in shape: {log_ps.shape} vs {log_pe.shape}")
    B = log_ps.shape[0]
    # per sample: sum_a p_E (log p_E - log p_S)
    per_sample = _columns_sum(pe * (log_pe - log_ps))
    # the batch mean, and dL/dz_S = (p_S - p_E) / B
    return float(np.sum(per_sample) / B), (ps - pe) / B


def mse_value_and_grad(student_logits, expert_logits) -> tuple[float, np.ndarray]:
    """Mean squared error of the logits, and its gradient w.r.t. the student's logits.

    ::

        L = (1 / (B n)) sum_b sum_a (z_S(a) - z_E(a))^2,    dL/dz_S = (2 / (B n)) (z_S - z_E)

    Parameters
    ----------
    student_logits, expert_logits : numpy.ndarray, shape (batch, n)

    Returns
    -------
    (float, numpy.ndarray of shape (batch, n))

    Examples
    --------
    >>> mse_value_and_grad(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    (2.5, array([[ 1., -2.]]))
    """
    zs, ze = _as_logits(student_logits, "student logits"), _as_logits(expert_logits, "expert logits")
    if zs.shape != ze.shape:
        raise ValueError(f"student and expert logits differ in shape: {zs.shape} vs {ze.shape}")
    d = zs - ze
    # per sample: sum_a d_a^2, then the mean over the batch and the actions
    return float(np.sum(_columns_sum(d * d)) / d.size), (2.0 / d.size) * d


@primitive
def kl(student_logits, expert_logits):
    """``mean_batch sum_a p_E(a) (log p_E(a) - log p_S(a))`` (see :func:`kl_value_and_grad`;
    an ``autograd`` primitive, differentiable w.r.t. the student's logits).

    Parameters
    ----------
    student_logits, expert_logits : array, shape (batch, n_actions)

    Returns
    -------
    float

    Examples
    --------
    >>> p = float(kl(np.array([[0.0, 0.0]]), np.array([[np.log(3.0), 0.0]])))  # p_E = (3/4, 1/4)
    >>> bool(np.isclose(p, 0.75 * np.log(1.5) + 0.25 * np.log(0.5)))
    True
    """
    return np.float64(kl_value_and_grad(student_logits, expert_logits)[0])


@primitive
def mse(student_logits, expert_logits):
    """``mean_{batch, a} (z_S(a) - z_E(a))^2`` (see :func:`mse_value_and_grad`; an ``autograd``
    primitive, differentiable w.r.t. the student's logits).

    Parameters
    ----------
    student_logits, expert_logits : array, shape (batch, n_actions)

    Returns
    -------
    float
    """
    return np.float64(mse_value_and_grad(student_logits, expert_logits)[0])


# dL/dz_S, times the incoming gradient g (1 for the loss itself)
defvjp(kl, lambda ans, s, e: lambda g: g * kl_value_and_grad(s, e)[1])
defvjp(mse, lambda ans, s, e: lambda g: g * mse_value_and_grad(s, e)[1])


def ce_value_and_grad(student_logits, target_probs) -> tuple[float, np.ndarray]:
    """Cross-entropy to target class probabilities, and its gradient w.r.t. the student's logits.

    ::

        L = -(1/B) sum_b sum_a y(a) log p_S(a)
        dL/dz_S(a) = (p_S(a) sum_c y(c) - y(a)) / B

    Unlike :func:`kl_value_and_grad`, the target rows ``y`` are probabilities, not logits: for
    hard labels ``y`` is one-hot and ``L`` is the negative log-likelihood of the labels (the
    estimators' classifier). ``sum_c y(c)`` is kept (not replaced by 1) so the derivative stays
    exact for rows that do not sum to one.

    Parameters
    ----------
    student_logits, target_probs : numpy.ndarray, shape (batch, n)

    Returns
    -------
    (float, numpy.ndarray of shape (batch, n))

    Examples
    --------
    >>> value, grad = ce_value_and_grad(np.zeros((1, 2)), np.array([[1.0, 0.0]]))
    >>> round(value, 12), grad.tolist()   # p_S = (1/2, 1/2): -log(1/2)
    (0.69314718056, [[-0.5, 0.5]])
    """
    log_ps, ps = softmax_parts(student_logits)
    y = _as_logits(target_probs, "target probabilities")
    if log_ps.shape != y.shape:
        raise ValueError(f"student logits and targets differ in shape: {log_ps.shape} vs {y.shape}")
    B = log_ps.shape[0]
    # per sample: -sum_a y(a) log p_S(a)
    per_sample = -_columns_sum(y * log_ps)
    # sum_c y(c), then dL/dz_S = (p_S sum_c y(c) - y) / B
    sy = _columns_sum(y)
    return float(np.sum(per_sample) / B), (ps * sy[:, None] - y) / B


@primitive
def ce(student_logits, target_probs):
    """``-mean_batch sum_a y(a) log p_S(a)`` (see :func:`ce_value_and_grad`; an ``autograd``
    primitive, differentiable w.r.t. the student's logits).

    Parameters
    ----------
    student_logits, target_probs : array, shape (batch, n_classes)

    Returns
    -------
    float

    Examples
    --------
    >>> bool(np.isclose(float(ce(np.zeros((1, 2)), np.array([[0.0, 1.0]]))), np.log(2.0)))
    True
    """
    return np.float64(ce_value_and_grad(student_logits, target_probs)[0])


defvjp(ce, lambda ans, s, y: lambda g: g * ce_value_and_grad(s, y)[1])


#: The value-and-gradient function of each loss (used by both engines).
VALUE_AND_GRAD = {"kl": kl_value_and_grad, "mse": mse_value_and_grad, "ce": ce_value_and_grad}


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
    loss : {"kl", "mse", "ce"}

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

__all__ = ["softmax_parts", "logsumexp", "log_softmax", "kl_value_and_grad", "mse_value_and_grad",
           "ce_value_and_grad", "VALUE_AND_GRAD", "kl", "mse", "ce", "LOSSES", "get_loss", "loss_params",
           "loss_and_grad"]

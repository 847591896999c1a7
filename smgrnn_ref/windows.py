"""An edge's window: its statistics, the quantities every SPM rule reads.

Each edge keeps its last ``T`` window values in a deque with ``maxlen = T``
(:mod:`smgrnn_ref.graph`): the applied weight updates ``Delta w_{k,t}``, the paper's window
(``SPMConfig.window_signal = "update"``), or, by default, the negative loss gradients
``-dL/dw_k`` (``"gradient"``, our choice, not the paper's). The formulas below are written for
the paper's window; they apply to either. Edge-driven growth (:func:`smgrnn_ref.spm.is_unstable`)
and pruning (:func:`smgrnn_ref.pruning.is_prune_candidate`) judge it by its mean ``mu_k`` and
variance ``sigma_k^2``, and only once it is full.
"""

from __future__ import annotations

import numpy as np


def rolling_stats(updates) -> tuple[float, float]:
    """Mean and variance of an edge's window (weight updates, or negative gradients).

    ::

        mu_k      = (1/T) sum_t' Delta w_{k,t'}
        sigma_k^2 = (1/T) sum_t' (Delta w_{k,t'} - mu_k)^2

    The variance is the **population** variance (divide by ``T``, ddof = 0). **Our choice**:
    the paper says "variance of the buffer"; the buffer is the whole window, not a sample
    from a larger one.

    Parameters
    ----------
    updates : sequence of float
        The window (an edge's ``updates`` deque); must not be empty.

    Returns
    -------
    (mu, sigma2) : tuple of float

    Raises
    ------
    ValueError
        For an empty or not one-dimensional window.

    Examples
    --------
    >>> rolling_stats([1.0, -1.0, 1.0, -1.0])
    (0.0, 1.0)
    >>> rolling_stats([0.75, 0.75, -0.25, -0.25])
    (0.25, 0.25)
    """
    x = np.asarray(updates, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"updates must be a non-empty 1-d sequence, got shape {x.shape}")
    # T: the number of updates held
    T = x.size
    # mu_k: mean update over the window
    mu = x.sum() / T
    # sigma_k^2: mean squared deviation from mu_k (population variance)
    sigma2 = ((x - mu) ** 2).sum() / T
    return float(mu), float(sigma2)


def is_full(updates, T: int) -> bool:
    """Whether the window holds ``T`` updates: only a full window is judged by a rule.

    Parameters
    ----------
    updates : sequence of float
    T : int
        Window length (a deque with ``maxlen = T`` never holds more).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For a window holding more than ``T`` updates.

    Examples
    --------
    >>> is_full([0.1, -0.1], T=2), is_full([0.1], T=2)
    (True, False)
    """
    if len(updates) > T:
        raise ValueError(f"a window of length T={T} holds {len(updates)} updates")
    return len(updates) == T


__all__ = ["rolling_stats", "is_full"]

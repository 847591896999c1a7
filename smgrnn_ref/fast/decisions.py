"""The SPM's decisions on the ring buffer: unstable edges and pruning candidates, vectorised.

Invariant kept: **every decision equals the reference rule's** (:func:`smgrnn_ref.spm.is_unstable`,
:func:`smgrnn_ref.spm.is_prune_candidate`) on the chronological window. The statistics are
computed for all columns at once, in a different summation order than the reference's, which
moves them by about ``1e-16`` relative; a window whose criterion lies within
:data:`DECISION_MARGIN` (relative) of its threshold is therefore judged again by the reference
rule itself. Only full windows (``T`` updates) are judged, as the reference rules do.

These are pure functions of the update ring buffer ``U`` (``T x E``, one row per training
step, the next row to write at ``ptr``), the windows' fill counts and the thresholds; they
return column indices in ascending order (the engine maps them to edges).

Why the vectorised statistics may stay history- and machine-dependent
-------------------------------------------------------------------
The fast engine's numbers are otherwise the reference's bit for bit (:mod:`smgrnn_ref.fast.tape`).
These statistics are not: their sums run over the ring buffer's rows (an order that depends on
the ring pointer, i.e. on when the run started or resumed) and through ``numpy.einsum``. That
is harmless because they only **feed decisions**, never a stored number (events carry the
arrays' weights, the windows are written back from the ring buffer as they are), and every
decision they could get wrong is taken by the reference rule itself: with ``M = max |Delta w|``
over a full window of ``T`` updates and ``u = 2^-53``, any summation order moves ``mu`` by at
most about ``T u M``, ``sigma^2`` by about ``8 T u M^2`` and, near the oscillation threshold
(where ``sigma >= M / (sqrt(T) + 1)``), ``sigma`` by about ``4 T (sqrt(T) + 1) u M``: at
``T = 100`` (the paper's) ``5e-12 M``, 200 times below the margin ``DECISION_MARGIN (M + sigma)``
within which the reference rule re-judges the window. The bound grows with ``T``, so windows
longer than :data:`VECTORISED_MAX_T` are all judged by the reference rule.
"""

from __future__ import annotations

import numpy as np

from ..config import VARIANCE_TESTS
from ..spm import INSTABILITY_SIGMA_FACTOR, is_prune_candidate, is_unstable

#: Relative margin of the vectorised SPM criteria: a window whose criterion lies within this
#: fraction of its scale from the threshold is judged again by the reference function on the
#: chronological window (summation order changes the statistics by ~1e-16 relative).
DECISION_MARGIN = 1e-9

#: The longest window whose decisions are vectorised (see the module docstring: at this ``T``
#: the rounding bound is still 70 times below the margin); longer windows use the reference
#: rule for every edge.
VECTORISED_MAX_T = 1000

#: Columns of the update window processed at once by the vectorised statistics (T x 256
#: doubles = 200 KB at T = 100: within a core's L2 cache).
STATS_CHUNK = 256


def ring_rows(n: int, ptr: int, T: int) -> np.ndarray:
    """Rows of a ring buffer of ``T`` rows holding the last ``n`` entries written before row
    ``ptr``, oldest first.

    >>> ring_rows(3, 1, 4).tolist()   # written at rows 2, 3, 0 (in that order)
    [2, 3, 0]
    """
    return (ptr - n + np.arange(n)) % T


def window(U: np.ndarray, count: np.ndarray, ptr: int, k: int) -> list:
    """Column ``k``'s window, oldest first (as the edge's ``updates`` deque holds it)."""
    c = int(count[k])
    return U[ring_rows(c, ptr, U.shape[0]), k].tolist() if c else []


def window_stats(U: np.ndarray, variance: bool = True):
    """Vectorised ``mu``, ``sigma^2`` (population; ``None`` unless ``variance``) and
    ``max |Delta w|`` of every column (meaningful for full windows only)."""
    T, E = U.shape
    mu, s2, M = np.empty(E), np.empty(E) if variance else None, np.empty(E)
    # column chunks that stay in cache: the cost per edge does not grow with E
    for a in range(0, E, STATS_CHUNK):
        c = U[:, a:a + STATS_CHUNK]
        m = np.add.reduce(c, axis=0) / T
        mu[a:a + STATS_CHUNK] = m
        np.maximum(np.maximum.reduce(c, axis=0), -np.minimum.reduce(c, axis=0), out=M[a:a + STATS_CHUNK])
        if variance:
            dev = c - m
            s2[a:a + STATS_CHUNK] = np.einsum("ij,ij->j", dev, dev) / T
    return mu, s2, M


def unstable_columns(U: np.ndarray, count: np.ndarray, ptr: int, lambda_edge: float,
                     variance_test: str = "paper") -> np.ndarray:
    """Columns whose full window meets the instability criterion.

    ::

        |mu_k| < 0.5 sigma_k   and   sigma_k^2 > lambda_edge |mu_k|

    (``sigma_k > lambda_edge |mu_k|`` with ``variance_test="scale_free"``, our option.)

    Parameters
    ----------
    U : numpy.ndarray, shape (T, E)
        The update ring buffer.
    count : numpy.ndarray, shape (E,)
        Updates held per column (``T``: a full window).
    ptr : int
        The next row to write.
    lambda_edge : float
    variance_test : {"paper", "scale_free"}, default "paper"

    Returns
    -------
    numpy.ndarray
        Column indices, ascending.
    """
    T = U.shape[0]
    full = count == T

    def judged(k):  # the reference rule on the chronological window
        return is_unstable(window(U, count, ptr, k), lambda_edge, T, variance_test)

    if variance_test not in VARIANCE_TESTS:
        raise ValueError(f"variance_test must be one of {list(VARIANCE_TESTS)}, got {variance_test!r}")
    if not full.any():
        return np.empty(0, dtype=np.intp)
    if T > VECTORISED_MAX_T:  # beyond the rounding bound's reach: the reference rule for all
        return np.array([k for k in np.nonzero(full)[0] if judged(k)], dtype=np.intp)
    mu, s2, M = window_stats(U)
    amu, sig = np.abs(mu), np.sqrt(s2)
    # |mu| < 0.5 sigma, as a margin c1 > 0
    c1 = INSTABILITY_SIGMA_FACTOR * sig - amu
    # how far rounding can move it: a few ulps of the window's scale
    tol1 = DECISION_MARGIN * (M + sig)
    if variance_test == "paper":
        # sigma^2 > lambda |mu|, as a margin c2 > 0
        c2 = s2 - lambda_edge * amu
        tol2 = DECISION_MARGIN * (M * M + lambda_edge * M)
    else:
        # sigma > lambda |mu| (ours): where c1 is not surely negative, sigma >= M / (sqrt(T) + 1)
        # (module docstring), so sigma's rounding is of the order of M's, as for c1
        c2 = sig - lambda_edge * amu
        tol2 = DECISION_MARGIN * (M + sig + lambda_edge * M)
    sure = full & (c1 > tol1) & (c2 > tol2)
    # neither surely in nor surely out: ask the reference rule
    unsure = full & ~sure & (c1 >= -tol1) & (c2 >= -tol2)
    for k in np.nonzero(unsure)[0]:
        sure[k] = judged(k)
    return np.nonzero(sure)[0]


def prune_candidate_columns(U: np.ndarray, count: np.ndarray, ptr: int, weights: np.ndarray,
                            tau_w: float, tau_delta: float) -> np.ndarray:
    """Columns in the pruning candidate set ``W_t`` (full windows only).

    ::

        |w_k| <= tau_w   and   |mu_k| <= tau_Delta

    Parameters
    ----------
    U, count, ptr
        As for :func:`unstable_columns`.
    weights : numpy.ndarray, shape (E,)
        The current weight of every column.
    tau_w, tau_delta : float

    Returns
    -------
    numpy.ndarray
        Column indices, ascending.
    """
    T = U.shape[0]
    # |w| <= tau_w is exact (the same float as in the graph); only mu needs a margin
    full = (count == T) & (np.abs(weights) <= tau_w)
    if not full.any():
        return np.empty(0, dtype=np.intp)
    if T > VECTORISED_MAX_T:  # beyond the rounding bound's reach: the reference rule for all
        return np.array([k for k in np.nonzero(full)[0] if is_prune_candidate(
            float(weights[k]), window(U, count, ptr, k), tau_w, tau_delta, T)], dtype=np.intp)
    mu, _, M = window_stats(U, variance=False)
    amu = np.abs(mu)
    tol = DECISION_MARGIN * M
    sure = full & (amu < tau_delta - tol)
    unsure = full & ~sure & (amu <= tau_delta + tol)
    for k in np.nonzero(unsure)[0]:
        sure[k] = is_prune_candidate(float(weights[k]), window(U, count, ptr, k), tau_w, tau_delta, T)
    return np.nonzero(sure)[0]


__all__ = ["DECISION_MARGIN", "VECTORISED_MAX_T", "STATS_CHUNK", "ring_rows", "window", "window_stats", "unstable_columns",
           "prune_candidate_columns"]

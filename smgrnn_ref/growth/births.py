"""Relay births: what the window looked like, what the loss was doing, whether the relay helped.

Edge-driven growth (Jia & Zhou, arXiv 2512.12713) inserts a relay on edge ``k`` when its window
of the last ``T`` applied updates ``Delta w_k`` (or, under ``window_signal = "gradient"``, the
library's default and our choice, of the negative gradients) satisfies::

    |mu_k| < 0.5 sigma_k     and     sigma_k^2 > lambda_edge |mu_k|

and the paper reads this as "representational insufficiency". These functions measure, for
every birth (our measurements, docs/growth.md):

* the window's ``|mu|/sigma`` (the first test needs < 0.5) and ``sigma^2 / (lambda_edge |mu|)``
  (the second needs > 1): which test was the binding one;
* the training loss's **slope over the window before the birth**, as the relative change over
  the window ``slope * T / mean``: near 0 at a plateau, clearly negative while still learning;
* what became of the relay: pruned (the weight its edge had then) or kept (its final
  weights), :func:`track_fate` and :func:`final_fates`;
* the **loss change in the steps after**: ``mean(L[t+after-span+1 .. t+after]) -
  mean(L[t-span+1 .. t])``, relative to the second mean; ``nan`` when the run ends first.

``L[s]`` is the training loss of step ``s`` (before its update). The matched control of a birth
(did *this* relay help?) is a fork of the run without it
(:func:`smgrnn_ref.growth.offline.relay_control`); where no fork is possible (environment runs),
:func:`matched_quiet_steps` gives steps of the same run without a birth nearby, whose loss change
is the baseline.

Examples
--------
>>> import numpy as np
>>> L = np.linspace(1.0, 0.5, 1000)            # a loss falling steadily
>>> round(loss_slope(L, t=500, span=100), 4)   # relative change over the 100 steps before 500
-0.0646
>>> round(loss_change(L, t=500, after=200, span=100), 4)
-0.1292
"""

from __future__ import annotations

import math

import numpy as np

from ..spm import instability_margins, rolling_stats

#: Steps after a birth over which its loss change is measured (the issue's 500).
AFTER_STEPS = 500

#: Steps averaged at each end of a loss change, and the span of the slope before a birth
#: (**our choice**: the SPM's window T = 100, so the slope covers the window that was judged).
LOSS_SPAN = 100

#: Windows kept verbatim per run (the rest keep only their statistics): enough to draw, small
#: enough to store.
MAX_STORED_WINDOWS = 64


def birth_record(event, window, lambda_edge: float, variance_test: str = "paper") -> dict:
    """The statistics of one relay birth's parent window (oldest update first).

    Parameters
    ----------
    event : smgrnn_ref.events.RelayInserted
    window : sequence of float
        The parent edge's ``T`` updates as the SPM judged them.
    lambda_edge : float
    variance_test : {"paper", "scale_free"}, default "paper"
        The run's second test (``SPMConfig.variance_test``): ``var_ratio`` is that test's ratio.

    Returns
    -------
    dict
        ``step``, ``edge``, ``node``, ``mu``, ``sigma2``, ``osc_ratio`` (``|mu|/sigma``),
        ``var_ratio`` (the second test's ratio, which it needs above 1: ``sigma^2 / (lambda_edge
        |mu|)``, or ``sigma / (lambda_edge |mu|)`` for the scale-free test), ``window``.

    Examples
    --------
    >>> from smgrnn_ref.events import RelayInserted
    >>> ev = RelayInserted(step=7, edge=(0, 3), node=5, weights=(0.01, -0.01))
    >>> r = birth_record(ev, [1.0, -1.0, 1.0, -0.5], lambda_edge=2.0)
    >>> r["mu"], r["sigma2"], round(r["osc_ratio"], 4), r["var_ratio"]
    (0.125, 0.796875, 0.14, 3.1875)
    >>> round(birth_record(ev, [1.0, -1.0, 1.0, -0.5], 2.0, "scale_free")["var_ratio"], 4)  # 1/(2 * 0.14)
    3.5707
    """
    mu, sigma2 = rolling_stats(window)
    osc, var = instability_margins(window)
    if variance_test == "scale_free":
        # sigma / (lambda |mu|) = 1 / (lambda * oscillation ratio)
        var = 1.0 / osc if osc > 0 else math.inf
    return {"step": int(event.step), "edge": [int(event.edge[0]), int(event.edge[1])], "node": int(event.node),
            "mu": mu, "sigma2": sigma2, "osc_ratio": osc,
            "var_ratio": var / lambda_edge if lambda_edge > 0 else math.inf,
            "window": [float(x) for x in window]}


def loss_slope(losses, t: int, span: int = LOSS_SPAN) -> float:
    """Relative change of the loss over the ``span`` steps ending at step ``t`` (1-based).

    The least-squares slope of ``L[t-span+1 .. t]`` against the step, times ``span``, over the
    mean of those losses: the fraction of the loss the trend removes over one window. ``nan``
    when ``t < span``.

    Parameters
    ----------
    losses : array_like
        ``losses[s - 1]`` is ``L[s]``.
    t : int
    span : int

    Returns
    -------
    float
    """
    L = np.asarray(losses, dtype=float)
    if t < span or t > L.size or span < 2:
        return float("nan")
    y = L[t - span:t]
    x = np.arange(span, dtype=float)
    x -= x.mean()
    slope = float((x * (y - y.mean())).sum() / (x * x).sum())
    return slope * span / float(y.mean())


def loss_change(losses, t: int, after: int = AFTER_STEPS, span: int = LOSS_SPAN) -> float:
    """Relative loss change from the ``span`` steps ending at ``t`` to the ``span`` ending at
    ``t + after``: ``(mean_after - mean_before) / mean_before``; ``nan`` past either end."""
    L = np.asarray(losses, dtype=float)
    if t < span or t + after > L.size:
        return float("nan")
    before = float(L[t - span:t].mean())
    later = float(L[t + after - span:t + after].mean())
    return (later - before) / before


def finish_birth_records(births: list, losses) -> list:
    """Add ``slope_before`` and ``change_after`` to every record (in place) once the run's
    losses are known, and drop the windows beyond :data:`MAX_STORED_WINDOWS`."""
    for i, b in enumerate(births):
        b["slope_before"] = loss_slope(losses, b["step"])
        b["change_after"] = loss_change(losses, b["step"])
        if i >= MAX_STORED_WINDOWS:
            b.pop("window", None)
    return births


def track_fate(by_node: dict, event) -> None:
    """Note in the birth records (``{relay node: record}``) what ``event`` did to their relay.

    A pruned edge touching a relay gives ``pruned_weight`` and ``pruned_edge`` (the first such
    edge: that is what orphans a relay with one input and one output), the relay's removal
    ``removed_at`` (the step).
    """
    kind = getattr(event, "kind", None)
    if kind == "edge_pruned":
        for n in event.edge:
            b = by_node.get(n)
            if b is not None and "pruned_weight" not in b:
                b["pruned_weight"], b["pruned_edge"] = float(event.weight), [int(x) for x in event.edge]
    elif kind == "node_removed" and event.node in by_node:
        by_node[event.node]["removed_at"] = int(event.step)


def final_fates(by_node: dict, G) -> None:
    """For every relay still in ``G`` (a synced graph), the final weights of its two original
    edges ``i -> r`` and ``r -> j`` (``None`` for an edge pruned since), as ``final_weights``."""
    for r, b in by_node.items():
        if "removed_at" in b or r not in G:
            continue
        i, j = b["edge"]
        b["final_weights"] = [float(G.edges[u, v]["weight"]) if G.has_edge(u, v) else None for u, v in ((i, r), (r, j))]


def matched_quiet_steps(birth_steps, n_steps: int, *, quiet: int = LOSS_SPAN, lo: int = LOSS_SPAN,
                        hi: int | None = None) -> list:
    """For each birth, the nearest step of the same run with no birth within ``quiet`` steps.

    The weaker control of :mod:`~smgrnn_ref.growth.births`: the loss change after a quiet step
    at the same stage of training is what the loss does without a relay just then. Steps are
    searched in ``[lo, hi]`` (default ``hi = n_steps - AFTER_STEPS``); ties go to the earlier
    step; ``None`` when no step qualifies.

    Examples
    --------
    >>> matched_quiet_steps([300, 310, 900], 2000, quiet=50, lo=100, hi=1500)
    [249, 361, 849]
    """
    hi = n_steps - AFTER_STEPS if hi is None else hi
    steps = np.arange(n_steps + 1)
    busy = np.zeros(n_steps + 1, dtype=bool)
    for b in birth_steps:
        busy[max(0, b - quiet):min(n_steps, b + quiet) + 1] = True
    ok = ~busy & (steps >= lo) & (steps <= hi)
    cand = steps[ok]
    out = []
    for b in birth_steps:
        if cand.size == 0:
            out.append(None)
            continue
        d = np.abs(cand - b)
        out.append(int(cand[np.argmin(d)]))
    return out


__all__ = ["AFTER_STEPS", "LOSS_SPAN", "MAX_STORED_WINDOWS", "birth_record", "loss_slope", "loss_change",
           "finish_birth_records", "track_fate", "final_fates", "matched_quiet_steps"]

"""Training and study plots from ``metrics.csv`` tables: one run, or variants over seeds.

:func:`plot_training` draws one run (return with a +/- std band, and the network's size);
:func:`plot_runs` compares variants, a mean curve and a band across seeds per variant, on a
common step grid (:func:`seed_band`, also used by the report). Tables are read by
:func:`smgrnn_ref.rundir.read_metrics`.

Examples
--------
>>> m = {"step": [0, 10], "eval_return_mean": [1, 2], "eval_return_std": [0, 1],
...      "hidden_nodes": [0, 3], "edges": [4, 9]}
>>> fig = plot_training(m, title="two rows")
>>> [ax.get_ylabel() for ax in fig.axes]
['evaluation return', 'hidden nodes', 'edges']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..rundir import read_metrics
from .style import NODE_COLORS, POSITIVE_COLOR


def _finite(x, *ys):
    m = np.isfinite(x)
    for y in ys:
        m &= np.isfinite(y)
    return m


def plot_training(metrics, out_path=None, *, title: str | None = None, dpi: int = 120):
    """Plot one run: return against step (with a +/- std band) and network size against step.

    Parameters
    ----------
    metrics : path or mapping
        ``metrics.csv``, a run directory, or a mapping of columns (see :func:`read_metrics`).
    out_path : path, optional
        Save the figure there (format from the suffix).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels sharing the step axis: evaluation return (mean line, mean +/- std band;
        rows without an evaluation are skipped), and hidden nodes (left axis) with edges
        (right axis).
    """
    from matplotlib.figure import Figure

    m = read_metrics(metrics)
    step = m["step"]
    fig = Figure(figsize=(7.5, 6.0), dpi=dpi, layout="constrained")
    ax_r, ax_n = fig.subplots(2, 1, sharex=True)

    mu, sd = m["eval_return_mean"], m["eval_return_std"]
    ok = _finite(step, mu)
    sd_ok = np.where(np.isfinite(sd), sd, 0.0)
    ax_r.fill_between(step[ok], (mu - sd_ok)[ok], (mu + sd_ok)[ok], color=POSITIVE_COLOR, alpha=0.2,
                      linewidth=0, label="mean ± std")
    ax_r.plot(step[ok], mu[ok], color=POSITIVE_COLOR, marker="o" if ok.sum() <= 30 else None, ms=3,
              label="eval return (mean)")
    ax_r.set_ylabel("evaluation return")
    ax_r.grid(alpha=0.3)
    ax_r.legend(loc="best", fontsize=8)

    h, e = m["hidden_nodes"], m["edges"]
    okh, oke = _finite(step, h), _finite(step, e)
    l1 = ax_n.plot(step[okh], h[okh], color=NODE_COLORS["hidden"], lw=2, label="hidden nodes")
    ax_n.set_ylabel("hidden nodes", color="#8a3d6b")
    ax_e = ax_n.twinx()
    l2 = ax_e.plot(step[oke], e[oke], color="#555555", lw=1.5, ls="--", label="edges")
    ax_e.set_ylabel("edges", color="#555555")
    ax_n.set_xlabel("training step")
    ax_n.set_ylim(bottom=0)
    ax_e.set_ylim(bottom=0)
    ax_n.grid(alpha=0.3)
    ax_n.legend(handles=l1 + l2, loc="upper left", fontsize=8)
    if title:
        fig.suptitle(title)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_path, dpi=dpi)
    return fig


def seed_band(tables, column):
    """Common step grid of several seeds and the per-seed values of ``column`` on it.

    Seeds may log at different steps; each seed's finite values are linearly interpolated
    onto the union of their steps, restricted to the range every seed covers (no
    extrapolation). Used for the mean +- std bands of :func:`plot_runs` and of the report.

    Parameters
    ----------
    tables : list of dict of numpy.ndarray
        One metrics table per seed (as :func:`read_metrics` returns), each with a ``"step"``
        column and ``column``.
    column : str

    Returns
    -------
    (grid, Y) : numpy.ndarray, numpy.ndarray
        The steps, shape ``(n,)``, and the values, shape ``(n_seeds, n)``.

    Examples
    --------
    >>> a = {"step": np.array([0.0, 10.0, 20.0]), "x": np.array([0.0, 1.0, 2.0])}
    >>> b = {"step": np.array([5.0, 15.0]), "x": np.array([4.0, 6.0])}
    >>> grid, Y = seed_band([a, b], "x")  # steps both cover: 5 to 15
    >>> grid.tolist(), Y.tolist()
    ([5.0, 10.0, 15.0], [[0.5, 1.0, 1.5], [4.0, 5.0, 6.0]])
    """
    series = []
    for t in tables:
        ok = _finite(t["step"], t[column])
        s, y = t["step"][ok], t[column][ok]
        order = np.argsort(s, kind="stable")
        series.append((s[order], y[order]))
    if any(len(s) == 0 for s, _ in series):
        return np.array([]), np.empty((len(series), 0))
    lo = max(s[0] for s, _ in series)
    hi = min(s[-1] for s, _ in series)
    grid = np.unique(np.concatenate([s for s, _ in series]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    return grid, np.array([np.interp(grid, s, y) for s, y in series])


def plot_runs(
    tables: Sequence,
    labels: Sequence[str],
    out_path=None,
    *,
    band: str = "std",
    log_size: bool = False,
    title: str | None = None,
    dpi: int = 120,
):
    """Compare variants over seeds: mean curve and seed band of return, hidden nodes, edges.

    Parameters
    ----------
    tables : sequence of path or mapping
        One metrics table per run (see :func:`read_metrics`).
    labels : sequence of str
        One label per table; tables sharing a label are seeds of the same variant and are
        aggregated (mean curve, band across seeds). Variants keep their first-seen order.
    out_path : path, optional
        Save the figure there.
    band : {"std", "minmax"}
        Band across seeds: mean +/- standard deviation, or min to max.
    log_size : bool
        Logarithmic y axis for the size panels (growth-only runs are far larger).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the step axis: evaluation return (per-seed mean return), hidden
        nodes, edges.
    """
    from matplotlib.figure import Figure

    if len(tables) != len(labels):
        raise ValueError(f"{len(tables)} tables but {len(labels)} labels")
    if not tables:
        raise ValueError("plot_runs needs at least one table")
    if band not in ("std", "minmax"):
        raise ValueError(f"band must be 'std' or 'minmax', got {band!r}")
    groups: dict[str, list] = {}
    for t, lab in zip(tables, labels):
        groups.setdefault(str(lab), []).append(read_metrics(t))

    fig = Figure(figsize=(7.5, 8.0), dpi=dpi, layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    panels = (("eval_return_mean", "evaluation return"), ("hidden_nodes", "hidden nodes"), ("edges", "edges"))
    import matplotlib

    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for gi, (lab, tabs) in enumerate(groups.items()):
        color = cycle[gi % len(cycle)]
        for ax, (col, _) in zip(axes, panels):
            grid, Y = seed_band(tabs, col)
            if grid.size == 0:
                continue
            mean = Y.mean(axis=0)
            if band == "std":
                lo, hi = mean - Y.std(axis=0), mean + Y.std(axis=0)
            else:
                lo, hi = Y.min(axis=0), Y.max(axis=0)
            if col != "eval_return_mean":
                lo = np.maximum(lo, 0.0)  # sizes are counts: a std band must not dip below 0
            ax.fill_between(grid, lo, hi, color=color, alpha=0.2, linewidth=0)
            ax.plot(grid, mean, color=color, lw=1.8, label=f"{lab} (n={len(tabs)})")
    for ax, (_, ylabel) in zip(axes, panels):
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    for ax in axes[1:]:
        if log_size:
            # symlog rather than log: a static run has zero hidden nodes
            ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0)
    axes[-1].set_xlabel("training step")
    band_txt = "mean ± std over seeds" if band == "std" else "mean, min–max over seeds"
    axes[0].legend(loc="best", fontsize=8, title=band_txt, title_fontsize=8)
    if title:
        fig.suptitle(title)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_path, dpi=dpi)
    return fig


__all__ = ["plot_training", "seed_band", "plot_runs"]

"""Difficulty ladders: the capacity a rung needs, the rank statistic per setting, the figures.

A ladder is a sequence of tasks ordered by a difficulty we set (teacher width, a Playground
dataset, a Gymnasium task); each rung is trained by several variants and seeds. This module
turns the runs' rows (plain dicts, one per run) into what docs/growth.md reports:

* :func:`capacity_needed`: the **capacity probe**'s answer for one task: the smallest hidden
  width of a fixed one-layer MLP (trained by the same loop, SPM off) that closes most of the
  linear student's gap to the best probe;
* :func:`rank_table`: Spearman's rank correlation between rung and grown size per setting, with
  the stratified bootstrap interval of :func:`smgrnn_ref.report.spearman_interval`;
* :func:`ladder_figure`, :func:`birth_figure`: the pictures.

Every threshold here is **our choice** and is written down in docs/growth.md.

Examples
--------
>>> capacity_needed({0: 0.09, 1: 0.05, 2: 0.004, 4: 0.0002, 8: 0.0001})
2
>>> capacity_needed({0: 0.0004, 1: 0.0003, 2: 0.0001})   # a gap under the floor: linear suffices
0
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from ..report import spearman_interval

#: Share of the linear student's gap to the best probe that a width must close to count as
#: enough capacity (**our choice**: 90%).
GAP_CLOSED = 0.9

#: A gap below this many loss units (nats for KL) is no gap: the linear student suffices
#: (**our choice**; well under the smallest gap of a nonlinear teacher we measured, 0.06).
GAP_FLOOR = 1e-3

#: The SGD calibration's tie rules (**our choices**, docs/growth.md): learning rates within 5%
#: of the best geometric mean test loss tie (the smaller wins); ``lambda_edge`` values within
#: 10% of the best are acceptable (the smallest network wins).
LR_TIE, LAMBDA_WITHIN = 0.05, 0.10

#: A test KL below this is read as this (**our choice**, added when a student matched a linear
#: teacher to machine precision and its KL rounded to <= 0, where a logarithm has no value).
KL_FLOOR = 1e-12

#: Bootstrap replicates of the rank table and the Generator seed (as the study's spread check).
N_BOOT, BOOT_SEED = 20_000, 0


def capacity_needed(losses: dict, *, closed: float = GAP_CLOSED, floor: float = GAP_FLOOR,
                    higher_is_better: bool = False) -> int:
    """The smallest probe width that is close enough to the best probe.

    ``losses`` maps a probe width to its test loss, width 0 being the linear student (all
    input -> output edges, no hidden node). With ``best`` the lowest loss and ``gap =
    losses[0] - best``::

        capacity = min { w : losses[w] <= best + max((1 - closed) gap, floor) }

    so a task whose linear student is within ``floor`` of the best needs width 0.
    ``higher_is_better`` reads the values as scores (accuracy, return) instead.

    Parameters
    ----------
    losses : dict of int -> float
        Must hold width 0.
    closed, floor : float

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Without width 0 or with a non-finite value.
    """
    if 0 not in losses:
        raise ValueError("the probe must include width 0 (the linear student)")
    sign = -1.0 if higher_is_better else 1.0
    vals = {int(w): sign * float(v) for w, v in losses.items()}
    if not all(math.isfinite(v) for v in vals.values()):
        raise ValueError(f"probe values must be finite, got {losses}")
    best = min(vals.values())
    gap = vals[0] - best
    bar = best + max((1.0 - closed) * gap, floor)
    return min(w for w, v in vals.items() if v <= bar)


def rank_table(rows: list, *, rung: str, size: str, by: tuple, rung_order=None,
               n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> list:
    """Spearman's rho between ``rung`` and ``size`` with its 95% interval, per group.

    Parameters
    ----------
    rows : list of dict
        One per run.
    rung, size : str
        The keys of the rung and of the size.
    by : tuple of str
        The keys that define a group (optimizer, lambda_edge, variant...).
    rung_order : sequence, optional
        When the rung is a name (a dataset, an env), its order from easiest to hardest.
    n_boot, seed
        Bootstrap replicates and the seed of its Generator (one per group, the same seed).

    Returns
    -------
    list of dict
        The group's keys, ``rungs`` (how many), ``runs``, ``rho``, ``low``, ``high``, and
        ``median_size`` per rung (a list in rung order).
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for key, rs in groups.items():
        position = (lambda v: list(rung_order).index(v)) if rung_order is not None else float
        x = np.array([position(r[rung]) for r in rs], dtype=float)
        y = np.array([float(r[size]) for r in rs])
        levels = np.unique(x)
        rec = dict(zip(by, key), rungs=len(levels), runs=len(rs))
        rec["median_size"] = [float(np.median(y[x == v])) for v in levels]
        try:
            rec["rho"], rec["low"], rec["high"] = spearman_interval(x, y, np.random.default_rng(seed), n_boot=n_boot)
        except ValueError:  # fewer than two rungs of two runs: no statistic
            rec["rho"] = rec["low"] = rec["high"] = float("nan")
        out.append(rec)
    return out


def geometric_mean(values, floor: float = 0.0) -> float:
    """The geometric mean of losses, each raised to at least ``floor``; a non-finite value (a
    diverged run) gives ``inf``.

    >>> round(geometric_mean([0.01, 1.0]), 12)
    0.1
    >>> geometric_mean([0.01, float("nan")])
    inf
    >>> round(geometric_mean([-1e-19, 1e-8], floor=1e-12), 12)   # a KL that rounded below 0
    1e-10
    """
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), np.maximum(v, floor), v)
    if v.size == 0 or np.any(v <= 0):
        raise ValueError(f"geometric_mean needs positive values (or a floor), got {v.tolist()}")
    if not np.all(np.isfinite(v)):
        return float("inf")
    return float(np.exp(np.mean(np.log(v))))


def choose_lr(losses: dict, *, tie: float = LR_TIE, floor: float = KL_FLOOR) -> float:
    """The SGD learning rate of the calibration (docs/growth.md): the lowest geometric mean test
    loss; a candidate within ``tie`` (relative) of the best counts as tied, and the smallest tied
    learning rate is chosen.

    ``losses`` maps a learning rate to its runs' test losses.

    >>> choose_lr({0.1: [0.02, 0.02], 0.3: [0.0195, 0.0195], 1.0: [0.05, float("nan")]})
    0.1
    >>> choose_lr({0.1: [0.04], 0.3: [0.02]})
    0.3
    """
    g = {lr: geometric_mean(v, floor) for lr, v in losses.items()}
    best = min(g.values())
    if not math.isfinite(best):
        raise ValueError("every learning rate diverged")
    return min(lr for lr, v in g.items() if v <= best * (1.0 + tie))


def choose_lambda(losses: dict, sizes: dict, *, within: float = LAMBDA_WITHIN, floor: float = KL_FLOOR) -> float:
    """The SGD ``lambda_edge`` of the calibration (docs/growth.md): of the candidates whose
    geometric mean test loss is within ``within`` (relative) of the best candidate's, the one
    with the smallest median hidden-node count; a tie goes to the larger ``lambda_edge``.

    ``losses`` and ``sizes`` map a ``lambda_edge`` to its runs' test losses and final sizes.

    >>> choose_lambda({0.01: [0.010], 0.1: [0.0105], 1.0: [0.02]}, {0.01: [40], 0.1: [12], 1.0: [3]})
    0.1
    >>> choose_lambda({0.01: [0.010], 0.1: [0.0105]}, {0.01: [12], 0.1: [12]})
    0.1
    """
    g = {lam: geometric_mean(v, floor) for lam, v in losses.items()}
    best = min(g.values())
    ok = [lam for lam, v in g.items() if v <= best * (1.0 + within)]
    return min(ok, key=lambda lam: (float(np.median(sizes[lam])), -lam))


def run_jobs(jobs: list, fn, *, workers: int = 1, progress=print) -> int:
    """Run ``fn(config) -> dict`` for every ``(path, config)`` whose JSON file is missing, and
    write each result to its path atomically. Returns how many ran. A grid interrupted at any
    point continues where it stopped when run again (finished runs are files); with one worker,
    a job whose file appears while the grid runs is skipped, so two processes can share a grid
    (started in opposite orders, they meet in the middle)."""
    todo = [(Path(p), c) for p, c in jobs if not Path(p).is_file()]
    if not todo:
        return 0

    def write(path, result):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, allow_nan=True))
        os.replace(tmp, path)

    if workers <= 1:
        ran = 0
        for i, (p, c) in enumerate(todo):
            if p.is_file():  # another process of the same grid trained it meanwhile
                continue
            write(p, fn(c))
            ran += 1
            progress(f"[{i + 1}/{len(todo)}] {p}")
        return ran
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(fn, c): p for p, c in todo}
        for i, fut in enumerate(as_completed(futures)):
            write(futures[fut], fut.result())
            progress(f"[{i + 1}/{len(todo)}] {futures[fut]}")
    return len(todo)


def ladder_figure(path, panels: list, *, rung_labels: list, title: str = ""):
    """One panel per setting: every run's size by rung (dots), the median (line), log scale.

    ``panels`` is a list of ``(label, {variant: [(rung_index, size), ...]})``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(panels), 3.4), dpi=110, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    colors = {"full": "C0", "growth-only": "C3", "static": "C7", "mlp": "C2"}
    for ax, (label, series) in zip(axes, panels):
        for variant, pts in series.items():
            if not pts:
                continue
            xs, ys = np.array(pts, dtype=float).T
            jitter = (np.arange(len(xs)) % 5 - 2) * 0.05
            ax.scatter(xs + jitter, ys + 1, s=10, alpha=0.6, color=colors.get(variant), label=variant)
            med = [np.median(ys[xs == v]) + 1 for v in np.unique(xs)]
            ax.plot(np.unique(xs), med, color=colors.get(variant), lw=1.5)
        ax.set_yscale("log")
        # long rung names (environment ids) slanted, so neighbours do not overlap
        slant = 30 if max(map(len, map(str, rung_labels))) > 6 else 0
        ax.set_xticks(range(len(rung_labels)), rung_labels, fontsize=8, rotation=slant, ha="right" if slant else "center")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("hidden nodes + 1 (log)")
    # one legend for every variant drawn in any panel (the first panel may lack some)
    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0].legend(list(handles.values()), list(handles), fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path)
    return path


def _control_relative(b: dict) -> float:
    c = b.get("control")
    return c["effect"] / c["without_relay"] if c and c["without_relay"] > 0 else float("nan")


def birth_figure(path, groups: dict, *, title: str = ""):
    """Histograms of the birth statistics, one row per group (``{label: [birth records]}``):
    ``log10 |mu|/sigma``, ``log10`` of the second test's ratio (``sigma^2/(lambda |mu|)``, or
    ``sigma/(lambda |mu|)`` for the scale-free test), the loss slope before and the loss
    change after the birth (clipped to [-1, 1]), and, where births carry a matched control
    (``control``), its relative effect ``(L_with - L_without) / L_without`` (clipped too)."""
    from matplotlib.figure import Figure

    keys = [("osc_ratio", "log10 |mu|/sigma (test: < 0.5)", True),
            # the run's second test: sigma^2 (the paper's) or sigma (scale-free) over lambda |mu|
            ("var_ratio", "log10 second test's ratio, sigma^2 or sigma / (lambda |mu|) (> 1)", True),
            ("slope_before", "loss change over the window before", False),
            ("change_after", "loss change in the 500 steps after", False)]
    if any(b.get("control") for bs in groups.values() for b in bs):
        keys.append(("control", "matched control: relative effect (< 0 helped)", False))
    fig = Figure(figsize=(2.9 * len(keys), 2.3 * len(groups)), dpi=90, layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(groups), len(keys)))
    for row, (label, births) in zip(axes, groups.items()):
        for ax, (k, name, log) in zip(row, keys):
            v = np.array([_control_relative(b) if k == "control" else b.get(k, np.nan) for b in births], dtype=float)
            v = v[np.isfinite(v) & ((v > 0) if log else True)]
            v = np.log10(v) if log else np.clip(v, -1.0, 1.0)
            if v.size:
                ax.hist(v, bins=40, color="C0", alpha=0.8)
            ax.axvline(np.log10(0.5) if k == "osc_ratio" else 0.0, color="k", lw=0.8, ls="--")
            ax.set_title(f"{label} ({v.size}):\n{name}" if ax is row[0] else f"{name} ({v.size})", fontsize=7)
            ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path)
    return path


__all__ = ["GAP_CLOSED", "GAP_FLOOR", "LR_TIE", "LAMBDA_WITHIN", "KL_FLOOR", "N_BOOT", "BOOT_SEED", "capacity_needed",
           "rank_table", "geometric_mean", "choose_lr", "choose_lambda", "run_jobs",
           "ladder_figure", "birth_figure"]

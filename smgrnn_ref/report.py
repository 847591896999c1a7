"""Aggregate run directories into the study's table and figures.

For each (sweep tag, env, variant) over its seeds (Jia & Zhou, arXiv 2512.12713 compare SMGrNN's
ablations with fixed MLP baselines by return, variance across seeds and network size):

* **late return** of a run = mean of its evaluation returns over the last 10% of training
  (evaluations at steps ``>= 0.9 * steps``; our definition); the table gives its mean and its
  sample standard deviation (ddof = 1) across seeds;
* final hidden nodes, edges and parameters (last ``metrics.csv`` row), mean and std across seeds.

Only finished runs enter the means. A run stopped by its size cap
(:attr:`smgrnn_ref.distill.TrainConfig.max_params`) has no late return: the table counts it in
its ``capped`` column and lists it under the table. A run that has not reached its last step
(still running, or interrupted) is left out and listed too.

Run directories are found and read through :mod:`smgrnn_ref.rundir` (a run directory is one
holding ``config.json`` and ``metrics.csv``). Outputs: ``results.csv``, ``results.md`` and
figures per env: return curves with seed bands
(``returns_<env>.png``), size over training, and parameters of ``growth-only`` vs ``full`` on a
log scale (``params_<env>.png``; a capped run drawn alone, dashed, up to the step it stopped).

Examples
--------
>>> late_return({"step": [0, 50, 90, 100], "eval_return_mean": [1.0, 2.0, 3.0, 5.0]}, steps=100)
4.0
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .rundir import CONFIG_FILE, RunDir, read_metrics

#: Share of training whose evaluations make the late return (the last 10%).
LATE_FRACTION = 0.1

TABLE_COLUMNS = (
    "tag", "env", "variant", "seeds", "capped",
    "late_return_mean", "late_return_std",
    "hidden_nodes_mean", "hidden_nodes_std",
    "edges_mean", "edges_std",
    "params_mean", "params_std",
)


def late_return(metrics, steps: int) -> float:
    """Mean evaluation return over evaluations at steps ``>= (1 - LATE_FRACTION) * steps``."""
    step = np.asarray(metrics["step"], dtype=float)
    ret = np.asarray(metrics["eval_return_mean"], dtype=float)
    late = (step >= (1.0 - LATE_FRACTION) * steps) & ~np.isnan(ret)
    if not late.any():
        raise ValueError(f"no evaluation in the last {LATE_FRACTION:.0%} of {steps} steps")
    return float(ret[late].mean())


def find_runs(root) -> list[Path]:
    """Run directories (holding ``config.json`` and ``metrics.csv``) below ``root``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory")
    runs = sorted(p.parent for p in root.rglob(CONFIG_FILE) if RunDir(p.parent).metrics.is_file())
    if not runs:
        raise ValueError(f"no run directories (config.json + metrics.csv) below {root}")
    return runs


#: Run states: reached its last step / stopped by ``max_params`` / neither (yet).
FINISHED, CAPPED, UNFINISHED = "finished", "capped", "unfinished"


def run_status(last_step: int, steps: int, last_params: float, max_params) -> str:
    """:data:`FINISHED` when the run reached ``steps``; else :data:`CAPPED` when its last
    logged size is over ``max_params``; else :data:`UNFINISHED`.

    >>> run_status(5000, 5000, 900, 500), run_status(3080, 5000, 2007, 2000), run_status(3000, 5000, 90, None)
    ('finished', 'capped', 'unfinished')
    """
    if last_step >= steps:
        return FINISHED
    if max_params is not None and last_params > max_params:
        return CAPPED
    return UNFINISHED


def run_record(run_dir: Path, root: Path) -> dict:
    """One run's numbers: its identity, status, late return (finished runs) and final size."""
    run = RunDir(run_dir)
    cfg = run.read_config()
    m = read_metrics(run.metrics)
    rel = run_dir.relative_to(root)
    tag = rel.parent.as_posix() if rel.parent != Path(".") else ""
    last_step = int(m["step"][-1]) if len(m["step"]) else 0
    params = float(m["params"][-1]) if len(m["params"]) else float("nan")
    status = run_status(last_step, cfg["steps"], params, cfg.get("max_params"))
    return {
        "dir": run_dir,
        "tag": tag,
        "env": cfg["env_id"],
        "variant": cfg["variant"],
        "seed": cfg["seed"],
        "steps": cfg["steps"],
        "status": status,
        "last_step": last_step,
        "late_return": late_return(m, cfg["steps"]) if status == FINISHED else float("nan"),
        "hidden_nodes": float(m["hidden_nodes"][-1]) if len(m["step"]) else float("nan"),
        "edges": float(m["edges"][-1]) if len(m["step"]) else float("nan"),
        "params": params,
        "max_params": cfg.get("max_params"),
        "metrics": m,
    }


def _mean_std(values) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else float("nan")


def aggregate(records: list[dict]) -> list[dict]:
    """One table row per (tag, env, variant): means over its finished seeds (``seeds``), and
    how many were stopped by their size cap (``capped``). Unfinished runs are ignored."""
    groups: dict[tuple, list] = {}
    for r in records:
        if r["status"] != UNFINISHED:
            groups.setdefault((r["tag"], r["env"], r["variant"]), []).append(r)
    rows = []
    for (tag, env, variant), rs in groups.items():
        done = [r for r in rs if r["status"] == FINISHED]
        row = {"tag": tag, "env": env, "variant": variant, "seeds": len(done), "capped": len(rs) - len(done)}
        for key in ("late_return", "hidden_nodes", "edges", "params"):
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_std([r[key] for r in done])
        rows.append(row)
    return rows


def _fmt(x) -> str:
    if isinstance(x, float):
        return "" if math.isnan(x) else f"{x:.1f}"
    return str(x)


def write_table(rows: list[dict], out_dir: Path, left_out: list[dict] = ()) -> tuple[Path, Path]:
    """``results.csv`` (full precision) and ``results.md`` (rounded) in ``out_dir``; the
    Markdown lists the ``left_out`` records (capped or unfinished runs) under the table."""
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TABLE_COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    lines = [
        "| tag | env | variant | seeds | capped | late return (mean ± std) | hidden nodes | edges | params |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        def pm(key):  # "mean ± std"; the mean alone for one seed; "-" for none
            mean, std = r[key + "_mean"], r[key + "_std"]
            if math.isnan(mean):
                return "-"
            return _fmt(mean) if math.isnan(std) else f"{_fmt(mean)} ± {_fmt(std)}"

        lines.append(f"| {r['tag'] or '-'} | {r['env']} | {r['variant']} | {r['seeds']} | {r['capped']} | "
                     f"{pm('late_return')} | {pm('hidden_nodes')} | {pm('edges')} | {pm('params')} |")
    if left_out:
        lines += ["", "Runs left out of the means (capped: stopped by `max_params`; unfinished: not at their "
                      "last step yet):", "",
                  "| tag | env | variant | seed | status | last step | params |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in left_out:
            lines.append(f"| {r['tag'] or '-'} | {r['env']} | {r['variant']} | {r['seed']} | {r['status']} | "
                         f"{r['last_step']} of {r['steps']} | {_fmt(r['params'])} |")
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def _params_figure(finished: list[dict], capped: list[dict], title: str, path: Path):
    """``growth-only`` vs ``full`` parameters over training (log scale): finished runs as their
    mean with a min-max band; each capped run as a thin dashed line up to the step its size cap
    stopped it, with the cap dotted (so a pair whose runs all hit the cap still shows both)."""
    from matplotlib.figure import Figure

    from .viz import seed_band

    fig = Figure(figsize=(6.5, 4.0), dpi=120, layout="constrained")
    ax = fig.subplots()
    for v in ("full", "growth-only"):
        tabs = [r["metrics"] for r in finished if r["variant"] == v]
        stopped = [r for r in capped if r["variant"] == v]
        color = None
        if tabs:
            grid, Y = seed_band(tabs, "params")
            (line,) = ax.plot(grid, Y.mean(axis=0), label=f"{v} (mean of {len(tabs)} seeds)")
            ax.fill_between(grid, Y.min(axis=0), Y.max(axis=0), alpha=0.2, color=line.get_color())
            color = line.get_color()
        for i, r in enumerate(stopped):
            (line,) = ax.plot(r["metrics"]["step"], r["metrics"]["params"], ls="--", lw=0.9, color=color,
                              label=f"{v}, capped ({len(stopped)} seeds, to the step each stopped)" if i == 0 else None)
            color = line.get_color()
    for cap in sorted({r["max_params"] for r in capped}):
        ax.axhline(cap, color="0.5", ls=":", lw=1.0, label=f"size cap ({cap:,} parameters)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.savefig(path)
    return fig


def write_figures(records: list[dict], out_dir: Path, capped: list[dict] = ()) -> list[Path]:
    """Per (tag, env): return and size curves by variant (finished runs); growth-only vs full
    parameters (finished runs, and the ``capped`` ones up to where they stopped)."""
    from .viz import plot_runs

    paths = []
    keys = sorted({(r["tag"], r["env"]) for r in [*records, *capped]})
    for tag, env in keys:
        rs = [r for r in records if (r["tag"], r["env"]) == (tag, env)]
        cs = [r for r in capped if (r["tag"], r["env"]) == (tag, env)]
        stem = env if not tag else f"{env}__{tag}".replace("/", "_").replace(",", "_").replace("=", "-")
        if rs:
            p = out_dir / f"returns_{stem}.png"
            plot_runs([r["metrics"] for r in rs], [r["variant"] for r in rs], p, log_size=True,
                      title=f"{env} {tag}".strip())
            paths.append(p)
        if any(r["variant"] in ("full", "growth-only") for r in [*rs, *cs]):
            p = out_dir / f"params_{stem}.png"
            _params_figure(rs, cs, f"{env}: parameters, growth-only vs full {tag}".strip(), p)
            paths.append(p)
    return paths


def make_report(root, out_dir=None, *, figures: bool = True) -> dict:
    """Aggregate every run below ``root``; write the table (and figures) to ``out_dir``
    (default: ``root``). Returns the rows, the written paths, the number of runs found and
    the records left out of the means (capped or unfinished runs)."""
    root = Path(root)
    out = Path(out_dir) if out_dir is not None else root
    records = [run_record(d, root) for d in find_runs(root)]  # every check before any write
    out.mkdir(parents=True, exist_ok=True)
    rows = aggregate(records)
    left_out = [r for r in records if r["status"] != FINISHED]
    paths = list(write_table(rows, out, left_out))
    if figures:
        # bands of finished runs only (a seed band covers the steps every seed reached); capped
        # runs drawn alone up to where they stopped
        paths += write_figures([r for r in records if r["status"] == FINISHED], out,
                               [r for r in records if r["status"] == CAPPED])
    return {"rows": rows, "paths": paths, "runs": len(records), "left_out": left_out}


def std_ratio_interval(a, b, rng: np.random.Generator, n_boot: int = 20_000,
                       level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of the across-seed spreads ``std(a) / std(b)`` and a bootstrap interval for it.

    The study's variance claim compares two sample standard deviations of five seeds each;
    this says how well the seeds pin the ratio down. Each bootstrap replicate redraws the seeds
    of ``a`` and of ``b`` independently, with replacement:

        r* = std(a*, ddof=1) / std(b*, ddof=1)

    and the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` order statistics of the
    ``n_boot`` replicates (percentile bootstrap, outward-rounded so a replicate with
    ``std(b*) = 0``, ratio ``inf``, never enters an interpolation).

    Parameters
    ----------
    a, b : array_like
        One value per seed (e.g. late returns of ``full`` and of ``mlp``), at least 2 each.
    rng : numpy.random.Generator
        Source of the resampling.
    n_boot : int
        Bootstrap replicates.
    level : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    (ratio, low, high) : tuple of float
        ``ratio`` is nan when both spreads are zero (nothing to compare), ``inf`` when only
        ``b``'s is.

    Examples
    --------
    >>> ratio, low, high = std_ratio_interval([1.0, 3.0], [0.0, 1.0], np.random.default_rng(0))
    >>> ratio  # std([1, 3]) = sqrt(2), std([0, 1]) = sqrt(0.5)
    2.0
    >>> bool(low <= ratio <= high)
    True
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or a.size < 2 or b.size < 2:
        raise ValueError(f"need two 1-D samples of at least 2 values each, got shapes {a.shape} and {b.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    sa, sb = a.std(ddof=1), b.std(ddof=1)
    if sa == 0.0 and sb == 0.0:
        return float("nan"), float("nan"), float("nan")
    ratio = sa / sb if sb > 0.0 else float("inf")
    # Resampled spreads: each row is one replicate's seeds
    sa_star = a[rng.integers(0, a.size, size=(n_boot, a.size))].std(axis=1, ddof=1)
    sb_star = b[rng.integers(0, b.size, size=(n_boot, b.size))].std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_star = np.where(sb_star > 0.0, sa_star / np.where(sb_star > 0.0, sb_star, 1.0), np.inf)
    r_star[(sa_star == 0.0) & (sb_star == 0.0)] = 1.0  # both flat: equal spreads
    low = float(np.quantile(r_star, (1.0 - level) / 2.0, method="lower"))
    high = float(np.quantile(r_star, (1.0 + level) / 2.0, method="higher"))
    return float(ratio), low, high


def average_ranks(values) -> np.ndarray:
    """Ranks ``1..n`` of the last axis, ties sharing the mean of their ranks ("mid-ranks").

    ``rank_i = #{j : x_j < x_i} + (#{j : x_j = x_i} + 1) / 2``, computed by comparison, so a
    2-D array ranks each row on its own.

    >>> average_ranks([10.0, 30.0, 20.0, 20.0]).tolist()
    [1.0, 4.0, 2.5, 2.5]
    """
    x = np.asarray(values, dtype=float)
    less = (x[..., None, :] < x[..., :, None]).sum(axis=-1)
    equal = (x[..., None, :] == x[..., :, None]).sum(axis=-1)
    return less + (equal + 1) / 2.0


def _pearson_rows(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``rx`` (one row) with every row of ``ry``; 0 for a flat row."""
    dx = rx - rx.mean()
    dy = ry - ry.mean(axis=-1, keepdims=True)
    sxy = (dy * dx).sum(axis=-1)
    syy = (dy * dy).sum(axis=-1)
    sxx = float((dx * dx).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sxy / np.sqrt(sxx * syy)
    return np.where(syy > 0, r, 0.0)


def spearman_interval(rungs, sizes, rng: np.random.Generator, n_boot: int = 20_000,
                      level: float = 0.95) -> tuple[float, float, float]:
    """Spearman's rank correlation between a ladder's rung and a size, with a bootstrap interval.

    "Size tracks difficulty" (docs/growth.md) is a monotone association between the rung of a
    difficulty ladder and the grown size over all ``(rung, seed)`` runs::

        rho = Pearson(midrank(rung), midrank(size))

    (ties share their mean rank; every run of a rung ties on the rung). The interval resamples
    **seeds within each rung** (a stratified bootstrap: each replicate keeps every rung's
    number of runs, so only the sizes are redrawn):

        rho* = Pearson(midrank(rung), midrank(size*))

    and is the ``(1 - level) / 2`` and ``(1 + level) / 2`` order statistics of the ``n_boot``
    replicates (percentile bootstrap, outward-rounded as :func:`std_ratio_interval`). A
    replicate whose sizes are all equal has no ranking and counts as ``rho* = 0``.

    Parameters
    ----------
    rungs : array_like
        The rung of each run (any ordered numbers: widths, rung indices).
    sizes : array_like
        The size of each run (hidden nodes, parameters), same length.
    rng : numpy.random.Generator
        Source of the resampling.
    n_boot : int
        Bootstrap replicates.
    level : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    (rho, low, high) : tuple of float
        ``rho`` is nan when every size is equal (nothing to rank).

    Raises
    ------
    ValueError
        For samples of different lengths, fewer than two rungs, a rung with a single run, or a
        bad ``level`` / ``n_boot``.

    Examples
    --------
    >>> rho, low, high = spearman_interval([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0], np.random.default_rng(0))
    >>> round(rho, 6)   # midranks of the rungs 1.5, 1.5, 3.5, 3.5 against 1, 2, 3, 4
    0.894427
    >>> bool(low <= rho <= high)
    True
    """
    x, y = np.asarray(rungs, dtype=float), np.asarray(sizes, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"rungs and sizes must be 1-D of the same length, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("rungs and sizes must be finite")
    levels, counts = np.unique(x, return_counts=True)
    if levels.size < 2 or counts.min() < 2:
        raise ValueError(f"need at least two rungs with at least 2 runs each, got counts {counts.tolist()}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    rx = average_ranks(x)
    rho = float(_pearson_rows(rx, average_ranks(y)[None, :])[0]) if np.ptp(y) > 0 else float("nan")
    # stratified resampling: replicate b draws each rung's runs from that rung's runs
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    idx = np.concatenate([s + rng.integers(0, c, size=(n_boot, c)) for s, c in zip(starts, counts)], axis=1)
    r_star = np.empty(n_boot)
    for a in range(0, n_boot, 2048):  # chunks: the rank comparisons are n^2 per replicate
        y_star = y[idx[a:a + 2048]]
        r_star[a:a + 2048] = _pearson_rows(rx, average_ranks(y_star))
    low = float(np.quantile(r_star, (1.0 - level) / 2.0, method="lower"))
    high = float(np.quantile(r_star, (1.0 + level) / 2.0, method="higher"))
    return rho, low, high


__all__ = ["LATE_FRACTION", "TABLE_COLUMNS", "FINISHED", "CAPPED", "UNFINISHED", "late_return", "find_runs",
           "run_status", "run_record", "aggregate",
           "write_table", "write_figures", "make_report", "std_ratio_interval", "average_ranks",
           "spearman_interval"]

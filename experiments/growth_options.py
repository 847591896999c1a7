"""The growth study's two SPM options, judged by the decision rule fixed before their runs.

docs/growth.md, sections "A scale-free reading of the variance test" and "The tests on the
gradient under Adam" (**our options**, not the paper's). Reads:

* ``--cal DIR``: calibration grids (seeds 0-4) with their ``calibration_<optimizer>_<spm>.json``
  (``experiments/growth_calibrate.py --lr ... --spm ...``) and ``rank_table.csv``;
* ``--held DIR``: held-out grids (seeds 5-9), reported (``experiments/growth_teachers.py
  --report``): ``teachers.csv``, ``rank_table.csv``, ``births_summary.csv``, ``ladder_*.png``;
* ``--baseline DIR``: the held-out grid of the paper's test, whose Adam ``full`` at
  ``lambda_edge 3`` (the default) is the yardstick.

and writes into ``--out`` (default ``docs/results/growth/options``): ``calibration.csv`` (every
candidate), ``held.csv`` (every held-out setting: the rank statistic in both scopes, the
geometric mean test KL over the nonlinear rungs, the median size per rung), ``decision.md`` (each
chosen setting against the rule: interval above 0 on the nonlinear rungs, and a geometric mean
test KL at most :data:`NO_WORSE` times the default's), the calibration files and the births
summaries; and the held-out ladder figures as ``docs/img/growth_options_<grid>_<optimizer>.png``.

Example::

    python experiments/growth_options.py --cal runs/growth/sf_cal runs/growth/gw_cal \\
        --held runs/growth/sf_held runs/growth/gw_held --baseline runs/growth/held
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from smgrnn_ref.growth.ladder import KL_FLOOR, geometric_mean

sys.path.insert(0, str(Path(__file__).resolve().parent))
from growth_ship import read_csv, write_csv  # noqa: E402  (the study's CSV helpers)

ROOT = Path(__file__).resolve().parents[1]
#: "No worse than today's": the option's geometric mean test KL over the nonlinear held-out runs
#: at most this many times the default's (the calibration rule's 10%, docs/growth.md).
NO_WORSE = 1.10
#: The yardstick: Adam at the project's default ``lambda_edge`` with the paper's test.
DEFAULT = {"optimizer": "adam", "lr": 0.003, "lambda_edge": 3.0, "spm": ""}
#: The nonlinear rungs (teacher widths >= 2): the scope of the decision.
NONLINEAR = 2


def _key(r: dict) -> tuple:
    return r["optimizer"], float(r["lr"]), float(r["lambda_edge"]), r["spm"]


def nonlinear_gmean(rows: list, key: tuple, variant: str = "full") -> tuple:
    """``(runs, geometric mean test KL)`` over the nonlinear rungs of one setting's ``variant``."""
    losses = [float(r["test_loss"]) for r in rows if r["variant"] == variant and r["lambda_edge"] != ""
              and _key(r) == key and int(r["width"]) >= NONLINEAR]
    return len(losses), geometric_mean(losses, KL_FLOOR) if losses else float("nan")


def rank_of(table: list, key: tuple, variant: str, scope: str) -> dict | None:
    for r in table:
        if r["variant"] == variant and r["scope"] == scope and _key(r) == key:
            return r
    return None


def held_rows(held: Path) -> list:
    """One row per held-out setting of ``held``: rho in both scopes, the nonlinear geometric mean."""
    rows, table = read_csv(held / "teachers.csv"), read_csv(held / "rank_table.csv")
    out = []
    for r in table:
        if r["scope"] != "rungs >= 2":
            continue
        key, every = _key(r), rank_of(table, _key(r), r["variant"], "all rungs")
        n, g = nonlinear_gmean(rows, key, r["variant"])
        out.append({"grid": held.name, "optimizer": key[0], "lr": key[1], "lambda_edge": key[2], "spm": key[3],
                    "variant": r["variant"], "runs": r["runs"],
                    "rho_nonlinear": r["rho"], "low_nonlinear": r["low"], "high_nonlinear": r["high"],
                    "rho_all": every["rho"] if every else "", "low_all": every["low"] if every else "",
                    "high_all": every["high"] if every else "",
                    "gmean_test_kl_nonlinear": g, "nonlinear_runs": n, "median_hidden_by_rung": r["median_size"]})
    return out


def calibration_rows(cal: Path) -> list:
    out = []
    for path in sorted(cal.glob("calibration_*.json")):
        res = json.loads(path.read_text())
        for lam, c in res["lambda_candidates"].items():
            out.append({"grid": cal.name, "optimizer": res["optimizer"], "lr": res["lr"], "spm": res["spm"],
                        "lambda_edge": float(lam), "runs": c["runs"], "gmean_test_kl": c["geometric_mean_test_kl"],
                        "median_hidden_nodes": c["median_hidden_nodes"],
                        "chosen": float(lam) == float(res["lambda_edge"])})
    return out


def decide(held: list, chosen: list, baseline: float) -> list:
    """Each chosen setting's full row against the two conditions."""
    out = []
    for c in chosen:
        row = next((h for h in held if h["variant"] == "full" and h["optimizer"] == c["optimizer"]
                    and h["spm"] == c["spm"] and float(h["lambda_edge"]) == c["lambda_edge"]), None)
        if row is None:
            continue
        tracks = float(row["low_nonlinear"]) > 0
        ratio = row["gmean_test_kl_nonlinear"] / baseline
        out.append({**{k: row[k] for k in ("optimizer", "lr", "lambda_edge", "spm")},
                    "rho_nonlinear": f"{float(row['rho_nonlinear']):.2f} [{float(row['low_nonlinear']):.2f}, "
                                     f"{float(row['high_nonlinear']):.2f}]",
                    "tracks": tracks, "kl_vs_default": ratio, "no_worse": ratio <= NO_WORSE,
                    "proposed": tracks and ratio <= NO_WORSE})
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cal", type=Path, nargs="+", required=True)
    p.add_argument("--held", type=Path, nargs="+", required=True)
    p.add_argument("--baseline", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "growth" / "options")
    p.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
    args = p.parse_args(argv)
    try:
        cal = [r for d in args.cal for r in calibration_rows(d)]
        held = [r for d in args.held for r in held_rows(d)]
        key = (DEFAULT["optimizer"], DEFAULT["lr"], DEFAULT["lambda_edge"], DEFAULT["spm"])
        n, baseline = nonlinear_gmean(read_csv(args.baseline / "teachers.csv"), key)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"growth_options: error: {e}")
    if not (cal and held and n):
        sys.exit("growth_options: error: no calibration files, held-out reports or baseline runs found")
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "calibration.csv", cal)
    write_csv(args.out / "held.csv", held)
    decision = decide(held, [c for c in cal if c["chosen"]], baseline)
    lines = [f"Default (Adam, lambda_edge 3, the paper's test), nonlinear held-out rungs: {n} runs, "
             f"geometric mean test KL {baseline:.4g}.", "",
             "| optimizer | lr | lambda_edge | spm | rho, rungs >= 2 [95%] | interval above 0 | test KL / default's "
             f"| at most {NO_WORSE:g} | proposed |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {d['optimizer']} | {d['lr']:g} | {d['lambda_edge']:g} | {d['spm']} | {d['rho_nonlinear']} | "
              f"{'yes' if d['tracks'] else 'no'} | {d['kl_vs_default']:.2f} | {'yes' if d['no_worse'] else 'no'} | "
              f"{'yes' if d['proposed'] else 'no'} |" for d in decision]
    (args.out / "decision.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    for d in args.cal:
        for path in d.glob("calibration_*.json"):
            shutil.copy(path, args.out / path.name)
    for d in args.held:
        if (d / "births_summary.csv").is_file():
            shutil.copy(d / "births_summary.csv", args.out / f"births_summary_{d.name}.csv")
        for fig in d.glob("ladder_*.png"):
            shutil.copy(fig, args.img / f"growth_options_{d.name}_{fig.stem.split('_', 1)[1]}.png")
        for fig in d.glob("births_*.png"):
            shutil.copy(fig, args.img / f"growth_options_{d.name}_births_{fig.stem.split('_', 1)[1]}.png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

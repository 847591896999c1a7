"""Is one variant's spread across seeds really lower than another's? (our check, not the paper's)

The paper (Jia & Zhou, arXiv 2512.12713) claims SMGrNN has lower variance across seeds than
fixed MLP baselines; issue 6 turned that into the target "std of ``full``'s late return <= the
MLP's". With five seeds a sample std is uncertain by tens of percent, so this script reads a
grid of runs (late return as in :mod:`smgrnn_ref.report`) and prints, per env:

* each variant's late return, mean ± sample std, over all seeds and over blocks of seeds;
* ``std(a) / std(b)`` with a 95% percentile-bootstrap interval over seeds
  (:func:`smgrnn_ref.report.std_ratio_interval`): an interval holding 1 means the seeds cannot
  tell the two spreads apart.

It is the measurement behind "Spread across seeds, with 20 seeds" in docs/results.md. Example::

    smgrnn-ref experiment --grid experiments/spread_20_seeds.json --out runs/spread_20_seeds --workers 2
    python experiments/spread_check.py runs/spread_20_seeds --a full --b mlp --block 5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from smgrnn_ref.report import FINISHED, find_runs, run_record, std_ratio_interval


def late_returns(root: Path, variant: str) -> dict[str, dict[int, float]]:
    """``{env: {seed: late return}}`` of one variant's finished runs below ``root``."""
    out: dict[str, dict[int, float]] = {}
    for d in find_runs(root):
        r = run_record(d, root)
        if r["variant"] == variant and r["status"] == FINISHED:
            out.setdefault(r["env"], {})[r["seed"]] = r["late_return"]
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="directory of runs (e.g. runs/spread_20_seeds)")
    p.add_argument("--a", default="full", help="variant whose spread is tested (numerator)")
    p.add_argument("--b", default="mlp", help="variant compared against (denominator)")
    p.add_argument("--block", type=int, default=5, help="also report consecutive blocks of this many seeds")
    p.add_argument("--n-boot", type=int, default=20_000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's Generator")
    args = p.parse_args(argv)
    ra, rb = late_returns(args.root, args.a), late_returns(args.root, args.b)
    rng = np.random.default_rng(args.seed)
    for env in sorted(set(ra) & set(rb)):
        seeds = sorted(set(ra[env]) & set(rb[env]))
        a = np.array([ra[env][s] for s in seeds])
        b = np.array([rb[env][s] for s in seeds])
        print(f"{env}: {args.a} vs {args.b}, seeds {seeds[0]}-{seeds[-1]} ({len(seeds)})")
        blocks = [(f"seeds {seeds[i]}-{seeds[min(i + args.block, len(seeds)) - 1]}", slice(i, i + args.block))
                  for i in range(0, len(seeds), args.block)] if len(seeds) > args.block else []
        for name, sl in [("all seeds", slice(None))] + blocks:
            x, y = a[sl], b[sl]
            print(f"  {name:>14}: {args.a} {x.mean():8.2f} ± {x.std(ddof=1):5.2f}   "
                  f"{args.b} {y.mean():8.2f} ± {y.std(ddof=1):5.2f}")
        ratio, low, high = std_ratio_interval(a, b, rng, n_boot=args.n_boot)
        if np.isnan(ratio):
            print("  std ratio: both spreads are zero (equal)")
        else:
            print(f"  std({args.a}) / std({args.b}) = {ratio:.2f}, 95% bootstrap interval [{low:.2f}, {high:.2f}]")


if __name__ == "__main__":
    main()

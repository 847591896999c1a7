"""The SGD calibration of the growth study, on the teacher-width ladder's calibration seeds.

Reads ``teachers.csv`` below ``--runs`` (written by ``experiments/growth_teachers.py --report``)
and applies the rules fixed in docs/growth.md before the runs ("Scope reduced for compute"):

1. ``lr``: the SGD MLP (variant ``mlp``) per learning rate, the lowest geometric mean test KL over
   every rung and calibration seed (:func:`smgrnn_ref.growth.ladder.choose_lr`);
2. ``lambda_edge``: SGD ``full`` at that ``lr`` per ``lambda_edge``, the smallest median network
   among the candidates within 10% of the best geometric mean test KL
   (:func:`smgrnn_ref.growth.ladder.choose_lambda`), once those runs exist.

Writes ``calibration.json`` (the candidates' numbers and the choices) and prints a table::

    python experiments/growth_teachers.py --out runs/growth/cal --report
    python experiments/growth_calibrate.py --runs runs/growth/cal

The options of the SPM (docs/growth.md, "A scale-free reading of the variance test") are
calibrated by rule 2 alone, at a given optimizer and ``lr``, among the runs of one ``spm``
setting (the ``spm`` column of ``teachers.csv``)::

    python experiments/growth_calibrate.py --runs runs/growth/sf_cal --optimizer adam --lr 0.003 \
        --spm variance_test=scale_free
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from smgrnn_ref.growth.ladder import KL_FLOOR, choose_lambda, choose_lr, geometric_mean

#: The calibration seeds (docs/growth.md); the held-out seeds 5-9 are never read here.
CAL_SEEDS = (0, 1, 2, 3, 4)


def read_rows(root: Path, optimizer: str = "sgd", spm: str = "") -> list:
    """The calibration seeds' runs of ``optimizer`` (no momentum) with the ``spm`` setting."""
    with (root / "teachers.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["optimizer"] == optimizer and int(r["seed"]) in CAL_SEEDS
            and float(r["momentum"] or 0) == 0.0 and r["spm"] == spm]


def output_name(optimizer: str, spm: str) -> str:
    """``calibration.json`` for the SGD calibration, else one file per optimizer and setting.

    >>> output_name("sgd", ""), output_name("adam", "variance_test=scale_free")
    ('calibration.json', 'calibration_adam_variance_test-scale_free.json')
    """
    if optimizer == "sgd" and not spm:
        return "calibration.json"
    return f"calibration_{optimizer}_{spm.replace('=', '-').replace(' ', '_') or 'paper'}.json"


def calibrate(rows: list, lr: float | None = None) -> dict:
    """The candidates' geometric means and median sizes, and the chosen ``lr`` (unless given) /
    ``lambda_edge``."""
    out = {"seeds": list(CAL_SEEDS)}
    if lr is None:
        by_lr: dict = {}
        for r in rows:
            if r["variant"] == "mlp":
                by_lr.setdefault(float(r["lr"]), []).append(float(r["test_loss"]))
        if not by_lr:
            raise ValueError("no SGD mlp runs on the calibration seeds")
        out["lr_candidates"] = {str(lr): {"runs": len(v), "geometric_mean_test_kl": geometric_mean(v, KL_FLOOR)}
                                for lr, v in sorted(by_lr.items())}
        lr = choose_lr(by_lr)
    out["lr"] = lr
    losses: dict = {}
    sizes: dict = {}
    for r in rows:
        if r["variant"] == "full" and float(r["lr"]) == lr:
            lam = float(r["lambda_edge"])
            losses.setdefault(lam, []).append(float(r["test_loss"]))
            sizes.setdefault(lam, []).append(float(r["hidden_nodes"]))
    if losses:
        # how the choice depends on the floor (the rule's one choice made after runs existed)
        out["lambda_edge_by_floor"] = {f"{f:g}": choose_lambda(losses, sizes, floor=f) for f in (1e-12, 1e-9, 1e-6, 1e-3)}
        out["lambda_candidates"] = {str(lam): {"runs": len(losses[lam]), "geometric_mean_test_kl": geometric_mean(losses[lam], KL_FLOOR),
                                               "median_hidden_nodes": float(np.median(sizes[lam]))}
                                    for lam in sorted(losses)}
        out["lambda_edge"] = choose_lambda(losses, sizes)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, required=True, help="the calibration grid's --out")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="sgd")
    p.add_argument("--lr", type=float, help="calibrate lambda_edge alone, at this lr")
    p.add_argument("--spm", default="", help="the runs' spm setting, as teachers.csv's spm column says it")
    args = p.parse_args(argv)
    try:
        res = calibrate(read_rows(args.runs, args.optimizer, args.spm), args.lr)
    except (OSError, ValueError) as e:
        sys.exit(f"growth_calibrate: error: {e}")
    res.update(optimizer=args.optimizer, spm=args.spm)
    (args.runs / output_name(args.optimizer, args.spm)).write_text(json.dumps(res, indent=2) + "\n")
    for lr, c in res.get("lr_candidates", {}).items():
        print(f"lr {lr:>6}: {c['runs']} mlp runs, geometric mean test KL {c['geometric_mean_test_kl']:.4g}")
    print(f"chosen lr: {res['lr']:g}")
    for lam, c in res.get("lambda_candidates", {}).items():
        print(f"lambda_edge {lam:>6}: {c['runs']} full runs, geometric mean test KL {c['geometric_mean_test_kl']:.4g}, "
              f"median hidden nodes {c['median_hidden_nodes']:g}")
    if "lambda_edge" in res:
        print(f"chosen lambda_edge: {res['lambda_edge']:g} (by KL floor: {res['lambda_edge_by_floor']})")


if __name__ == "__main__":
    main()

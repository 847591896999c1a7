"""Does ``full`` grow and solve the Playground spiral at the estimator's defaults? (our measurement)

The target of the estimators issue: on TensorFlow Playground's spiral (1,000 points, noise 0.1,
one fixed stratified 50/50 train/test split, the Playground's default share), ``full`` at the
estimator's defaults reaches >= 0.95 test accuracy on 5 of 5 seeds with a grown graph while
``static`` stays below 0.7, and ``full`` grows more hidden nodes on spiral than on gauss.

For each dataset and seed this script fits ``StandardScaler() -> SMGrNNClassifier`` (nothing
tuned: the estimator's defaults, ``random_state=seed``) and records the test accuracy, the
grown size, the SPM's event counts and the fit time. ``--setting`` adds fits with other
parameters, for example ``--setting init_weight_scale=0.1`` (a labelled row, never the
default). The dataset draw (``random_state=0``) and the split (``random_state=0``) are fixed
for every seed: the seeds vary the network only. Writes ``playground_growth.csv`` and prints a
markdown table (docs/estimators.md)::

    nice -n 10 python experiments/playground_growth.py --out runs/playground_growth
    nice -n 10 python experiments/playground_growth.py --out runs/pg_iws --variants full \\
        --setting init_weight_scale=0.1 --setting max_iter=400 --setting max_params=20000

``--pictures`` with ``--setting record_every=N`` also writes each fit's boundary-and-graph frames
and GIF (:mod:`smgrnn_ref.viz_boundary`) next to the CSV; docs/img/estimators_spiral.png is the
last frame of ``--datasets spiral --seeds 0`` with the second command's settings and
``record_every=400``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from smgrnn_ref.datasets import make_playground

#: The issue's spiral: 1,000 points, Playground noise 0.1.
N_SAMPLES, NOISE = 1000, 0.1
#: The dataset draw and the train/test split, fixed for every seed (only the network varies).
DATA_SEED, SPLIT_SEED = 0, 0
#: The Playground's default share of training points (its "ratio of training to test data").
TEST_SIZE = 0.5

COLUMNS = ("dataset", "variant", "setting", "seed", "test_accuracy", "train_accuracy", "hidden_nodes",
           "edges", "params", "relay_inserted", "edge_added", "edge_pruned", "node_removed",
           "n_steps", "capped", "fit_seconds")


def split(name: str):
    """The fixed train/test split of one Playground dataset."""
    from sklearn.model_selection import train_test_split

    X, y = make_playground(name, N_SAMPLES, noise=NOISE, random_state=DATA_SEED)
    return train_test_split(X, y, test_size=TEST_SIZE, stratify=y, random_state=SPLIT_SEED)


def fit_one(name: str, variant: str, seed: int, setting: dict, data, pictures: Path | None = None) -> dict:
    """One fit on the fixed split; its row of the results table. With ``pictures`` (and a
    ``record_every`` in ``setting``) also the boundary-and-graph frames and GIF of the test points."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from smgrnn_ref.estimators import SMGrNNClassifier

    X_tr, X_te, y_tr, y_te = data
    model = make_pipeline(StandardScaler(), SMGrNNClassifier(variant=variant, random_state=seed, **setting))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a max_params stop is in the row
        model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - t0
    est = model[-1]
    if pictures is not None and est.history_:
        from smgrnn_ref.viz_boundary import animate_boundary

        stem = f"{name}_{variant}_s{seed}"
        animate_boundary(model, X_te, y_te, pictures / f"{stem}.gif", frames_dir=pictures / f"{stem}_frames", dpi=60)
    kinds = Counter(e.kind for e in est.events_)
    return {
        "dataset": name, "variant": variant, "setting": " ".join(f"{k}={v}" for k, v in setting.items()) or "defaults",
        "seed": seed, "test_accuracy": float(model.score(X_te, y_te)),
        "train_accuracy": float(model.score(X_tr, y_tr)), "hidden_nodes": est.n_hidden_nodes_,
        "edges": est.graph_.number_of_edges(), "params": est.n_params_,
        **{k: kinds.get(k, 0) for k in ("relay_inserted", "edge_added", "edge_pruned", "node_removed")},
        "n_steps": est.n_steps_, "capped": est.capped_, "fit_seconds": round(seconds, 2),
    }


def markdown(rows) -> str:
    """Per (dataset, variant, setting): accuracies and sizes seed by seed."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["variant"], r["setting"]), []).append(r)
    out = ["| dataset | variant | setting | test accuracy per seed | >= 0.95 | hidden nodes per seed | params (mean) | fit s (mean) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (d, v, s), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        acc = " ".join(f"{r['test_accuracy']:.3f}" for r in rs)
        hid = " ".join(str(r["hidden_nodes"]) for r in rs)
        hits = sum(r["test_accuracy"] >= 0.95 for r in rs)
        out.append(f"| {d} | {v} | {s} | {acc} | {hits}/{len(rs)} | {hid} | "
                   f"{np.mean([r['params'] for r in rs]):.0f} | {np.mean([r['fit_seconds'] for r in rs]):.1f} |")
    return "\n".join(out)


def parse_setting(items) -> dict:
    """``["init_weight_scale=0.1", "max_params=20000"]`` -> ``{...}`` (values as Python literals)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--setting needs NAME=VALUE, got {item!r}")
        out[key] = ast.literal_eval(value)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="directory for playground_growth.csv")
    p.add_argument("--datasets", nargs="+", default=["spiral", "gauss"])
    p.add_argument("--variants", nargs="+", default=["full", "static"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--setting", action="append", help="NAME=VALUE estimator parameter (repeatable)")
    p.add_argument("--pictures", action="store_true",
                   help="write boundary-and-graph frames and a GIF per fit (give --setting record_every=N)")
    args = p.parse_args(argv)
    setting = parse_setting(args.setting)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    path = args.out / "playground_growth.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for name in args.datasets:
            data = split(name)
            for variant in args.variants:
                for seed in args.seeds:
                    row = fit_one(name, variant, seed, setting, data, args.out if args.pictures else None)
                    writer.writerow(row)
                    fh.flush()
                    rows.append(row)
                    print(f"{name} {variant} seed {seed}: test {row['test_accuracy']:.3f}, "
                          f"{row['hidden_nodes']} hidden, {row['fit_seconds']} s", flush=True)
    print(markdown(rows))


if __name__ == "__main__":
    main()

"""SMGrNN estimators against scikit-learn's linear models and MLPs, 5-fold CV x 5 seeds (ours).

Datasets: scikit-learn's bundled ``iris``, ``wine``, ``breast_cancer``, ``digits``
(classification, accuracy) and ``diabetes`` (regression, R^2), and TensorFlow Playground's
``gauss``, ``xor``, ``circle``, ``spiral`` (1,000 points, noise 0.1, one fixed draw,
:func:`smgrnn_ref.datasets.make_playground`). Models, each ``StandardScaler() -> model``:

* ``smgrnn-full`` and ``smgrnn-static``: :class:`~smgrnn_ref.estimators.SMGrNNClassifier` /
  ``SMGrNNRegressor`` at the estimator's defaults (``static``: the SPM off, a linear model);
* ``linear``: ``LogisticRegression(max_iter=1000)`` / ``Ridge()``;
* ``mlp-8``, ``mlp-32``, ``mlp-128``: ``MLPClassifier`` / ``MLPRegressor`` with one hidden
  layer of that width, otherwise scikit-learn's defaults.

For seed ``s`` in 0..4 the rows are split by ``StratifiedKFold`` (``KFold`` for regression),
5 folds, ``shuffle=True, random_state=s``, and every model gets ``random_state=s``. Each fit is
one CSV row (dataset, model, seed, fold, score on the held-out fold, parameters, fit seconds),
appended as it finishes, so an interrupted run keeps its rows and is resumed (rows already in
the CSV are skipped). ``--table`` prints the markdown table of docs/estimators.md from the CSV:
mean and standard deviation over the 25 fits of each cell. Parameters: SMGrNN ``n_params_``
(its final graph, averaged), the coefficient and intercept entries of the others::

    nice -n 10 python experiments/estimator_benchmark.py --out runs/estimator_benchmark
    python experiments/estimator_benchmark.py --out runs/estimator_benchmark --table
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

COLUMNS = ("dataset", "task", "model", "seed", "fold", "score", "params", "hidden_nodes", "fit_seconds")
CLASSIFICATION = ("iris", "wine", "breast_cancer", "gauss", "xor", "circle", "spiral", "digits")
REGRESSION = ("diabetes",)
#: Run (and table) order: the slowest, digits, last.
DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "gauss", "xor", "circle", "spiral", "digits")
MODELS = ("smgrnn-full", "smgrnn-static", "linear", "mlp-8", "mlp-32", "mlp-128")
#: The Playground sets as in experiments/playground_growth.py: 1,000 points, noise 0.1, draw 0.
PLAYGROUND = {"n_samples": 1000, "noise": 0.1, "random_state": 0}


def load(name: str):
    """``(X, y)`` of one dataset."""
    from sklearn import datasets

    from smgrnn_ref.datasets import PLAYGROUND_DATASETS, make_playground

    if name in PLAYGROUND_DATASETS:
        return make_playground(name, **PLAYGROUND)
    return getattr(datasets, f"load_{name}")(return_X_y=True)


def make_model(name: str, task: str, seed: int):
    """The pipeline ``StandardScaler() -> model`` called ``name``."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from smgrnn_ref.estimators import SMGrNNClassifier, SMGrNNRegressor

    clf = task == "classification"
    if name.startswith("smgrnn-"):
        cls = SMGrNNClassifier if clf else SMGrNNRegressor
        model = cls(variant=name.split("-", 1)[1], random_state=seed)
    elif name == "linear":
        model = LogisticRegression(max_iter=1000) if clf else Ridge()
    elif name.startswith("mlp-"):
        cls = MLPClassifier if clf else MLPRegressor
        model = cls(hidden_layer_sizes=(int(name.split("-")[1]),), random_state=seed)
    else:
        raise ValueError(f"unknown model {name!r}; known: {list(MODELS)}")
    return make_pipeline(StandardScaler(), model)


def n_parameters(model) -> tuple[int, int]:
    """Trainable numbers of the fitted last step, and its hidden nodes (SMGrNN) or units."""
    est = model[-1]
    if hasattr(est, "n_params_"):
        return est.n_params_, est.n_hidden_nodes_
    if hasattr(est, "coefs_"):
        return (sum(c.size for c in est.coefs_) + sum(b.size for b in est.intercepts_),
                sum(c.shape[1] for c in est.coefs_[:-1]))
    return int(np.size(est.coef_) + np.size(est.intercept_)), 0


def run(out: Path, datasets, models, seeds, folds: int) -> None:
    from sklearn.model_selection import KFold, StratifiedKFold

    path = out / "estimator_benchmark.csv"
    done = set()
    if path.exists():
        with open(path, newline="") as fh:
            done = {(r["dataset"], r["model"], int(r["seed"]), int(r["fold"])) for r in csv.DictReader(fh)}
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(",".join(COLUMNS) + "\n")
    for name in datasets:
        X, y = load(name)
        task = "regression" if name in REGRESSION else "classification"
        for model_name in models:
            t_cell = time.perf_counter()
            for seed in seeds:
                cv = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
                for fold, (tr, te) in enumerate(cv.split(X, y)):
                    if (name, model_name, seed, fold) in done:
                        continue
                    model = make_model(model_name, task, seed)
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # MLP ConvergenceWarnings: the defaults, as given
                        model.fit(X[tr], y[tr])
                    seconds = time.perf_counter() - t0
                    params, hidden = n_parameters(model)
                    row = [name, task, model_name, seed, fold, f"{model.score(X[te], y[te]):.6f}", params, hidden,
                           f"{seconds:.3f}"]
                    with open(path, "a", newline="") as fh:
                        csv.writer(fh).writerow(row)
            print(f"{name} {model_name}: {time.perf_counter() - t_cell:.1f} s", flush=True)


def table(out: Path) -> str:
    """The markdown table: per dataset, one column group per model (score, params, fit s)."""
    with open(out / "estimator_benchmark.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells: dict = {}
    for r in rows:
        cells.setdefault((r["dataset"], r["model"]), []).append(r)
    models = [m for m in MODELS if any(k[1] == m for k in cells)]
    lines = ["| dataset (metric) | " + " | ".join(models) + " |", "| --- |" + " --- |" * len(models)]
    for name in DATASETS:
        if not any(k[0] == name for k in cells):
            continue
        metric = "R^2" if name in REGRESSION else "accuracy"
        parts = []
        for m in models:
            rs = cells.get((name, m), [])
            if not rs:
                parts.append("-")
                continue
            s = np.array([float(r["score"]) for r in rs])
            p = np.mean([float(r["params"]) for r in rs])
            t = np.mean([float(r["fit_seconds"]) for r in rs])
            parts.append(f"{s.mean():.3f} ± {s.std(ddof=1) if len(s) > 1 else 0:.3f}<br>{p:,.0f} p, {t:.2f} s"
                         + ("" if len(rs) == 25 else f" ({len(rs)} fits)"))
        lines.append(f"| {name} ({metric}) | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="directory of estimator_benchmark.csv")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--table", action="store_true", help="only print the markdown table of the CSV")
    args = p.parse_args(argv)
    if not args.table:
        t0 = time.perf_counter()
        run(args.out, args.datasets, args.models, args.seeds, args.folds)
        print(f"total {time.perf_counter() - t0:.0f} s")
    print(table(args.out))


if __name__ == "__main__":
    main()

"""Fit speed of SMGrNNClassifier on scikit-learn's digits (run on demand, not collected by pytest).

``python benchmarks/bench_estimators.py`` fits ``StandardScaler() -> SMGrNNClassifier`` on the
whole digits table (1,797 rows x 64 pixels, 10 classes) for 100 epochs with the fast engine
(and the estimator's other defaults: batch 32, so 57 optimizer + SPM steps per epoch, 5,700 in
all) and prints the wall time of ``fit``, the steps per second and the final size. ``--engine
reference`` times the readable engine instead, ``--variant static`` the SPM-free loop, and
``--repeat`` takes the best of several fits. The first fit also pays numba's compilation
(cached on disk afterwards), so it is reported separately. docs/estimators.md quotes it.
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from smgrnn_ref.estimators import SMGrNNClassifier


def timed_fit(X, y, *, engine: str, variant: str, epochs: int, seed: int):
    """Seconds of one fit, and the fitted classifier."""
    model = make_pipeline(StandardScaler(), SMGrNNClassifier(engine=engine, variant=variant, max_iter=epochs,
                                                             random_state=seed))
    t0 = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t0, model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", default="fast", choices=["fast", "reference"])
    p.add_argument("--variant", default="full")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    print(f"digits {X.shape[0]} x {X.shape[1]}, 10 classes; {args.variant}, {args.engine} engine, "
          f"{args.epochs} epochs")
    times = []
    for i in range(args.repeat):
        seconds, model = timed_fit(X, y, engine=args.engine, variant=args.variant, epochs=args.epochs,
                                   seed=args.seed)
        est = model[-1]
        times.append(seconds)
        print(f"  fit {i + 1}: {seconds:.2f} s, {est.n_steps_ / seconds:.0f} steps/s, "
              f"{est.n_hidden_nodes_} hidden nodes, {est.n_params_} parameters, "
              f"training accuracy {model.score(X, y):.3f}")
    print(f"best of {args.repeat}: {min(times):.2f} s")


if __name__ == "__main__":
    main()

"""experiments/estimator_benchmark.py and experiments/playground_growth.py on small inputs."""

import csv

import numpy as np
import pytest

from conftest import load_experiment

pytest.importorskip("sklearn")


def test_benchmark_counts_parameters_by_hand():
    bench = load_experiment("estimator_benchmark")
    X, y = bench.load("iris")
    mlp = bench.make_model("mlp-8", "classification", 0).fit(X, y)
    # 4 inputs -> 8 hidden -> 3 outputs: 4*8 + 8 + 8*3 + 3 weights and biases
    assert bench.n_parameters(mlp) == (4 * 8 + 8 + 8 * 3 + 3, 8)
    lin = bench.make_model("linear", "classification", 0).fit(X, y)
    assert bench.n_parameters(lin) == (4 * 3 + 3, 0)
    sm = bench.make_model("smgrnn-static", "classification", 0)
    sm.set_params(smgrnnclassifier__max_iter=1).fit(X, y)
    assert bench.n_parameters(sm) == (sm[-1].graph_.number_of_edges() + 3, 0)
    with pytest.raises(ValueError, match="unknown model"):
        bench.make_model("svm", "classification", 0)


def test_benchmark_writes_resumes_and_tabulates(tmp_path, capsys):
    bench = load_experiment("estimator_benchmark")
    bench.main(["--out", str(tmp_path), "--datasets", "iris", "--models", "linear", "--seeds", "0", "--folds", "2"])
    rows = list(csv.DictReader(open(tmp_path / "estimator_benchmark.csv")))
    assert [(r["dataset"], r["model"], r["seed"], r["fold"]) for r in rows] == [
        ("iris", "linear", "0", "0"), ("iris", "linear", "0", "1")]
    # resumed: the finished rows are not fitted again
    bench.main(["--out", str(tmp_path), "--datasets", "iris", "--models", "linear", "--seeds", "0", "--folds", "2"])
    assert len(list(csv.DictReader(open(tmp_path / "estimator_benchmark.csv")))) == 2
    out = capsys.readouterr().out
    scores = [float(r["score"]) for r in rows]
    mean, sd = np.mean(scores), np.std(scores, ddof=1)
    assert f"| iris (accuracy) | {mean:.3f} ± {sd:.3f}<br>15 p," in out and "(2 fits)" in out


def test_playground_growth_table_and_settings():
    pg = load_experiment("playground_growth")
    assert pg.parse_setting(["init_weight_scale=0.1", "max_params=20000", "variant='full'"]) == {
        "init_weight_scale": 0.1, "max_params": 20000, "variant": "full"}
    rows = [{"dataset": "spiral", "variant": "full", "setting": "defaults", "seed": s, "test_accuracy": a,
             "hidden_nodes": h, "params": p, "fit_seconds": 1.0}
            for s, a, h, p in [(1, 0.96, 5, 30), (0, 0.5, 0, 10)]]
    table = pg.markdown(rows)
    assert "| spiral | full | defaults | 0.500 0.960 | 1/2 | 0 5 | 20 | 1.0 |" in table
    X_tr, X_te, y_tr, y_te = pg.split("xor")
    assert len(X_tr) == len(X_te) == 500 and abs(y_tr.mean() - y_te.mean()) < 0.01  # stratified halves

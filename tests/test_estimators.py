"""The scikit-learn estimators: sklearn's own check suite, the training loop's bookkeeping
(global step counter, warm start, partial_fit, pickling), variants, bad input, recording."""

import dataclasses
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from smgrnn_ref.config import GraphConfig, OptimizerConfig, SPMConfig  # noqa: E402
from smgrnn_ref.datasets import make_playground  # noqa: E402
from smgrnn_ref.estimators import (  # noqa: E402
    OPTIMIZER_PARAMS,
    SPM_PARAMS,
    SMGrNNClassifier,
    SMGrNNRegressor,
    expected_failed_checks,
)
from smgrnn_ref.graph import initial_graph  # noqa: E402

#: Small budgets for scikit-learn's check suite: 10 epochs, a larger step size so the
#: accuracy / R^2 thresholds of check_classifiers_train / check_regressors_train are reached.
CHECK_PARAMS = {"max_iter": 10, "lr": 0.03}


@parametrize_with_checks([cls(engine=engine, **CHECK_PARAMS) for engine in ("fast", "reference")
                          for cls in (SMGrNNClassifier, SMGrNNRegressor)],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    # scikit-learn's protocol: each check asserts inside and raises on a failure; a check
    # returns nothing
    assert check(estimator) is None


def _xor(n=120, seed=0):
    X, y = make_playground("xor", n, noise=0.0, random_state=seed)
    return X / 3.0, y


def _same_graph(G1, G2):
    assert sorted(G1.nodes) == sorted(G2.nodes) and sorted(G1.edges) == sorted(G2.edges)
    for u, v in G1.edges:
        assert G1.edges[u, v]["weight"] == G2.edges[u, v]["weight"]
        assert list(G1.edges[u, v]["updates"]) == list(G2.edges[u, v]["updates"])
    for n in G1.nodes:
        assert G1.nodes[n].get("bias") == G2.nodes[n].get("bias")


# --- parameters -------------------------------------------------------------------------------


def test_every_spm_and_adam_field_is_a_parameter_with_the_configs_default():
    params = SMGrNNClassifier().get_params()
    assert set(SPM_PARAMS) == {f.name for f in dataclasses.fields(SPMConfig)}
    for f in dataclasses.fields(SPMConfig):
        assert params[f.name] == f.default, f.name
    # the optimizer's fields by their own names, except name -> optimizer
    assert set(OPTIMIZER_PARAMS) == {f.name for f in dataclasses.fields(OptimizerConfig)} - {"name"} | {"optimizer"}
    for f in dataclasses.fields(OptimizerConfig):
        assert params["optimizer" if f.name == "name" else f.name] == f.default, f.name
    assert params["density"] == GraphConfig.density
    assert params["graph_weight_scale"] == GraphConfig.init_weight_scale
    assert SMGrNNRegressor().get_params() == params


@pytest.mark.parametrize("params, match", [
    ({"p_rand": 1.5}, r"SPMConfig.p_rand must be in \[0.0, 1.0\], got 1.5"),
    ({"T": 1}, r"SPMConfig.T must be in \[2, 10000\], got 1"),
    ({"lambda_edge": -1.0}, r"SPMConfig.lambda_edge must be >= 0.0"),
    ({"allow_cycles": "yes"}, r"SPMConfig.allow_cycles must be a bool"),
    ({"window_signal": "grad"}, r"SPMConfig.window_signal must be one of \['update', 'gradient'\], got 'grad'"),
    ({"variance_test": "sd"}, r"SPMConfig.variance_test must be one of \['paper', 'scale_free'\], got 'sd'"),
    ({"lr": -0.1}, r"OptimizerConfig.lr must be >= 0.0"),
    ({"beta1": 1.0}, r"OptimizerConfig.beta1 and beta2 must be < 1"),
    ({"optimizer": "rmsprop"}, r"OptimizerConfig.name must be one of \['adam', 'sgd'\], got 'rmsprop'"),
    ({"optimizer": "sgd", "momentum": 1.0}, r"OptimizerConfig.momentum must be < 1"),
    ({"variant": "mlp"}, r"variant must be one of \['full', 'static', 'growth-only', 'no-random'\]"),
    ({"engine": "gpu"}, r"engine must be one of"),
    ({"max_iter": 0}, r"max_iter must be an integer in \[1, inf\]"),
    ({"batch_size": 2.5}, r"batch_size must be an integer"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a finite number in \(0.0, 1.0\)"),
    ({"record_every": 0}, r"record_every must be an integer in \[1, inf\] or None"),
    ({"density": 2.0}, r"density must be a finite number in \[0.0, 1.0\]"),
    ({"random_state": -3}, r"random_state must be >= 0"),
    ({"random_state": "seed"}, r"random_state must be None, an int"),
])
@pytest.mark.parametrize("cls", [SMGrNNClassifier, SMGrNNRegressor])
def test_bad_hyperparameters_are_a_value_error_at_fit_not_init(cls, params, match):
    est = cls(**params)  # __init__ only stores
    X, y = _xor(20)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_numpy_scalars_are_accepted_as_config_values():
    X, y = _xor(40)
    est = SMGrNNClassifier(max_iter=2, T=np.int64(10), s=np.int32(5), lr=np.float32(0.01), random_state=0)
    assert est.fit(X, y).n_steps_ == 4


# --- the training loop ------------------------------------------------------------------------


def test_one_optimizer_and_one_spm_step_per_minibatch_with_a_global_counter():
    X, y = _xor(100)
    est = SMGrNNClassifier(max_iter=3, batch_size=32, T=10, s=7, lambda_edge=0.0, random_state=0).fit(X, y)
    assert est.n_iter_ == 3 and est.n_steps_ == 3 * 4 and est.t_ == 300  # ceil(100 / 32) = 4
    assert len(est.loss_curve_) == 3
    steps = [e.step for e in est.events_]
    assert steps == sorted(steps) and 1 <= min(steps) and max(steps) <= 12
    # pruning steps are multiples of s: the schedule runs on the global counter
    assert all(e.step % 7 == 0 for e in est.events_ if e.kind in ("edge_pruned", "node_removed"))
    est.partial_fit(X, y)
    assert est.n_steps_ == 16 and est.n_iter_ == 4


def test_fit_in_pieces_equals_one_fit_warm_start_partial_fit_and_pickle():
    X, y = _xor(90)
    kw = {"batch_size": 16, "T": 12, "s": 5, "lambda_edge": 0.0, "p_rand": 0.5, "random_state": 3}
    whole = SMGrNNClassifier(max_iter=4, **kw).fit(X, y)
    assert whole.events_  # the SPM edited the structure

    warm = SMGrNNClassifier(max_iter=1, **kw).fit(X, y)
    warm.set_params(warm_start=True, max_iter=3).fit(X, y)
    pieces = SMGrNNClassifier(max_iter=1, **kw).fit(X, y)
    pieces = pickle.loads(pickle.dumps(pieces))  # the engine is rebuilt from graph_ alone
    for _ in range(3):
        pieces.partial_fit(X, y)
    for other in (warm, pieces):
        assert other.n_steps_ == whole.n_steps_ and other.n_iter_ == whole.n_iter_
        assert [e.to_dict() for e in other.events_] == [e.to_dict() for e in whole.events_]
        _same_graph(other.graph_, whole.graph_)
        np.testing.assert_array_equal(other.predict_proba(X), whole.predict_proba(X))
    # without warm_start a second fit starts again from the initial graph: the same fit
    again = SMGrNNClassifier(max_iter=4, **kw).fit(X, y).fit(X, y)
    _same_graph(again.graph_, whole.graph_)


def test_fit_starts_from_the_papers_initial_graph():
    X, y = _xor(40)
    est = SMGrNNClassifier(variant="static", max_iter=1, random_state=5).fit(X, y)
    # the "graph" stream is the first child of SeedSequence(5)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5).spawn(4)[0]))
    G0 = initial_graph(2, 2, density=0.8, rng=rng, weight_scale=0.1)
    assert sorted(est.graph_.edges) == sorted(G0.edges) and est.n_hidden_nodes_ == 0
    assert est.n_params_ == G0.number_of_edges() + 2  # weights + the two output biases


def test_reference_and_fast_engines_fit_the_same_model():
    X, y = _xor(60)
    kw = {"max_iter": 3, "batch_size": 16, "T": 10, "s": 6, "lambda_edge": 0.0, "p_rand": 0.5, "random_state": 1}
    ref = SMGrNNClassifier(engine="reference", **kw).fit(X, y)
    fast = SMGrNNClassifier(engine="fast", **kw).fit(X, y)
    assert [e.kind for e in ref.events_] == [e.kind for e in fast.events_] and ref.events_
    assert sorted(ref.graph_.edges) == sorted(fast.graph_.edges)
    np.testing.assert_allclose(ref.predict_proba(X), fast.predict_proba(X), rtol=0, atol=1e-9)


@pytest.mark.parametrize("variant, absent", [
    ("static", {"relay_inserted", "edge_added", "edge_pruned", "node_removed"}),
    ("growth-only", {"edge_pruned", "node_removed"}),
    ("no-random", {"edge_added"}),
])
def test_variants_switch_off_their_rules(variant, absent):
    X, y = _xor(80)
    kw = {"max_iter": 8, "batch_size": 8, "T": 10, "s": 5, "lambda_edge": 0.0, "p_rand": 0.5,
          "tau_w": 1.0, "tau_delta": 1.0, "random_state": 0}
    full = {e.kind for e in SMGrNNClassifier(**kw).fit(X, y).events_}
    assert absent <= full  # each of these happens in the full run
    kinds = {e.kind for e in SMGrNNClassifier(variant=variant, **kw).fit(X, y).events_}
    assert not kinds & absent


def test_regressor_standardises_targets_and_undoes_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = np.tanh(X @ [1.0, -2.0, 0.5])
    kw = {"max_iter": 5, "random_state": 0, "lambda_edge": 0.0}
    a = SMGrNNRegressor(**kw).fit(X, y)
    b = SMGrNNRegressor(**kw).fit(X, 1000.0 * y - 7.0)
    # the standardised targets are the same up to rounding, so the same network is trained
    assert sorted(a.graph_.edges) == sorted(b.graph_.edges)
    np.testing.assert_allclose(b.predict(X), 1000.0 * a.predict(X) - 7.0, rtol=1e-7, atol=1e-6)
    assert abs(np.mean(a.predict(X)) - np.mean(y)) < 0.5 * np.std(y)
    two = SMGrNNRegressor(**kw).fit(X, np.c_[y, 2 * y])
    assert two.predict(X).shape == (80, 2) and two.n_outputs_ == 2 and a.predict(X).shape == (80,)


def test_classifier_outputs_are_consistent():
    X, y = _xor(60)
    labels = np.array(["a", "b"])[y]
    clf = SMGrNNClassifier(max_iter=3, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["a", "b"]
    P, Z = clf.predict_proba(X), clf.decision_function(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(P[:, 1] / P[:, 0]), Z, atol=1e-10)  # binary: log-odds
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P), atol=1e-12)
    assert clf.predict(X).tolist() == np.where(Z > 0, "b", "a").tolist()
    X3, y3 = np.r_[X, X + 5], np.r_[y, np.full(len(y), 2)]
    clf3 = SMGrNNClassifier(max_iter=2, random_state=0).fit(X3, y3)
    assert clf3.decision_function(X3).shape == (120, 3) and clf3.n_outputs_ == 3


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_refused_clearly():
    import scipy.sparse as sp

    X, y = _xor(30)
    clf = SMGrNNClassifier(max_iter=1)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(TypeError, match="dense data is required"):
        clf.fit(sp.csr_matrix(X), y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(Xn, y)
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class"):
        clf.fit(X, np.zeros(30))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, 30))
    with pytest.raises(ValueError, match="needs classes on its first call"):
        SMGrNNClassifier().partial_fit(X, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but SMGrNNClassifier is expecting 2"):
        clf.predict(np.c_[X, X[:, :1]])
    with pytest.raises(ValueError, match=r"labels \[7\] not in classes_"):
        clf.partial_fit(X, np.where(y == 1, 7, 0))
    with pytest.raises(ValueError, match="training diverged at step"), np.errstate(all="ignore"):
        SMGrNNClassifier(lr=1e300, max_iter=3).fit(X * 1e300, y)


def test_partial_fit_with_classes_covers_labels_not_yet_seen():
    X, y = _xor(30)
    clf = SMGrNNClassifier(random_state=0).partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_outputs_ == 3
    clf.partial_fit(X[y == 1], y[y == 1])
    assert clf.n_iter_ == 2


def test_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    X, y = _xor(30)
    frame = pd.DataFrame(X, columns=["u", "v"])
    clf = SMGrNNClassifier(max_iter=1).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["u", "v"]


# --- early stopping, the cap, recording -----------------------------------------------------------


def test_early_stopping_keeps_the_best_validation_graph():
    X, y = make_playground("gauss", 200, noise=0.0, random_state=0)
    clf = SMGrNNClassifier(max_iter=60, early_stopping=True, n_iter_no_change=3, random_state=0, lr=0.03)
    clf.fit(X / 3.0, y)
    assert clf.n_iter_ < 60  # separable: the validation accuracy stops improving early
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None
    plain = SMGrNNClassifier(max_iter=2).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None


def test_training_loss_patience_stops_with_mlp_semantics_and_warns_otherwise():
    X, y = _xor(60)
    clf = SMGrNNClassifier(max_iter=500, n_iter_no_change=2, tol=10.0, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3  # epoch 1 sets the best loss; 2 and 3 do not beat it by tol = 10
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        SMGrNNClassifier(max_iter=2, n_iter_no_change=5, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SMGrNNClassifier(max_iter=2, random_state=0).fit(X, y)  # n_iter_no_change=None: no warning


def test_max_params_stops_training_after_the_first_step_over_the_cap():
    X, y = _xor(100)
    clf = SMGrNNClassifier(variant="growth-only", max_iter=50, batch_size=10, T=4, lambda_edge=0.0,
                           p_rand=1.0, max_params=40, random_state=0)
    with pytest.warns(UserWarning, match="more than max_params=40"):
        clf.fit(X, y)
    assert clf.capped_ and clf.n_params_ > 40 and clf.n_iter_ < 50
    last = clf.n_steps_
    assert {e.step for e in clf.events_} and max(e.step for e in clf.events_) <= last


def test_record_every_keeps_frozen_graphs_for_staged_predictions():
    X, y = _xor(64)
    clf = SMGrNNClassifier(max_iter=3, batch_size=16, record_every=5, lambda_edge=0.0, T=6,
                           random_state=0).fit(X, y)
    assert [r["step"] for r in clf.history_] == [0, 5, 10, 12]
    staged = list(clf.staged_predict_proba(X))
    assert [s for s, _ in staged] == [0, 5, 10, 12]
    np.testing.assert_allclose(staged[-1][1], clf.predict_proba(X), atol=1e-12)
    assert not np.allclose(staged[0][1], staged[-1][1])
    assert all(len(d["updates"]) == 0 for _, _, d in clf.history_[1]["graph"].edges(data=True))
    assert [p.tolist() for _, p in clf.staged_predict(X)][-1] == clf.predict(X).tolist()
    plain = SMGrNNClassifier(max_iter=1).fit(X, y)
    assert plain.history_ == []
    with pytest.raises(ValueError, match="fit with record_every"):
        list(plain.staged_predict(X))


def test_random_state_conventions():
    X, y = _xor(40)
    a = SMGrNNClassifier(max_iter=2, random_state=7).fit(X, y).predict_proba(X)
    b = SMGrNNClassifier(max_iter=2, random_state=7).fit(X, y).predict_proba(X)
    c = SMGrNNClassifier(max_iter=2, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    SMGrNNClassifier(max_iter=1, random_state=np.random.RandomState(0)).fit(X, y)
    SMGrNNClassifier(max_iter=1, random_state=np.random.default_rng(0)).fit(X, y)


def test_top_level_import_is_lazy():
    code = ("import sys, smgrnn_ref; assert 'sklearn' not in sys.modules; "
            "from smgrnn_ref import SMGrNNClassifier, SMGrNNRegressor; assert 'sklearn' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    import smgrnn_ref

    with pytest.raises(AttributeError, match="no attribute 'SMGrNNForest'"):
        smgrnn_ref.SMGrNNForest


def test_array_api_check_passes_where_scikit_learn_enables_it():
    # parametrize_with_checks skips check_array_api_input unless SCIPY_ARRAY_API=1 was set before
    # scipy was imported, so it runs here in a fresh interpreter (numpy inputs with array-API
    # dispatch on: the results must not change)
    code = (
        "from sklearn.utils.estimator_checks import check_estimator\n"
        "from smgrnn_ref.estimators import SMGrNNClassifier, SMGrNNRegressor\n"
        f"for est in (SMGrNNClassifier(**{CHECK_PARAMS!r}), SMGrNNRegressor(**{CHECK_PARAMS!r})):\n"
        "    res = [r for r in check_estimator(est, on_fail=None) if r['check_name'] == 'check_array_api_input']\n"
        "    assert res and all(r['status'] == 'passed' for r in res), res\n"
        "print('ok')\n"
    )
    import os

    env = dict(os.environ, SCIPY_ARRAY_API="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_the_optimizer_parameter_reaches_the_engine():
    # optimizer="sgd" trains with SGD: the engine's config says so, and the fit differs from Adam's
    X, y = make_playground("xor", n_samples=60, random_state=0)
    fits = {name: SMGrNNClassifier(optimizer=name, lr=0.05, max_iter=3, variant="static", random_state=0).fit(X, y)
            for name in ("adam", "sgd")}
    assert fits["sgd"]._engine.optimizer == OptimizerConfig(name="sgd", lr=0.05)
    assert fits["adam"]._engine.optimizer == OptimizerConfig(name="adam", lr=0.05)
    assert not np.array_equal(fits["sgd"].decision_function(X), fits["adam"].decision_function(X))


def test_the_variance_test_parameter_reaches_the_spm():
    # the same fit under the scale-free test judges windows by sigma > lambda |mu|: its relays'
    # parent windows pass that test (by hand from the recorded window) and the paper's does not
    # give the same growth at this lambda
    X, y = make_playground("xor", n_samples=60, random_state=0)
    kw = {"max_iter": 40, "batch_size": 20, "T": 10, "lambda_edge": 5.0, "random_state": 0}
    fits = {t: SMGrNNClassifier(variance_test=t, **kw).fit(X, y) for t in ("paper", "scale_free")}
    assert fits["scale_free"]._engine.spm.variance_test == "scale_free"
    relays = [e for e in fits["scale_free"].events_ if e.kind == "relay_inserted"]
    assert relays
    for e in relays:
        w = np.array(e.window)
        mu = w.sum() / w.size
        sigma = np.sqrt(((w - mu) ** 2).sum() / w.size)
        assert abs(mu) < 0.5 * sigma and sigma > 5.0 * abs(mu)
    n_paper = sum(e.kind == "relay_inserted" for e in fits["paper"].events_)
    assert n_paper != len(relays)

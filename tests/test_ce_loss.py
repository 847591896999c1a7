"""The ``"ce"`` loss (cross-entropy to class probabilities): by hand, against finite
differences, and the fast engine against the reference engine."""

import importlib.util

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from smgrnn_ref.config import AdamConfig, SPMConfig
from smgrnn_ref.engine import ReferenceEngine
from smgrnn_ref.evaluate import compile_plan
from smgrnn_ref.fast import FastEngine
from smgrnn_ref.graph import add_edge, layered_graph
from smgrnn_ref.losses import ce, loss_and_grad, loss_params
from smgrnn_ref.params import get_params

TOL = 1e-10

# numba is a core dependency; the skip only serves an install without it (public API only, so the
# test survives the fast engine's split into a package)
KERNELS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="numba is not installed"))]


def _graph(rng, cyclic=False, T=100):
    """3 inputs -> 4 tanh -> 3 tanh -> 3 logits (ids: inputs 0-2, outputs 3-5, layers 6-9 and
    10-12), plus a skip edge; optionally a back edge."""
    G = layered_graph(3, [4, 3], 3, rng=rng, T=T)
    add_edge(G, 0, 3, float(rng.normal()))  # input 0 -> output 0, skipping the hidden layers
    if cyclic:
        add_edge(G, 10, 6, 0.7)  # second layer -> first layer: a cycle through both layers
    for n in G:
        if G.nodes[n]["kind"] != "input":
            G.nodes[n]["bias"] = float(rng.normal(scale=0.3))
    return G


def _targets(rng, B, soft):
    if soft:
        y = rng.random((B, 3))
        return y / y.sum(axis=1, keepdims=True)
    return np.eye(3)[rng.integers(3, size=B)]


def test_ce_by_hand():
    # uniform prediction over 3 classes: -log(1/3) whatever the label
    assert float(ce(np.zeros((2, 3)), np.eye(3)[[0, 2]])) == pytest.approx(np.log(3.0), abs=1e-15)
    # logits (log 3, 0): p = (3/4, 1/4); label 0 costs -log 3/4, label 1 costs -log 1/4; batch mean
    z = np.array([[np.log(3.0), 0.0], [np.log(3.0), 0.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert float(ce(z, y)) == pytest.approx(0.5 * (-np.log(0.75) - np.log(0.25)), abs=1e-15)
    # soft target (1/2, 1/2) against p = (3/4, 1/4)
    assert float(ce(z[:1], np.array([[0.5, 0.5]]))) == pytest.approx(
        -0.5 * np.log(0.75) - 0.5 * np.log(0.25), abs=1e-15)
    # large logits do not overflow: p(class 0) = 1 / (1 + e^-1000) to double precision
    assert float(ce(np.array([[1000.0, 0.0]]), np.array([[1.0, 0.0]]))) == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("soft", [False, True])
def test_ce_gradient_in_the_logits_is_softmax_minus_target(soft):
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(5, 3)), _targets(rng, 5, soft)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    # d/dz of -mean_b sum_a y_a log p_a = (p sum_a y_a - y) / B; sum_a y_a = 1 for these rows
    np.testing.assert_allclose(grad(ce)(z, y), (p - y) / 5, rtol=0, atol=1e-15)


@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_ce_gradient_matches_central_differences(cyclic, soft, seed):
    rng = np.random.default_rng(seed)
    G = _graph(rng, cyclic=cyclic)
    plan = compile_plan(G, sweeps=3)
    assert any(c.cyclic for c in plan.components) == cyclic
    X, y = rng.normal(size=(6, 3)), _targets(rng, 6, soft)
    theta = get_params(G, list(plan.keys))
    check_grads(lambda th: loss_params(th, plan, X, y, "ce"), modes=["rev"], order=1)(theta)
    # and one coordinate by hand
    _, g = loss_and_grad(theta, plan, X, y, "ce")
    e, h = np.zeros_like(theta), 1e-6
    e[-1] = h
    fd = (loss_params(theta + e, plan, X, y, "ce") - loss_params(theta - e, plan, X, y, "ce")) / (2 * h)
    assert g[-1] == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("soft", [False, True])
def test_fast_engine_ce_loss_and_gradient_equal_the_reference(kernel, cyclic, soft):
    rng = np.random.default_rng(3)
    G = _graph(rng, cyclic=cyclic)
    plan = compile_plan(G, sweeps=3)
    X, y = rng.normal(size=(7, 3)), _targets(rng, 7, soft)
    ref_loss, ref_grad = loss_and_grad(get_params(G, list(plan.keys)), plan, X, y, "ce")
    fast = FastEngine(G, adam=AdamConfig(), spm=SPMConfig(), loss="ce", kernel=kernel)
    fast_loss, fast_grad = fast.loss_and_grad(X, y)
    assert abs(fast_loss - ref_loss) <= TOL
    assert np.abs(fast_grad - ref_grad).max() <= TOL


@pytest.mark.parametrize("kernel", KERNELS)
def test_fast_engine_trains_with_ce_as_the_reference_with_the_spm(kernel):
    rng = np.random.default_rng(5)
    G = _graph(rng, T=8)
    spm = SPMConfig(T=8, s=5, lambda_edge=0.0, p_rand=0.5, tau_w=0.5, tau_delta=0.1)
    adam = AdamConfig(lr=0.02)
    ref = ReferenceEngine(G.copy(), adam=adam, spm=spm, loss="ce")
    fast = FastEngine(G.copy(), adam=adam, spm=spm, loss="ce", kernel=kernel)
    rng_ref, rng_fast = np.random.default_rng(9), np.random.default_rng(9)
    n_events = 0
    for t in range(1, 41):
        X, y = rng.normal(size=(9, 3)), _targets(rng, 9, soft=t % 2 == 0)
        assert abs(ref.train_step(X, y) - fast.train_step(X, y)) <= 1e-9
        ev_ref, ev_fast = ref.spm_step(t, rng_ref), fast.spm_step(t, rng_fast)
        assert [e.to_dict().keys() for e in ev_ref] == [e.to_dict().keys() for e in ev_fast]
        assert [(e.kind, e.step) for e in ev_ref] == [(e.kind, e.step) for e in ev_fast]
        n_events += len(ev_ref)
    assert n_events > 0  # the SPM really edited the structure along the way
    assert sorted(ref.graph.edges) == sorted(fast.graph.edges)
    X = rng.normal(size=(4, 3))
    assert np.abs(ref.forward(X) - fast.forward(X)).max() <= 1e-9

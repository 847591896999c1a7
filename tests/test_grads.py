"""autograd gradients of the distillation losses against central finite differences."""

import numpy as np
import pytest
from autograd.test_util import check_grads

from smgrnn_ref.evaluate import compile_plan
from smgrnn_ref.graph import add_edge, add_hidden_node, initial_graph
from smgrnn_ref.losses import loss_and_grad, loss_params
from smgrnn_ref.params import get_params


def _random_graph(rng, n_in=3, n_out=2, n_hidden=4, extra_edges=8, cyclic=False):
    G = initial_graph(n_in, n_out, rng=rng, density=0.8, weight_scale=0.5)
    hidden = [add_hidden_node(G, bias=float(rng.normal(scale=0.3))) for _ in range(n_hidden)]
    # a feed-forward chain input -> h0 -> h1 ... -> output, then random forward edges
    add_edge(G, 0, hidden[0], rng.normal())
    for a, b in zip(hidden, hidden[1:]):
        add_edge(G, a, b, rng.normal())
    add_edge(G, hidden[-1], n_in, rng.normal())
    # node order inputs < hidden chain < outputs; edges forward in it keep the graph acyclic
    order = list(range(n_in)) + hidden + list(range(n_in, n_in + n_out))
    while extra_edges:
        i, j = sorted(rng.choice(len(order), size=2, replace=False))
        u, v = order[i], order[j]
        if v >= n_in and not G.has_edge(u, v):
            add_edge(G, u, v, rng.normal())
            extra_edges -= 1
    if cyclic:
        add_edge(G, hidden[2], hidden[0], 0.8)  # a back edge: h0 -> h1 -> h2 -> h0
    for n in G:
        if G.nodes[n]["kind"] == "output":
            G.nodes[n]["bias"] = float(rng.normal())
    return G


def central_differences(f, theta, h=1e-6):
    """``(f(theta + h e_i) - f(theta - h e_i)) / 2h`` for every coordinate ``i``."""
    out = np.zeros(len(theta))
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        out[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return out


@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("loss", ["kl", "mse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_central_differences(cyclic, loss, seed):
    rng = np.random.default_rng(seed)
    G = _random_graph(rng, cyclic=cyclic)
    plan = compile_plan(G, sweeps=3)
    assert any(c.cyclic for c in plan.components) == cyclic
    X = rng.normal(size=(6, 3))
    target = rng.normal(size=(6, 2))
    theta = get_params(G, list(plan.keys))
    check_grads(lambda th: loss_params(th, plan, X, target, loss), modes=["rev"], order=1)(theta)


def test_loss_and_grad_agrees_with_manual_central_difference():
    rng = np.random.default_rng(5)
    G = _random_graph(rng)
    plan = compile_plan(G)
    X, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    theta = get_params(G, list(plan.keys))
    _, grad = loss_and_grad(theta, plan, X, target, "kl")
    fd = central_differences(lambda th: loss_params(th, plan, X, target, "kl"), theta)
    for i in range(len(theta)):
        assert grad[i] == pytest.approx(fd[i], rel=1e-5, abs=1e-8)


def test_kl_is_zero_at_the_target_and_mse_by_hand():
    from smgrnn_ref.losses import kl, mse

    z = np.array([[0.3, -1.2, 2.0]])
    assert float(kl(z, z)) == pytest.approx(0.0, abs=1e-15)
    # KL between softmax([0, 0]) = (1/2, 1/2) and softmax([log 3, 0]) = (3/4, 1/4):
    # sum p_E log(p_E / p_S) with p_E = (3/4, 1/4), p_S = (1/2, 1/2)
    expected = 0.75 * np.log(0.75 / 0.5) + 0.25 * np.log(0.25 / 0.5)
    assert float(kl(np.zeros((1, 2)), np.array([[np.log(3.0), 0.0]]))) == pytest.approx(expected, abs=1e-15)
    assert float(mse(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))) == pytest.approx((1 + 4) / 2)


@pytest.mark.parametrize("loss", ["kl", "ce", "mse"])
def test_closed_form_loss_derivatives_match_central_differences(loss):
    # the losses are autograd primitives with their derivative written out; check_grads
    # compares it with central differences of the loss itself
    from smgrnn_ref.losses import LOSSES

    rng = np.random.default_rng(9)
    student, expert = rng.normal(size=(5, 3)) * 3, rng.normal(size=(5, 3)) * 3
    check_grads(lambda z: LOSSES[loss](z, expert), modes=["rev"], order=1)(student)


def test_losses_do_not_depend_on_the_memory_layout_of_the_logits():
    # the fast engine passes transposed views: the same bits as contiguous arrays
    from smgrnn_ref.losses import VALUE_AND_GRAD

    rng = np.random.default_rng(10)
    student, expert = rng.normal(size=(3, 33)).T, rng.normal(size=(33, 3))
    for f in VALUE_AND_GRAD.values():
        v1, g1 = f(student, expert)
        v2, g2 = f(np.ascontiguousarray(student), expert)
        assert v1 == v2 and np.array_equal(g1, g2)


@pytest.mark.parametrize("cyclic", [False, True])
def test_continuous_action_mse_gradients_match_central_differences(cyclic):
    """A continuous-action student: one linear output (the action mean), MSE to the shipped
    Pendulum-v1 expert's torques; both engines' gradients against central differences."""
    from smgrnn_ref.config import AdamConfig, SPMConfig
    from smgrnn_ref.experts import load_expert
    from smgrnn_ref.fast import FastEngine

    rng = np.random.default_rng(11)
    G = _random_graph(rng, n_in=3, n_out=1, cyclic=cyclic)
    plan = compile_plan(G, sweeps=3)
    angle = rng.uniform(-np.pi, np.pi, 8)
    X = np.column_stack([np.cos(angle), np.sin(angle), rng.uniform(-8.0, 8.0, 8)])
    target = load_expert("Pendulum-v1").action(X)
    assert target.shape == (8, 1) and np.all(np.abs(target) <= 2.0)
    theta = get_params(G, list(plan.keys))
    ref_loss, ref_grad = loss_and_grad(theta, plan, X, target, "mse")
    fast_loss, fast_grad = FastEngine(G, adam=AdamConfig(), spm=SPMConfig(), loss="mse").loss_and_grad(X, target)
    # the loss by hand: the mean over the batch of (mean output - action)^2
    from smgrnn_ref.evaluate import forward_params

    assert ref_loss == pytest.approx(np.mean((forward_params(theta, plan, X) - target) ** 2), rel=1e-12)
    assert fast_loss == pytest.approx(ref_loss, rel=1e-12)
    fd = central_differences(lambda th: loss_params(th, plan, X, target, "mse"), theta)
    for i in range(len(theta)):
        assert ref_grad[i] == pytest.approx(fd[i], rel=1e-5, abs=1e-7)
        assert fast_grad[i] == pytest.approx(fd[i], rel=1e-5, abs=1e-7)

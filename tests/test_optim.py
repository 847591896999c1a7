"""The optimizers on the graph (Adam, SGD with momentum): textbook formulas, state that
survives structural edits, the configuration."""

import math

import numpy as np
import pytest

from smgrnn_ref.config import AdamConfig, OptimizerConfig, SPMConfig
from smgrnn_ref.engine import ReferenceEngine
from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph
from smgrnn_ref.optim import adam_step, optimizer_step


def test_three_adam_steps_equal_the_textbook_formulas():
    cfg = AdamConfig(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    G = empty_graph(1, 1)
    add_edge(G, 0, 1, 0.5)
    grads = [0.3, -1.2, 0.7]
    # textbook Adam, written out here
    w, m, v, expected_deltas = 0.5, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        delta = -0.01 * m_hat / (math.sqrt(v_hat) + 1e-8)
        w += delta
        expected_deltas.append(delta)
    for g in grads:
        adam_step(G, [("weight", 0, 1)], [g], cfg)
    e = G.edges[0, 1]
    assert e["weight"] == pytest.approx(w, abs=1e-15)
    assert e["adam_m"] == pytest.approx(m, abs=1e-15) and e["adam_v"] == pytest.approx(v, abs=1e-15)
    assert e["adam_t"] == 3
    assert list(e["updates"]) == pytest.approx(expected_deltas, abs=1e-15)


def test_first_step_moves_by_lr_in_the_direction_against_the_gradient():
    # with bias correction, step 1 is -lr * g / (|g| + eps): a property by hand
    G = empty_graph(1, 1)
    add_edge(G, 0, 1, 0.0)
    adam_step(G, [("weight", 0, 1), ("bias", 1)], [4.0, -2.0], AdamConfig(lr=0.1, eps=0.0))
    assert G.edges[0, 1]["weight"] == pytest.approx(-0.1)
    assert G.nodes[1]["bias"] == pytest.approx(0.1)


def test_moments_survive_adding_and_removing_other_elements():
    cfg = AdamConfig(lr=0.05)
    G = empty_graph(2, 1)
    add_edge(G, 0, 2, 0.1)
    add_edge(G, 1, 2, 0.2)
    keys = [("bias", 2), ("weight", 0, 2), ("weight", 1, 2)]
    for g in ([0.1, 0.5, -0.3], [0.2, -0.4, 0.1]):
        adam_step(G, keys, g, cfg)
    before = {k: G.edges[0, 2][k] for k in ("weight", "adam_m", "adam_v", "adam_t")}
    bias_before = {k: G.nodes[2][k] for k in ("bias", "adam_m", "adam_v", "adam_t")}
    # structural edits elsewhere
    G.remove_edge(1, 2)
    h = add_hidden_node(G)
    add_edge(G, 1, h, 0.3)
    add_edge(G, h, 2, 0.3)
    G.remove_node(h)
    assert {k: G.edges[0, 2][k] for k in before} == before
    assert {k: G.nodes[2][k] for k in bias_before} == bias_before
    # the next step continues from the stored moments (t = 3), as a textbook step would
    g = 0.25
    m = 0.9 * before["adam_m"] + 0.1 * g
    v = 0.999 * before["adam_v"] + 0.001 * g * g
    delta = -0.05 * (m / (1 - 0.9**3)) / (math.sqrt(v / (1 - 0.999**3)) + 1e-8)
    adam_step(G, [("weight", 0, 2)], [g], cfg)
    assert G.edges[0, 2]["weight"] == pytest.approx(before["weight"] + delta, abs=1e-15)


def test_bad_gradients_are_rejected():
    G = empty_graph(1, 1)
    add_edge(G, 0, 1, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        adam_step(G, [("weight", 0, 1)], [np.nan], AdamConfig())
    with pytest.raises(ValueError, match="keys"):
        adam_step(G, [("weight", 0, 1)], [1.0, 2.0], AdamConfig())


def _one_hidden_node_graph():
    """``0 -> h -> 1`` with weights 0.5 and 1.0, zero biases: small enough to differentiate by hand."""
    G = empty_graph(1, 1)
    h = add_hidden_node(G, bias=0.0)
    add_edge(G, 0, h, 0.5)
    add_edge(G, h, 1, 1.0)
    return G, h


def test_engine_records_updates_and_batch_mean_activations():
    G, h = _one_hidden_node_graph()
    # MSE, since with one output the KL loss of a softmax has no gradient; the paper's window
    eng = ReferenceEngine(G, adam=AdamConfig(lr=0.01), spm=SPMConfig(window_signal="update"), loss="mse")
    X = np.array([[1.0], [3.0]])
    w_before = G.edges[0, h]["weight"]
    eng.train_step(X, np.array([[0.0], [1.0]]))
    assert abs(G.edges[0, h]["weight"] - w_before) > 1e-3  # the step moved the weight
    # recorded activation: mean over the batch of tanh(0.5 x), before the update
    assert G.nodes[h]["activations"][0] == pytest.approx((math.tanh(0.5) + math.tanh(1.5)) / 2)
    assert G.nodes[1]["activations"][0] == pytest.approx((math.tanh(0.5) + math.tanh(1.5)) / 2)
    # recorded update equals the change of the weight
    assert G.edges[0, h]["updates"][0] == pytest.approx(G.edges[0, h]["weight"] - w_before, abs=1e-15)
    assert len(G.edges[h, 1]["updates"]) == 1


def test_the_gradient_window_records_minus_g_and_changes_no_step():
    # Adam's first step with eps 0 is -lr sign(g); the window holds -g instead of that step
    steps = {}
    for record in ("update", "gradient"):
        G = empty_graph(1, 1)
        add_edge(G, 0, 1, 0.0)
        optimizer_step(G, [("weight", 0, 1), ("bias", 1)], [4.0, -2.0], AdamConfig(lr=0.1, eps=0.0), record=record)
        steps[record] = (G.edges[0, 1]["weight"], G.nodes[1]["bias"], list(G.edges[0, 1]["updates"]))
    assert steps["update"][:2] == steps["gradient"][:2] == (pytest.approx(-0.1), pytest.approx(0.1))
    assert steps["update"][2] == [pytest.approx(-0.1)] and steps["gradient"][2] == [-4.0]
    with pytest.raises(ValueError, match="record must be one of \\['update', 'gradient'\\], got 'grad'"):
        optimizer_step(G, [("weight", 0, 1)], [1.0], AdamConfig(), record="grad")
    with pytest.raises(ValueError, match="SPMConfig.window_signal must be one of"):
        SPMConfig(window_signal="gradients")


def test_the_engine_records_the_gradient_when_the_window_signal_says_so():
    # one hidden node, loss MSE: dL/dw of the input edge by hand, recorded with its sign flipped
    G, h = _one_hidden_node_graph()
    eng = ReferenceEngine(G, optimizer=OptimizerConfig(lr=0.01), spm=SPMConfig(window_signal="gradient"), loss="mse")
    X, Y = np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])
    a = np.tanh(0.5 * X[:, 0])                       # hidden activation; output = 1.0 * a (identity)
    # MSE = mean over the batch (and the one output) of (y_hat - y)^2
    d_out = 2 * (a - Y[:, 0]) / 2
    g_in = float(np.sum(d_out * 1.0 * (1 - a ** 2) * X[:, 0]))
    g_out = float(np.sum(d_out * a))
    eng.train_step(X, Y)
    assert G.edges[0, h]["updates"][0] == pytest.approx(-g_in, rel=1e-12)
    assert G.edges[h, 1]["updates"][0] == pytest.approx(-g_out, rel=1e-12)


def test_bad_adam_config():
    with pytest.raises(ValueError, match="lr"):
        AdamConfig(lr=-1.0)
    with pytest.raises(ValueError, match="beta1"):
        AdamConfig(beta1=1.0)


def test_sgd_steps_equal_pytorchs_convention():
    # PyTorch's SGD with momentum (dampening 0, no Nesterov), written out here:
    # buf = g at the first step, then buf = mu buf + g; w <- w - lr buf
    for mu in (0.0, 0.9):
        cfg = OptimizerConfig(name="sgd", lr=0.05, momentum=mu)
        G = empty_graph(1, 1)
        add_edge(G, 0, 1, 0.5)
        w, buf, expected = 0.5, None, []
        for g in (0.3, -1.2, 0.7):
            buf = g if buf is None else mu * buf + g
            expected.append(-0.05 * buf)
            w -= 0.05 * buf
            optimizer_step(G, [("weight", 0, 1), ("bias", 1)], [g, 2 * g], cfg)
        e = G.edges[0, 1]
        assert e["weight"] == pytest.approx(w, abs=1e-15)
        assert list(e["updates"]) == pytest.approx(expected, abs=1e-15)
        assert e["adam_m"] == pytest.approx(buf, abs=1e-15) and e["adam_v"] == 0.0 and e["adam_t"] == 3
        assert G.nodes[1]["adam_m"] == pytest.approx(2 * buf, abs=1e-15)


def test_plain_sgd_moves_by_lr_times_the_gradient():
    G = empty_graph(1, 1)
    add_edge(G, 0, 1, 1.0)
    optimizer_step(G, [("weight", 0, 1)], [4.0], OptimizerConfig(name="sgd", lr=0.25))
    assert G.edges[0, 1]["weight"] == 0.0 and G.edges[0, 1]["adam_m"] == 4.0


def test_adam_bias_correction_is_one_minus_the_correctly_rounded_power():
    from fractions import Fraction

    from smgrnn_ref.numerics import power
    from smgrnn_ref.optim import bias_correction

    for beta in (0.9, 0.999):
        for t in (1, 2, 7, 100, 2133, 10**5):
            # beta^t rounded once (within half an ulp of the exact power), then 1 - it
            p = power(beta, t)
            assert abs(Fraction(p) - Fraction(beta) ** t) <= Fraction(math.ulp(p)) / 2, (beta, t)
            assert bias_correction(beta, t) == 1.0 - p


def test_optimizer_config_fields_and_the_former_name():
    assert AdamConfig is OptimizerConfig and AdamConfig(lr=0.01).name == "adam"
    for bad, match in (({"name": "rmsprop"}, "name"), ({"momentum": 1.0}, "momentum"),
                       ({"momentum": -0.1}, "momentum"), ({"lr": -1.0}, "lr")):
        with pytest.raises(ValueError, match=match):
            OptimizerConfig(**bad)


def test_engines_take_optimizer_or_its_former_name_adam():
    G = empty_graph(1, 1)
    sgd = OptimizerConfig(name="sgd", lr=0.1)
    assert ReferenceEngine(G, optimizer=sgd, spm=SPMConfig()).optimizer is sgd
    assert ReferenceEngine(G, adam=sgd, spm=SPMConfig()).adam is sgd
    assert ReferenceEngine(G, spm=SPMConfig()).optimizer == OptimizerConfig()
    with pytest.raises(ValueError, match="differ"):
        ReferenceEngine(G, optimizer=sgd, adam=OptimizerConfig(), spm=SPMConfig())

"""experiments/linear_screen.py: the linear fits recover known linear maps; one tiny screen."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from smgrnn_ref.experts import load_expert

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "linear_screen.py"


@pytest.fixture(scope="module")
def screen():
    spec = importlib.util.spec_from_file_location("linear_screen", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_least_squares_recovers_a_linear_map(screen):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=3.0, scale=[1.0, 5.0, 0.1], size=(500, 3))
    A, c = rng.normal(size=(3, 2)), np.array([0.5, -1.0])
    W, b = screen.fit_least_squares(X, X @ A + c, ridge=0.0)
    Z = (X - X.mean(0)) / (X.std(0) + 1e-8)
    np.testing.assert_allclose(Z @ W + b, X @ A + c, atol=1e-8)


def test_softmax_fit_recovers_target_probabilities(screen):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    logits = X @ rng.normal(size=(4, 3)) + np.array([0.2, 0.0, -0.3])
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    W, b = screen.fit_softmax(X, P, ridge=1e-9)
    Z = (X - X.mean(0)) / (X.std(0) + 1e-8)
    Q = np.exp(Z @ W + b)
    Q /= Q.sum(1, keepdims=True)
    np.testing.assert_allclose(Q, P, atol=1e-4)


def test_tiny_screen_record(screen):
    rec = screen.screen("Pendulum-v1", load_expert("Pendulum-v1"), iterations=0, episodes=1,
                        val_episodes=1, test_episodes=2, ridge=1e-6)
    e, lin, rnd = (rec[k]["mean"] for k in ("expert", "linear", "random"))
    assert rec["gap_ratio"] == pytest.approx((e - lin) / (e - rnd), abs=1e-3)
    assert [h["samples"] for h in rec["dagger"]] == [200]  # one 200-step Pendulum episode
    assert e > rnd


def test_random_features_fit(screen):
    """With phi, the fit is least squares on tanh(Z R + c): a target in that span is recovered."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    phi = screen.random_features(3, 20, seed=5)
    Z = (X - X.mean(0)) / (X.std(0) + 1e-8)
    feats = phi(Z)
    assert feats.shape == (400, 20) and np.all(np.abs(feats) < 1)
    Y = feats @ rng.normal(size=(20, 1)) + 0.3
    W, b = screen.fit_least_squares(X, Y, ridge=0.0, phi=phi)
    np.testing.assert_allclose(feats @ W + b, Y, atol=1e-6)


@pytest.mark.slow
def test_pendulum_linear_student_falls_short(screen):
    """The issue's bar: a linear student short of the expert by >= 20% of the expert-random gap,
    while the same fit on 256 random tanh features nearly closes it (about 2 minutes)."""
    expert = load_expert("Pendulum-v1")
    linear = screen.screen("Pendulum-v1", expert, 10, 10, 10, 20, 1e-6)
    assert linear["gap_ratio"] >= 0.2
    features = screen.screen("Pendulum-v1", expert, 10, 10, 10, 20, 1e-6, n_features=256)
    assert features["gap_ratio"] <= 0.1

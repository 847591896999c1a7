"""Tests of the shipped expert policies and of their numpy export format.

numpy + gymnasium only: these tests never import torch or stable-baselines3.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from smgrnn_ref.experts import (
    EXPERT_DIR,
    SUPPORTED_ENVS,
    Expert,
    evaluate_expert,
    export_expert,
    load_expert,
    load_expert_file,
)

# Targets from the issue (independent of the code): greedy mean return over 20 episodes.
TARGETS = {"CartPole-v1": 490.0, "Acrobot-v1": -85.0, "LunarLander-v3": 230.0}
# Held-out evaluation seeds: the metadata's measurement used seeds 0..19.
HELD_OUT_SEED = 1000


def test_modules_do_not_import_torch():
    code = (
        "import sys, smgrnn_ref.experts, smgrnn_ref.expert_training; "
        "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_supported_envs():
    assert SUPPORTED_ENVS == ("CartPole-v1", "Acrobot-v1", "LunarLander-v3")


# --------------------------------------------------------------------------- (a)


def _greedy_returns(expert, env_id, n_episodes, seed):
    """Independent greedy rollout loop (does not use evaluate_expert)."""
    env = gym.make(env_id)
    out = []
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        total, done = 0.0, False
        while not done:
            logits = expert.logits(np.asarray(obs, dtype=np.float64)[None, :])[0]
            obs, r, term, trunc, _ = env.step(int(np.argmax(logits)))
            total += r
            done = term or trunc
        out.append(total)
    env.close()
    return np.asarray(out)


@pytest.mark.parametrize("env_id", SUPPORTED_ENVS)
def test_shipped_expert_reaches_target(env_id):
    expert = load_expert(env_id)
    env = gym.make(env_id)
    assert expert.n_inputs == env.observation_space.shape[0]
    assert expert.n_actions == env.action_space.n
    env.close()
    assert expert.metadata["env_id"] == env_id
    assert expert.metadata["output"] == "logits of a categorical action distribution"
    returns = _greedy_returns(expert, env_id, 20, HELD_OUT_SEED)
    assert returns.mean() >= TARGETS[env_id], (env_id, returns.mean(), returns)
    # evaluate_expert agrees with the independent loop (same seeds, same greedy policy)
    mean, std = evaluate_expert(expert, n_episodes=20, seed=HELD_OUT_SEED)
    assert mean == pytest.approx(returns.mean())
    assert std == pytest.approx(returns.std())
    # and the recorded measurement (seeds 0..19) also meets the target
    assert expert.metadata["evaluation"]["n_episodes"] == 20
    assert expert.metadata["evaluation"]["mean_return"] >= TARGETS[env_id]


@pytest.mark.parametrize("env_id", SUPPORTED_ENVS)
def test_shipped_files_hash_and_no_pickle(env_id):
    stem = EXPERT_DIR / env_id
    meta = json.loads(stem.with_suffix(".json").read_text())
    data = stem.with_suffix(".npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["npz_sha256"]
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as z:
        for name in z.files:
            assert z[name].dtype == np.float64
    assert meta["layer_sizes"][1:-1] == [64, 64]
    assert meta["activation"] == "tanh"
    assert meta["seed"] == 0
    assert meta["timesteps"] > 0


def test_acrobot_normalises_raw_observations():
    """Acrobot's expert carries VecNormalize statistics and applies them itself."""
    e = load_expert("Acrobot-v1")
    norm = e.metadata["obs_normalization"]
    assert norm["enabled"] is True
    mean = np.asarray(norm["mean"])
    var = np.asarray(norm["var"])
    raw = mean + 3.0 * np.sqrt(var)  # three standard deviations above the mean
    x = e.normalize(raw[None, :])[0]
    np.testing.assert_allclose(x, 3.0 * np.sqrt(var) / np.sqrt(var + norm["epsilon"]), rtol=1e-9)


def test_act_probs_shapes():
    e = load_expert("LunarLander-v3")
    obs = np.zeros((5, 8))
    p = e.probs(obs)
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    z = e.logits(obs)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    assert e.act(obs[0]) == int(np.argmax(z[0]))
    assert isinstance(e.act(obs[0]), int)


def test_wrong_obs_shape():
    e = load_expert("CartPole-v1")
    with pytest.raises(ValueError, match="shape"):
        e.logits(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="shape"):
        e.logits(np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        e.act(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="shape"):
        e.probs(np.zeros((3, 3)))


def test_evaluate_expert_constant_policy():
    """A constant 'always push left' expert: returns computed by hand with gymnasium."""
    layers = [(np.zeros((4, 2)), np.array([1.0, 0.0]))]  # logits (1, 0): argmax 0
    e = Expert(layers, "tanh", None, {"env_id": "CartPole-v1"})
    env = gym.make("CartPole-v1")
    expected = []
    for i in range(3):
        env.reset(seed=7 + i)
        n = 0
        while True:
            _, r, term, trunc, _ = env.step(0)
            n += r
            if term or trunc:
                break
        expected.append(n)
    env.close()
    mean, std = evaluate_expert(e, n_episodes=3, seed=7)
    assert mean == pytest.approx(np.mean(expected))
    assert std == pytest.approx(np.std(expected))


# --------------------------------------------------------------------------- (b)


def _random_arrays(rng, sizes):
    arrays = {}
    for i in range(len(sizes) - 1):
        arrays[f"W{i}"] = rng.normal(scale=0.7, size=(sizes[i], sizes[i + 1]))
        arrays[f"b{i}"] = rng.normal(scale=0.3, size=sizes[i + 1])
    return arrays


def _layers(arrays, n):
    return [(arrays[f"W{i}"], arrays[f"b{i}"]) for i in range(n)]


@pytest.mark.parametrize("with_norm", [False, True])
def test_export_roundtrip_matches_explicit_forward(tmp_path, with_norm):
    rng = np.random.default_rng(1234)
    sizes = [6, 9, 7, 3]
    arrays = _random_arrays(rng, sizes)
    mean = rng.normal(size=6)
    var = rng.uniform(0.1, 4.0, size=6)
    eps, clip = 1e-8, 2.5
    obs_norm = {"mean": mean, "var": var, "epsilon": eps, "clip": clip} if with_norm else None
    meta = export_expert(tmp_path / "Toy-v0", _layers(arrays, 3), "tanh", obs_norm, {"env_id": "Toy-v0"})
    assert meta["layer_sizes"] == sizes
    e = load_expert_file(tmp_path / "Toy-v0")
    assert (e.n_inputs, e.n_actions, e.env_id) == (6, 3, "Toy-v0")

    obs = rng.normal(scale=3.0, size=(11, 6))
    # forward pass written out explicitly
    x = obs
    if with_norm:
        x = (obs - mean) / np.sqrt(var + eps)
        x = np.minimum(np.maximum(x, -clip), clip)
    h1 = np.tanh(x @ arrays["W0"] + arrays["b0"])
    h2 = np.tanh(h1 @ arrays["W1"] + arrays["b1"])
    expected = h2 @ arrays["W2"] + arrays["b2"]
    np.testing.assert_allclose(e.logits(obs), expected, rtol=1e-12, atol=1e-12)
    if with_norm:  # the clip is exercised: some inputs are beyond +-clip
        assert np.any(np.abs((obs - mean) / np.sqrt(var + eps)) > clip)
    # element-wise explicit forward for one observation, no matrix products
    o = x[0]
    a1 = [np.tanh(sum(o[i] * arrays["W0"][i, j] for i in range(6)) + arrays["b0"][j]) for j in range(9)]
    a2 = [np.tanh(sum(a1[i] * arrays["W1"][i, j] for i in range(9)) + arrays["b1"][j]) for j in range(7)]
    out = [sum(a2[i] * arrays["W2"][i, j] for i in range(7)) + arrays["b2"][j] for j in range(3)]
    np.testing.assert_allclose(e.logits(obs[:1])[0], out, rtol=1e-10, atol=1e-12)
    assert e.act(obs[0]) == int(np.argmax(out))
    ex = np.exp(np.asarray(out) - max(out))
    np.testing.assert_allclose(e.probs(obs[:1])[0], ex / ex.sum(), rtol=1e-10)


def test_export_relu(tmp_path):
    rng = np.random.default_rng(5)
    arrays = _random_arrays(rng, [3, 4, 2])
    export_expert(tmp_path / "r", _layers(arrays, 2), "relu", None, {"env_id": "R-v0"})
    e = load_expert_file(tmp_path / "r")
    obs = rng.normal(size=(4, 3))
    h = obs @ arrays["W0"] + arrays["b0"]
    h[h < 0] = 0.0
    np.testing.assert_allclose(e.logits(obs), h @ arrays["W1"] + arrays["b1"], rtol=1e-12)


def test_export_files_are_plain_arrays(tmp_path):
    rng = np.random.default_rng(0)
    arrays = _random_arrays(rng, [2, 3, 2])
    export_expert(tmp_path / "p", _layers(arrays, 2), "tanh", None, {"env_id": "P-v0", "seed": 3})
    with np.load(tmp_path / "p.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["W0", "W1", "b0", "b1"]
        for k in z.files:
            np.testing.assert_array_equal(z[k], arrays[k])
    meta = json.loads((tmp_path / "p.json").read_text())
    assert meta["npz_sha256"] == hashlib.sha256((tmp_path / "p.npz").read_bytes()).hexdigest()
    assert meta["seed"] == 3 and meta["env_id"] == "P-v0"
    assert meta["obs_normalization"] == {"enabled": False}


def test_export_rejects_bad_input(tmp_path):
    W = np.ones((2, 3))
    with pytest.raises(ValueError, match="non-finite"):
        export_expert(tmp_path / "x", [(W * np.nan, np.zeros(3))], "tanh", None, {})
    with pytest.raises(ValueError, match="fan_in"):
        export_expert(tmp_path / "x", [(W, np.zeros(3)), (np.ones((4, 2)), np.zeros(2))], "tanh", None, {})
    with pytest.raises(ValueError, match="activation"):
        export_expert(tmp_path / "x", [(W, np.zeros(3))], "sigmoid", None, {})
    bad_norm = {"mean": np.zeros(5), "var": np.ones(5), "epsilon": 1e-8, "clip": 10.0}
    with pytest.raises(ValueError, match="obs_norm"):
        export_expert(tmp_path / "x", [(W, np.zeros(3))], "tanh", bad_norm, {})


# --------------------------------------------------------------------------- (c)


def test_unknown_env_id():
    with pytest.raises(ValueError) as info:
        load_expert("MountainCar-v0")
    msg = str(info.value)
    assert "MountainCar-v0" in msg
    for env_id in ("CartPole-v1", "Acrobot-v1", "LunarLander-v3"):
        assert env_id in msg


@pytest.fixture
def exported(tmp_path):
    rng = np.random.default_rng(9)
    arrays = _random_arrays(rng, [4, 5, 2])
    norm = {"mean": np.zeros(4), "var": np.ones(4), "epsilon": 1e-8, "clip": 10.0}
    export_expert(tmp_path / "E", _layers(arrays, 2), "tanh", norm, {"env_id": "E-v0"})
    load_expert_file(tmp_path / "E")  # sanity: loads fine before corruption
    return tmp_path / "E"


def _rewrite_sha(stem):
    meta = json.loads(stem.with_suffix(".json").read_text())
    meta["npz_sha256"] = hashlib.sha256(stem.with_suffix(".npz").read_bytes()).hexdigest()
    stem.with_suffix(".json").write_text(json.dumps(meta))


def test_flipped_bytes_detected(exported):
    npz = exported.with_suffix(".npz")
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted.*sha256|sha256"):
        load_expert_file(exported)


def test_truncated_file_detected(exported):
    npz = exported.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:100])
    with pytest.raises(ValueError, match="sha256"):
        load_expert_file(exported)
    # even with a matching hash, an unreadable archive is a clear ValueError
    _rewrite_sha(exported)
    with pytest.raises(ValueError, match="cannot be read"):
        load_expert_file(exported)


def test_wrong_sha_detected(exported):
    meta = json.loads(exported.with_suffix(".json").read_text())
    meta["npz_sha256"] = "0" * 64
    exported.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="sha256"):
        load_expert_file(exported)


def test_missing_files(exported):
    exported.with_suffix(".npz").unlink()
    with pytest.raises(ValueError, match="not found"):
        load_expert_file(exported)
    with pytest.raises(ValueError, match="not found"):
        load_expert_file(exported.parent / "nothing")


def test_bad_json(exported):
    exported.with_suffix(".json").write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        load_expert_file(exported)


def _write_npz(stem, arrays):
    with open(stem.with_suffix(".npz"), "wb") as f:
        np.savez(f, **arrays)
    _rewrite_sha(stem)


def _arrays_of(stem):
    with np.load(stem.with_suffix(".npz")) as z:
        return {k: z[k] for k in z.files}


def test_missing_array(exported):
    arrays = _arrays_of(exported)
    del arrays["b1"]
    _write_npz(exported, arrays)
    with pytest.raises(ValueError, match="missing array 'b1'"):
        load_expert_file(exported)


def test_missing_norm_array(exported):
    arrays = _arrays_of(exported)
    del arrays["obs_var"]
    _write_npz(exported, arrays)
    with pytest.raises(ValueError, match="missing array 'obs_var'"):
        load_expert_file(exported)


def test_wrong_shape(exported):
    arrays = _arrays_of(exported)
    arrays["W1"] = np.zeros((5, 3))
    _write_npz(exported, arrays)
    with pytest.raises(ValueError, match="'W1'.*shape"):
        load_expert_file(exported)


def test_wrong_norm_shape(exported):
    arrays = _arrays_of(exported)
    arrays["obs_mean"] = np.zeros(3)
    _write_npz(exported, arrays)
    with pytest.raises(ValueError, match="obs_norm"):
        load_expert_file(exported)


def test_non_finite_values(exported):
    arrays = _arrays_of(exported)
    arrays["W0"][1, 2] = np.inf
    _write_npz(exported, arrays)
    with pytest.raises(ValueError, match="non-finite"):
        load_expert_file(exported)


def test_pickled_array_rejected(exported):
    arrays = _arrays_of(exported)
    arrays["b0"] = np.array([object()] * 5, dtype=object)
    _write_npz(exported, arrays)
    with pytest.raises(ValueError):
        load_expert_file(exported)


def test_shipped_mismatched_env_id(tmp_path, monkeypatch):
    """A shipped file declaring another env id is refused."""
    import smgrnn_ref.experts as mod

    for suffix in (".npz", ".json"):
        shutil.copy(EXPERT_DIR / f"CartPole-v1{suffix}", tmp_path / f"Acrobot-v1{suffix}")
    monkeypatch.setattr(mod, "EXPERT_DIR", tmp_path)
    with pytest.raises(ValueError, match="declares env_id 'CartPole-v1'"):
        mod.load_expert("Acrobot-v1")

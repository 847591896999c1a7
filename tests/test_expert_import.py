"""Tests of smgrnn_ref.expert_import (stable-baselines3 zip -> numpy expert).

The equivalence tests need stable-baselines3 and torch (the ``experts`` extra) and are
skipped, with that reason, without them. The bad-input tests and the VecNormalize reader
need numpy only: they build the zips and pickles by hand.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from smgrnn_ref.expert_import import import_sb3, main, read_vecnormalize
from smgrnn_ref.experts import load_expert_file

SB3_MISSING = "needs the 'experts' extra (stable-baselines3 and torch): pip install -e '.[experts]'"


def _global_pickle(module: str, name: str) -> str:
    """A protocol-2 pickle that only references ``module.name``, base64 (as SB3 stores it)."""
    return base64.b64encode(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"q\x00.").decode()


def _fake_zip(path, policy=("stable_baselines3.common.policies", "ActorCriticPolicy"),
              obs_shape=(4,), action=None, pth=b"not torch"):
    action = action or {":type:": "<class 'gymnasium.spaces.discrete.Discrete'>", "n": "2", "start": "0", "_shape": []}
    data = {
        "policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": _global_pickle(*policy)},
        "policy_kwargs": {},
        "observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", "_shape": list(obs_shape)},
        "action_space": action,
        "clip_range": 0.2,
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("policy.pth", pth)
    return path


# --------------------------------------------------------------------------- bad input, numpy only


@pytest.mark.parametrize(
    "kwargs,env_id,match",
    [
        ({"policy": ("stable_baselines3.dqn.policies", "DQNPolicy")}, "CartPole-v1",
         "policy class stable_baselines3.dqn.policies.DQNPolicy is not supported"),
        ({"policy": ("stable_baselines3.common.policies", "ActorCriticCnnPolicy")}, "CartPole-v1",
         "ActorCriticCnnPolicy is not supported"),
        ({}, "Acrobot-v1", r"trained on observations of shape \(4,\), but Acrobot-v1 has \(6,\)"),
        ({"obs_shape": (3,)}, "Pendulum-v1", r"action space \(Discrete\(n=2\)\) does not match Pendulum-v1's Box"),
        ({"obs_shape": (8,)}, "LunarLander-v3", r"does not match LunarLander-v3's Discrete\(4\)"),
        ({"obs_shape": (3,), "action": {":type:": "<class 'gymnasium.spaces.box.Box'>", "_shape": [1],
                                        "low": "[-1.]", "high": "[1.]"}},
         "Pendulum-v1", r"action bound low=\[-1.0\] differs from Pendulum-v1's \[-2.0\]"),
        ({"policy": ("stable_baselines3.sac.policies", "SACPolicy")}, "CartPole-v1", "SAC needs a Box action space"),
        ({}, "NoSuchEnv-v0", "unknown env id 'NoSuchEnv-v0'"),
    ],
)
def test_bad_zip_is_one_clear_error_and_writes_nothing(tmp_path, kwargs, env_id, match):
    z = _fake_zip(tmp_path / "m.zip", **kwargs)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=match) as info:
        import_sb3(z, env_id, out)
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_not_a_zip(tmp_path):
    p = tmp_path / "m.zip"
    p.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a zip file"):
        import_sb3(p, "CartPole-v1", tmp_path / "out")
    with pytest.raises(ValueError, match="cannot read the file"):
        import_sb3(tmp_path / "missing.zip", "CartPole-v1", tmp_path / "out")
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("policy.pth", b"")
    with pytest.raises(ValueError, match="no 'data' entry"):
        import_sb3(p, "CartPole-v1", tmp_path / "out")


def test_policy_class_that_is_not_a_plain_reference(tmp_path):
    """A pickle that would build an object (here: call os.system) is not even parsed as a class."""
    z = _fake_zip(tmp_path / "m.zip")
    evil = base64.b64encode(pickle.dumps(_Evil(tmp_path / "pwned"))).decode()
    with zipfile.ZipFile(z) as zin:
        data = json.loads(zin.read("data"))
    data["policy_class"][":serialized:"] = evil
    with zipfile.ZipFile(z, "w") as zout:
        zout.writestr("data", json.dumps(data))
        zout.writestr("policy.pth", b"")
    with pytest.raises(ValueError, match="cannot read the policy class"):
        import_sb3(z, "CartPole-v1", tmp_path / "out")
    assert not (tmp_path / "pwned").exists()


class _Evil:
    """Unpickling this runs ``touch <marker>``: what a malicious file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_main_prints_one_line_error(tmp_path, capsys):
    z = _fake_zip(tmp_path / "m.zip", policy=("stable_baselines3.dqn.policies", "DQNPolicy"))
    assert main([str(z), "--env", "CartPole-v1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smgrnn-ref: error: ") and err.count("\n") == 1


# --------------------------------------------------------------------------- VecNormalize, numpy only


def _fake_sb3_modules(monkeypatch):
    """Importable stand-ins for the two SB3 classes a VecNormalize pickle names."""
    names = {
        "stable_baselines3.common.vec_env.vec_normalize": "VecNormalize",
        "stable_baselines3.common.running_mean_std": "RunningMeanStd",
    }
    classes = {}
    for mod_name, cls_name in names.items():
        parts = mod_name.split(".")
        for i in range(1, len(parts) + 1):
            monkeypatch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        cls = type(cls_name, (), {"__module__": mod_name})
        setattr(sys.modules[mod_name], cls_name, cls)
        classes[cls_name] = cls
    return classes["VecNormalize"], classes["RunningMeanStd"]


def test_read_vecnormalize_hand_made(tmp_path, monkeypatch):
    VecNormalize, RunningMeanStd = _fake_sb3_modules(monkeypatch)
    rms = RunningMeanStd()
    rms.__dict__.update(mean=np.array([1.0, -2.0, 3.0]), var=np.array([4.0, 0.5, 9.0]), count=17.0)
    vn = VecNormalize()
    vn.__dict__.update(obs_rms=rms, ret_rms=None, clip_obs=5.0, epsilon=1e-6, norm_obs=True,
                       returns=np.zeros(2), gamma=0.99)
    path = tmp_path / "vn.pkl"
    path.write_bytes(pickle.dumps(vn))
    monkeypatch.undo()  # the reader must work without the classes being importable
    stats = read_vecnormalize(path, n_inputs=3)
    np.testing.assert_array_equal(stats["mean"], [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(stats["var"], [4.0, 0.5, 9.0])
    assert (stats["epsilon"], stats["clip"]) == (1e-6, 5.0)
    with pytest.raises(ValueError, match="shape"):
        read_vecnormalize(path, n_inputs=4)


def test_read_vecnormalize_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "vn.pkl"
    path.write_bytes(pickle.dumps(_Evil(marker)))
    with pytest.raises(ValueError, match="refusing to load posix.system|refusing to load nt.system"):
        read_vecnormalize(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a VecNormalize file"):
        read_vecnormalize(path)
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="not a VecNormalize file"):
        read_vecnormalize(path)


# --------------------------------------------------------------------------- equivalence with SB3


@pytest.fixture(scope="module")
def sb3():
    """stable-baselines3, or a skip with the reason; CI (``.ci/run``) installs the extra and sets
    ``SMGRNN_REQUIRE_EXPERTS=1``, which turns the skip into a failure there."""
    try:
        import stable_baselines3  # noqa: F401
        import torch
    except ImportError:
        if os.environ.get("SMGRNN_REQUIRE_EXPERTS") == "1":
            pytest.fail(f"the SB3 tests must run here (SMGRNN_REQUIRE_EXPERTS=1): {SB3_MISSING}")
        pytest.skip(SB3_MISSING)
    torch.set_num_threads(1)
    import stable_baselines3

    return stable_baselines3


def _perturb(model, scale, seed=0):
    """Random weights large enough that the clip / tanh saturate on some observations."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.policy.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


CASES = [
    ("PPO", "CartPole-v1", {}),
    ("PPO", "Pendulum-v1", {"policy_kwargs": {"net_arch": {"pi": [32, 16], "vf": [8]}, "activation_fn": "relu"}}),
    ("PPO", "Pendulum-v1", {"use_sde": True, "policy_kwargs": {"squash_output": True}}),
    ("A2C", "Acrobot-v1", {}),
    ("A2C", "LunarLanderContinuous-v3", {}),
    ("SAC", "Pendulum-v1", {}),
    ("SAC", "LunarLanderContinuous-v3", {"use_sde": True, "policy_kwargs": {"net_arch": [32, 32]}}),
    ("TD3", "Pendulum-v1", {"policy_kwargs": {"net_arch": [40, 30]}}),
    ("DDPG", "MountainCarContinuous-v0", {"policy_kwargs": {"net_arch": [16]}}),
]


def _make(sb3, algo, env_id, kwargs):
    import torch.nn as nn

    kwargs = json.loads(json.dumps(kwargs))
    pk = kwargs.get("policy_kwargs", {})
    if "activation_fn" in pk:
        pk["activation_fn"] = {"relu": nn.ReLU, "tanh": nn.Tanh}[pk["activation_fn"]]
    extra = {"buffer_size": 100} if algo in ("SAC", "TD3", "DDPG") else {}
    return getattr(sb3, algo)("MlpPolicy", env_id, seed=0, device="cpu", **kwargs, **extra)


@pytest.mark.parametrize("algo,env_id,kwargs", CASES, ids=[f"{a}-{e}-{i}" for i, (a, e, _) in enumerate(CASES)])
def test_import_gives_the_same_actions_as_sb3(sb3, tmp_path, algo, env_id, kwargs):
    model = _make(sb3, algo, env_id, kwargs)
    _perturb(model, 0.3)
    model.save(tmp_path / "model.zip")
    loaded = getattr(sb3, algo).load(tmp_path / "model.zip", device="cpu")
    meta = import_sb3(tmp_path / "model.zip", env_id, tmp_path / "out")
    assert meta["imported_from"]["algorithm"] in (algo, "TD3/DDPG")
    expert = load_expert_file(tmp_path / "out" / env_id)
    rng = np.random.default_rng(1)
    obs = rng.normal(scale=2.0, size=(1000, expert.n_inputs))
    theirs, _ = loaded.predict(obs.astype(np.float32), deterministic=True)
    ours = expert.action(obs)
    if expert.is_discrete:
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
        assert len(np.unique(ours)) > 1  # not a constant policy
    else:
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=2e-5)  # float32 (torch) against float64
        assert ours.std(axis=0).min() > 0.01  # not a constant policy
        if expert.output_transform == "clip":  # the clip is exercised at both ends and inside
            low, high = expert.action_space.low, expert.action_space.high
            assert 0.0 < np.mean(ours == low) and 0.0 < np.mean(ours == high)
            assert np.mean((ours > low) & (ours < high)) > 0.0


def test_import_with_vecnormalize(sb3, tmp_path):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0), clip_obs=3.0)
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(50):
        venv.step(rng.uniform(-2, 2, size=(2, 1)))
    model = sb3.PPO("MlpPolicy", venv, seed=0, device="cpu")
    _perturb(model, 0.3)
    model.save(tmp_path / "m.zip")
    venv.save(tmp_path / "vn.pkl")
    loaded_vn = VecNormalize.load(tmp_path / "vn.pkl", make_vec_env("Pendulum-v1", n_envs=1))
    assert main([str(tmp_path / "m.zip"), "--env", "Pendulum-v1", "--out", str(tmp_path / "o"),
                 "--vecnormalize", str(tmp_path / "vn.pkl"), "--name", "pend"]) == 0
    expert = load_expert_file(tmp_path / "o" / "pend")
    np.testing.assert_array_equal(expert.obs_norm["mean"], loaded_vn.obs_rms.mean)
    np.testing.assert_array_equal(expert.obs_norm["var"], loaded_vn.obs_rms.var)
    assert expert.obs_norm["clip"] == 3.0
    raw = rng.normal(scale=3.0, size=(1000, 3)) + loaded_vn.obs_rms.mean
    theirs, _ = model.predict(loaded_vn.normalize_obs(raw).astype(np.float32), deterministic=True)
    np.testing.assert_allclose(expert.action(raw), theirs, atol=2e-5)


def test_import_refuses_other_env_with_real_zip(sb3, tmp_path):
    sb3.SAC("MlpPolicy", "Pendulum-v1", device="cpu", buffer_size=100).save(tmp_path / "s.zip")
    with pytest.raises(ValueError, match="trained on observations of shape"):
        import_sb3(tmp_path / "s.zip", "LunarLanderContinuous-v3", tmp_path / "out")
    sb3.DQN("MlpPolicy", "CartPole-v1", device="cpu", buffer_size=100).save(tmp_path / "d.zip")
    with pytest.raises(ValueError, match="DQNPolicy is not supported"):
        import_sb3(tmp_path / "d.zip", "CartPole-v1", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    buf = io.BytesIO((tmp_path / "s.zip").read_bytes())
    meta = import_sb3(buf, "Pendulum-v1", tmp_path / "out")
    assert meta["output_transform"]["name"] == "tanh_rescale"


@pytest.mark.parametrize("env_id,algo,steps", [("Pendulum-v1", "TD3", 200), ("CartPole-v1", "PPO", 256),
                                               ("Acrobot-v1", "PPO", 4096)])
def test_train_expert_end_to_end(sb3, tmp_path, env_id, algo, steps):
    """A tiny training run goes through the zip, import_sb3 and the SB3 check (Acrobot: VecNormalize)."""
    from smgrnn_ref.expert_training import train_expert

    meta = train_expert(env_id, algo=algo, total_timesteps=steps, out_dir=tmp_path / "out",
                        sb3_dir=tmp_path / "sb3", n_eval_episodes=1)
    assert meta["algorithm"] == f"{algo} (stable-baselines3)" and meta["timesteps"] >= steps
    assert meta["retrain_command"].endswith(f"--timesteps {steps}")
    check = meta["sb3_check"]
    assert check.get("fraction_differing", 0.0) == 0.0 and check.get("max_abs_diff", 0.0) < 1e-4
    expert = load_expert_file(tmp_path / "out" / env_id)
    assert (expert.obs_norm is not None) == (env_id == "Acrobot-v1")
    assert (tmp_path / "sb3" / f"{env_id}-{algo}.zip").is_file()


# --------------------------------------------------------------------------- the command line


def _pendulum_ppo_state(rng):
    """A PPO MlpPolicy actor for Pendulum-v1 in torch's layout (weights (fan_out, fan_in))."""
    sizes = [3, 8, 8]
    state = {}
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        state[f"mlp_extractor.policy_net.{2 * i}.weight"] = rng.normal(size=(b, a))
        state[f"mlp_extractor.policy_net.{2 * i}.bias"] = rng.normal(size=b)
    state["action_net.weight"] = rng.normal(size=(1, 8))
    state["action_net.bias"] = rng.normal(size=1)
    return state


@pytest.mark.slow
def test_expert_import_command_then_train_with_the_result(tmp_path, capsys, monkeypatch):
    """``smgrnn-ref expert import`` end to end, then ``train --expert`` with what it wrote. The
    zip is made by hand and torch's reader is replaced by the state dict (this test needs numpy
    only; the next one does the same with stable-baselines3 where it is installed)."""
    import smgrnn_ref.expert_import as ei
    from smgrnn_ref import cli

    state = _pendulum_ppo_state(np.random.default_rng(4))
    monkeypatch.setattr(ei, "_load_state_dict", lambda pth, source: state)
    box = {":type:": "<class 'gymnasium.spaces.box.Box'>", "_shape": [1], "low": "[-2.]", "high": "[2.]"}
    z = _fake_zip(tmp_path / "ppo.zip", obs_shape=(3,), action=box)
    out = tmp_path / "experts"
    assert cli.main(["expert", "import", str(z), "--env", "Pendulum-v1", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    expert = load_expert_file(out / "Pendulum-v1")
    obs = np.random.default_rng(5).normal(scale=2.0, size=(1000, 3))
    # PPO's deterministic action: the Gaussian mean after tanh hidden layers, clipped to the bounds
    h = np.tanh(obs @ state["mlp_extractor.policy_net.0.weight"].T + state["mlp_extractor.policy_net.0.bias"])
    h = np.tanh(h @ state["mlp_extractor.policy_net.2.weight"].T + state["mlp_extractor.policy_net.2.bias"])
    mean = h @ state["action_net.weight"].T + state["action_net.bias"]
    np.testing.assert_allclose(expert.action(obs), np.clip(mean, -2.0, 2.0), rtol=1e-12, atol=1e-12)
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"eval_every": 20, "eval_episodes": 1, "engine": "reference"}))
    run = tmp_path / "run"
    code = cli.main(["train", "--no-progress", "--env", "Pendulum-v1", "--expert", str(out), "--steps", "20",
                     "--config", str(conf), "--out", str(run)])
    assert code == 0, capsys.readouterr().err
    stored = json.loads((run / "config.json").read_text())
    assert stored["expert"] == str(out / "Pendulum-v1") and stored["loss"] == "mse"


@pytest.mark.slow
def test_expert_import_command_with_stable_baselines3(sb3, tmp_path, capsys):
    from smgrnn_ref import cli

    model = sb3.SAC("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", buffer_size=100,
                    policy_kwargs={"net_arch": [16, 16]})
    _perturb(model, 0.3)
    model.save(tmp_path / "sac.zip")
    out = tmp_path / "experts"
    assert cli.main(["expert", "import", str(tmp_path / "sac.zip"), "--env", "Pendulum-v1", "--out", str(out),
                     "--name", "mine"]) == 0
    assert "SAC" in capsys.readouterr().out
    expert = load_expert_file(out / "mine")
    obs = np.random.default_rng(1).normal(scale=2.0, size=(1000, 3))
    theirs, _ = model.predict(obs.astype(np.float32), deterministic=True)
    np.testing.assert_allclose(expert.action(obs), theirs, atol=2e-5)  # float32 (torch) against float64
    code = cli.main(["expert", "import", str(tmp_path / "sac.zip"), "--env", "LunarLanderContinuous-v3",
                     "--out", str(tmp_path / "other")])
    assert code == 2 and "trained on observations of shape" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    code = cli.main(["train", "--no-progress", "--env", "Pendulum-v1", "--expert", str(out / "mine"), "--steps", "10",
                     "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err

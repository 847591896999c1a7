"""Train the shipped expert policies with stable-baselines3 and export them as numpy arrays.

The experts are the teachers that SMGrNN students distil from (see
:mod:`smgrnn_ref.experts` and ``docs/experts.md``). They are trained once, offline, with
stable-baselines3 (SB3) using the hyperparameters published by rl-baselines3-zoo in
``hyperparams/<algo>.yml``: PPO for the discrete tasks and LunarLanderContinuous-v3, SAC for
Pendulum-v1 (:data:`DEFAULT_ALGO`). The trained model is saved as an SB3 ``.zip`` and
converted by :func:`smgrnn_ref.expert_import.import_sb3` (the path a user's own model
takes): only the actor is exported, together with the running observation statistics of
``VecNormalize`` when the zoo uses it, and the export is checked against SB3's own
deterministic actions.

Retrain and re-export one expert (single process, one torch thread)::

    pip install -e '.[experts]'
    python -m smgrnn_ref.expert_training --env CartPole-v1 --seed 0
    python -m smgrnn_ref.expert_training --env Pendulum-v1 --algo SAC --seed 0

This writes ``smgrnn_ref/data/experts/<EnvId>.npz`` and ``<EnvId>.json`` (use
``--out-dir`` to write elsewhere) and keeps the SB3 zip in ``runs/experts/`` (``--sb3-dir``).
torch and stable-baselines3 are imported lazily, inside the functions, so this module
imports without them.

Examples
--------
>>> cfg = zoo_hyperparams("CartPole-v1")
>>> cfg["n_envs"], cfg["n_timesteps"], cfg["learning_rate"]
(8, 100000, 'lin_0.001')
>>> zoo_hyperparams("Pendulum-v1")
{'n_timesteps': 20000, 'policy': 'MlpPolicy', 'learning_rate': 0.001}
>>> zoo_hyperparams("Pong-v5")
Traceback (most recent call last):
...
ValueError: no PPO hyperparameters for 'Pong-v5'; known env ids: CartPole-v1, Acrobot-v1, LunarLander-v3, LunarLanderContinuous-v3, Pendulum-v1, BipedalWalker-v3
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from smgrnn_ref.experts import EXPERT_DIR, evaluate_expert, load_expert_file

__all__ = ["ZOO_HYPERPARAMS", "DEFAULT_ALGO", "SB3_DEFAULTS", "zoo_hyperparams", "train_expert", "export_trained", "main"]

ZOO_SOURCE = (
    "rl-baselines3-zoo hyperparams/{algo}.yml (DLR-RM/rl-baselines3-zoo; the continuous "
    "entries as of commit 22e3ff2, 2026-04)"
)

# Copied from rl-baselines3-zoo hyperparams/<algo>.yml. Values not listed use the
# stable-baselines3 defaults of the algorithm (see SB3_DEFAULTS). ``normalize: true`` in the
# zoo means VecNormalize(norm_obs=True, norm_reward=True, gamma=<the algorithm's gamma>) with
# the VecNormalize defaults clip_obs=10, epsilon=1e-8. The zoo writes policy_kwargs as Python
# source ("dict(net_arch=[400, 300])"); we write the same value as data, naming the
# activation by its lower-case name.
ZOO_HYPERPARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "PPO": {
        "CartPole-v1": {
            "n_envs": 8,
            "n_timesteps": 100_000,
            "policy": "MlpPolicy",
            "n_steps": 32,
            "batch_size": 256,
            "gae_lambda": 0.8,
            "gamma": 0.98,
            "n_epochs": 20,
            "ent_coef": 0.0,
            "learning_rate": "lin_0.001",
            "clip_range": "lin_0.2",
        },
        "Acrobot-v1": {
            "normalize": True,
            "n_envs": 16,
            "n_timesteps": 1_000_000,
            "policy": "MlpPolicy",
            "n_steps": 256,
            "gae_lambda": 0.94,
            "gamma": 0.99,
            "n_epochs": 4,
            "ent_coef": 0.0,
        },
        "LunarLander-v3": {
            "n_envs": 16,
            "n_timesteps": 1_000_000,
            "policy": "MlpPolicy",
            "n_steps": 1024,
            "batch_size": 64,
            "gae_lambda": 0.98,
            "gamma": 0.999,
            "n_epochs": 4,
            "ent_coef": 0.01,
        },
        "LunarLanderContinuous-v3": {
            "n_envs": 16,
            "n_timesteps": 1_000_000,
            "policy": "MlpPolicy",
            "n_steps": 1024,
            "batch_size": 64,
            "gae_lambda": 0.98,
            "gamma": 0.999,
            "n_epochs": 4,
            "ent_coef": 0.01,
        },
        "Pendulum-v1": {
            "n_envs": 4,
            "n_timesteps": 100_000,
            "policy": "MlpPolicy",
            "n_steps": 1024,
            "gae_lambda": 0.95,
            "gamma": 0.9,
            "n_epochs": 10,
            "ent_coef": 0.0,
            "learning_rate": 1e-3,
            "clip_range": 0.2,
            "use_sde": True,
            "sde_sample_freq": 4,
        },
        "BipedalWalker-v3": {
            "normalize": True,
            "n_envs": 32,
            "n_timesteps": 5_000_000,
            "policy": "MlpPolicy",
            "n_steps": 2048,
            "batch_size": 64,
            "gae_lambda": 0.95,
            "gamma": 0.999,
            "n_epochs": 10,
            "ent_coef": 0.0,
            "learning_rate": 3e-4,
            "clip_range": 0.18,
        },
    },
    "SAC": {
        "Pendulum-v1": {
            "n_timesteps": 20_000,
            "policy": "MlpPolicy",
            "learning_rate": 1e-3,
        },
        "LunarLanderContinuous-v3": {
            "n_timesteps": 500_000,
            "policy": "MlpPolicy",
            "batch_size": 256,
            "learning_rate": "lin_7.3e-4",
            "buffer_size": 1_000_000,
            "ent_coef": "auto",
            "gamma": 0.99,
            "tau": 0.01,
            "train_freq": 1,
            "gradient_steps": 1,
            "learning_starts": 10_000,
            "policy_kwargs": {"net_arch": [400, 300]},
        },
    },
    "TD3": {
        "Pendulum-v1": {
            "n_timesteps": 20_000,
            "policy": "MlpPolicy",
            "gamma": 0.98,
            "buffer_size": 200_000,
            "learning_starts": 10_000,
            "noise_type": "normal",
            "noise_std": 0.1,
            "gradient_steps": 1,
            "train_freq": 1,
            "learning_rate": 1e-3,
            "policy_kwargs": {"net_arch": [400, 300]},
        },
    },
}

DEFAULT_ALGO: dict[str, str] = {
    "CartPole-v1": "PPO",
    "Acrobot-v1": "PPO",
    "LunarLander-v3": "PPO",
    # The zoo's off-policy entry is the reliable one on Pendulum (its PPO entry needs gSDE
    # and is known to be seed-sensitive); SAC trains in 20k steps.
    "Pendulum-v1": "SAC",
    "LunarLanderContinuous-v3": "PPO",
    "BipedalWalker-v3": "PPO",
}
"""The algorithm used for each shipped expert (``--algo`` overrides it)."""

SB3_DEFAULTS: dict[str, str] = {
    "PPO": (
        "batch_size 64, clip_range 0.2, learning_rate 3e-4, vf_coef 0.5, max_grad_norm 0.5, "
        "MlpPolicy net_arch pi=[64,64] vf=[64,64], activation tanh, ortho_init"
    ),
    "SAC": (
        "buffer_size 1e6, learning_starts 100, batch_size 256, tau 0.005, gamma 0.99, "
        "train_freq 1, gradient_steps 1, ent_coef auto, MlpPolicy net_arch [256,256], relu"
    ),
    "TD3": (
        "buffer_size 1e6, learning_starts 100, batch_size 256, tau 0.005, gamma 0.99, "
        "policy_delay 2, target_policy_noise 0.2, MlpPolicy net_arch [400,300], relu"
    ),
}
"""The stable-baselines3 defaults in force for every value the zoo does not list."""

# VecNormalize defaults (stable-baselines3), used when ``normalize`` is true.
VECNORM_CLIP_OBS = 10.0
VECNORM_EPSILON = 1e-8


def zoo_hyperparams(env_id: str, algo: str | None = None) -> dict[str, Any]:
    """A copy of the zoo's hyperparameters for ``env_id`` and ``algo``.

    Parameters
    ----------
    env_id : str
    algo : {"PPO", "SAC", "TD3"}, optional
        Default: :data:`DEFAULT_ALGO` of ``env_id``.

    Raises
    ------
    ValueError
        For an algorithm or env id without an entry.
    """
    algo = DEFAULT_ALGO.get(env_id, "PPO") if algo is None else algo
    if algo not in ZOO_HYPERPARAMS:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(ZOO_HYPERPARAMS)}")
    table = ZOO_HYPERPARAMS[algo]
    if env_id not in table:
        raise ValueError(
            f"no {algo} hyperparameters for {env_id!r}; known env ids: {', '.join(table)}"
        )
    return copy.deepcopy(table[env_id])


def _schedule(value):
    """Zoo notation: ``"lin_X"`` is a linear decay from X to 0 over training."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])

        def linear(progress_remaining: float) -> float:
            return progress_remaining * start

        return linear
    return float(value)


def _library_versions() -> dict[str, str]:
    import gymnasium
    import stable_baselines3
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gymnasium.__version__,
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
    }


def _algo_kwargs(algo: str, hp: dict[str, Any], n_actions: int | None) -> dict[str, Any]:
    """Turn the zoo's notation into SB3 constructor arguments (schedules, noise, activations)."""
    import torch.nn as nn
    from stable_baselines3.common.noise import NormalActionNoise

    kwargs = {}
    for key, value in hp.items():
        if key in ("learning_rate", "clip_range"):
            kwargs[key] = _schedule(value)
        elif key == "policy_kwargs":
            pk = dict(value)
            if "activation_fn" in pk:
                pk["activation_fn"] = {"relu": nn.ReLU, "tanh": nn.Tanh}[pk["activation_fn"]]
            kwargs[key] = pk
        elif key == "noise_type":
            if value != "normal" or n_actions is None:
                raise ValueError(f"unsupported noise_type {value!r}")
            sigma = float(hp["noise_std"]) * np.ones(n_actions)
            kwargs["action_noise"] = NormalActionNoise(mean=np.zeros(n_actions), sigma=sigma)
        elif key != "noise_std":
            kwargs[key] = value
    return kwargs


def _build_model(env_id: str, algo: str, seed: int, verbose: int):
    """The vectorised env (VecNormalize-wrapped when the zoo says so) and the SB3 model."""
    import stable_baselines3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    hp = zoo_hyperparams(env_id, algo)
    hp.pop("n_timesteps")
    n_envs = int(hp.pop("n_envs", 1))
    normalize = bool(hp.pop("normalize", False))
    policy = hp.pop("policy")
    venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)
    if normalize:
        venv = VecNormalize(
            venv,
            norm_obs=True,
            norm_reward=True,
            gamma=hp.get("gamma", 0.99),
            clip_obs=VECNORM_CLIP_OBS,
            epsilon=VECNORM_EPSILON,
        )
    shape = venv.action_space.shape
    kwargs = _algo_kwargs(algo, hp, int(shape[0]) if shape else None)
    cls = getattr(stable_baselines3, algo)
    model = cls(policy, venv, seed=seed, device="cpu", verbose=verbose, **kwargs)
    return venv, (venv if normalize else None), model


def _check_against_sb3(model, expert, n_obs: int = 1000) -> float:
    """Largest |SB3 deterministic action - numpy expert action| on random observations.

    Observations are drawn around the expert's normalisation statistics (or N(0, 1)); for a
    discrete expert the value is the fraction of differing actions.
    """
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(n_obs, expert.n_inputs))
    norm = expert.obs_norm
    if norm is not None:
        raw = raw * np.sqrt(norm["var"]) + norm["mean"]
    sb3_actions, _ = model.predict(expert.normalize(raw).astype(np.float32), deterministic=True)
    ours = expert.action(raw)
    if expert.is_discrete:
        return float(np.mean(np.asarray(sb3_actions) != ours))
    return float(np.max(np.abs(np.asarray(sb3_actions, dtype=np.float64) - ours)))


def _training_metadata(env_id, algo, seed, timesteps, zoo_timesteps, model, wall) -> dict[str, Any]:
    hp_record = zoo_hyperparams(env_id, algo)
    hp_record.pop("n_timesteps")
    return {
        "env_id": env_id,
        "algorithm": f"{algo} (stable-baselines3)",
        "hyperparameters": hp_record,
        "hyperparameters_source": ZOO_SOURCE.format(algo=algo.lower()),
        "sb3_defaults_for_unlisted": SB3_DEFAULTS[algo],
        "vec_normalize": (
            {
                "norm_obs": True,
                "norm_reward": True,
                "gamma": hp_record.get("gamma", 0.99),
                "clip_obs": VECNORM_CLIP_OBS,
                "epsilon": VECNORM_EPSILON,
            }
            if hp_record.get("normalize")
            else None
        ),
        "zoo_timesteps": zoo_timesteps,
        "timesteps": int(model.num_timesteps),
        "seed": seed,
        "vec_env": "DummyVecEnv",
        "torch_threads": 1,
        "train_wall_time_s": round(wall, 1),
        "machine": f"{platform.machine()}, {platform.system()}; single process, 1 torch thread",
        "library_versions": _library_versions(),
        "retrain_command": (
            f"python -m smgrnn_ref.expert_training --env {env_id} --algo {algo} --seed {seed}"
            + (f" --timesteps {timesteps}" if timesteps != zoo_timesteps else "")
        ),
    }


def train_expert(
    env_id: str,
    seed: int = 0,
    total_timesteps: int | None = None,
    out_dir=None,
    n_eval_episodes: int = 20,
    eval_seed: int = 0,
    verbose: int = 0,
    algo: str | None = None,
    sb3_dir=None,
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` with the zoo's hyperparameters, export it, evaluate it.

    The trained model is saved as an SB3 ``.zip`` (in ``sb3_dir``) and converted by
    :func:`smgrnn_ref.expert_import.import_sb3`, the same path a user's own model takes;
    the export is then checked against the live SB3 model's deterministic actions.

    Parameters
    ----------
    env_id : str
        A key of :data:`ZOO_HYPERPARAMS` [algo].
    seed : int
        Seeds torch, numpy, the vectorised environments and the algorithm.
    total_timesteps : int, optional
        Overrides the zoo's ``n_timesteps`` (recorded in the metadata).
    out_dir : path, optional
        Where to write ``<env_id>.npz``/``.json`` (default: the package's expert folder).
    n_eval_episodes, eval_seed : int
        Greedy evaluation of the exported (numpy) expert, episode i seeded ``eval_seed + i``.
    algo : {"PPO", "SAC", "TD3"}, optional
        Default :data:`DEFAULT_ALGO` [env_id].
    sb3_dir : path, optional
        Where the SB3 model (``<env_id>-<algo>.zip``) is kept; default ``runs/experts``.

    Returns
    -------
    dict
        The metadata written next to the arrays.
    """
    import torch
    from stable_baselines3.common.utils import set_random_seed

    torch.set_num_threads(1)
    algo = DEFAULT_ALGO.get(env_id, "PPO") if algo is None else algo
    zoo_timesteps = int(zoo_hyperparams(env_id, algo)["n_timesteps"])
    timesteps = int(total_timesteps) if total_timesteps is not None else zoo_timesteps
    set_random_seed(seed)
    venv, vec_normalize, model = _build_model(env_id, algo, seed, verbose)
    t0 = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    wall = time.perf_counter() - t0
    venv.close()

    sb3_dir = Path(sb3_dir) if sb3_dir is not None else Path("runs") / "experts"
    sb3_dir.mkdir(parents=True, exist_ok=True)
    zip_path = sb3_dir / f"{env_id}-{algo}.zip"
    model.save(zip_path)
    obs_norm = None
    if vec_normalize is not None:
        vec_normalize.save(str(zip_path.with_suffix(".vecnormalize.pkl")))  # SB3's own format
        rms = vec_normalize.obs_rms
        obs_norm = {
            "mean": [float(v) for v in rms.mean],
            "var": [float(v) for v in rms.var],
            "epsilon": float(vec_normalize.epsilon),
            "clip": float(vec_normalize.clip_obs),
        }
    metadata = _training_metadata(env_id, algo, seed, timesteps, zoo_timesteps, model, wall)
    # Everything export needs, as JSON, so that an export can be redone from the saved zip.
    record = {"metadata": metadata, "obs_norm": obs_norm, "algo": algo, "env_id": env_id}
    zip_path.with_suffix(".train.json").write_text(json.dumps(record, indent=2) + "\n")
    out = Path(out_dir) if out_dir is not None else EXPERT_DIR
    return export_trained(zip_path, out, n_eval_episodes=n_eval_episodes, eval_seed=eval_seed)


def export_trained(zip_path, out_dir, n_eval_episodes: int = 20, eval_seed: int = 0) -> dict[str, Any]:
    """Convert a zip saved by :func:`train_expert` (with its ``.train.json``), check, evaluate.

    The conversion is :func:`smgrnn_ref.expert_import.import_sb3`, the same path a user's own
    model takes; the result is checked against SB3's own deterministic actions (our zip is
    trusted, so SB3's loader may unpickle it here), then evaluated greedily.
    """
    import stable_baselines3

    from smgrnn_ref.expert_import import import_sb3

    zip_path = Path(zip_path)
    record = json.loads(zip_path.with_suffix(".train.json").read_text())
    env_id, algo, metadata = record["env_id"], record["algo"], record["metadata"]
    obs_norm = record["obs_norm"]
    out = Path(out_dir)
    import_sb3(zip_path, env_id, out, obs_norm=obs_norm, metadata=metadata)
    expert = load_expert_file(out / env_id)
    model = getattr(stable_baselines3, algo).load(zip_path, device="cpu")
    metadata["sb3_check"] = _sb3_check_record(model, expert)
    mean, std = evaluate_expert(expert, n_episodes=n_eval_episodes, seed=eval_seed)
    metadata["evaluation"] = {
        "policy": "greedy (deterministic action), numpy forward pass of the exported arrays",
        "n_episodes": n_eval_episodes,
        "seeds": f"episode i reset with seed {eval_seed} + i",
        "mean_return": round(mean, 3),
        "std_return": round(std, 3),
    }
    # Re-export so the check and the evaluation land in the metadata (same arrays, same digest).
    return import_sb3(zip_path, env_id, out, obs_norm=obs_norm, metadata=metadata)


def _sb3_check_record(model, expert) -> dict[str, Any]:
    err = _check_against_sb3(model, expert)
    tol = 0.0 if expert.is_discrete else 1e-4
    if err > tol:
        raise RuntimeError(f"exported policy disagrees with SB3's predict (max |diff| = {err})")
    return {
        "observations": "1000 random, N(obs_mean, obs_var) or N(0, 1)",
        "compared_to": "model.predict(normalised obs, deterministic=True)",
        ("fraction_differing" if expert.is_discrete else "max_abs_diff"): err,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m smgrnn_ref.expert_training --env ENV [--algo A] --seed N``."""
    p = argparse.ArgumentParser(
        prog="python -m smgrnn_ref.expert_training",
        description="Train an expert with rl-baselines3-zoo hyperparameters and export it as "
        "numpy arrays (needs the 'experts' extra: torch, stable-baselines3).",
    )
    p.add_argument("--env", required=True, choices=sorted(DEFAULT_ALGO))
    p.add_argument("--algo", default=None, choices=sorted(ZOO_HYPERPARAMS),
                   help="default: the shipped expert's algorithm (DEFAULT_ALGO)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timesteps", type=int, default=None, help="override the zoo's n_timesteps")
    p.add_argument("--out-dir", default=None, help=f"default: {EXPERT_DIR}")
    p.add_argument("--sb3-dir", default=None, help="where the SB3 .zip is kept (default runs/experts)")
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--eval-seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    args = p.parse_args(argv)
    meta = train_expert(
        args.env,
        seed=args.seed,
        total_timesteps=args.timesteps,
        out_dir=args.out_dir,
        n_eval_episodes=args.eval_episodes,
        eval_seed=args.eval_seed,
        verbose=args.verbose,
        algo=args.algo,
        sb3_dir=args.sb3_dir,
    )
    keys = ("env_id", "algorithm", "timesteps", "seed", "train_wall_time_s", "sb3_check",
            "evaluation", "npz_sha256")
    json.dump({k: meta[k] for k in keys}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Train the shipped expert policies with PPO and export them as numpy arrays.

The experts are the teachers that SMGrNN students distil from (see
:mod:`smgrnn_ref.experts` and ``docs/experts.md``). They are trained once, offline, with
PPO from stable-baselines3 using the hyperparameters published by rl-baselines3-zoo in
``hyperparams/ppo.yml`` (policy ``MlpPolicy``: separate 64x64 tanh actor and critic),
and only the actor (``mlp_extractor.policy_net`` + ``action_net``) is exported, together
with the running observation statistics of ``VecNormalize`` when the zoo uses it.

Retrain and re-export one expert (single process, one torch thread)::

    pip install -e '.[experts]'
    python -m smgrnn_ref.expert_training --env CartPole-v1 --seed 0

This writes ``smgrnn_ref/data/experts/<EnvId>.npz`` and ``<EnvId>.json`` (use
``--out-dir`` to write elsewhere).  torch and stable-baselines3 are imported lazily,
inside the functions, so this module imports without them.

Examples
--------
>>> cfg = zoo_hyperparams("CartPole-v1")
>>> cfg["n_envs"], cfg["n_timesteps"], cfg["learning_rate"]
(8, 100000, 'lin_0.001')
>>> zoo_hyperparams("Pong-v5")
Traceback (most recent call last):
...
ValueError: no PPO hyperparameters for 'Pong-v5'; known env ids: CartPole-v1, Acrobot-v1, LunarLander-v3
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

from smgrnn_ref.experts import EXPERT_DIR, evaluate_expert, export_expert, load_expert_file

__all__ = ["ZOO_PPO_HYPERPARAMS", "zoo_hyperparams", "train_expert", "export_policy", "main"]

ZOO_SOURCE = (
    "rl-baselines3-zoo hyperparams/ppo.yml (DLR-RM/rl-baselines3-zoo); "
    "LunarLander-v3 uses the zoo's LunarLander-v2 entry"
)

# Copied from rl-baselines3-zoo hyperparams/ppo.yml. Values not listed use the
# stable-baselines3 PPO defaults (batch_size 64, clip_range 0.2, learning_rate 3e-4,
# vf_coef 0.5, max_grad_norm 0.5, MlpPolicy net_arch pi=[64, 64] vf=[64, 64], tanh).
# ``normalize: true`` in the zoo means VecNormalize(norm_obs=True, norm_reward=True,
# gamma=<the algorithm's gamma>) with the VecNormalize defaults clip_obs=10, epsilon=1e-8.
ZOO_PPO_HYPERPARAMS: dict[str, dict[str, Any]] = {
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
}

# VecNormalize defaults (stable-baselines3), used when ``normalize`` is true.
VECNORM_CLIP_OBS = 10.0
VECNORM_EPSILON = 1e-8


def zoo_hyperparams(env_id: str) -> dict[str, Any]:
    """A copy of the zoo's PPO hyperparameters for ``env_id``.

    Raises
    ------
    ValueError
        For an env id without an entry.
    """
    if env_id not in ZOO_PPO_HYPERPARAMS:
        raise ValueError(
            f"no PPO hyperparameters for {env_id!r}; known env ids: "
            f"{', '.join(ZOO_PPO_HYPERPARAMS)}"
        )
    return copy.deepcopy(ZOO_PPO_HYPERPARAMS[env_id])


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


def policy_layers(model) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Extract the actor of an SB3 ``ActorCriticPolicy`` as ``[(W, b), ...]`` + activation.

    ``W`` is returned as ``(fan_in, fan_out)`` (the transpose of torch's ``Linear.weight``).
    """
    import torch.nn as nn

    policy = model.policy
    if not isinstance(policy.features_extractor, nn.Flatten) and type(
        policy.features_extractor
    ).__name__ != "FlattenExtractor":
        raise ValueError("only FlattenExtractor policies can be exported")
    modules = list(policy.mlp_extractor.policy_net) + [policy.action_net]
    layers, act_name = [], None
    for m in modules:
        if isinstance(m, nn.Linear):
            W = m.weight.detach().cpu().numpy().astype(np.float64).T.copy()
            b = m.bias.detach().cpu().numpy().astype(np.float64).copy()
            layers.append((W, b))
        elif isinstance(m, nn.Tanh):
            name = "tanh"
        elif isinstance(m, nn.ReLU):
            name = "relu"
        else:
            raise ValueError(f"cannot export module {m!r}")
        if not isinstance(m, nn.Linear):
            if act_name not in (None, name):
                raise ValueError("mixed activations cannot be exported")
            act_name = name
    return layers, act_name or "identity"


def _torch_logits(model, obs_norm_batch: np.ndarray) -> np.ndarray:
    """Logits computed by SB3 itself on already-normalised observations (for checking)."""
    import torch

    with torch.no_grad():
        obs_t = torch.as_tensor(obs_norm_batch, dtype=torch.float32)
        dist = model.policy.get_distribution(obs_t)
        return dist.distribution.logits.cpu().numpy().astype(np.float64)


def export_policy(model, vec_normalize, path_stem, metadata: dict[str, Any]) -> dict[str, Any]:
    """Export the actor of ``model`` (+ ``vec_normalize`` obs stats) with :func:`export_expert`.

    Also checks that the exported numpy forward pass reproduces SB3's own action
    logits (up to normalised log-softmax; float32 vs float64) on random observations.
    """
    layers, activation = policy_layers(model)
    obs_norm = None
    if vec_normalize is not None and vec_normalize.norm_obs:
        rms = vec_normalize.obs_rms
        obs_norm = {
            "mean": np.asarray(rms.mean, dtype=np.float64),
            "var": np.asarray(rms.var, dtype=np.float64),
            "epsilon": float(vec_normalize.epsilon),
            "clip": float(vec_normalize.clip_obs),
        }
    meta = export_expert(path_stem, layers, activation, obs_norm, metadata)
    expert = load_expert_file(path_stem)
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(256, expert.n_inputs))
    if obs_norm is not None:
        raw = raw * np.sqrt(obs_norm["var"]) + obs_norm["mean"]
    ours = expert.logits(raw)
    theirs = _torch_logits(model, expert.normalize(raw))
    # SB3's Categorical stores normalised logits (log-probabilities): compare those.
    ours_lp = ours - np.logaddexp.reduce(ours, axis=1, keepdims=True)
    err = float(np.max(np.abs(ours_lp - theirs)))
    if err > 1e-4:
        raise RuntimeError(f"exported policy disagrees with SB3 (max |diff| = {err})")
    return meta


def train_expert(
    env_id: str,
    seed: int = 0,
    total_timesteps: int | None = None,
    out_dir=None,
    n_eval_episodes: int = 20,
    eval_seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train PPO on ``env_id`` with the zoo's hyperparameters, export it, evaluate it.

    Parameters
    ----------
    env_id : str
        A key of :data:`ZOO_PPO_HYPERPARAMS`.
    seed : int
        Seeds torch, numpy, the vectorised environments and PPO.
    total_timesteps : int, optional
        Overrides the zoo's ``n_timesteps`` (recorded in the metadata).
    out_dir : path, optional
        Where to write ``<env_id>.npz``/``.json`` (default: the package's expert folder).
    n_eval_episodes, eval_seed : int
        Greedy evaluation of the exported (numpy) expert, episode i seeded ``eval_seed + i``.

    Returns
    -------
    dict
        The metadata written next to the arrays.
    """
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    hp = zoo_hyperparams(env_id)
    zoo_timesteps = int(hp.pop("n_timesteps"))
    timesteps = int(total_timesteps) if total_timesteps is not None else zoo_timesteps
    n_envs = int(hp.pop("n_envs"))
    normalize = bool(hp.pop("normalize", False))
    policy = hp.pop("policy")
    ppo_kwargs = {k: (_schedule(v) if k in ("learning_rate", "clip_range") else v) for k, v in hp.items()}

    venv, vec_normalize = _training_envs(env_id, n_envs, seed, hp["gamma"] if normalize else None)
    model = PPO(policy, venv, seed=seed, device="cpu", verbose=verbose, **ppo_kwargs)
    t0 = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    wall = time.perf_counter() - t0
    venv.close()

    stem = (Path(out_dir) if out_dir is not None else EXPERT_DIR) / env_id
    metadata = _training_metadata(env_id, seed, hp["gamma"] if normalize else None, zoo_timesteps, timesteps,
                                  int(model.num_timesteps), wall)
    export_policy(model, vec_normalize, stem, metadata)
    mean, std = evaluate_expert(load_expert_file(stem), n_episodes=n_eval_episodes, seed=eval_seed)
    metadata["evaluation"] = {
        "policy": "greedy (argmax of logits), numpy forward pass of the exported arrays",
        "n_episodes": n_eval_episodes,
        "seeds": f"episode i reset with seed {eval_seed} + i",
        "mean_return": round(mean, 3),
        "std_return": round(std, 3),
    }
    # Re-export so the evaluation lands in the metadata (same arrays, same digest).
    return export_policy(model, vec_normalize, stem, metadata)


def _training_envs(env_id: str, n_envs: int, seed: int, norm_gamma: float | None):
    """The seeded vectorised training environments, wrapped in ``VecNormalize`` (observations
    and rewards, discount ``norm_gamma``) unless ``norm_gamma`` is None; and that wrapper."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.utils import set_random_seed
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    set_random_seed(seed)
    venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)
    if norm_gamma is None:
        return venv, None
    venv = VecNormalize(venv, norm_obs=True, norm_reward=True, gamma=norm_gamma, clip_obs=VECNORM_CLIP_OBS,
                        epsilon=VECNORM_EPSILON)
    return venv, venv


def _training_metadata(env_id: str, seed: int, norm_gamma: float | None, zoo_timesteps: int, timesteps: int,
                       trained_timesteps: int, wall: float) -> dict[str, Any]:
    """The metadata of a trained expert (without its evaluation): what was trained, how, where."""
    hp_record = dict(zoo_hyperparams(env_id))
    hp_record.pop("n_timesteps")
    return {
        "env_id": env_id,
        "algorithm": "PPO (stable-baselines3)",
        "hyperparameters": hp_record,
        "hyperparameters_source": ZOO_SOURCE,
        "sb3_defaults_for_unlisted": (
            "batch_size 64, clip_range 0.2, learning_rate 3e-4, vf_coef 0.5, "
            "max_grad_norm 0.5, net_arch pi=[64,64] vf=[64,64], activation tanh, ortho_init"
        ),
        "vec_normalize": (
            {
                "norm_obs": True,
                "norm_reward": True,
                "gamma": norm_gamma,
                "clip_obs": VECNORM_CLIP_OBS,
                "epsilon": VECNORM_EPSILON,
            }
            if norm_gamma is not None
            else None
        ),
        "zoo_timesteps": zoo_timesteps,
        "timesteps": trained_timesteps,
        "seed": seed,
        "vec_env": "DummyVecEnv",
        "torch_threads": 1,
        "train_wall_time_s": round(wall, 1),
        "machine": f"{platform.machine()}, {platform.system()}; single process, 1 torch thread",
        "library_versions": _library_versions(),
        "exported_part": "actor only: mlp_extractor.policy_net + action_net",
        "retrain_command": f"python -m smgrnn_ref.expert_training --env {env_id} --seed {seed}"
        + (f" --timesteps {timesteps}" if timesteps != zoo_timesteps else ""),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m smgrnn_ref.expert_training --env ENV --seed N``."""
    p = argparse.ArgumentParser(
        prog="python -m smgrnn_ref.expert_training",
        description="Train a PPO expert with rl-baselines3-zoo hyperparameters and export "
        "it as numpy arrays (needs the 'experts' extra: torch, stable-baselines3).",
    )
    p.add_argument("--env", required=True, choices=sorted(ZOO_PPO_HYPERPARAMS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timesteps", type=int, default=None, help="override the zoo's n_timesteps")
    p.add_argument("--out-dir", default=None, help=f"default: {EXPERT_DIR}")
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
    )
    summary = {k: meta[k] for k in ("env_id", "timesteps", "seed", "train_wall_time_s", "evaluation", "npz_sha256")}
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

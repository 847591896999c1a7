"""The environments a student can be distilled on, and their per-environment defaults.

SMGrNN is evaluated by policy distillation on control benchmarks with discrete actions
(Jia & Zhou, arXiv 2512.12713: CartPole-v1, Acrobot-v1, LunarLander-v3). A run needs an
expert for the environment (:mod:`smgrnn_ref.experts`) and a discrete action space, because
the student's outputs are action logits. This module checks both **before** any work starts,
so a bad ``--env`` fails with a clear message and touches nothing.

The numbers in :data:`ENV_DEFAULTS` are **our choices** (the paper gives neither the number
of training steps nor the SPM thresholds), set by our calibration (docs/results.md).

Examples
--------
>>> check_env("CartPole-v1")
(4, 2)
>>> check_env("Pendulum-v1")
Traceback (most recent call last):
...
ValueError: Pendulum-v1 has a continuous action space (Box); distillation supports discrete actions only (supported env ids: CartPole-v1, Acrobot-v1, LunarLander-v3)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .experts import SUPPORTED_ENVS, load_expert

#: Per-environment defaults of a run: ``TrainConfig`` fields (nested configs as partial dicts)
#: applied under the user's config file and command-line options by
#: :func:`smgrnn_ref.distill.config_for_env`. Only what truly differs per environment lives here.
#: **Our choices**, calibrated (docs/results.md):
#:
#: * ``steps`` = training steps (environment steps = optimizer steps = SPM steps). CartPole-v1:
#:   5,000 (the calibration length). Acrobot-v1 and LunarLander-v3: 3,000; the ``full``
#:   student's greedy return plateaus by step 1,500-2,500 on both (the expert's ``beta`` mixing
#:   ends at step 2,000), and a longer run makes the ``growth-only`` ablation, whose graph grows
#:   exponentially without pruning, unaffordable.
#: * CartPole-v1 only: Adam ``eps = 1e-4`` and ``lambda_edge = 0.3``. A linear policy nearly
#:   solves CartPole, its distillation loss becomes tiny, and with ``eps = 1e-8`` Adam turns the
#:   tiny, consistent gradients of the initial edges into full-size steps that drift for
#:   thousands of steps, so edge-driven growth starts late or never (docs/results.md, "Why
#:   CartPole grows late"). With these two values ``full`` keeps tens of hidden nodes on 19 of
#:   seeds 0-19 (seed 15 ends with 7); on Acrobot-v1 the same values did worse than the global
#:   defaults (-75.1 against -72.2 over ten seeds), so the other environments keep those.
ENV_DEFAULTS: dict[str, dict] = {
    "CartPole-v1": {"steps": 5000, "adam": {"eps": 1e-4}, "spm": {"lambda_edge": 0.3}},
    "Acrobot-v1": {"steps": 3000, "spm": {}},
    "LunarLander-v3": {"steps": 3000, "spm": {}},
}

#: Default training steps per environment (from :data:`ENV_DEFAULTS`).
DEFAULT_STEPS: dict[str, int] = {env: d["steps"] for env, d in ENV_DEFAULTS.items()}


def _supported() -> str:
    return ", ".join(SUPPORTED_ENVS)


def check_env(env_id: str) -> tuple[int, int]:
    """Check that ``env_id`` can be distilled; return ``(n_inputs, n_actions)``.

    Parameters
    ----------
    env_id : str
        A gymnasium environment id.

    Returns
    -------
    (n_inputs, n_actions) : tuple of int
        Observation size and number of discrete actions.

    Raises
    ------
    ValueError
        For an id gymnasium does not know or for which no expert is shipped (the message
        lists the supported ids), for a continuous-action environment, or when the shipped
        expert does not fit the environment's spaces.
    """
    if not isinstance(env_id, str):
        raise ValueError(f"env id must be a string, got {env_id!r}")
    if env_id not in SUPPORTED_ENVS:
        # a known gymnasium env with continuous actions deserves the more precise message
        try:
            gym.spec(env_id)
            known = True
        except gym.error.Error:
            known = False
        if known:
            try:
                env = gym.make(env_id)
                space = env.action_space
                env.close()
            except Exception:  # a registered env whose dependencies are missing
                space = None
            if space is not None and not isinstance(space, gym.spaces.Discrete):
                raise ValueError(
                    f"{env_id} has a continuous action space ({type(space).__name__}); "
                    f"distillation supports discrete actions only (supported env ids: {_supported()})"
                )
        raise ValueError(f"unknown env id {env_id!r}: no expert is shipped for it; supported env ids: {_supported()}")
    env = make_env(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(act_space, gym.spaces.Discrete):
        raise ValueError(f"{env_id} has a continuous action space; distillation supports discrete actions only")
    if len(obs_space.shape) != 1:
        raise ValueError(f"{env_id}: observations must be flat vectors, got shape {obs_space.shape}")
    expert = load_expert(env_id)
    n_inputs, n_actions = int(obs_space.shape[0]), int(act_space.n)
    if (expert.n_inputs, expert.n_actions) != (n_inputs, n_actions):
        raise ValueError(
            f"the shipped expert for {env_id} maps {expert.n_inputs} inputs to {expert.n_actions} actions, "
            f"the environment has {n_inputs} and {n_actions}"
        )
    return n_inputs, n_actions


def default_steps(env_id: str) -> int:
    """Default number of training steps for ``env_id`` (:data:`DEFAULT_STEPS`).

    >>> default_steps("CartPole-v1") == DEFAULT_STEPS["CartPole-v1"]
    True
    """
    if env_id not in DEFAULT_STEPS:
        raise ValueError(f"unknown env id {env_id!r}; supported env ids: {_supported()}")
    return DEFAULT_STEPS[env_id]


def make_env(env_id: str) -> gym.Env:
    """A fresh gymnasium environment (with gymnasium's default time limit)."""
    return gym.make(env_id)


def as_obs(obs) -> np.ndarray:
    """An observation as a float64 vector: the student and the dataset use float64 throughout.

    >>> as_obs(np.array([1, 2], dtype=np.float32)).dtype
    dtype('float64')
    """
    return np.asarray(obs, dtype=np.float64).reshape(-1)


__all__ = ["ENV_DEFAULTS", "DEFAULT_STEPS", "check_env", "default_steps", "make_env", "as_obs"]

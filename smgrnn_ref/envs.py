"""The environments a student can be distilled on, and their per-environment defaults.

SMGrNN is evaluated by policy distillation on control benchmarks (Jia & Zhou, arXiv
2512.12713: CartPole-v1, Acrobot-v1, LunarLander-v3). Here any Gymnasium environment can be
used whose observations are a **flat** ``Box`` (a vector) and whose actions are ``Discrete(n)``
(the student's outputs are action logits) or a flat, bounded ``Box`` (the student's outputs are
the action itself; :mod:`smgrnn_ref.teachers`). An environment is named by

* a registered id (``"CartPole-v1"``; gymnasium's ``"module:Env-v0"`` form, which imports
  ``module`` to register ``Env-v0``, works too), or
* ``"module:EnvClass"``: a :class:`gymnasium.Env` subclass (or a function returning an env)
  in an importable module (the current directory is importable, as with ``python -m``),
  made through gymnasium's own wrappers.

This module checks the spaces **before** any work starts (:func:`env_info`), so a bad
``--env`` fails with one clear line and touches nothing.

The numbers in :data:`ENV_DEFAULTS` are **our choices** (the paper gives neither the number
of training steps nor the SPM thresholds), set by our calibration (docs/calibration.md).

Examples
--------
>>> check_env("CartPole-v1")
(4, 2)
>>> env_info("Pendulum-v1").action_space
ActionSpace(kind='box', n=1, low=[-2.0], high=[2.0])
>>> env_info("Blackjack-v1")
Traceback (most recent call last):
...
ValueError: Blackjack-v1 has observation space Tuple(Discrete(32), Discrete(11), Discrete(2)); supported: a flat Box (a vector of numbers)
>>> env_info("NoSuchEnv-v0")
Traceback (most recent call last):
...
ValueError: unknown env id 'NoSuchEnv-v0': Environment `NoSuchEnv` doesn't exist. (supported: a registered gymnasium id such as CartPole-v1, or module:EnvClass)
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from .action_space import ActionSpace

#: Per-environment defaults of a run: ``TrainConfig`` fields (nested configs as partial dicts)
#: applied under the user's config file and command-line options by
#: :func:`smgrnn_ref.distill.config_for_env`. Only what truly differs per environment lives here;
#: an environment without a row gets none (then ``steps`` must be given).
#: **Our choices**, calibrated (docs/calibration.md):
#:
#: * ``steps`` = training steps (environment steps = optimizer steps = SPM steps). CartPole-v1:
#:   5,000 (the calibration length). Acrobot-v1 and LunarLander-v3: 3,000; the ``full``
#:   student's greedy return plateaus by step 1,500-2,500 on both (the expert's ``beta`` mixing
#:   ends at step 2,000), and a longer run makes the ``growth-only`` ablation, whose graph grows
#:   exponentially without pruning, unaffordable.
#: * CartPole-v1 only: Adam ``eps = 1e-4``. A linear policy nearly solves CartPole, its
#:   distillation loss becomes tiny, and with ``eps = 1e-8`` Adam turns the tiny, consistent
#:   gradients of the initial edges into full-size steps that drift for thousands of steps
#:   (docs/calibration.md, section "Why CartPole `full` grows late, or not at all (our
#:   analysis)"). Calibrated with the paper's update window; kept with the gradient window,
#:   under which it was checked (docs/growth.md, "The options' results").
#: * Pendulum-v1 (continuous torque; a linear student falls far short of the expert there,
#:   docs/experts.md): 8,000 steps (40 episodes of 200 steps) and the expert's mixing over the
#:   first 5,000: with the default mixing over 2,000 steps the student had not grown by step
#:   8,000 under the paper's window (docs/distillation.md, "Per-environment defaults").
#: * ``max_params = 20,000`` on every task: without pruning (the ``growth-only`` ablation) the
#:   graph grows explosively under the gradient window on all five tasks (17 of 25 such runs
#:   pass 20,000 parameters), and the cap stops the run there; ``full`` holds a few hundred and
#:   ``mlp`` at most a few thousand, far below it.
#: * With the paper's update window (``window_signal="update"``), our calibrated
#:   ``lambda_edge`` was 3.0, with 0.3 on CartPole-v1 and 1.0 on Pendulum-v1 (docs/calibration.md);
#:   the gradient window needs one value, 10, everywhere.
#: * LunarLanderContinuous-v3: 3,000 steps, as LunarLander-v3 (``full`` and ``static`` pass 240
#:   by step 2,000-3,000 on seed 0; a linear student nearly matches the expert there).
ENV_DEFAULTS: dict[str, dict] = {
    "CartPole-v1": {"steps": 5000, "optimizer": {"eps": 1e-4}, "spm": {}, "max_params": 20000},
    "Acrobot-v1": {"steps": 3000, "spm": {}, "max_params": 20000},
    "LunarLander-v3": {"steps": 3000, "spm": {}, "max_params": 20000},
    "Pendulum-v1": {"steps": 8000, "mix_steps": 5000, "spm": {}, "max_params": 20000},
    "LunarLanderContinuous-v3": {"steps": 3000, "spm": {}, "max_params": 20000},
}

#: Default training steps per environment (from :data:`ENV_DEFAULTS`).
DEFAULT_STEPS: dict[str, int] = {env: d["steps"] for env, d in ENV_DEFAULTS.items()}

#: Episode length of an environment that has no time limit of its own (an unregistered
#: ``module:EnvClass``, or a registration without ``max_episode_steps``): gymnasium's
#: ``TimeLimit`` truncates it there, because evaluation waits for every episode to end.
#: **Our choice** (gymnasium's own continuous-control tasks use 200-1,000).
FALLBACK_MAX_EPISODE_STEPS = 1000


@dataclass(frozen=True)
class EnvInfo:
    """What distillation needs to know about an environment's spaces.

    Attributes
    ----------
    env_id : str
    observation_shape : tuple of int
        ``(n_inputs,)``.
    action_space : ActionSpace
        ``Discrete(n)`` or a flat bounded ``Box``.
    """

    env_id: str
    observation_shape: tuple
    action_space: ActionSpace

    @property
    def n_inputs(self) -> int:
        """Observation size."""
        return int(self.observation_shape[0])

    @property
    def n_outputs(self) -> int:
        """Student outputs: the number of discrete actions, or the action dimension."""
        return self.action_space.n


def import_module(module: str, what: str):
    """Import a user's ``module`` (an env's or a teacher's) with the current directory
    importable, as ``python -m`` has it; ``what`` names it in the one-line ``ValueError``.

    >>> import_module("no_such_module_x", "teacher 'no_such_module_x:f'")
    Traceback (most recent call last):
    ...
    ValueError: cannot import module 'no_such_module_x' of teacher 'no_such_module_x:f': No module named 'no_such_module_x'
    """
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module!r} of {what}: {exc}") from None
    except Exception as exc:  # the module's own code failed
        raise ValueError(f"importing module {module!r} of {what} raised {type(exc).__name__}: "
                         f"{_first_line(exc)}") from None
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _entry_point(env_id: str):
    """``(registered id, None)`` or ``(None, env class or factory)`` for ``module:Name``."""
    module, _, name = env_id.partition(":")
    mod = import_module(module, f"env {env_id!r}")
    if name in gym.registry:  # gymnasium's "module:Env-v0": importing registered it
        return name, None
    obj = mod
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if obj is None or not callable(obj):
        raise ValueError(f"env {env_id!r}: module {module!r} has no env class (or registered id) {name!r}")
    return None, obj


def make_env(env_id: str) -> gym.Env:
    """A fresh gymnasium environment (gymnasium's wrappers and time limit).

    An environment without a time limit of its own is truncated after
    :data:`FALLBACK_MAX_EPISODE_STEPS` steps.

    Parameters
    ----------
    env_id : str
        A registered id, or ``module:EnvClass`` (module docstring).

    Returns
    -------
    gymnasium.Env

    Raises
    ------
    ValueError
        For an unknown id, a module that cannot be imported, or an environment whose
        constructor fails (one line naming the id).
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env id must be a non-empty string, got {env_id!r}")
    hint = "(supported: a registered gymnasium id such as CartPole-v1, or module:EnvClass)"
    try:
        if ":" in env_id:
            registered, creator = _entry_point(env_id)
            if registered is not None:
                env = gym.make(registered)
            else:
                env = gym.make(gym.envs.registration.EnvSpec(
                    id=env_id, entry_point=creator, max_episode_steps=FALLBACK_MAX_EPISODE_STEPS))
        else:
            env = gym.make(env_id)
    except ValueError:
        raise
    except gym.error.UnregisteredEnv as exc:
        raise ValueError(f"unknown env id {env_id!r}: {_first_line(exc)} {hint}") from None
    except Exception as exc:  # missing dependencies, a failing constructor, a deprecated id
        raise ValueError(f"cannot make env {env_id!r}: {type(exc).__name__}: {_first_line(exc)}") from None
    if env.spec is None or env.spec.max_episode_steps is None:
        env = gym.wrappers.TimeLimit(env, FALLBACK_MAX_EPISODE_STEPS)
    return env


def action_space_of(space, env_id: str = "the env") -> ActionSpace:
    """The :class:`~smgrnn_ref.action_space.ActionSpace` of a gymnasium action space.

    Raises
    ------
    ValueError
        Naming the space, for anything but ``Discrete(n)`` (start 0) or a flat bounded ``Box``.

    Examples
    --------
    >>> action_space_of(gym.spaces.Discrete(3))
    ActionSpace(kind='discrete', n=3)
    >>> action_space_of(gym.spaces.MultiDiscrete([2, 3]), "Toy-v0")
    Traceback (most recent call last):
    ...
    ValueError: Toy-v0 has action space MultiDiscrete([2 3]); supported: Discrete(n) or a flat, bounded Box
    """
    supported = "supported: Discrete(n) or a flat, bounded Box"
    if isinstance(space, gym.spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(f"{env_id} has action space {space} (start {int(space.start)}); {supported} "
                             f"with start 0")
        return ActionSpace("discrete", int(space.n))
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        try:
            return ActionSpace("box", int(space.shape[0]), space.low.astype(np.float64),
                               space.high.astype(np.float64))
        except ValueError as exc:  # unbounded or empty
            raise ValueError(f"{env_id} has action space {space}: {exc}") from None
    raise ValueError(f"{env_id} has action space {space}; {supported}")


def env_info(env_id: str) -> EnvInfo:
    """Make ``env_id`` once, check its spaces, close it; what distillation needs of it.

    Parameters
    ----------
    env_id : str

    Returns
    -------
    EnvInfo

    Raises
    ------
    ValueError
        One line: an unknown or unmakeable env (:func:`make_env`), observations that are not a
        flat ``Box``, or an action space that is neither ``Discrete`` nor a flat bounded ``Box``.
    """
    env = make_env(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(f"{env_id} has observation space {obs_space}; supported: a flat Box (a vector of numbers)")
    return EnvInfo(env_id, tuple(int(s) for s in obs_space.shape), action_space_of(act_space, env_id))


def check_env(env_id: str) -> tuple[int, int]:
    """Check that ``env_id`` can be distilled on; return ``(n_inputs, n_outputs)``.

    The teacher is checked separately (:mod:`smgrnn_ref.teachers`).

    Parameters
    ----------
    env_id : str

    Returns
    -------
    (n_inputs, n_outputs) : tuple of int
        Observation size, and the number of discrete actions or the action dimension.

    Raises
    ------
    ValueError
        As :func:`env_info`.
    """
    info = env_info(env_id)
    return info.n_inputs, info.n_outputs


def default_steps(env_id: str) -> int:
    """Default number of training steps for ``env_id`` (:data:`DEFAULT_STEPS`).

    >>> default_steps("CartPole-v1") == DEFAULT_STEPS["CartPole-v1"]
    True
    """
    if env_id not in DEFAULT_STEPS:
        raise ValueError(f"no default number of steps for env {env_id!r}; give steps "
                         f"(defaults exist for {sorted(DEFAULT_STEPS)})")
    return DEFAULT_STEPS[env_id]


def probe_observations(env_id: str, n: int) -> np.ndarray:
    """The reset observations of ``n`` episodes (seeds ``0 .. n-1``): real states to check a
    teacher on before a run starts (:mod:`smgrnn_ref.teachers`).

    >>> probe_observations("CartPole-v1", 3).shape
    (3, 4)
    """
    env = make_env(env_id)
    try:
        return np.stack([as_obs(env.reset(seed=i)[0]) for i in range(n)])
    finally:
        env.close()


def as_obs(obs) -> np.ndarray:
    """An observation as a float64 vector: the student and the dataset use float64 throughout.

    >>> as_obs(np.array([1, 2], dtype=np.float32)).dtype
    dtype('float64')
    """
    return np.asarray(obs, dtype=np.float64).reshape(-1)


def env_action(action):
    """What ``env.step`` gets for an action as a run stores it: an ``int`` (discrete), or a
    float64 array from a list or array of floats (box).

    >>> env_action(3), env_action([0.5, -1.0])
    (3, array([ 0.5, -1. ]))
    """
    if isinstance(action, (int, np.integer)):
        return int(action)
    return np.asarray(action, dtype=np.float64)


__all__ = ["ENV_DEFAULTS", "DEFAULT_STEPS", "FALLBACK_MAX_EPISODE_STEPS", "EnvInfo", "import_module", "make_env",
           "action_space_of", "env_info", "check_env", "default_steps", "probe_observations", "as_obs",
           "env_action"]

"""Environments and teachers of our own, for the tests of distillation on any task.

The tests name them as a user names theirs: ``--env toy_tasks:PointMass``,
``--expert toy_tasks:pd_controller`` (pytest puts ``tests/`` on ``sys.path``).
"""

import gymnasium as gym
import numpy as np


class PointMass(gym.Env):
    """A unit mass on a line: position ``x``, velocity ``v``, force ``u`` in ``[-1, 1]``.

    ``v += DT * u``, ``x += DT * v``; reward ``-(x^2 + 0.1 v^2)`` per step; reset at
    ``x ~ U(-1, 1)``, ``v = 0``; the episode is truncated after ``LENGTH`` steps. A linear
    controller (:func:`pd_controller`) is near-optimal, so a linear student can match it.
    """

    DT, LENGTH = 0.1, 40
    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = np.array([self.np_random.uniform(-1.0, 1.0), 0.0])
        self.t = 0
        return self.state.copy(), {}

    def step(self, action):
        u = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        x, v = self.state
        v = v + self.DT * u
        x = x + self.DT * v
        self.state = np.array([x, v])
        self.t += 1
        return self.state.copy(), -(x * x + 0.1 * v * v), False, self.t >= self.LENGTH, {}


class Forever(gym.Env):
    """An env that never ends by itself (gets the fallback time limit)."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1), {}

    def step(self, action):
        return np.zeros(1), 1.0, False, False, {}


def _with(obs_space, act_space):
    class Env(Forever):
        def __init__(self):
            self.observation_space, self.action_space = obs_space, act_space

    return Env


MultiDiscreteActions = _with(gym.spaces.Box(-1.0, 1.0, (1,)), gym.spaces.MultiDiscrete([2, 3]))
DictObservations = _with(gym.spaces.Dict({"x": gym.spaces.Box(-1.0, 1.0, (1,))}), gym.spaces.Discrete(2))
UnboundedActions = _with(gym.spaces.Box(-1.0, 1.0, (1,)), gym.spaces.Box(-np.inf, np.inf, (1,)))
ShiftedDiscrete = _with(gym.spaces.Box(-1.0, 1.0, (1,)), gym.spaces.Discrete(2, start=1))


# ------------------------------------------------------------------------------------ teachers
# Each takes a float64 batch (batch, n_inputs) of raw observations.


def pd_controller(obs):
    """PointMass: ``u = clip(-2 x - 2 v)``; (batch, 1) floats."""
    return np.clip(-2.0 * obs[:, :1] - 2.0 * obs[:, 1:2], -1.0, 1.0)


def mountain_car_pump(obs):
    """MountainCarContinuous-v0: full force along the velocity (pumps energy until the car
    reaches the flag); (batch, 1) floats."""
    return np.where(obs[:, 1:2] >= 0.0, 1.0, -1.0)


def pendulum_push(obs):
    """Pendulum-v1: torque 3 along the angular velocity: outside the bounds [-2, 2] on purpose."""
    return 3.0 * np.sign(obs[:, 2:3]) + 0.0


def cartpole_actions(obs):
    """CartPole-v1: push towards where the pole falls; integer actions (batch,)."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def cartpole_logits(obs):
    z = 10.0 * (obs[:, 2] + 0.5 * obs[:, 3])
    return np.stack([-z, z], axis=1)


cartpole_logits.output = "logits"


def cartpole_probs(obs):
    p = 1.0 / (1.0 + np.exp(-10.0 * (obs[:, 2] + 0.5 * obs[:, 3])))
    return np.stack([1.0 - p, p], axis=1)


cartpole_probs.output = "probs"


def cartpole_floats(obs):
    """Undeclared floats of shape (batch, 2) on a discrete env: ambiguous."""
    return cartpole_logits(obs)


def cartpole_float_actions(obs):
    return cartpole_actions(obs).astype(np.float64)


def cartpole_out_of_range(obs):
    return cartpole_actions(obs) + 1


def cartpole_bad_probs(obs):
    return cartpole_probs(obs) * 0.9


cartpole_bad_probs.output = "probs"


def cartpole_wrong_width(obs):
    return np.zeros((len(obs), 3))


cartpole_wrong_width.output = "logits"


def pendulum_flat(obs):
    """(batch,) instead of (batch, 1)."""
    return np.zeros(len(obs))


def pendulum_ints(obs):
    return np.zeros((len(obs), 1), dtype=np.int64)


def pendulum_nan(obs):
    return np.full((len(obs), 1), np.nan)


def raises(obs):
    raise RuntimeError("the controller is not ready\nsecond line")


def nan_after_a_while(obs):
    """Pendulum-v1: fine on reset states (|angular velocity| <= 1), NaN once it swings faster."""
    out = np.clip(-obs[:, 2:3], -2.0, 2.0)
    return np.where(np.abs(obs[:, 2:3]) > 1.0, np.nan, out)


not_callable = 42


_LATE_CALLS = {"n": 0}


def cartpole_fails_late(obs):
    """:func:`cartpole_logits` for its first 40 calls in a process, then a ``ValueError``: a
    teacher that passes every check before a run and fails in the middle of it."""
    _LATE_CALLS["n"] += 1
    if _LATE_CALLS["n"] > 40:
        raise ValueError("toy teacher: gave up after 40 calls")
    return cartpole_logits(obs)


cartpole_fails_late.output = "logits"

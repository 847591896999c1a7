"""The training environment and its current episode, stored as a reset seed and actions.

A gymnasium environment's state cannot be serialised in general. A checkpoint therefore
stores the current training episode as its reset seed, the actions taken so far, its return
so far and its current observation (:meth:`TrainingEpisode.to_dict`); a resume resets a new
environment with that seed and replays the actions (:meth:`TrainingEpisode.restore`).
CartPole-v1, Acrobot-v1, LunarLander-v3 and the continuous Pendulum-v1 and
LunarLanderContinuous-v3 are deterministic given the seed and the actions, so the replay
reproduces the state exactly; the replayed observation is compared with the stored one, and a
mismatch stops the resume rather than continuing inexactly (as it would for an environment of
your own that draws random numbers outside its seeded ``np_random``).

A discrete action is stored as an ``int``, a continuous one as a list of floats (JSON writes a
float with ``repr``, which reads back to the same float64, so the replay steps with the very
same actions).

Examples
--------
>>> ep = TrainingEpisode("CartPole-v1")
>>> ep.reset(seed=5)
>>> ep.step(0), ep.step(1), ep.actions, ep.ret
(False, False, [0, 1], 2.0)
>>> again = TrainingEpisode("CartPole-v1")
>>> again.restore(ep.to_dict(), where="test")
>>> bool((again.obs == ep.obs).all()), again.actions
(True, [0, 1])
>>> ep.close(); again.close()
"""

from __future__ import annotations

import numpy as np

from ..envs import as_obs, env_action, make_env


def _stored(action):
    """An action as ``state.json`` stores it: an ``int``, or a list of floats."""
    if np.ndim(action) == 0:
        return int(action)
    return [float(x) for x in np.asarray(action, dtype=np.float64).reshape(-1)]


class TrainingEpisode:
    """The training environment of a run and the episode being played in it.

    Parameters
    ----------
    env_id : str
        The environment (made here, closed by :meth:`close`).

    Attributes
    ----------
    seed : int
        The current episode's reset seed.
    actions : list of int, or list of lists of float
        The actions taken in it so far (discrete, or continuous).
    ret : float
        Its return so far.
    obs : numpy.ndarray
        The current observation (float64).
    """

    def __init__(self, env_id: str):
        self.env_id = env_id
        self.env = make_env(env_id)
        self.seed = None
        self.actions: list = []
        self.ret = 0.0
        self.obs = None

    def reset(self, seed: int) -> None:
        """Start a new episode, reset with ``seed``."""
        self.seed = seed
        self.actions = []
        self.ret = 0.0
        self.obs = as_obs(self.env.reset(seed=seed)[0])

    def step(self, action) -> bool:
        """Take ``action`` (an int, or a float array for a ``Box``); return whether the
        episode ended (terminated or truncated)."""
        action = _stored(action)
        obs, reward, term, trunc, _ = self.env.step(env_action(action))
        self.actions.append(action)
        self.ret += float(reward)
        self.obs = as_obs(obs)
        return term or trunc

    def to_dict(self) -> dict:
        """The episode as stored in a checkpoint's ``state.json``: ``seed``, ``actions``,
        ``return`` and ``obs``."""
        return {"seed": self.seed, "actions": self.actions, "return": self.ret,
                "obs": [float(x) for x in self.obs]}

    def restore(self, record: dict, *, where) -> None:
        """Replay a stored episode (:meth:`to_dict`) in this environment.

        Parameters
        ----------
        record : dict
            The stored episode.
        where : str or path
            Names the checkpoint in error messages.

        Raises
        ------
        ValueError
            If the replay ends the episode early or does not reproduce the stored observation
            (the environment is not deterministic given its seed and actions).
        """
        obs = as_obs(self.env.reset(seed=record["seed"])[0])
        for a in record["actions"]:
            obs, _, term, trunc, _ = self.env.step(env_action(a))
            obs = as_obs(obs)
            if term or trunc:
                raise ValueError(f"{where}: replaying the current episode ended it early; cannot resume exactly")
        if not np.array_equal(obs, np.asarray(record["obs"], dtype=np.float64)):
            raise ValueError(f"{where}: replaying the current episode did not reproduce its state; "
                             f"{self.env_id} is not deterministic given seed and actions")
        self.seed, self.actions, self.ret, self.obs = record["seed"], list(record["actions"]), record["return"], obs

    def close(self) -> None:
        """Close the environment (once)."""
        if self.env is not None:
            self.env.close()
            self.env = None


__all__ = ["TrainingEpisode"]

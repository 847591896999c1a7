"""Greedy evaluation of a student: fixed-seed episodes, comparable across steps, runs and variants.

Every ``eval_every`` steps the student alone plays ``eval_episodes`` greedy episodes, episode
``i`` reset with seed ``eval_seed + i``. Greedy: the ``argmax`` of the student's logits, or
its continuous output (the action mean) clipped to the action bounds
(:func:`smgrnn_ref.action_space.greedy_actions`). Evaluation uses its own environments and
draws no random numbers from the training streams, so it does not change the run.
"""

from __future__ import annotations

import numpy as np

from ..action_space import ActionSpace, greedy_actions
from ..envs import as_obs, env_action, make_env


def evaluate_student(engine, env_id: str, episodes: int, seed: int, envs=None,
                     action_space: ActionSpace | None = None) -> np.ndarray:
    """Returns of ``episodes`` greedy student episodes; episode ``i`` is reset with ``seed + i``.

    The episodes run in lockstep so the student evaluates one batch per time step (each row
    of a batch is computed independently, so the result does not depend on the batching).

    Parameters
    ----------
    engine
        Anything with ``forward(X) -> outputs`` (logits, or continuous action means).
    env_id : str
    episodes, seed : int
    envs : list of gymnasium.Env, optional
        ``episodes`` environments to reuse (created and closed here when omitted).
    action_space : ActionSpace, optional
        How outputs become actions (:func:`~smgrnn_ref.action_space.greedy_actions`);
        default: discrete, ``argmax``.

    Returns
    -------
    numpy.ndarray
        The ``episodes`` returns, in episode order.

    Examples
    --------
    >>> class AlwaysLeft:  # a "student" that always picks action 0
    ...     def forward(self, X):
    ...         return np.tile([1.0, 0.0], (len(X), 1))
    >>> returns = evaluate_student(AlwaysLeft(), "CartPole-v1", 3, seed=0)
    >>> returns.shape, bool(np.all((returns >= 1) & (returns < 500)))
    ((3,), True)
    """
    own = envs is None
    envs = [make_env(env_id) for _ in range(episodes)] if own else envs
    try:
        obs = [as_obs(env.reset(seed=seed + i)[0]) for i, env in enumerate(envs)]
        returns = np.zeros(episodes)
        live = list(range(episodes))
        while live:
            outputs = np.asarray(engine.forward(np.stack([obs[i] for i in live])))
            if action_space is None:
                action_space = ActionSpace("discrete", outputs.shape[1])
            actions = greedy_actions(outputs, action_space)
            still = []
            for i, a in zip(live, actions):
                o, r, term, trunc, _ = envs[i].step(env_action(a))
                returns[i] += float(r)
                obs[i] = as_obs(o)
                if not (term or trunc):
                    still.append(i)
            live = still
        return returns
    finally:
        if own:
            for env in envs:
                env.close()


class Evaluator:
    """The evaluations of one run: :func:`evaluate_student` on environments made once and reused.

    Parameters
    ----------
    env_id : str
    episodes, seed : int
        Episodes per evaluation; episode ``i`` is reset with ``seed + i``.
    action_space : ActionSpace, optional
        As for :func:`evaluate_student`.

    Examples
    --------
    >>> class AlwaysLeft:
    ...     def forward(self, X):
    ...         return np.tile([1.0, 0.0], (len(X), 1))
    >>> ev = Evaluator("CartPole-v1", 2, seed=0)
    >>> a, b = ev(AlwaysLeft(), step=10), ev(AlwaysLeft(), step=20)
    >>> a["step"], b["step"], a["mean"] == b["mean"]  # the same seeds every time
    (10, 20, True)
    >>> ev.close()
    """

    def __init__(self, env_id: str, episodes: int, seed: int, action_space: ActionSpace | None = None):
        self.env_id, self.episodes, self.seed, self.action_space = env_id, episodes, seed, action_space
        self.envs = None  # made at the first evaluation

    def __call__(self, engine, step: int) -> dict:
        """Evaluate ``engine`` now: ``{"step": step, "mean": ..., "std": ...}`` of the returns."""
        if self.envs is None:
            self.envs = [make_env(self.env_id) for _ in range(self.episodes)]
        r = evaluate_student(engine, self.env_id, self.episodes, self.seed, envs=self.envs,
                             action_space=self.action_space)
        return {"step": step, "mean": float(r.mean()), "std": float(r.std())}

    def close(self) -> None:
        """Close the environments (they are made again if needed)."""
        for env in self.envs or []:
            env.close()
        self.envs = None


__all__ = ["evaluate_student", "Evaluator"]

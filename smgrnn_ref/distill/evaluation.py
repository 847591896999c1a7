"""Greedy evaluation of a student: fixed-seed episodes, comparable across steps, runs and variants.

Every ``eval_every`` steps the student alone plays ``eval_episodes`` greedy episodes, episode
``i`` reset with seed ``eval_seed + i``. Evaluation uses its own environments and draws no
random numbers from the training streams, so it does not change the run.
"""

from __future__ import annotations

import numpy as np

from ..envs import as_obs, make_env


def evaluate_student(engine, env_id: str, episodes: int, seed: int, envs=None) -> np.ndarray:
    """Returns of ``episodes`` greedy student episodes; episode ``i`` is reset with ``seed + i``.

    The episodes run in lockstep so the student evaluates one batch per time step (each row
    of a batch is computed independently, so the result does not depend on the batching).

    Parameters
    ----------
    engine
        Anything with ``forward(X) -> logits``.
    env_id : str
    episodes, seed : int
    envs : list of gymnasium.Env, optional
        ``episodes`` environments to reuse (created and closed here when omitted).

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
            logits = np.asarray(engine.forward(np.stack([obs[i] for i in live])))
            actions = np.argmax(logits, axis=1)
            still = []
            for i, a in zip(live, actions):
                o, r, term, trunc, _ = envs[i].step(int(a))
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

    def __init__(self, env_id: str, episodes: int, seed: int):
        self.env_id, self.episodes, self.seed = env_id, episodes, seed
        self.envs = None  # made at the first evaluation

    def __call__(self, engine, step: int) -> dict:
        """Evaluate ``engine`` now: ``{"step": step, "mean": ..., "std": ...}`` of the returns."""
        if self.envs is None:
            self.envs = [make_env(self.env_id) for _ in range(self.episodes)]
        r = evaluate_student(engine, self.env_id, self.episodes, self.seed, envs=self.envs)
        return {"step": step, "mean": float(r.mean()), "std": float(r.std())}

    def close(self) -> None:
        """Close the environments (they are made again if needed)."""
        for env in self.envs or []:
            env.close()
        self.envs = None


__all__ = ["evaluate_student", "Evaluator"]

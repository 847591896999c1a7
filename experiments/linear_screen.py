"""How far does a LINEAR student fall short of the expert? (a cheap screen, our measurement)

SMGrNN's case is capacity that grows with the task, which needs tasks where a small fixed
model is not enough. This script measures, per task, the best a linear policy does when it
is fitted to the expert by DAgger (our choice of screen, not the paper's):

* iteration 0: the expert acts for ``--episodes`` episodes; every visited observation is
  labelled by the expert;
* iterations 1..K: the current linear student acts greedily, the expert labels the visited
  observations, the data set is aggregated and the student refitted;
* fit: continuous actions, least squares from ``[obs, 1]`` to the expert's deterministic
  action, the student's action clipped to the bounds (``--target action``, the default), or
  least squares to the expert's raw output ``y`` with the expert's own output transform
  applied to the student's (``--target raw``: a "squashed" student); discrete actions, a linear softmax
  policy fitted to the expert's probabilities (soft cross-entropy, the loss of today's KL
  distillation) by Newton's method; observations standardised by the data set's mean and
  std, a tiny ridge ``--ridge`` keeps the fit well posed;
* each iteration's student is scored on validation seeds, the best one is then scored on the
  test seeds (episode i reset with seed i, as the experts' model cards), together with the
  expert (greedy) and a uniform random policy.

Control: ``--random-features N`` fits the same way on ``N`` fixed random tanh features of
the observation instead of the observation itself, to show that the DAgger loop and the fit
can imitate the expert when the student is not linear.

The figure of merit is the gap ratio ``(expert - linear) / (expert - random)``: 0 when the
linear student matches the expert, 1 when it is no better than random. Example::

    python experiments/linear_screen.py --env CartPole-v1 --env Pendulum-v1
    python experiments/linear_screen.py --env BipedalWalker-v3 --expert runs/experts/out/BipedalWalker-v3

Results go to ``experiments/linear_screen.json`` (one entry per env, replaced on rerun).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from smgrnn_ref.experts import Expert, load_expert, load_expert_file

OUT = Path(__file__).resolve().with_name("linear_screen.json")
TRAIN_SEED, VAL_SEED, TEST_SEED = 10_000, 20_000, 0


class LinearPolicy:
    """``a = clip(x W + b)`` (continuous), ``argmax(x W + b)`` (discrete), x standardised.

    With ``expert`` given, the expert's own output transform replaces the clip.
    """

    def __init__(self, mean, std, W, b, space, expert=None, phi=None):
        self.mean, self.std, self.W, self.b, self.space = mean, std, W, b, space
        self.expert, self.phi = expert, phi or _identity

    def act(self, obs):
        z = (np.asarray(obs, dtype=np.float64) - self.mean) / self.std
        y = self.phi(z[None, :])[0] @ self.W + self.b
        if self.space.is_discrete:
            return int(np.argmax(y))
        if self.expert is not None:
            return transform(self.expert, y[None, :])[0]
        return np.clip(y, self.space.low, self.space.high)


def transform(expert: Expert, y):
    """The expert's output transform applied to raw outputs ``y`` (see smgrnn_ref.experts)."""
    low, high = expert.action_space.low, expert.action_space.high
    if expert.output_transform == "clip":
        return np.clip(y, low, high)
    if expert.pre_clip is not None:
        y = np.clip(y, -expert.pre_clip, expert.pre_clip)
    return low + 0.5 * (np.tanh(y) + 1.0) * (high - low)


def _identity(Z):
    return Z


def random_features(n_inputs, n_features, seed=0):
    """``phi(Z) = tanh(Z R + c)``, fixed random ``R ~ N(0, 1/n_inputs)``, ``c ~ N(0, 1)``.

    The control of the screen: a student that is linear in ``n_features`` fixed nonlinear
    features of the observation, fitted exactly like the linear one.
    """
    rng = np.random.default_rng(seed)
    R = rng.normal(scale=1.0 / np.sqrt(n_inputs), size=(n_inputs, n_features))
    c = rng.normal(size=n_features)
    return lambda Z: np.tanh(Z @ R + c)


def _features(X, mean, std, phi=None):
    Z = (phi or _identity)((X - mean) / std)
    return np.hstack([Z, np.ones((len(Z), 1))])


def fit_least_squares(X, Y, ridge, phi=None):
    """Ridge least squares ``[phi(Z), 1] -> Y``; returns ``(W, b)``."""
    F = _features(X, X.mean(0), X.std(0) + 1e-8, phi)
    A = F.T @ F + ridge * len(F) * np.eye(F.shape[1])
    theta = np.linalg.solve(A, F.T @ Y)
    return theta[:-1], theta[-1]


def fit_softmax(X, P, ridge, iters=30, phi=None):
    """Linear softmax fitted to target probabilities ``P`` by Newton's method; ``(W, b)``."""
    F = _features(X, X.mean(0), X.std(0) + 1e-8, phi)
    n, d = F.shape
    k = P.shape[1]
    theta = np.zeros((d, k))
    for _ in range(iters):
        Z = F @ theta
        Q = np.exp(Z - Z.max(1, keepdims=True))
        Q /= Q.sum(1, keepdims=True)
        grad = F.T @ (Q - P) / n + ridge * theta
        # Hessian of the mean soft cross-entropy: sum_n (diag q - q q^T) (x) x x^T / n
        A = Q[:, :, None] * np.eye(k)[None] - Q[:, :, None] * Q[:, None, :]
        H = np.einsum("nkl,ni,nj->kilj", A, F, F).reshape(k * d, k * d) / n
        H += ridge * np.eye(k * d)
        step = np.linalg.solve(H, grad.T.reshape(-1)).reshape(k, d).T
        theta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta[:-1], theta[-1]


def rollout(env, policy, seed):
    """One greedy episode; ``(return, visited observations)``."""
    obs, _ = env.reset(seed=seed)
    total, done, visited = 0.0, False, []
    while not done:
        visited.append(np.asarray(obs, dtype=np.float64))
        obs, r, term, trunc, _ = env.step(policy(obs))
        total += float(r)
        done = term or trunc
    return total, visited


def returns(env, policy, seed, n):
    return np.array([rollout(env, policy, seed + i)[0] for i in range(n)])


def random_returns(env, seed, n):
    """Uniform random actions (the env's action space, seeded), episode i reset with seed i."""
    env.action_space.seed(seed)
    return returns(env, lambda _obs: env.action_space.sample(), seed, n)


def screen(env_id, expert: Expert, iterations, episodes, val_episodes, test_episodes, ridge,
           target="action", n_features=0):
    """DAgger with a linear student; the record of one env (see the module docstring)."""
    t0 = time.perf_counter()
    env = gym.make(env_id)
    space = expert.action_space
    raw = target == "raw" and not space.is_discrete
    phi = random_features(expert.n_inputs, n_features) if n_features else None
    labels = expert.probs if space.is_discrete else (expert.forward if raw else expert.action)
    X, seed, history = [], TRAIN_SEED, []
    best, best_val = None, -np.inf
    policy = expert.act
    for it in range(iterations + 1):
        for _ in range(episodes):
            X.extend(rollout(env, policy, seed)[1])
            seed += 1
        Xa = np.asarray(X)
        fit = fit_softmax if space.is_discrete else fit_least_squares
        W, b = fit(Xa, labels(Xa), ridge, phi=phi)
        student = LinearPolicy(Xa.mean(0), Xa.std(0) + 1e-8, W, b, space, expert if raw else None, phi)
        val = float(returns(env, student.act, VAL_SEED, val_episodes).mean())
        history.append({"iteration": it, "samples": len(Xa), "val_return": round(val, 2)})
        print(f"  {env_id} iteration {it}: {len(Xa)} samples, validation return {val:.1f}", flush=True)
        if val > best_val:
            best, best_val = student, val
        policy = student.act
    r_lin = returns(env, best.act, TEST_SEED, test_episodes)
    r_exp = returns(env, expert.act, TEST_SEED, test_episodes)
    r_rnd = random_returns(env, TEST_SEED, test_episodes)
    env.close()
    e, lin, rnd = r_exp.mean(), r_lin.mean(), r_rnd.mean()
    return {
        "env_id": env_id,
        "expert": {"mean": round(e, 2), "std": round(r_exp.std(), 2)},
        "linear": {"mean": round(lin, 2), "std": round(r_lin.std(), 2)},
        "random": {"mean": round(rnd, 2), "std": round(r_rnd.std(), 2)},
        "gap_ratio": round(float((e - lin) / (e - rnd)), 3),
        "linear_fit": ("softmax, soft cross-entropy (Newton)" if space.is_discrete else
                       f"least squares to the raw output, then the expert's {expert.output_transform}" if raw else
                       "least squares to the action, clipped to the bounds"),
        "dagger": history,
        "settings": {"iterations": iterations, "episodes_per_iteration": episodes,
                     "val_episodes": val_episodes, "test_seeds": f"{TEST_SEED}..{TEST_SEED + test_episodes - 1}",
                     "ridge": ridge, "random_features": n_features,
                     "expert_source": expert.metadata.get("algorithm", "?")},
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", action="append", required=True, help="env id (repeatable)")
    p.add_argument("--expert", action="append", default=[],
                   help="expert file stem for the env at the same position (default: the shipped one)")
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--episodes", type=int, default=10, help="episodes per DAgger iteration")
    p.add_argument("--val-episodes", type=int, default=10)
    p.add_argument("--test-episodes", type=int, default=20)
    p.add_argument("--ridge", type=float, default=1e-6)
    p.add_argument("--random-features", type=int, default=0, metavar="N",
                   help="control: fit on N fixed random tanh features instead of the observation "
                        "(a nonlinear student fitted the same way); the key gets a '/rfN' suffix")
    p.add_argument("--target", choices=["action", "raw"], default="action",
                   help="continuous tasks: regress the action (clipped student) or the raw output "
                        "(student squashed by the expert's transform); the key gets a '/raw' suffix")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    stems = args.expert + [None] * (len(args.env) - len(args.expert))
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for env_id, stem in zip(args.env, stems):
        expert = load_expert(env_id) if stem is None else load_expert_file(stem)
        rec = screen(env_id, expert, args.iterations, args.episodes, args.val_episodes,
                     args.test_episodes, args.ridge, args.target, args.random_features)
        raw = args.target == "raw" and not expert.is_discrete
        rf = f"/rf{args.random_features}" if args.random_features else ""
        results[env_id + ("/raw" if raw else "") + rf] = rec
        out.write_text(json.dumps(results, indent=2) + "\n")
    print("| env | expert | linear (DAgger) | random | gap ratio |")
    print("| --- | --- | --- | --- | --- |")
    for key, rec in results.items():
        f = lambda r: f"{r['mean']:.1f} ± {r['std']:.1f}"  # noqa: E731
        print(f"| {key} | {f(rec['expert'])} | {f(rec['linear'])} | {f(rec['random'])} | "
              f"{rec['gap_ratio']:.2f} |")


if __name__ == "__main__":
    main()

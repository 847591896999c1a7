"""A one-minute demo of the core model: fit a small fixed graph to a toy target.

No structure is grown here; it shows the graph, the evaluator, autograd gradients and
edge-local Adam working together, printing the loss as it falls.

Examples
--------
>>> losses = run_demo(steps=50, seed=0, verbose=False)
>>> bool(losses[-1] < losses[0])
True
"""

from __future__ import annotations

import numpy as np

from .config import AdamConfig, SPMConfig, _check_range
from .engine import ReferenceEngine
from .graph import add_edge, add_hidden_node, initial_graph


def run_demo(steps: int = 300, seed: int = 0, *, verbose: bool = True) -> list[float]:
    """Fit ``y = [sin(x0) + x1, x0 x1]`` with a 2-input, 3-hidden, 2-output graph (MSE).

    Raises
    ------
    ValueError
        For ``steps`` below 1 or a negative ``seed``.
    """
    _check_range("run_demo", "steps", steps, 1, None, integer=True)
    _check_range("run_demo", "seed", seed, 0, None, integer=True)
    rng = np.random.default_rng(seed)
    G = initial_graph(2, 2, density=1.0, rng=rng)
    for _ in range(3):
        h = add_hidden_node(G)
        for u in (0, 1):
            add_edge(G, u, h, rng.uniform(-1, 1))
        for v in (2, 3):
            add_edge(G, h, v, rng.uniform(-1, 1))
    engine = ReferenceEngine(G, adam=AdamConfig(lr=0.05), spm=SPMConfig(), loss="mse")
    X = rng.uniform(-1.5, 1.5, size=(64, 2))
    Y = np.stack([np.sin(X[:, 0]) + X[:, 1], X[:, 0] * X[:, 1]], axis=1)
    losses = []
    for t in range(1, steps + 1):
        losses.append(engine.train_step(X, Y))
        if verbose and (t == 1 or t % 50 == 0):
            print(f"step {t:4d}  mse {losses[-1]:.5f}")
    return losses

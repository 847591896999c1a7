"""Adam whose moments live on the edge or node they belong to.

The paper updates weights with a standard gradient optimizer (Adam) while the SPM edits the
structure (Jia & Zhou, arXiv 2512.12713). Keeping each parameter's Adam state (``adam_m``,
``adam_v`` and its own step count ``adam_t``) as attributes of its edge or node means a
structural edit elsewhere leaves it untouched, and a new edge starts from a fresh state.

Textbook Adam (Kingma & Ba, 2015), per parameter ``theta`` with gradient ``g``::

    t     <- t + 1
    m     <- beta1 m + (1 - beta1) g
    v     <- beta2 v + (1 - beta2) g^2
    m_hat  = m / (1 - beta1^t)
    v_hat  = v / (1 - beta2^t)
    Delta  = -lr m_hat / (sqrt(v_hat) + eps)
    theta <- theta + Delta

``Delta`` of every edge weight is appended to that edge's ``updates`` deque: these are the
``Delta w_{k,t}`` whose rolling statistics drive the SPM.

Examples
--------
>>> from smgrnn_ref.graph import empty_graph, add_edge
>>> from smgrnn_ref.config import AdamConfig
>>> G = empty_graph(1, 1); add_edge(G, 0, 1, 0.0)
>>> deltas = adam_step(G, [("weight", 0, 1)], [2.0], AdamConfig(lr=0.1))
>>> round(G.edges[0, 1]["weight"], 6), list(G.edges[0, 1]["updates"]) == [deltas[0]]
(-0.1, True)
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from .config import AdamConfig
from .params import param_attrs


def adam_update(g: float, m: float, v: float, t: int, cfg: AdamConfig) -> tuple[float, float, float]:
    """One Adam step for one parameter: return ``(Delta, m, v)`` given the state *after*
    incrementing the step count to ``t``.

    Parameters
    ----------
    g : float
        The gradient.
    m, v : float
        The moments before the step.
    t : int
        The step count, already incremented (``>= 1``).
    cfg : AdamConfig

    Returns
    -------
    (float, float, float)
        The applied change ``Delta`` and the new moments.

    Examples
    --------
    >>> delta, m, v = adam_update(2.0, 0.0, 0.0, 1, AdamConfig(lr=0.1, eps=0.0))
    >>> round(delta, 12), round(m, 12), round(v, 12)  # the first step is -lr sign(g)
    (-0.1, 0.2, 0.004)
    """
    # m <- beta1 m + (1 - beta1) g
    m = cfg.beta1 * m + (1.0 - cfg.beta1) * g
    # v <- beta2 v + (1 - beta2) g^2
    v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g
    # bias corrections m_hat, v_hat
    m_hat = m / (1.0 - cfg.beta1**t)
    v_hat = v / (1.0 - cfg.beta2**t)
    # Delta = -lr m_hat / (sqrt(v_hat) + eps)
    delta = -cfg.lr * m_hat / (math.sqrt(v_hat) + cfg.eps)
    return delta, m, v


def adam_step(G: nx.DiGraph, keys, grads, cfg: AdamConfig) -> list[float]:
    """Apply one Adam step to every parameter named in ``keys`` with gradient ``grads``.

    Updates the weight or bias in place, the element's Adam state, and appends each edge's
    applied change ``Delta`` to its ``updates`` deque.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    keys : list of tuple
        Parameter keys (:func:`smgrnn_ref.params.param_keys`).
    grads : array_like
        One gradient per key.
    cfg : AdamConfig

    Returns
    -------
    list of float
        ``Delta`` per key.

    Raises
    ------
    ValueError
        When the lengths differ or a gradient is NaN or infinite (nothing is updated then).
    """
    grads = np.asarray(grads, dtype=float)
    if len(keys) != grads.shape[0]:
        raise ValueError(f"{len(keys)} keys but {grads.shape[0]} gradients")
    if not np.all(np.isfinite(grads)):
        raise ValueError("gradient contains NaN or inf")
    deltas = []
    for key, g in zip(keys, grads):
        attrs = param_attrs(G, key)
        attrs["adam_t"] += 1
        delta, attrs["adam_m"], attrs["adam_v"] = adam_update(
            float(g), attrs["adam_m"], attrs["adam_v"], attrs["adam_t"], cfg
        )
        if key[0] == "bias":
            attrs["bias"] += delta
        else:
            attrs["weight"] += delta
            # Delta w_{k,t}: the SPM's local signal
            attrs["updates"].append(delta)
        deltas.append(delta)
    return deltas


__all__ = ["adam_update", "adam_step"]

"""The optimizers (Adam, SGD with momentum), whose state lives on the edge or node it belongs to.

The paper updates weights with a standard gradient optimizer (Adam) while the SPM edits the
structure (Jia & Zhou, arXiv 2512.12713); SGD is **our addition** (to study what drives
growth, docs/growth.md). Keeping each parameter's optimizer state as attributes of its edge or
node means a structural edit elsewhere leaves it untouched, and a new edge starts from a
fresh state (zeros). The attribute names are Adam's whatever the optimizer (one file format):

============  =====================================  ==========================================
attribute     Adam                                   SGD
============  =====================================  ==========================================
``adam_m``    first moment ``m``                     momentum buffer ``buf`` (with momentum 0:
                                                     the last gradient)
``adam_v``    second moment ``v``                    unused (stays as it was: 0 when fresh)
``adam_t``    the parameter's own step count ``t``   the same count
============  =====================================  ==========================================

Textbook Adam (Kingma & Ba, 2015), per parameter ``theta`` with gradient ``g``::

    t     <- t + 1
    m     <- beta1 m + (1 - beta1) g
    v     <- beta2 v + (1 - beta2) g^2
    m_hat  = m / (1 - beta1^t)
    v_hat  = v / (1 - beta2^t)
    Delta  = -lr m_hat / (sqrt(v_hat) + eps)
    theta <- theta + Delta

SGD with momentum ``mu`` in PyTorch's convention (no dampening, no Nesterov; ``mu = 0`` is plain
SGD)::

    t     <- t + 1
    buf   <- mu buf + g
    Delta  = -lr buf
    theta <- theta + Delta

``Delta`` of every edge weight is appended to that edge's ``updates`` deque when the window is
the paper's (``SPMConfig.window_signal = "update"``): these are the ``Delta w_{k,t}`` whose
rolling statistics drive the SPM, under either optimizer. Under the default window,
``"gradient"`` (our choice, not the paper's), the deque gets ``-g`` instead and ``Delta`` is
applied all the same (:func:`optimizer_step`, ``record=``).

``beta^t`` is :func:`smgrnn_ref.numerics.power` (correctly rounded), not Python's ``**``: that
calls the C library's ``pow``, whose last bit depends on the CPU.

Examples
--------
>>> from smgrnn_ref.graph import empty_graph, add_edge
>>> from smgrnn_ref.config import OptimizerConfig
>>> G = empty_graph(1, 1); add_edge(G, 0, 1, 0.0)
>>> deltas = optimizer_step(G, [("weight", 0, 1)], [2.0], OptimizerConfig(lr=0.1))
>>> round(G.edges[0, 1]["weight"], 6), list(G.edges[0, 1]["updates"]) == [deltas[0]]
(-0.1, True)
>>> deltas = optimizer_step(G, [("weight", 0, 1)], [2.0], OptimizerConfig(name="sgd", lr=0.1))
>>> round(G.edges[0, 1]["weight"], 6), G.edges[0, 1]["adam_m"]   # -0.1 - 0.1 * 2
(-0.3, 2.0)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import networkx as nx
import numpy as np

from .config import WINDOW_SIGNALS, OptimizerConfig
from .numerics import power
from .params import param_attrs


@functools.lru_cache(maxsize=1 << 16)
def bias_correction(beta: float, t: int) -> float:
    """Adam's bias correction ``1 - beta^t`` (cached: every parameter of a step shares it).

    Parameters
    ----------
    beta : float
    t : int
        ``>= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> bias_correction(0.9, 1), bias_correction(0.5, 3)
    (0.09999999999999998, 0.875)
    """
    return 1.0 - power(beta, t)


def adam_update(g: float, m: float, v: float, t: int, cfg: OptimizerConfig) -> tuple[float, float, float]:
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
    cfg : OptimizerConfig

    Returns
    -------
    (float, float, float)
        The applied change ``Delta`` and the new moments.

    Examples
    --------
    >>> delta, m, v = adam_update(2.0, 0.0, 0.0, 1, OptimizerConfig(lr=0.1, eps=0.0))
    >>> round(delta, 12), round(m, 12), round(v, 12)  # the first step is -lr sign(g)
    (-0.1, 0.2, 0.004)
    """
    # m <- beta1 m + (1 - beta1) g
    m = cfg.beta1 * m + (1.0 - cfg.beta1) * g
    # v <- beta2 v + (1 - beta2) g^2
    v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g
    # bias corrections m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t)
    m_hat = m / bias_correction(cfg.beta1, t)
    v_hat = v / bias_correction(cfg.beta2, t)
    # Delta = -lr m_hat / (sqrt(v_hat) + eps)
    delta = -cfg.lr * m_hat / (math.sqrt(v_hat) + cfg.eps)
    return delta, m, v


def sgd_update(g: float, buf: float, cfg: OptimizerConfig) -> tuple[float, float]:
    """One SGD step for one parameter: return ``(Delta, buf)``.

    Parameters
    ----------
    g : float
        The gradient.
    buf : float
        The momentum buffer before the step (0 for a fresh parameter).
    cfg : OptimizerConfig

    Returns
    -------
    (float, float)
        The applied change ``Delta`` and the new buffer.

    Examples
    --------
    >>> cfg = OptimizerConfig(name="sgd", lr=0.5, momentum=0.5)
    >>> sgd_update(2.0, 0.0, cfg), sgd_update(2.0, 2.0, cfg)
    ((-1.0, 2.0), (-1.5, 3.0))
    """
    # buf <- mu buf + g
    buf = cfg.momentum * buf + g
    # Delta = -lr buf
    delta = -cfg.lr * buf
    return delta, buf


def optimizer_step(G: nx.DiGraph, keys, grads, cfg: OptimizerConfig, *, record: str = "update") -> list[float]:
    """Apply one optimizer step (``cfg.name``) to every parameter named in ``keys`` with
    gradient ``grads``.

    Updates the weight or bias in place, the element's optimizer state (see the module
    docstring), and appends each edge's applied change ``Delta`` to its ``updates`` deque
    (``record="gradient"``, ours: the negative gradient ``-g`` instead,
    ``SPMConfig.window_signal``).

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    keys : list of tuple
        Parameter keys (:func:`smgrnn_ref.params.param_keys`).
    grads : array_like
        One gradient per key.
    cfg : OptimizerConfig
    record : {"update", "gradient"}, default "update"
        What each edge's window records.

    Returns
    -------
    list of float
        ``Delta`` per key.

    Raises
    ------
    ValueError
        When the lengths differ, a gradient is NaN or infinite (nothing is updated then) or
        ``record`` is unknown.
    """
    if record not in WINDOW_SIGNALS:
        raise ValueError(f"record must be one of {list(WINDOW_SIGNALS)}, got {record!r}")
    grads = np.asarray(grads, dtype=float)
    if len(keys) != grads.shape[0]:
        raise ValueError(f"{len(keys)} keys but {grads.shape[0]} gradients")
    if not np.all(np.isfinite(grads)):
        raise ValueError("gradient contains NaN or inf")
    deltas = []
    for key, g in zip(keys, grads):
        attrs = param_attrs(G, key)
        attrs["adam_t"] += 1
        if cfg.name == "adam":
            delta, attrs["adam_m"], attrs["adam_v"] = adam_update(
                float(g), attrs["adam_m"], attrs["adam_v"], attrs["adam_t"], cfg
            )
        else:
            delta, attrs["adam_m"] = sgd_update(float(g), attrs["adam_m"], cfg)
        if key[0] == "bias":
            attrs["bias"] += delta
        else:
            attrs["weight"] += delta
            # Delta w_{k,t}: the SPM's local signal (or -g, the step SGD would take at lr 1)
            attrs["updates"].append(delta if record == "update" else -float(g))
        deltas.append(delta)
    return deltas


def adam_step(G: nx.DiGraph, keys, grads, cfg: OptimizerConfig) -> list[float]:
    """:func:`optimizer_step` with Adam whatever ``cfg.name`` says (the former entry point).

    Parameters
    ----------
    G, keys, grads
        As :func:`optimizer_step`.
    cfg : OptimizerConfig
        Its Adam fields.

    Returns
    -------
    list of float
    """
    return optimizer_step(G, keys, grads, dataclasses.replace(cfg, name="adam"))


def resolve_optimizer(optimizer: OptimizerConfig | None, adam: OptimizerConfig | None) -> OptimizerConfig:
    """The engines' optimizer argument: ``optimizer=``, or ``adam=`` (its former name, still
    accepted so that code written before SGD existed keeps working), or the default
    :class:`~smgrnn_ref.config.OptimizerConfig` (Adam) when neither is given.

    Parameters
    ----------
    optimizer, adam : OptimizerConfig or None

    Returns
    -------
    OptimizerConfig

    Raises
    ------
    ValueError
        When both are given and differ, or either is not an ``OptimizerConfig``.

    Examples
    --------
    >>> resolve_optimizer(None, OptimizerConfig(lr=0.1)).lr
    0.1
    >>> resolve_optimizer(OptimizerConfig(name="sgd"), OptimizerConfig())
    Traceback (most recent call last):
    ...
    ValueError: optimizer= and adam= (its former name) differ; give one
    """
    if optimizer is not None and adam is not None and optimizer != adam:
        raise ValueError("optimizer= and adam= (its former name) differ; give one")
    cfg = optimizer if optimizer is not None else adam if adam is not None else OptimizerConfig()
    if not isinstance(cfg, OptimizerConfig):
        raise ValueError(f"optimizer must be an OptimizerConfig, got {type(cfg).__name__}")
    return cfg


__all__ = ["resolve_optimizer", "bias_correction", "adam_update", "sgd_update", "optimizer_step", "adam_step"]

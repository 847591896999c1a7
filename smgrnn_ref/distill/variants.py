"""The training variants: the paper's method, its ablations and the fixed-MLP baseline.

Every variant trains through the same engine and the same loop; a variant only changes which
SPM rules run (:func:`variant_spm`) and which graph the run starts from (:func:`build_graph`):

========================  ======================================  ==============================
variant                   start graph                             SPM
========================  ======================================  ==============================
``full``                  inputs and outputs only (paper)         every rule
``static``                same                                    off (the growth-disabled
                                                                  ablation)
``growth-only``           same                                    pruning off
``no-random``             same                                    ``p_rand = 0``
``mlp``                   a fixed layered tanh graph              off (the fixed-MLP baseline)
========================  ======================================  ==============================

Examples
--------
>>> variant_spm("static", SPMConfig()).enable_edge_growth
False
"""

from __future__ import annotations

import numpy as np

from ..config import SPMConfig
from ..graph import initial_graph, layered_graph

#: Training variants: the paper's method, its ablations and the fixed-MLP baseline.
VARIANTS = ("full", "static", "growth-only", "no-random", "mlp")


def variant_spm(variant: str, spm: SPMConfig) -> SPMConfig:
    """The SPM configuration a variant trains with, derived from the ``full`` one.

    ``full``: unchanged; ``static`` and ``mlp``: every rule off; ``growth-only``: pruning
    off; ``no-random``: ``p_rand = 0``.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    spm : SPMConfig
        The ``full`` variant's configuration.

    Returns
    -------
    SPMConfig

    Raises
    ------
    ValueError
        For an unknown variant.

    Examples
    --------
    >>> s = variant_spm("growth-only", SPMConfig())
    >>> s.enable_pruning, s.enable_edge_growth, s.enable_random_growth
    (False, True, True)
    >>> variant_spm("no-random", SPMConfig()).p_rand
    0.0
    """
    if variant == "full":
        return spm
    if variant in ("static", "mlp"):
        return spm.replace(enable_edge_growth=False, enable_random_growth=False, enable_pruning=False)
    if variant == "growth-only":
        return spm.replace(enable_pruning=False)
    if variant == "no-random":
        return spm.replace(p_rand=0.0)
    raise ValueError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")


def build_graph(cfg, n_inputs: int, n_outputs: int, rng: np.random.Generator):
    """The starting graph of a run: the paper's input/output graph, or the layered MLP.

    Parameters
    ----------
    cfg : TrainConfig
        Its ``variant``, ``graph``, ``spm.T`` and ``mlp_hidden`` are used.
    n_inputs, n_outputs : int
        Observation size and number of actions.
    rng : numpy.random.Generator
        The run's ``graph`` stream (initial weights).

    Returns
    -------
    networkx.DiGraph

    Examples
    --------
    >>> from smgrnn_ref.distill import TrainConfig
    >>> from smgrnn_ref.graph import hidden_nodes
    >>> cfg = TrainConfig(variant="mlp", mlp_hidden=(3,), steps=1)
    >>> G = build_graph(cfg, 4, 2, np.random.default_rng(0))
    >>> len(hidden_nodes(G)), G.number_of_edges()
    (3, 18)
    """
    if cfg.variant == "mlp":
        return layered_graph(n_inputs, list(cfg.mlp_hidden), n_outputs, rng=rng, T=cfg.spm.T,
                             hidden_activation=cfg.graph.hidden_activation)
    return initial_graph(n_inputs, n_outputs, density=cfg.graph.density, rng=rng,
                         weight_scale=cfg.graph.init_weight_scale, T=cfg.spm.T,
                         output_activation=cfg.graph.output_activation)


__all__ = ["VARIANTS", "variant_spm", "build_graph"]

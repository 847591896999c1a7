"""Pruning: rule 3 of the Structural Plasticity Module (Jia & Zhou, arXiv 2512.12713).

::

    W_t = {k : |w_k| <= tau_w  and  |mu_k| <= tau_Delta}
    D_t = a uniform subset of W_t with |D_t| = ceil(eta_prune |W_t|);   E <- E - D_t

then every hidden node left with in- or out-degree 0 is removed (repeatedly). One small
function per step of the rule; :func:`smgrnn_ref.spm.spm_step` calls them on pruning steps
(``t mod s == 0``). Where the paper is silent the choice is marked **our choice** (listed in
``docs/equations.md``). Re-exported by :mod:`smgrnn_ref.spm`, the module of the other rules.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from .config import SPMConfig
from .events import EdgePruned, Event, NodeRemoved, PruneCandidates
from .graph import check_window, hidden_nodes, require_generator
from .windows import is_full, rolling_stats


def is_prune_candidate(weight: float, updates, tau_w: float, tau_delta: float, T: int) -> bool:
    """Membership of the pruning candidate set ``W_t``.

    ::

        k in W_t  <=>  |w_k| <= tau_w   and   |mu_k| <= tau_Delta

    Non-strict inequalities, as the paper writes them. Judged only on a full window of ``T``
    updates (**our choice**): a freshly grown edge has tiny ``|w|`` and no statistics yet, and
    would otherwise be pruned before it could learn.

    Parameters
    ----------
    weight : float
        ``w_k``.
    updates : sequence of float
        The edge's window.
    tau_w, tau_delta : float
        The thresholds.
    T : int
        Window length.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For a window holding more than ``T`` updates.

    Examples
    --------
    >>> is_prune_candidate(0.25, [0.5, 0.5], tau_w=0.25, tau_delta=0.5, T=2)  # both equalities
    True
    >>> is_prune_candidate(0.25, [0.5], tau_w=0.25, tau_delta=0.5, T=2)      # not yet full
    False
    """
    if not is_full(updates, T):
        return False
    mu, _ = rolling_stats(updates)
    # |w_k| <= tau_w: the edge contributes little
    small = abs(weight) <= tau_w
    # |mu_k| <= tau_Delta: and the optimizer is not moving it
    stagnant = abs(mu) <= tau_delta
    return bool(small and stagnant)


def n_pruned(eta_prune: float, n_candidates: int) -> int:
    """How many of the ``|W_t|`` candidates are deleted.

    ::

        n = ceil(eta_prune |W_t|)

    ``ceil`` is **our choice** (the paper says "a fraction eta_prune"): with ``floor`` a lone
    candidate (``0.8 * 1``) could never be pruned.

    Parameters
    ----------
    eta_prune, n_candidates : float, int
        ``eta_prune`` in ``[0, 1]`` and ``|W_t|``.

    Returns
    -------
    int

    Examples
    --------
    >>> n_pruned(0.8, 1), n_pruned(0.8, 5), n_pruned(0.8, 6), n_pruned(0.8, 0)
    (1, 4, 5, 0)
    """
    return math.ceil(eta_prune * n_candidates)


def pruning_candidates(G: nx.DiGraph, cfg: SPMConfig) -> list[tuple[tuple[int, int], float, list[float]]]:
    """The pruning candidate set ``W_t``, each candidate with its current weight and window.

    ::

        W_t = {k in E_t : |w_k| <= tau_w  and  |mu_k| <= tau_Delta}

    The reference decision of pruning (see :func:`prune`'s ``candidates``).

    Parameters
    ----------
    G : networkx.DiGraph
    cfg : SPMConfig
        ``tau_w``, ``tau_delta`` and the window length ``T``.

    Returns
    -------
    list of ((int, int), float, list of float)
        ``(edge, w_k, window)`` in sorted edge order (example: :func:`prune`).
    """
    return [(k, G.edges[k]["weight"], list(G.edges[k]["updates"])) for k in sorted(G.edges)
            if is_prune_candidate(G.edges[k]["weight"], G.edges[k]["updates"], cfg.tau_w, cfg.tau_delta, cfg.T)]


def prune(G: nx.DiGraph, t: int, rng: np.random.Generator, cfg: SPMConfig, *,
          candidates=pruning_candidates, on_candidates=None) -> list[Event]:
    """Delete a random fraction ``eta_prune`` of the candidates ``W_t``.

    ::

        D_t = a uniform subset of W_t with |D_t| = ceil(eta_prune |W_t|);   E <- E - D_t

    ``W_t`` is listed in sorted ``(u, v)`` order and ``D_t`` is chosen by one
    ``rng.choice(|W_t|, n, replace=False)`` (no draw when ``n = 0``). Events are reported in
    sorted order, each with the edge's weight as ``candidates`` reported it.

    Parameters
    ----------
    G, t, rng, cfg
        As for :func:`spm_step`.
    candidates : callable, optional
        ``candidates(G, cfg) -> [(edge, weight, window), ...]``: ``W_t`` with each
        candidate's current weight and window (default :func:`pruning_candidates`). Another
        engine passes its own, which must return the same set and values (in any order); the
        weights go into the events, so an engine whose arrays are ahead of the graph reports
        the trained ones.
    on_candidates : callable, optional
        Receives ``W_t`` as a :class:`~smgrnn_ref.events.PruneCandidates` (each edge with
        ``w_k`` and ``mu_k``; also when empty): the record of what was judged.

    Returns
    -------
    list of EdgePruned

    Raises
    ------
    ValueError
        As :func:`~smgrnn_ref.graph.check_window` and :func:`~smgrnn_ref.graph.require_generator`.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(1, 1, T=2); add_edge(G, 0, 1, 0.0)
    >>> G.edges[0, 1]["updates"].extend([0.0, 0.0])
    >>> prune(G, 30, np.random.default_rng(0), SPMConfig(T=2), on_candidates=print)
    PruneCandidates(step=30, candidates=((0, 1, 0.0, 0.0),))
    [EdgePruned(step=30, edge=(0, 1), weight=0.0)]
    """
    check_window(G, cfg)
    require_generator(rng)
    # W_t: the candidate set, in a fixed order so the draw below is reproducible
    W_t = sorted(candidates(G, cfg))
    if on_candidates is not None:
        # mu_k from the window, by the rule's own statistic: the same number in every engine
        on_candidates(PruneCandidates(step=t, candidates=[(u, v, w, rolling_stats(x)[0]) for (u, v), w, x in W_t]))
    # n = ceil(eta_prune |W_t|)
    n = n_pruned(cfg.eta_prune, len(W_t))
    if n == 0:
        return []
    # D_t: n distinct candidates, uniformly
    chosen = sorted(rng.choice(len(W_t), n, replace=False))
    events = []
    for idx in chosen:
        (u, v), w, _ = W_t[idx]
        events.append(EdgePruned(step=t, edge=(u, v), weight=w))
        G.remove_edge(u, v)
    return events


def remove_orphans(G: nx.DiGraph, t: int) -> list[Event]:
    """Remove orphan hidden nodes, repeatedly, with their incident edges.

    ::

        orphan(h)  <=>  h hidden  and  (deg_in(h) = 0  or  deg_out(h) = 0)

    Removing an orphan can orphan its neighbours (a dangling chain of hidden nodes), so the
    rule is applied until no orphan is left. Inputs and outputs are never removed. Orphans
    of one round are removed in ascending id order; each event lists the node's incident
    edges at the moment of its removal, sorted.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    t : int
        The training step, recorded in the events.

    Returns
    -------
    list of NodeRemoved

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge, add_hidden_node
    >>> G = empty_graph(1, 1); a = add_hidden_node(G); b = add_hidden_node(G)
    >>> add_edge(G, 0, a, 0.1); add_edge(G, a, b, 0.1)   # b has no way out, then neither has a
    >>> [(e.node, e.edges) for e in remove_orphans(G, 30)]
    [(3, ((2, 3),)), (2, ((0, 2),))]
    """
    events = []
    while True:
        orphans = [h for h in hidden_nodes(G) if G.in_degree(h) == 0 or G.out_degree(h) == 0]
        if not orphans:
            return events
        for h in orphans:
            edges = sorted(list(G.in_edges(h)) + list(G.out_edges(h)))
            G.remove_node(h)
            events.append(NodeRemoved(step=t, node=h, edges=tuple(edges)))


__all__ = ["is_prune_candidate", "n_pruned", "pruning_candidates", "prune", "remove_orphans"]

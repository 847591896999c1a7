"""The Structural Plasticity Module (SPM): local rules that grow and prune ``G_t``.

Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via Local
Structural Plasticity", arXiv 2512.12713 (the rules in the paper's notation beside these
functions: docs/paper.md, section "The paper's rules"). The optimizer trains the weights; the
SPM edits the structure from windowed, per-edge statistics of the weight updates
``Delta w_{k,t}`` only (the paper's window; by default this library's windows hold the negative
gradients ``-dL/dw_k`` instead, ``SPMConfig.window_signal``, our choice: the rules below read
either the same way):

1. **Edge-driven growth.** Edge ``k = (i -> j)`` is unstable when::

       |mu_k| < 0.5 sigma_k   and   sigma_k^2 > lambda_edge |mu_k|

   and then receives a relay node ``r`` (edges ``i -> r``, ``r -> j``; ``i -> j`` is kept).
2. **Random exploratory growth.** ``G_t ~ Bernoulli(p_rand)``; when it fires,
   ``m_t = max(floor(rho_rand N_t), 1)`` new edges between unconnected pairs.
3. **Pruning.** ``W_t = {k : |w_k| <= tau_w and |mu_k| <= tau_Delta}``; a fraction
   ``eta_prune`` of ``W_t`` is deleted, then orphan hidden nodes (in- or out-degree 0).
4. **Schedule.** Step ``t`` is a pruning step when ``t mod s == 0``, else a growth step.

One small function per rule, named after the paper's term; rule 3 is written in
:mod:`smgrnn_ref.pruning` and the window statistics in :mod:`smgrnn_ref.windows`, both
re-exported here, so the whole module reads as the paper's list of rules. Where the paper is silent we
made a choice; each is marked **our choice** below and listed in ``docs/equations.md``:
population variance (ddof = 0), judgement on full buffers only (both rules), clearing the
buffer of an edge that received a relay (refractory rule), ``ceil`` rounding of
``eta_prune |W_t|``, and rejection sampling of random edges.

Every random decision draws from the explicit ``numpy.random.Generator`` passed in, in a
documented order, so a seed fixes the whole event sequence.

The three *decisions* -- which edges are unstable (:func:`unstable_edges`, with their windows),
which are pruning candidates (:func:`pruning_candidates`, with their weights and windows),
whether a new pair is valid (:func:`is_valid_new_edge`) -- are arguments of the rules and of
:func:`spm_step` (``unstable``, ``candidates``, ``is_valid``), defaulting to the functions here.
An engine that keeps the windows elsewhere passes its own, with the same answers and values
(the fast engine: from its ring buffers), and so reuses this schedule, its draws, its checks
and its records (a relay's judged window, a pruning step's ``W_t``: ``on_candidates``).

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import empty_graph, add_edge
>>> G = empty_graph(1, 1, T=4)
>>> add_edge(G, 0, 1, 0.5)
>>> G.edges[0, 1]["updates"].extend([1.0, -1.0, 1.0, -1.0])  # mean 0, variance 1: unstable
>>> cfg = SPMConfig(T=4, s=30, enable_random_growth=False)
>>> spm_step(G, 1, cfg, np.random.default_rng(0))[0].node  # a growth step: one relay
2
>>> sorted(G.edges)
[(0, 1), (0, 2), (2, 1)]
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from .config import VARIANCE_TESTS, GraphConfig, SPMConfig
from .events import EdgeAdded, Event, RelayInserted
from .graph import add_edge, add_hidden_node, check_window, require_generator
# rule 3 and the window statistics live in their own modules; re-exported so that the whole
# SPM reads from this one (``from smgrnn_ref.spm import prune, rolling_stats``)
from .pruning import is_prune_candidate, n_pruned, pruning_candidates, prune, remove_orphans
from .windows import is_full, rolling_stats

#: Coefficient of ``sigma_k`` in the first instability condition ``|mu_k| < 0.5 sigma_k``.
#: **Paper value.**
INSTABILITY_SIGMA_FACTOR = 0.5

#: A relay node starts with zero bias, so at insertion it passes ``tanh(w_ir a_i)`` only.
#: **Our choice** (the paper fixes small new weights, not the bias).
RELAY_BIAS = 0.0

#: Activation of a relay node: the hidden activation (tanh, our choice: docs/paper.md, section
#: "What the paper leaves open").
RELAY_ACTIVATION = GraphConfig.hidden_activation

#: Rejection-sampling attempts for one random edge before enumerating the exact pool.
#: **Our choice.** Rejection is cheap while valid pairs are plentiful (the usual case: a sparse
#: graph). If at least 1 pair in 20 is valid, 64 draws all miss with probability
#: (19/20)^64 < 4 %; when 64 draws do miss, valid pairs are scarce and enumerating the pool
#: is the cheaper route. Both routes sample uniformly from the valid pairs, so the constant
#: changes speed, not the distribution.
MAX_REJECTION_TRIES = 64


# --- rule 1: edge-driven growth ----------------------------------------------------------


def is_unstable(updates, lambda_edge: float, T: int, variance_test: str = "paper") -> bool:
    """The instability criterion of edge-driven growth.

    ::

        unstable(k)  <=>  |mu_k| < 0.5 sigma_k   and   sigma_k^2 > lambda_edge |mu_k|

    Strict inequalities, as the paper writes them: equality is **not** unstable. Judged only
    on a full window of ``T`` updates (**our choice**: docs/equations.md, section "Our choices
    within the SPM"): a shorter window is never unstable, so a fresh edge (or one whose window
    was just cleared) is not judged on a few noisy updates.

    With ``variance_test="scale_free"`` (**our option, not the paper's**,
    :attr:`smgrnn_ref.config.SPMConfig.variance_test`) the second test is
    ``sigma_k > lambda_edge |mu_k|``: both sides in the update's units.

    Parameters
    ----------
    updates : sequence of float
        The edge's window (weight updates, or negative gradients: ``SPMConfig.window_signal``).
    lambda_edge : float
        Threshold ``lambda_edge`` of the variance condition.
    T : int
        Window length.
    variance_test : {"paper", "scale_free"}, default "paper"
        Which second test.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For a window holding more than ``T`` updates, or an unknown ``variance_test``.

    Examples
    --------
    >>> is_unstable([1.0, -1.0, 1.0, -1.0], lambda_edge=0.01, T=4)  # mu 0, sigma 1
    True
    >>> is_unstable([1.0, -1.0, 1.0], lambda_edge=0.01, T=4)        # not yet full
    False
    >>> is_unstable([0.75, 0.75, -0.25, -0.25], 0.01, T=4)  # |mu| = 0.25 = 0.5 sigma: equality
    False

    Scaling a window by ``c`` scales ``sigma^2`` by ``c^2`` but ``|mu|`` by ``c``, so the
    paper's test depends on the update's size; the scale-free one does not:

    >>> w = [0.4, -0.2, 0.4, -0.2]         # mu 0.1, sigma 0.3: 0.09 > 0.3 * 0.1
    >>> is_unstable(w, 0.3, T=4), is_unstable([x / 10 for x in w], 0.3, T=4)  # 0.0009 < 0.003
    (True, False)
    >>> is_unstable(w, 2.0, T=4, variance_test="scale_free")  # 0.3 > 2 * 0.1
    True
    >>> is_unstable([x / 10 for x in w], 2.0, T=4, variance_test="scale_free")  # 0.03 > 0.02
    True
    """
    if variance_test not in VARIANCE_TESTS:
        raise ValueError(f"variance_test must be one of {list(VARIANCE_TESTS)}, got {variance_test!r}")
    if not is_full(updates, T):
        return False
    mu, sigma2 = rolling_stats(updates)
    # sigma_k: standard deviation of the window
    sigma = math.sqrt(sigma2)
    # |mu_k| < 0.5 sigma_k: the updates oscillate around zero rather than drift
    oscillates = abs(mu) < INSTABILITY_SIGMA_FACTOR * sigma
    if variance_test == "paper":
        # sigma_k^2 > lambda_edge |mu_k|: and their spread is large against the drift
        spread = sigma2 > lambda_edge * abs(mu)
    else:
        # sigma_k > lambda_edge |mu_k| (ours): the same comparison in the update's own units
        spread = sigma > lambda_edge * abs(mu)
    return bool(oscillates and spread)


def instability_margins(updates) -> tuple[float, float]:
    """How far a window is from each test of :func:`is_unstable` (a diagnostic).

    ::

        oscillation ratio  = |mu_k| / sigma_k        (the first test needs  < 0.5)
        variance ratio     = sigma_k^2 / |mu_k|      (the second test needs > lambda_edge)

    A zero denominator gives ``inf``. Used by ``experiments/instability_margins.py`` to show
    why a run does or does not grow (docs/calibration.md, section "Why CartPole `full` grows
    late, or not at all (our analysis)").

    Parameters
    ----------
    updates : sequence of float
        A non-empty window (full or not: a diagnostic judges any window).

    Returns
    -------
    (oscillation, variance) : tuple of float

    Raises
    ------
    ValueError
        For an empty window.

    Examples
    --------
    >>> instability_margins([0.75, 0.75, -0.25, -0.25])  # mu 0.25, sigma^2 0.25
    (0.5, 1.0)
    >>> instability_margins([1.0, -1.0, 1.0, -1.0])      # mu 0: oscillates, any lambda passes
    (0.0, inf)
    """
    mu, sigma2 = rolling_stats(updates)
    sigma = math.sqrt(sigma2)
    # |mu_k| / sigma_k: below 0.5 the window oscillates rather than drifts
    oscillation = abs(mu) / sigma if sigma > 0 else math.inf
    # sigma_k^2 / |mu_k|: above lambda_edge the spread dominates the drift
    variance = sigma2 / abs(mu) if mu != 0 else math.inf
    return oscillation, variance


def insert_relay(G: nx.DiGraph, edge: tuple[int, int], rng: np.random.Generator, cfg: SPMConfig,
                 *, t: int, window=None) -> RelayInserted:
    """Insert a relay node on the edge ``i -> j``, keeping ``i -> j``.

    ::

        V <- V + {r},   E <- E + {(i, r), (r, j)},   w_ir, w_rj ~ U[-c, c]

    with ``c = cfg.init_weight_scale`` (the paper: ``|w_init| << 1``; uniform is our choice).
    ``r`` gets a never-used id, bias :data:`RELAY_BIAS` and activation
    :data:`RELAY_ACTIVATION`. Draw order: ``w_ir`` then ``w_rj``. The window of ``i -> j`` is
    then cleared (**our choice**, the refractory rule: docs/equations.md, section "Our choices
    within the SPM"): otherwise the same unstable window would spawn a relay at every growth
    step until it slides past.

    Parameters
    ----------
    G : networkx.DiGraph
        The graph, edited in place.
    edge : (int, int)
        An existing edge ``(i, j)``.
    rng : numpy.random.Generator
    cfg : SPMConfig
    t : int
        The training step, recorded in the event.
    window : sequence of float, optional
        The window of ``i -> j`` that was judged unstable, recorded in the event (taken
        before the clear; :func:`edge_driven_growth` passes it). ``None``: not recorded.

    Returns
    -------
    RelayInserted

    Raises
    ------
    ValueError
        For an edge not in ``G`` or a ``rng`` that is not a ``numpy.random.Generator``.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(1, 1, T=4); add_edge(G, 0, 1, 0.5)
    >>> e = insert_relay(G, (0, 1), np.random.default_rng(0), SPMConfig(T=4), t=3)
    >>> e.node, sorted(G.edges), G.nodes[2]["kind"]
    (2, [(0, 1), (0, 2), (2, 1)], 'hidden')
    """
    require_generator(rng)
    i, j = edge
    if not G.has_edge(i, j):
        raise ValueError(f"insert_relay: edge {i} -> {j} is not in the graph")
    c = cfg.init_weight_scale
    # r: a fresh hidden node with a never-used id
    r = add_hidden_node(G, bias=RELAY_BIAS, activation=RELAY_ACTIVATION)
    # w_ir, w_rj ~ U[-c, c]: the first and the second draw
    w_ir, w_rj = rng.uniform(-c, c), rng.uniform(-c, c)
    add_edge(G, i, r, w_ir)
    add_edge(G, r, j, w_rj)
    # refractory rule: the unstable window of i -> j is spent on this relay
    G.edges[i, j]["updates"].clear()
    return RelayInserted(step=t, edge=(i, j), node=r, weights=(w_ir, w_rj), window=window)


def unstable_edges(G: nx.DiGraph, cfg: SPMConfig) -> list[tuple[tuple[int, int], list[float]]]:
    """The unstable edges, each with the window it was judged on.

    ::

        U_t = {k in E_t : |mu_k| < 0.5 sigma_k  and  sigma_k^2 > lambda_edge |mu_k|}

    (``sigma_k > lambda_edge |mu_k|`` with ``cfg.variance_test == "scale_free"``, ours.)

    The reference decision of edge-driven growth (the fast engine computes the same set from
    its ring buffers, see :func:`edge_driven_growth`'s ``unstable``).

    Parameters
    ----------
    G : networkx.DiGraph
    cfg : SPMConfig
        ``lambda_edge``, ``variance_test`` and the window length ``T``.

    Returns
    -------
    list of ((int, int), list of float)
        ``(k, window)`` in sorted edge order, the window oldest first (example:
        :func:`edge_driven_growth`).
    """
    return [(k, list(G.edges[k]["updates"])) for k in sorted(G.edges)
            if is_unstable(G.edges[k]["updates"], cfg.lambda_edge, cfg.T, cfg.variance_test)]


def edge_driven_growth(G: nx.DiGraph, t: int, rng: np.random.Generator, cfg: SPMConfig, *,
                       unstable=unstable_edges) -> list[Event]:
    """Edge-driven growth: a relay on every unstable edge.

    ::

        for every k = (i -> j) in U_t:  insert a relay on k

    The unstable set is judged on the windows at the start of the step, and the relays are
    inserted in sorted ``(i, j)`` order (the order of the relays' ids and weight draws); edges
    created during the step have empty windows and are not judged. Each relay's event records
    the window its parent edge was judged on.

    Parameters
    ----------
    G, t, rng, cfg
        As for :func:`spm_step` (``rng`` draws the relays' weights, :func:`insert_relay`).
    unstable : callable, optional
        ``unstable(G, cfg) -> [(edge, window), ...]``: the decision (default
        :func:`unstable_edges`). Another engine passes its own, which must return the same
        set with the same windows (in any order).

    Returns
    -------
    list of RelayInserted

    Raises
    ------
    ValueError
        As :func:`~smgrnn_ref.graph.check_window`.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(2, 1, T=2)
    >>> add_edge(G, 0, 2, 0.5); add_edge(G, 1, 2, 0.5)
    >>> G.edges[1, 2]["updates"].extend([0.5, -0.5])  # mu 0, sigma 0.5: unstable
    >>> [(e.edge, e.window) for e in edge_driven_growth(G, 1, np.random.default_rng(0), SPMConfig(T=2))]
    [((1, 2), (0.5, -0.5))]
    """
    check_window(G, cfg)
    # U_t, judged before any relay is inserted (edges are distinct: windows are never compared)
    U_t = sorted(unstable(G, cfg))
    return [insert_relay(G, k, rng, cfg, t=t, window=window) for k, window in U_t]


# --- rule 2: random exploratory growth ----------------------------------------------------


def n_random_edges(rho_rand: float, n_nodes: int) -> int:
    """Number of edges proposed when random growth fires.

    ::

        m_t = max(floor(rho_rand N_t), 1)

    Parameters
    ----------
    rho_rand, n_nodes : float, int
        ``rho_rand`` and ``N_t``, all nodes of the graph.

    Returns
    -------
    int

    Examples
    --------
    >>> n_random_edges(0.25, 10), n_random_edges(0.05, 10)
    (2, 1)
    """
    # floor(rho_rand N_t): proportional to the current graph size
    proportional = math.floor(rho_rand * n_nodes)
    # max(., 1): at least one edge whenever the trigger fires
    return max(proportional, 1)


def is_valid_new_edge(G: nx.DiGraph, u: int, v: int, allow_cycles: bool) -> bool:
    """Whether ``u -> v`` may be added by random growth.

    ``v`` is not an input, ``u != v``, there is no edge ``u -> v`` yet, and, when cycles are
    not allowed, ``v`` cannot reach ``u`` (the new edge would close a cycle).

    Parameters
    ----------
    G : networkx.DiGraph
    u, v : int
        Nodes of ``G``.
    allow_cycles : bool

    Returns
    -------
    bool

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(1, 2); add_edge(G, 1, 2, 0.1)
    >>> is_valid_new_edge(G, 0, 1, False), is_valid_new_edge(G, 2, 1, False)
    (True, False)
    >>> is_valid_new_edge(G, 2, 1, True), is_valid_new_edge(G, 1, 0, True)
    (True, False)
    """
    if u == v or G.nodes[v]["kind"] == "input" or G.has_edge(u, v):
        return False
    if allow_cycles:
        return True
    return not nx.has_path(G, v, u)


def _targets(G: nx.DiGraph) -> list[int]:
    """Sorted non-input nodes: the possible heads of a new edge."""
    return sorted(n for n, k in G.nodes(data="kind") if k != "input")


def new_edge_pool(G: nx.DiGraph, allow_cycles: bool) -> list[tuple[int, int]]:
    """Every valid new edge (see :func:`is_valid_new_edge`), in sorted ``(u, v)`` order.

    One reachability search per target (``nx.descendants``), not one per pair.

    Parameters
    ----------
    G : networkx.DiGraph
    allow_cycles : bool

    Returns
    -------
    list of (int, int)

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(2, 1); add_edge(G, 0, 2, 0.1)
    >>> new_edge_pool(G, allow_cycles=False)
    [(1, 2)]
    """
    nodes = sorted(G.nodes)
    pool = []
    for v in _targets(G):
        # v reaches u  <=>  u is a descendant of v: one search per target, not per pair
        closes_cycle = set() if allow_cycles else nx.descendants(G, v)
        for u in nodes:
            if u != v and not G.has_edge(u, v) and u not in closes_cycle:
                pool.append((u, v))
    return sorted(pool)


def sample_new_edge(G: nx.DiGraph, rng: np.random.Generator, allow_cycles: bool, *,
                    is_valid=is_valid_new_edge) -> tuple[int, int] | None:
    """One pair drawn uniformly from the valid new edges, or ``None`` if there is none.

    Rejection sampling (**our choice**): draw ``u`` uniformly from the sorted nodes and ``v``
    uniformly from the sorted non-input nodes (two ``rng.integers`` draws), accept a valid
    pair; after :data:`MAX_REJECTION_TRIES` rejections enumerate :func:`new_edge_pool` and
    draw one index. Each accepted pair is uniform over the valid pairs, and so is the
    fallback, so the result is uniform either way.

    Parameters
    ----------
    G : networkx.DiGraph
    rng : numpy.random.Generator
    allow_cycles : bool
    is_valid : callable, optional
        ``is_valid(G, u, v, allow_cycles) -> bool`` (default :func:`is_valid_new_edge`);
        another engine may pass a faster one, which must give the same answers. It is asked
        about the returned pair in every case (the pool's pair too), so a stateful one sees
        every pair it approves.

    Returns
    -------
    (int, int) or None

    Raises
    ------
    ValueError
        When ``is_valid`` rejects a pair of the exact pool (it disagrees with
        :func:`is_valid_new_edge`).

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(2, 1); add_edge(G, 0, 2, 0.1)
    >>> sample_new_edge(G, np.random.default_rng(0), allow_cycles=False)
    (1, 2)
    >>> add_edge(G, 1, 2, 0.1)
    >>> sample_new_edge(G, np.random.default_rng(0), allow_cycles=False) is None
    True
    """
    return _sample_new_edge(G, rng, allow_cycles, sorted(G.nodes), _targets(G), is_valid)


def _sample_new_edge(G: nx.DiGraph, rng: np.random.Generator, allow_cycles: bool,
                     nodes: list[int], targets: list[int], is_valid) -> tuple[int, int] | None:
    """:func:`sample_new_edge` given the sorted ``nodes`` and ``targets`` of ``G`` (random
    growth adds edges but no nodes, so it sorts them once per step, not once per edge)."""
    for _ in range(MAX_REJECTION_TRIES):
        u = nodes[rng.integers(len(nodes))]
        v = targets[rng.integers(len(targets))]
        if is_valid(G, u, v, allow_cycles):
            return (u, v)
    pool = new_edge_pool(G, allow_cycles)
    if not pool:
        return None
    pair = pool[rng.integers(len(pool))]
    # every pair random growth adds passes is_valid (a stateful one must see it)
    if not is_valid(G, *pair, allow_cycles):
        raise ValueError(f"is_valid rejected {pair}, a pair of the exact pool: it must give "
                         "the answers of spm.is_valid_new_edge")
    return pair


def random_growth(G: nx.DiGraph, t: int, rng: np.random.Generator, cfg: SPMConfig, *,
                  is_valid=is_valid_new_edge) -> list[Event]:
    """Random exploratory growth.

    ::

        G_t ~ Bernoulli(p_rand);   G_t = 1  =>  add m_t = max(floor(rho_rand N_t), 1) edges,
                                               each weight w ~ U[-c, c]

    Draw order: one ``rng.random()`` for the trigger; then per edge, the pair
    (:func:`sample_new_edge`) and its weight. The edges are added one at a time, so each is
    drawn from the pool left by the previous ones; when the pool is empty, adding stops early.
    ``N_t`` counts all nodes at the start of the step.

    Parameters
    ----------
    G, t, rng, cfg
        As for :func:`spm_step` (``cfg``: ``p_rand``, ``rho_rand``, ``init_weight_scale``
        ``c``, ``allow_cycles``).
    is_valid : callable, optional
        The validity test of new pairs (see :func:`sample_new_edge`); every pair added has
        been approved by it just before.

    Returns
    -------
    list of EdgeAdded

    Raises
    ------
    ValueError
        As :func:`~smgrnn_ref.graph.check_window` and :func:`~smgrnn_ref.graph.require_generator`.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph
    >>> G = empty_graph(2, 1)
    >>> cfg = SPMConfig(p_rand=1.0, rho_rand=0.0, init_weight_scale=0.1)
    >>> [e.edge for e in random_growth(G, 1, np.random.default_rng(0), cfg)]  # m_t = 1
    [(1, 2)]
    """
    check_window(G, cfg)
    require_generator(rng)
    c = cfg.init_weight_scale
    # G_t ~ Bernoulli(p_rand): the exploratory trigger
    fires = rng.random() < cfg.p_rand
    if not fires:
        return []
    # N_t: nodes in the graph now
    N_t = G.number_of_nodes()
    # m_t = max(floor(rho_rand N_t), 1)
    m_t = n_random_edges(cfg.rho_rand, N_t)
    events = []
    nodes, targets = sorted(G.nodes), _targets(G)
    for _ in range(m_t):
        pair = _sample_new_edge(G, rng, cfg.allow_cycles, nodes, targets, is_valid)
        if pair is None:
            break
        # w ~ U[-c, c]: a small initial weight
        w = rng.uniform(-c, c)
        add_edge(G, *pair, w)
        events.append(EdgeAdded(step=t, edge=pair, weight=w))
    return events


# --- rule 4: the schedule ------------------------------------------------------------------


def is_pruning_step(t: int, s: int) -> bool:
    """Step ``t`` is a pruning step iff ``t mod s == 0``; every other step is a growth step.

    Parameters
    ----------
    t, s : int
        The training step and the pruning period (``SPMConfig.s``).

    Returns
    -------
    bool

    Examples
    --------
    >>> [is_pruning_step(t, 3) for t in range(5)]
    [True, False, False, True, False]
    """
    return t % s == 0


def spm_step(G: nx.DiGraph, t: int, cfg: SPMConfig, rng: np.random.Generator, *,
             unstable=unstable_edges, candidates=pruning_candidates,
             is_valid=is_valid_new_edge, on_candidates=None) -> list[Event]:
    """One SPM step at training step ``t``; edits ``G`` in place and returns the events.

    ::

        t mod s == 0 :  prune, then remove orphans           (pruning step)
        otherwise    :  edge-driven growth, then random growth (growth step)

    The ablation switches of ``cfg`` turn off a rule without moving the schedule:
    ``enable_pruning=False`` makes pruning steps no-ops (growth-only);
    ``enable_edge_growth`` / ``enable_random_growth`` drop their rule from growth steps
    (all three off: static). A disabled rule draws nothing from ``rng`` and calls none of
    its functions.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    t : int
        The training step (``>= 0``), recorded in the events.
    cfg : SPMConfig
    rng : numpy.random.Generator
        Every random decision of the step, in the documented order.
    unstable, candidates, is_valid : callable, optional
        The decisions of edge-driven growth (:func:`edge_driven_growth`), pruning
        (:func:`prune`) and random growth (:func:`random_growth`). An engine that keeps the
        windows elsewhere (:class:`smgrnn_ref.fast.FastEngine`) passes its own, with the same
        answers, and reuses this schedule, its draws and its checks.
    on_candidates : callable, optional
        Receives a pruning step's candidate set (:func:`prune`); not called when pruning is off.

    Returns
    -------
    list of events
        In the order the edits were made.

    Raises
    ------
    ValueError
        For a window length other than ``cfg.T``, a ``rng`` that is not a
        ``numpy.random.Generator``, or a ``t`` that is not an integer ``>= 0``.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph
    >>> G = empty_graph(2, 1, T=4)
    >>> cfg = SPMConfig(T=4, s=2, p_rand=1.0)
    >>> [type(e).__name__ for e in spm_step(G, 1, cfg, np.random.default_rng(0))]
    ['EdgeAdded']
    >>> spm_step(G, 2, cfg, np.random.default_rng(0))   # pruning step; the new edge is too young
    []
    """
    check_window(G, cfg)
    require_generator(rng)
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"t must be an integer >= 0, got {t!r}")
    events: list[Event] = []
    if is_pruning_step(t, cfg.s):
        if cfg.enable_pruning:
            events += prune(G, t, rng, cfg, candidates=candidates, on_candidates=on_candidates)
            events += remove_orphans(G, t)
        return events
    if cfg.enable_edge_growth:
        events += edge_driven_growth(G, t, rng, cfg, unstable=unstable)
    if cfg.enable_random_growth:
        events += random_growth(G, t, rng, cfg, is_valid=is_valid)
    return events



__all__ = [
    "SPMConfig", "MAX_REJECTION_TRIES", "INSTABILITY_SIGMA_FACTOR", "RELAY_BIAS", "RELAY_ACTIVATION",
    "rolling_stats", "instability_margins",
    "is_unstable", "unstable_edges", "insert_relay", "edge_driven_growth",
    "n_random_edges", "is_valid_new_edge", "new_edge_pool", "sample_new_edge", "random_growth",
    "is_prune_candidate", "n_pruned", "pruning_candidates", "prune", "remove_orphans",
    "is_pruning_step", "spm_step",
]

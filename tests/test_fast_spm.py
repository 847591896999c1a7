"""The fast engine's hooks into the reference SPM schedule: its validity test (the topological
rank shortcut) and the weights its pruning events report. The engine-wide equivalence runs
(same events, losses and graphs as the reference engine) are in tests/test_fast.py."""

from __future__ import annotations

import copy

import networkx as nx
import numpy as np
import pytest

from smgrnn_ref import spm
from smgrnn_ref.config import AdamConfig, SPMConfig
from smgrnn_ref.events import EdgePruned
from smgrnn_ref.fast import FastEngine, RankedValidity
from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph, initial_graph


def _random_dag(rng, n_in=3, n_out=2, n_hidden=12, n_edges=40):
    """A random acyclic graph: edges only from earlier to later nodes of a shuffled order."""
    G = empty_graph(n_in, n_out)
    hs = [add_hidden_node(G) for _ in range(n_hidden)]
    order = list(range(n_in)) + [hs[i] for i in rng.permutation(n_hidden)] + list(range(n_in, n_in + n_out))
    while G.number_of_edges() < n_edges:
        a, b = sorted(rng.choice(len(order), 2, replace=False))
        if order[b] >= n_in and not G.has_edge(order[a], order[b]):
            add_edge(G, order[a], order[b], 0.1)
    return G


def _topological_rank(G):
    return {n: i for i, n in enumerate(nx.topological_sort(G))}


def test_ranked_validity_answers_as_the_plain_search_and_saves_searches(monkeypatch):
    G = _random_dag(np.random.default_rng(11))
    rank = _topological_rank(G)
    searches = []
    real = nx.has_path
    monkeypatch.setattr(spm.nx, "has_path", lambda *a: searches.append(a) or real(*a))
    pairs = [(u, v) for u in G for v in G]
    plain = [spm.is_valid_new_edge(G, u, v, False) for u, v in pairs]
    n_plain = len(searches)
    ranked = [RankedValidity(rank)(G, u, v, False) for u, v in pairs]  # a fresh rank per pair
    assert ranked == plain
    # the rank settles every pair with rank[u] < rank[v] (no search), and only those
    settled = sum(1 for u, v in pairs if u != v and G.nodes[v]["kind"] != "input"
                  and not G.has_edge(u, v) and rank[u] < rank[v])
    assert settled > 0 and len(searches) - n_plain == n_plain - settled


def test_ranked_validity_drops_its_rank_exactly_when_it_approves_a_pair_against_it():
    G = empty_graph(1, 2)  # input 0, outputs 1 and 2
    h = add_hidden_node(G)
    add_edge(G, 0, h, 0.1)
    add_edge(G, h, 1, 0.1)
    valid = RankedValidity({0: 0, h: 1, 1: 2, 2: 3})
    kept = valid.rank
    assert valid(G, h, 2, False) and valid.rank is kept  # settled by the rank
    assert not valid(G, 1, h, False) and valid.rank is kept  # against it, closes a cycle: rejected
    assert not valid(G, 2, 0, False) and valid.rank is kept  # into an input
    assert not valid(G, 0, h, False) and valid.rank is kept  # already there
    assert valid(G, 2, 1, False) and valid.rank is None  # against the rank and valid: dropped
    assert valid(G, h, 2, False)  # from now on every pair is searched
    r = add_hidden_node(G)  # a node the rank does not hold (a relay of this step)
    add_edge(G, 0, r, 0.1)
    valid = RankedValidity({0: 0, h: 1, 1: 2, 2: 3})
    assert valid(G, r, 2, False) and valid.rank is None


class _NeverDrops(RankedValidity):
    """A mutant: keeps its rank after approving a pair against it."""

    def __call__(self, G, u, v, allow_cycles):
        rank = self.rank
        answer = super().__call__(G, u, v, allow_cycles)
        self.rank = rank
        return answer


def _grow(G0, seed, is_valid, cfg):
    G = copy.deepcopy(G0)
    rng = np.random.default_rng(seed)
    events = spm.random_growth(G, 1, rng, cfg, is_valid=is_valid)
    return events, sorted(G.edges), rng.bit_generator.state


def _sample_without_the_pool_check(G, rng, allow_cycles, nodes, targets, is_valid):
    """A mutant of spm._sample_new_edge: the pool's pair is not shown to is_valid."""
    for _ in range(spm.MAX_REJECTION_TRIES):
        u = nodes[rng.integers(len(nodes))]
        v = targets[rng.integers(len(targets))]
        if is_valid(G, u, v, allow_cycles):
            return (u, v)
    pool = spm.new_edge_pool(G, allow_cycles)
    return pool[rng.integers(len(pool))] if pool else None


@pytest.mark.parametrize("tries, n_edges, rho_rand", [(spm.MAX_REJECTION_TRIES, 20, 0.5), (1, 60, 1.0)])
def test_random_growth_with_the_ranked_validity_adds_the_same_edges(monkeypatch, tries, n_edges, rho_rand):
    # many edges per step, so some land against the rank; tries = 1 on a denser graph sends
    # many draws to the exact pool
    monkeypatch.setattr(spm, "MAX_REJECTION_TRIES", tries)
    cfg = SPMConfig(p_rand=1.0, rho_rand=rho_rand, allow_cycles=False)
    G0 = _random_dag(np.random.default_rng(12), n_edges=n_edges)
    rank = _topological_rank(G0)
    against = never_drops_differs = 0
    for seed in range(20):
        plain = _grow(G0, seed, spm.is_valid_new_edge, cfg)
        assert _grow(G0, seed, RankedValidity(rank), cfg) == plain
        against += any(rank[e.edge[0]] > rank[e.edge[1]] for e in plain[0])
        never_drops_differs += _grow(G0, seed, _NeverDrops(rank), cfg) != plain
    assert against > 0  # the rank was dropped mid-call in some of these steps
    # mutation check: a validity test that kept its rank would have added other edges
    assert never_drops_differs > 0
    if tries == 1:
        # ... and so would random growth if it did not show the pool's pairs to is_valid
        monkeypatch.setattr(spm, "_sample_new_edge", _sample_without_the_pool_check)
        assert any(_grow(G0, seed, RankedValidity(rank), cfg) != _grow(G0, seed, spm.is_valid_new_edge, cfg)
                   for seed in range(20))


def test_pruned_edges_report_their_trained_weight_without_a_sync():
    # Two engines in lockstep; one has its graph synced before every SPM step, the other never
    # (its graph keeps the initial weights). Every rule but pruning is off, and every full
    # window is a candidate, so pruning steps delete most edges.
    cfg = SPMConfig(T=4, s=5, tau_w=1e9, tau_delta=1e9, enable_edge_growth=False, enable_random_growth=False)
    G = initial_graph(3, 2, density=1.0, rng=np.random.default_rng(0), T=cfg.T)
    synced, lazy = (FastEngine(G.copy(), adam=AdamConfig(lr=0.05), spm=cfg) for _ in range(2))
    stale = {e: d["weight"] for e, d in G.edges.items()}
    data = np.random.default_rng(1)
    pruned = []
    for t in range(1, 11):
        X, Y = data.normal(size=(8, 3)), data.normal(size=(8, 2))
        synced.train_step(X, Y)
        lazy.train_step(X, Y)
        current = {e: d["weight"] for e, d in synced.graph.edges.items()}
        events = synced.spm_step(t, np.random.default_rng(t))
        assert lazy.spm_step(t, np.random.default_rng(t)) == events
        assert {e: d["weight"] for e, d in lazy.structure.edges.items()} == \
            {e: w for e, w in stale.items() if lazy.structure.has_edge(*e)}  # never synced
        for ev in events:
            assert isinstance(ev, EdgePruned)
            assert ev.weight == current[ev.edge] != stale[ev.edge]
            pruned.append(ev)
    assert len(pruned) >= 3


def test_recorded_windows_and_candidate_sets_equal_the_reference_rules_without_a_sync():
    # A lazy fast engine (its graph never synced) against the reference spm_step on a copy of
    # the synced graph of an engine in lockstep: the same events, relay windows and W_t
    # records, bit for bit. Low thresholds so that relays and pruning both happen.
    cfg = SPMConfig(T=4, s=5, lambda_edge=0.0, tau_w=0.2, tau_delta=1e-2, eta_prune=0.5)
    G = initial_graph(3, 2, density=1.0, rng=np.random.default_rng(0), T=cfg.T)
    synced, lazy = (FastEngine(G.copy(), adam=AdamConfig(lr=0.05), spm=cfg) for _ in range(2))
    data = np.random.default_rng(1)
    relays = candidates = 0
    for t in range(1, 41):
        X, Y = data.normal(size=(8, 3)), data.normal(size=(8, 2))
        synced.train_step(X, Y)
        lazy.train_step(X, Y)
        ref_G, ref_judged, judged = copy.deepcopy(synced.graph), [], []
        ref_events = spm.spm_step(ref_G, t, cfg, np.random.default_rng(t), on_candidates=ref_judged.append)
        events = lazy.spm_step(t, np.random.default_rng(t), on_candidates=judged.append)
        assert events == ref_events and judged == ref_judged, t
        synced.spm_step(t, np.random.default_rng(t))
        relays += sum(e.kind == "relay_inserted" and e.window is not None for e in events)
        candidates += sum(len(j.candidates) for j in judged)
        assert len(judged) == (t % cfg.s == 0)
    assert relays >= 3 and candidates >= 3  # the check compared windows and candidates

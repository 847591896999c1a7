"""Equation-level tests of the Structural Plasticity Module (smgrnn_ref.spm) and its events.

Every expected value is worked out by hand in the test, from the rule as docs/paper.md states it
(section "The paper's rules").
Buffers use values such as 0.875, -0.375, 0.25 whose means and variances are exact binary
fractions, so "equality at a threshold" really is equality in floating point.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections import deque

import networkx as nx
import numpy as np
import pytest

from smgrnn_ref import spm
from smgrnn_ref.events import (
    EVENT_TYPES,
    EdgeAdded,
    EdgePruned,
    NodeRemoved,
    PruneCandidates,
    RelayInserted,
    event_from_dict,
    prune_candidates_from_dict,
)
from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph
from smgrnn_ref.spm import (
    SPMConfig,
    edge_driven_growth,
    insert_relay,
    instability_margins,
    is_prune_candidate,
    is_pruning_step,
    is_unstable,
    new_edge_pool,
    prune,
    random_growth,
    remove_orphans,
    rolling_stats,
    sample_new_edge,
    spm_step,
)


def fill(G, edge, values):
    """Put ``values`` in the update window of ``edge``."""
    G.edges[edge]["updates"].extend(values)


def rng_state(rng):
    return copy.deepcopy(rng.bit_generator.state)


# ------------------------------------------------------------------ rolling statistics ----


def test_rolling_stats_alternating_buffer():
    # mean (1 - 1 + 1 - 1)/4 = 0; every deviation is +-1, squared 1, mean 1
    assert rolling_stats([1.0, -1.0, 1.0, -1.0]) == (0.0, 1.0)


def test_rolling_stats_is_population_variance():
    # mean (0.75 + 0.75 - 0.25 - 0.25)/4 = 1/4; deviations +-1/2, squares 1/4
    # population variance: 4 * (1/4) / 4 = 1/4   (the sample variance would be 1/3)
    mu, sigma2 = rolling_stats(deque([0.75, 0.75, -0.25, -0.25], maxlen=4))
    assert mu == 0.25
    assert sigma2 == 0.25


def test_rolling_stats_rejects_empty_buffer():
    with pytest.raises(ValueError):
        rolling_stats([])


# ------------------------------------------------------------------ instability -----------
# B_EQ:     mu = 1/4, deviations +-1/2,  sigma = 1/2, 0.5 sigma = 1/4  -> |mu| = 0.5 sigma
# B_INSIDE: mu = 1/4, deviations +-5/8,  sigma = 5/8, 0.5 sigma = 5/16 -> |mu| < 0.5 sigma
# B_OUTSIDE: mu = 1/4, deviations +-3/8, sigma = 3/8, 0.5 sigma = 3/16 -> |mu| > 0.5 sigma
B_EQ = [0.75, 0.75, -0.25, -0.25]
B_INSIDE = [0.875, 0.875, -0.375, -0.375]
B_OUTSIDE = [0.625, 0.625, -0.125, -0.125]


def test_first_condition_strict_both_sides_and_equality():
    # lambda_edge = 0 makes the second condition sigma^2 > 0, true for all three buffers
    assert is_unstable(B_INSIDE, lambda_edge=0.0, T=4) is True
    assert is_unstable(B_EQ, lambda_edge=0.0, T=4) is False
    assert is_unstable(B_OUTSIDE, lambda_edge=0.0, T=4) is False


def test_second_condition_strict_both_sides_and_equality():
    # B_INSIDE satisfies the first condition; sigma^2 = 25/64, |mu| = 1/4
    # equality sigma^2 = lambda |mu| at lambda = (25/64) / (1/4) = 25/16 = 1.5625
    assert is_unstable(B_INSIDE, lambda_edge=1.5, T=4) is True  # 1.5/4 = 0.375 < 0.390625
    assert is_unstable(B_INSIDE, lambda_edge=1.5625, T=4) is False  # equality
    assert is_unstable(B_INSIDE, lambda_edge=1.625, T=4) is False  # 0.40625 > 0.390625


def test_scale_free_second_condition_by_hand_strict_and_equality():
    # B_INSIDE: sigma = 5/8, |mu| = 1/4; sigma = lambda |mu| at lambda = (5/8) / (1/4) = 2.5
    assert is_unstable(B_INSIDE, lambda_edge=2.25, T=4, variance_test="scale_free") is True
    assert is_unstable(B_INSIDE, lambda_edge=2.5, T=4, variance_test="scale_free") is False  # equality
    assert is_unstable(B_INSIDE, lambda_edge=2.75, T=4, variance_test="scale_free") is False
    # the first condition still applies: B_EQ and B_OUTSIDE fail it whatever lambda
    assert is_unstable(B_EQ, lambda_edge=0.0, T=4, variance_test="scale_free") is False
    assert is_unstable(B_OUTSIDE, lambda_edge=0.0, T=4, variance_test="scale_free") is False


def test_only_the_scale_free_test_ignores_the_size_of_the_updates():
    # B_INSIDE / 8 (exact in binary): sigma = 5/64, |mu| = 1/32, sigma^2 = 25/4096
    small = [x / 8 for x in B_INSIDE]
    # paper: sigma^2 / |mu| falls from 25/16 = 1.5625 to 25/128 = 0.195..., so lambda 1.5 flips
    assert is_unstable(B_INSIDE, 1.5, T=4) is True and is_unstable(small, 1.5, T=4) is False
    # scale-free: sigma / |mu| = 2.5 at both sizes
    for lam, expected in ((2.25, True), (2.5, False), (2.75, False)):
        assert is_unstable(small, lam, T=4, variance_test="scale_free") is expected


def test_an_unknown_variance_test_is_refused():
    with pytest.raises(ValueError, match="variance_test must be one of \\['paper', 'scale_free'\\], got 'sd'"):
        is_unstable(B_INSIDE, 1.0, T=4, variance_test="sd")
    with pytest.raises(ValueError, match="SPMConfig.variance_test must be one of"):
        SPMConfig(variance_test="Paper")


def test_zero_mean_oscillation_is_unstable_for_any_lambda():
    # mu = 0, sigma = 1: 0 < 0.5 and 1 > lambda * 0 = 0
    assert is_unstable([1.0, -1.0, 1.0, -1.0], lambda_edge=1e6, T=4) is True


def test_instability_margins_by_hand_and_against_the_criterion():
    # [0.3, 0.1]: mu 0.2, deviations +-0.1, sigma^2 0.01, sigma 0.1
    osc, var = instability_margins([0.3, 0.1])
    assert osc == pytest.approx(2.0) and var == pytest.approx(0.05)
    # the criterion is exactly "osc < 0.5 and var > lambda" on windows away from equality
    for window, lam in (([0.3, 0.1], 0.01), ([0.2, -0.1], 0.01), ([0.2, -0.1], 1.0), ([1.0, -1.0], 5.0)):
        osc, var = instability_margins(window)
        assert is_unstable(window, lambda_edge=lam, T=2) is (osc < 0.5 and var > lam)
    # [0.2, -0.1]: mu 0.05, sigma 0.15: oscillates (1/3 < 0.5); sigma^2/|mu| = 0.45
    assert instability_margins([0.2, -0.1]) == (pytest.approx(1 / 3), pytest.approx(0.45))


def test_silent_edge_is_not_unstable():
    # mu = 0 and sigma = 0: 0 < 0 fails
    assert is_unstable([0.0, 0.0, 0.0, 0.0], lambda_edge=0.0, T=4) is False


def test_short_buffer_is_never_judged():
    buf = deque([1.0, -1.0, 1.0], maxlen=4)
    assert is_unstable(buf, lambda_edge=0.0, T=4) is False
    buf.append(-1.0)  # now full: the same oscillation is judged, and unstable
    assert is_unstable(buf, lambda_edge=0.0, T=4) is True


def test_buffer_longer_than_window_is_an_error():
    with pytest.raises(ValueError):
        is_unstable([1.0, -1.0, 1.0, -1.0, 1.0], lambda_edge=0.0, T=4)


# ------------------------------------------------------------------ relay insertion -------


def test_insert_relay_keeps_edge_adds_two_edges_one_fresh_node():
    cfg = SPMConfig(T=4, init_weight_scale=0.125)
    G = empty_graph(2, 1, T=4)  # inputs 0, 1; output 2
    add_edge(G, 0, 2, 0.5)
    add_edge(G, 1, 2, -0.3)
    fill(G, (0, 2), [1.0, -1.0, 1.0, -1.0])
    fill(G, (1, 2), [0.5, 0.5])
    # a hidden node 3 that is later deleted: its id must not come back
    h = add_hidden_node(G)
    add_edge(G, 0, h, 0.1)
    G.remove_node(h)
    assert h == 3 and 3 not in G
    nodes_before, edges_before = set(G.nodes), set(G.edges)

    e = insert_relay(G, (0, 2), np.random.default_rng(7), cfg, t=11)

    # the relay's id is the counter's next value, 4: never 3 (used, then deleted)
    assert e.node == 4
    assert set(G.nodes) == nodes_before | {4}
    assert set(G.edges) == edges_before | {(0, 4), (4, 2)}
    # the original edge is kept, weight untouched, window cleared (refractory rule)
    assert G.edges[0, 2]["weight"] == 0.5
    assert list(G.edges[0, 2]["updates"]) == []
    # other windows untouched
    assert list(G.edges[1, 2]["updates"]) == [0.5, 0.5]
    # the relay: hidden, bias 0, tanh
    assert G.nodes[4]["kind"] == "hidden"
    assert G.nodes[4]["bias"] == 0.0
    assert G.nodes[4]["activation"] == "tanh"
    # weights: two uniform draws in [-0.125, 0.125], i -> r first
    twin = np.random.default_rng(7)
    w_ir, w_rj = twin.uniform(-0.125, 0.125), twin.uniform(-0.125, 0.125)
    assert G.edges[0, 4]["weight"] == w_ir and G.edges[4, 2]["weight"] == w_rj
    assert all(abs(w) <= 0.125 for w in (w_ir, w_rj))
    # fresh edges carry empty windows of length T
    for k in [(0, 4), (4, 2)]:
        assert list(G.edges[k]["updates"]) == [] and G.edges[k]["updates"].maxlen == 4
    assert e == RelayInserted(step=11, edge=(0, 2), node=4, weights=(w_ir, w_rj))


def test_insert_relay_on_missing_edge_is_an_error():
    G = empty_graph(1, 1, T=4)
    with pytest.raises(ValueError):
        insert_relay(G, (0, 1), np.random.default_rng(0), SPMConfig(T=4), t=1)


def test_edge_driven_growth_relays_exactly_the_unstable_edges_in_sorted_order():
    cfg = SPMConfig(T=4, lambda_edge=0.0)
    G = empty_graph(2, 2, T=4)  # inputs 0, 1; outputs 2, 3
    for k in [(0, 2), (0, 3), (1, 2), (1, 3)]:
        add_edge(G, *k, 0.5)
    fill(G, (1, 3), B_INSIDE)  # unstable
    fill(G, (0, 2), [1.0, -1.0, 1.0, -1.0])  # unstable
    fill(G, (0, 3), [0.0] * 4)  # silent: stable
    fill(G, (1, 2), [1.0, -1.0, 1.0])  # not full: not judged

    events = edge_driven_growth(G, 5, np.random.default_rng(0), cfg)

    # sorted order: (0, 2) gets the first fresh id 4, (1, 3) gets 5
    assert [(e.edge, e.node) for e in events] == [((0, 2), 4), ((1, 3), 5)]
    # each event records the window its edge was judged on, as filled above (before the clear)
    assert [e.window for e in events] == [(1.0, -1.0, 1.0, -1.0), tuple(B_INSIDE)]
    assert set(G.edges) == {(0, 2), (0, 3), (1, 2), (1, 3), (0, 4), (4, 2), (1, 5), (5, 3)}
    # refractory: the two windows were cleared, so the next growth step does nothing
    assert edge_driven_growth(G, 6, np.random.default_rng(0), cfg) == []


# ------------------------------------------------------------------ random growth ---------


@pytest.mark.parametrize("rho, expected", [(0.25, 2), (0.0, 1), (1.0, 10), (0.35, 3)])
def test_random_growth_adds_the_stated_count(rho, expected):
    # N_t = 4 inputs + 6 outputs = 10; m_t = max(floor(rho * 10), 1):
    # 0.25 -> floor(2.5) = 2; 0.0 -> max(0, 1) = 1; 1.0 -> 10; 0.35 -> floor(3.5) = 3
    cfg = SPMConfig(p_rand=1.0, rho_rand=rho, init_weight_scale=0.125)
    G = empty_graph(4, 6)
    events = random_growth(G, 3, np.random.default_rng(1), cfg)
    assert len(events) == expected
    assert G.number_of_edges() == expected
    assert len({e.edge for e in events}) == expected
    for e in events:
        assert isinstance(e, EdgeAdded) and e.step == 3
        assert G.edges[e.edge]["weight"] == e.weight and abs(e.weight) <= 0.125


def test_random_growth_stops_when_the_pool_is_empty():
    # inputs 0, 1, output 2: the only valid pairs are (0, 2) and (1, 2); m_t = floor(1 * 3) = 3
    G = empty_graph(2, 1)
    events = random_growth(G, 1, np.random.default_rng(0), SPMConfig(p_rand=1.0, rho_rand=1.0))
    assert sorted(e.edge for e in events) == [(0, 2), (1, 2)]


def test_random_growth_trigger_off_draws_once_and_adds_nothing():
    G = empty_graph(2, 2)
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    assert random_growth(G, 1, rng, SPMConfig(p_rand=0.0)) == []
    assert G.number_of_edges() == 0
    twin.random()  # exactly one Bernoulli draw was consumed
    assert rng_state(rng) == rng_state(twin)


def test_random_growth_only_new_valid_pairs_and_no_cycle_when_cycles_off():
    cfg = SPMConfig(p_rand=1.0, rho_rand=0.5, allow_cycles=False)
    rng = np.random.default_rng(5)
    G = empty_graph(3, 2)
    hs = [add_hidden_node(G) for _ in range(4)]
    add_edge(G, 0, hs[0], 0.1)
    add_edge(G, hs[0], 3, 0.1)
    inputs = {0, 1, 2}
    for t in range(1, 40):  # long enough to saturate the pool
        before = set(G.edges)
        for e in random_growth(G, t, rng, cfg):
            u, v = e.edge
            assert (u, v) not in before  # only new pairs
            assert v not in inputs  # never into an input
            assert u != v  # no self-loop
            before.add((u, v))
        assert nx.is_directed_acyclic_graph(G)
    # saturated: no valid pair is left
    assert new_edge_pool(G, allow_cycles=False) == []


def crafted_cycle_graph():
    """input 0, output 1, hidden 2 with 0->2, 2->1, 0->1.

    Pairs (u, v) with v not an input: (0,1) (0,2) (2,1) exist; (1,1) (2,2) are self-loops;
    the only pair left is (1, 2), and it closes the cycle 2 -> 1 -> 2.
    """
    G = empty_graph(1, 1)
    h = add_hidden_node(G)
    for k in [(0, h), (h, 1), (0, 1)]:
        add_edge(G, *k, 0.1)
    return G


def test_random_growth_closes_a_cycle_only_when_allowed():
    cfg = SPMConfig(p_rand=1.0, rho_rand=0.0)  # m_t = 1
    G = crafted_cycle_graph()
    assert new_edge_pool(G, allow_cycles=False) == []
    assert random_growth(G, 1, np.random.default_rng(0), cfg.replace(allow_cycles=False)) == []
    assert nx.is_directed_acyclic_graph(G)

    assert new_edge_pool(G, allow_cycles=True) == [(1, 2)]
    events = random_growth(G, 1, np.random.default_rng(0), cfg.replace(allow_cycles=True))
    assert [e.edge for e in events] == [(1, 2)]
    assert not nx.is_directed_acyclic_graph(G)


def test_sample_new_edge_asks_is_valid_about_the_pool_pair_too(monkeypatch):
    # tries = 0: the pair comes from the exact pool, and is_valid still sees it (a stateful
    # validity test must see every pair random growth adds)
    monkeypatch.setattr(spm, "MAX_REJECTION_TRIES", 0)
    G = empty_graph(2, 1)
    asked = []

    def recording(G, u, v, allow_cycles):
        asked.append((u, v))
        return spm.is_valid_new_edge(G, u, v, allow_cycles)

    pair = sample_new_edge(G, np.random.default_rng(0), False, is_valid=recording)
    assert asked == [pair] and pair in [(0, 2), (1, 2)]


def test_a_validity_test_that_rejects_a_pool_pair_is_an_error(monkeypatch):
    monkeypatch.setattr(spm, "MAX_REJECTION_TRIES", 0)
    with pytest.raises(ValueError, match="a pair of the exact pool"):
        sample_new_edge(empty_graph(2, 1), np.random.default_rng(0), False, is_valid=lambda *a: False)


@pytest.mark.parametrize("tries", [spm.MAX_REJECTION_TRIES, 0])
def test_sample_new_edge_is_uniform_over_the_pool(monkeypatch, tries):
    # input 0, outputs 1, 2, no edges: valid pairs (0,1) (0,2) (1,2) (2,1), 4 in all.
    # tries = 0 forces the enumeration fallback every time.
    monkeypatch.setattr(spm, "MAX_REJECTION_TRIES", tries)
    G = empty_graph(1, 2)
    rng = np.random.default_rng(2024)
    n = 4000
    counts = {}
    for _ in range(n):
        pair = sample_new_edge(G, rng, allow_cycles=False)
        counts[pair] = counts.get(pair, 0) + 1
    assert set(counts) == {(0, 1), (0, 2), (1, 2), (2, 1)}
    # binomial(4000, 1/4): mean 1000, sd sqrt(4000 * 3/16) ~ 27.4; allow 5 sd
    for c in counts.values():
        assert abs(c - 1000) < 5 * math.sqrt(n * 3 / 16)


# ------------------------------------------------------------------ pruning ---------------


def test_is_prune_candidate_thresholds_are_inclusive():
    # tau_w = 1/4, tau_delta = 1/8; mean of [-0.25, 0] is -1/8: both equalities hold
    assert is_prune_candidate(0.25, [-0.25, 0.0], 0.25, 0.125, T=2) is True
    assert is_prune_candidate(-0.25, [-0.25, 0.0], 0.25, 0.125, T=2) is True
    # |w| = 1/4 + 1/1024 > tau_w
    assert is_prune_candidate(0.25 + 2**-10, [-0.25, 0.0], 0.25, 0.125, T=2) is False
    # mean of [-0.25, -0.0625] is -0.15625, |mu| > 1/8
    assert is_prune_candidate(0.0, [-0.25, -0.0625], 0.25, 0.125, T=2) is False


def test_is_prune_candidate_needs_a_full_buffer():
    assert is_prune_candidate(0.0, [0.0], 0.25, 0.125, T=2) is False
    assert is_prune_candidate(0.0, [0.0, 0.0], 0.25, 0.125, T=2) is True


def prune_graph(n_candidates):
    """Inputs 0..4, outputs 5, 6. Edges u -> 5 for u < n_candidates are candidates; the
    edges into 6 are not (each fails one condition)."""
    G = empty_graph(5, 2, T=2)
    for u in range(n_candidates):
        add_edge(G, u, 5, 0.0625)
        fill(G, (u, 5), [0.0, 0.0])
    add_edge(G, 0, 6, 0.5)  # |w| too large
    fill(G, (0, 6), [0.0, 0.0])
    add_edge(G, 1, 6, 0.0625)  # mean 1/2: not stagnant
    fill(G, (1, 6), [0.5, 0.5])
    add_edge(G, 2, 6, 0.0)  # window not full
    fill(G, (2, 6), [0.0])
    return G


@pytest.mark.parametrize("n_candidates, n_deleted", [(5, 4), (1, 1), (3, 3), (4, 4)])
def test_prune_deletes_ceil_eta_of_the_candidates_and_nothing_else(n_candidates, n_deleted):
    # ceil(0.8 * 5) = 4, ceil(0.8) = 1, ceil(2.4) = 3, ceil(3.2) = 4
    cfg = SPMConfig(T=2, tau_w=0.25, tau_delta=0.125, eta_prune=0.8)
    G = prune_graph(n_candidates)
    candidates = {(u, 5) for u in range(n_candidates)}
    events = prune(G, 30, np.random.default_rng(9), cfg)
    pruned = [e.edge for e in events]
    assert len(pruned) == len(set(pruned)) == n_deleted
    assert set(pruned) <= candidates
    assert all(e.weight == 0.0625 and e.step == 30 for e in events)
    assert not any(G.has_edge(*k) for k in pruned)
    assert len(candidates - set(G.edges)) == n_deleted
    assert {(0, 6), (1, 6), (2, 6)} <= set(G.edges)


def test_prune_without_candidates_draws_nothing():
    G = prune_graph(0)
    rng = np.random.default_rng(0)
    state = rng_state(rng)
    judged = []
    assert prune(G, 30, rng, SPMConfig(T=2, tau_w=0.25, tau_delta=0.125), on_candidates=judged.append) == []
    assert rng_state(rng) == state
    assert judged == [PruneCandidates(step=30, candidates=[])]  # judged, and empty: recorded


def test_prune_records_the_candidate_set_it_drew_from():
    # candidates u -> 5 (u = 0, 1, 2) with weight 1/16; windows [1/16, -1/16] (mean 0) for
    # u = 0, 2 and [1/8, 0] (mean 1/16 <= tau_Delta = 1/8) for u = 1
    G = prune_graph(3)
    G.edges[1, 5]["updates"].clear()
    fill(G, (1, 5), [0.125, 0.0])
    for u in (0, 2):
        G.edges[u, 5]["updates"].clear()
        fill(G, (u, 5), [0.0625, -0.0625])
    judged = []
    events = prune(G, 30, np.random.default_rng(9), SPMConfig(T=2, tau_w=0.25, tau_delta=0.125),
                   on_candidates=judged.append)
    assert judged == [PruneCandidates(step=30, candidates=[(0, 5, 0.0625, 0.0), (1, 5, 0.0625, 0.0625),
                                                           (2, 5, 0.0625, 0.0)])]
    assert len(events) == 3  # ceil(0.8 * 3): the drawn edges are the pruning events


def test_spm_step_reports_every_pruning_steps_candidates_and_nothing_else():
    cfg = SPMConfig(T=2, s=3, tau_w=0.25, tau_delta=0.125, p_rand=0.0)
    judged = []
    G = prune_graph(2)
    for t in range(1, 8):
        spm_step(G, t, cfg, np.random.default_rng(t), on_candidates=judged.append)
    assert [(j.step, len(j.candidates)) for j in judged] == [(3, 2), (6, 0)]  # pruning steps only
    G = prune_graph(2)
    for t in range(1, 8):  # growth-only: no pruning step judges anything
        spm_step(G, t, cfg.replace(enable_pruning=False), np.random.default_rng(t), on_candidates=judged.append)
    assert len(judged) == 2


# ------------------------------------------------------------------ orphans ---------------


def test_remove_orphans_is_transitive_along_a_dangling_chain():
    # 0 -> a -> b -> c, c has no out-edge; 0 -> 1 keeps the output fed
    G = empty_graph(1, 1)
    a, b, c = (add_hidden_node(G) for _ in range(3))
    for k in [(0, a), (a, b), (b, c), (0, 1)]:
        add_edge(G, *k, 0.1)
    events = remove_orphans(G, 30)
    # round 1: c (out-degree 0); round 2: b; round 3: a
    assert events == [
        NodeRemoved(step=30, node=c, edges=((b, c),)),
        NodeRemoved(step=30, node=b, edges=((a, b),)),
        NodeRemoved(step=30, node=a, edges=((0, a),)),
    ]
    assert set(G.nodes) == {0, 1} and set(G.edges) == {(0, 1)}


def test_remove_orphans_from_the_source_side():
    # a has no in-edge: a goes, then b loses its only in-edge
    G = empty_graph(1, 1)
    a, b = add_hidden_node(G), add_hidden_node(G)
    for k in [(a, b), (b, 1), (0, 1)]:
        add_edge(G, *k, 0.1)
    assert [e.node for e in remove_orphans(G, 0)] == [a, b]
    assert set(G.nodes) == {0, 1}


def test_remove_orphans_keeps_inputs_outputs_and_fed_hidden_nodes():
    # isolated inputs/outputs stay; a, b sit on a cycle and have in- and out-edges: not orphans
    G = empty_graph(2, 2)
    a, b = add_hidden_node(G), add_hidden_node(G)
    for k in [(0, a), (a, b), (b, a), (b, 2)]:
        add_edge(G, *k, 0.1)
    assert remove_orphans(G, 0) == []
    assert set(G.nodes) == {0, 1, 2, 3, a, b}


# ------------------------------------------------------------------ schedule and switches -


def schedule_graph():
    """Inputs 0, 1; output 2. (0, 2) is unstable (mu 0, sigma 1) but too heavy to prune;
    (1, 2) is silent with weight 0: a prune candidate, and stable."""
    G = empty_graph(2, 1, T=4)
    add_edge(G, 0, 2, 0.5)
    fill(G, (0, 2), [1.0, -1.0, 1.0, -1.0])
    add_edge(G, 1, 2, 0.0)
    fill(G, (1, 2), [0.0] * 4)
    return G


SCHEDULE_CFG = SPMConfig(T=4, s=3, lambda_edge=0.01, tau_w=0.25, tau_delta=0.125, p_rand=1.0)


def test_is_pruning_step_follows_t_mod_s():
    assert [t for t in range(10) if is_pruning_step(t, 3)] == [0, 3, 6, 9]
    assert [t for t in range(5) if is_pruning_step(t, 1)] == [0, 1, 2, 3, 4]


def test_spm_step_alternates_pruning_and_growth():
    for t in range(7):
        G = schedule_graph()
        kinds = {e.kind for e in spm_step(G, t, SCHEDULE_CFG, np.random.default_rng(t))}
        if t % 3 == 0:  # t = 0, 3, 6: pruning step; ceil(0.8 * 1) = 1 edge goes
            assert kinds == {"edge_pruned"}
            assert not G.has_edge(1, 2)
        else:  # growth step: a relay on (0, 2), then p_rand = 1 adds random edges
            assert kinds == {"relay_inserted", "edge_added"}


def test_orphans_are_removed_on_pruning_steps_only():
    # a dangling hidden node h (in-edge only) survives a growth step and goes at the next
    # pruning step, even with nothing to prune
    cfg = SCHEDULE_CFG.replace(enable_edge_growth=False, enable_random_growth=False)
    G = empty_graph(1, 1, T=4)
    h = add_hidden_node(G)
    add_edge(G, 0, h, 0.5)
    assert spm_step(G, 1, cfg, np.random.default_rng(0)) == []
    assert h in G
    assert spm_step(G, 3, cfg, np.random.default_rng(0)) == [NodeRemoved(step=3, node=h, edges=((0, h),))]


def test_static_ablation_changes_nothing_and_draws_nothing():
    cfg = SCHEDULE_CFG.replace(enable_edge_growth=False, enable_random_growth=False, enable_pruning=False)
    G = schedule_graph()
    edges = set(G.edges)
    rng = np.random.default_rng(0)
    state = rng_state(rng)
    for t in range(7):
        assert spm_step(G, t, cfg, rng) == []
    assert set(G.edges) == edges and rng_state(rng) == state


def test_growth_only_ablation_skips_pruning_steps():
    cfg = SCHEDULE_CFG.replace(enable_pruning=False)
    G = schedule_graph()
    assert spm_step(G, 3, cfg, np.random.default_rng(0)) == []
    assert G.has_edge(1, 2)
    assert {e.kind for e in spm_step(G, 4, cfg, np.random.default_rng(0))} == {"relay_inserted", "edge_added"}


def test_random_growth_off_means_no_bernoulli_draw():
    cfg = SCHEDULE_CFG.replace(enable_random_growth=False)
    G = schedule_graph()
    G.edges[0, 2]["updates"].clear()  # nothing unstable: edge growth draws nothing either
    rng = np.random.default_rng(0)
    state = rng_state(rng)
    assert spm_step(G, 1, cfg, rng) == []
    assert rng_state(rng) == state


def test_no_random_ablation_p_rand_zero_only_relays():
    cfg = SCHEDULE_CFG.replace(p_rand=0.0)
    G = schedule_graph()
    assert [e.kind for e in spm_step(G, 1, cfg, np.random.default_rng(0))] == ["relay_inserted"]


def test_spm_step_rejects_mismatched_window_and_unseeded_rng():
    G = schedule_graph()  # T = 4
    with pytest.raises(ValueError):
        spm_step(G, 1, SPMConfig(T=5), np.random.default_rng(0))
    with pytest.raises(ValueError):
        spm_step(G, 1, SPMConfig(T=4), np.random.RandomState(0))
    with pytest.raises(ValueError):
        spm_step(G, -1, SPMConfig(T=4), np.random.default_rng(0))


def noisy_schedule_run(seed, steps=24, **hooks):
    """The schedule on :func:`schedule_graph` with a stand-in optimizer (noisy updates):
    every rule fires. Returns the events, the final edges and the rng state."""
    cfg = SCHEDULE_CFG.replace(rho_rand=0.5, allow_cycles=False)
    G = schedule_graph()
    rng, noise = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    events = []
    for t in range(1, steps + 1):
        for k in sorted(G.edges):
            G.edges[k]["updates"].append(float(noise.normal(scale=0.1)))
            G.edges[k]["weight"] = float(noise.normal(scale=0.2))
        events += spm_step(G, t, cfg, rng, **hooks)
    return events, sorted(G.edges), rng_state(rng)


def test_spm_step_with_equivalent_decision_functions_gives_the_same_events():
    # the reference decisions recomputed independently, returned in reverse (any order is
    # allowed), and a validity test by brute-force reachability (nx.descendants)
    calls = {"unstable": 0, "candidates": 0, "is_valid": 0}

    def unstable(G, cfg):
        calls["unstable"] += 1
        return [(k, list(G.edges[k]["updates"])) for k in sorted(G.edges, reverse=True)
                if spm.is_unstable(G.edges[k]["updates"], cfg.lambda_edge, cfg.T)]

    def candidates(G, cfg):
        calls["candidates"] += 1
        return [(k, G.edges[k]["weight"], list(G.edges[k]["updates"])) for k in sorted(G.edges, reverse=True)
                if is_prune_candidate(G.edges[k]["weight"], G.edges[k]["updates"], cfg.tau_w, cfg.tau_delta, cfg.T)]

    def is_valid(G, u, v, allow_cycles):
        calls["is_valid"] += 1
        return (u != v and G.nodes[v]["kind"] != "input" and not G.has_edge(u, v)
                and (allow_cycles or u not in nx.descendants(G, v)))

    for seed in range(3):
        plain = noisy_schedule_run(seed)
        hooked = noisy_schedule_run(seed, unstable=unstable, candidates=candidates, is_valid=is_valid)
        assert hooked == plain
        kinds = {e.kind for e in plain[0]}
        assert {"relay_inserted", "edge_added", "edge_pruned"} <= kinds, kinds
    assert min(calls.values()) > 0  # every hook was used


def test_the_hooks_decide_and_the_pruned_weight_comes_from_the_candidates():
    # decisions that differ from the reference's change the edits accordingly: the hooks
    # are really what decides, and a pruned edge reports the weight the hook gave
    G = schedule_graph()  # reference: (0, 2) unstable, (1, 2) the only candidate
    events = spm_step(G, 1, SCHEDULE_CFG.replace(p_rand=0.0), np.random.default_rng(0),
                      unstable=lambda G, cfg: [((1, 2), [0.5, -0.25])])
    assert [e.edge for e in events] == [(1, 2)] and events[0].kind == "relay_inserted"
    assert events[0].window == (0.5, -0.25)  # the window the hook judged, in the event
    G = schedule_graph()
    judged = []
    events = spm_step(G, 3, SCHEDULE_CFG, np.random.default_rng(0),
                      candidates=lambda G, cfg: [((0, 2), 0.125, [0.25, 0.5, 0.0, -0.25])], on_candidates=judged.append)
    assert events == [EdgePruned(step=3, edge=(0, 2), weight=0.125)]
    assert G.has_edge(1, 2) and not G.has_edge(0, 2)
    # W_t as the hook gave it: the weight, and mu = (0.25 + 0.5 + 0 - 0.25) / 4 = 0.125
    assert judged == [PruneCandidates(step=3, candidates=[(0, 2, 0.125, 0.125)])]


def test_disabled_rules_call_none_of_their_hooks():
    def boom(*args):
        raise AssertionError("a disabled rule called its hook")

    cfg = SCHEDULE_CFG.replace(enable_edge_growth=False, enable_random_growth=False, enable_pruning=False)
    for t in range(7):
        assert spm_step(schedule_graph(), t, cfg, np.random.default_rng(0),
                        unstable=boom, candidates=boom, is_valid=boom) == []


def test_same_seed_same_event_sequence():
    cfg = SCHEDULE_CFG.replace(rho_rand=0.5, allow_cycles=True)

    def run(seed):
        G = schedule_graph()
        rng = np.random.default_rng(seed)
        noise = np.random.default_rng(seed + 1)
        events = []
        for t in range(1, 25):
            for k in sorted(G.edges):  # stand-in optimizer: noisy updates
                G.edges[k]["updates"].append(float(noise.normal()))
            events += spm_step(G, t, cfg, rng)
        return events, sorted(G.edges)

    first, second = run(42), run(42)
    assert first == second
    assert len(first[0]) > 0


# ------------------------------------------------------------------ events ----------------


ALL_EVENTS = [
    RelayInserted(step=3, edge=(0, 2), node=5, weights=(0.25, -0.125)),
    RelayInserted(step=3, edge=(0, 2), node=5, weights=(0.25, -0.125), window=(0.1, -0.30000000000000004)),
    EdgeAdded(step=4, edge=(5, 2), weight=-0.0078125),
    EdgePruned(step=30, edge=(1, 2), weight=0.0),
    NodeRemoved(step=30, node=5, edges=((0, 5), (5, 2))),
]


def test_event_kinds():
    assert [e.kind for e in ALL_EVENTS] == ["relay_inserted", "relay_inserted", "edge_added", "edge_pruned",
                                            "node_removed"]
    assert sorted(EVENT_TYPES) == sorted({e.kind for e in ALL_EVENTS})


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.kind)
def test_event_json_round_trip(event):
    d = json.loads(json.dumps(event.to_dict()))
    assert d["kind"] == event.kind
    assert event_from_dict(d) == event


def test_event_to_dict_is_hand_written_form():
    assert ALL_EVENTS[4].to_dict() == {"kind": "node_removed", "step": 30, "node": 5, "edges": [[0, 5], [5, 2]]}
    # a relay's window is written only when it has one, every digit kept (repr round-trips)
    assert "window" not in ALL_EVENTS[0].to_dict()
    assert json.dumps(ALL_EVENTS[1].to_dict()) == ('{"kind": "relay_inserted", "step": 3, "edge": [0, 2], "node": 5, '
                                                   '"weights": [0.25, -0.125], "window": [0.1, -0.30000000000000004]}')
    assert ALL_EVENTS[0] != ALL_EVENTS[1]  # the window is part of the record


def test_prune_candidates_record_round_trip_and_checks():
    rec = PruneCandidates(step=np.int64(30), candidates=[(0, 4, np.float64(0.01), -0.0004), [3, 4, 0.02, 0.0]])
    d = json.loads(json.dumps(rec.to_dict()))
    assert d == {"step": 30, "candidates": [[0, 4, 0.01, -0.0004], [3, 4, 0.02, 0.0]]}
    assert prune_candidates_from_dict(d) == rec
    for bad in ({"step": 30}, {"step": 30, "candidates": [], "x": 1}, {"step": -1, "candidates": []},
                {"step": 30, "candidates": [[3, 4, 0.02, 0.0], [0, 4, 0.01, 0.0]]},  # not sorted
                {"step": 30, "candidates": [[0, 4, 0.01, 0.0], [0, 4, 0.01, 0.0]]},  # twice
                {"step": 30, "candidates": [[0, 4, 0.01]]}, {"step": 30, "candidates": [[0, 4, 0.01, float("inf")]]}):
        with pytest.raises(ValueError):
            prune_candidates_from_dict(bad)


def test_events_are_frozen_and_accept_numpy_scalars():
    e = EdgeAdded(step=np.int64(2), edge=(np.int64(0), np.int64(3)), weight=np.float64(0.5))
    assert json.dumps(e.to_dict()) == '{"kind": "edge_added", "step": 2, "edge": [0, 3], "weight": 0.5}'
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.weight = 1.0


@pytest.mark.parametrize(
    "d",
    [
        [],  # not a mapping
        {"kind": "edge_grown", "step": 1, "edge": [0, 1], "weight": 0.1},  # unknown kind
        {"step": 1, "edge": [0, 1], "weight": 0.1},  # no kind
        {"kind": "edge_added", "step": 1, "edge": [0, 1]},  # missing weight
        {"kind": "edge_added", "step": 1, "edge": [0, 1], "weight": 0.1, "x": 1},  # extra key
        {"kind": "edge_added", "step": True, "edge": [0, 1], "weight": 0.1},  # bool step
        {"kind": "edge_added", "step": -1, "edge": [0, 1], "weight": 0.1},  # negative step
        {"kind": "edge_added", "step": 1, "edge": [0, 1, 2], "weight": 0.1},  # not a pair
        {"kind": "edge_added", "step": 1, "edge": [0, 1.5], "weight": 0.1},  # float node
        {"kind": "edge_added", "step": 1, "edge": [0, 1], "weight": float("nan")},
        {"kind": "edge_pruned", "step": 1, "edge": [0, 1], "weight": "0.1"},  # string weight
        {"kind": "relay_inserted", "step": 1, "edge": [0, 1], "node": 1, "weights": [0.1, 0.2]},
        {"kind": "relay_inserted", "step": 1, "edge": [0, 1], "node": 2, "weights": [0.1]},
        {"kind": "relay_inserted", "step": 1, "edge": [0, 1], "node": 2, "weights": [0.1, 0.2], "window": []},
        {"kind": "relay_inserted", "step": 1, "edge": [0, 1], "node": 2, "weights": [0.1, 0.2], "window": [0.1, None]},
        {"kind": "relay_inserted", "step": 1, "edge": [0, 1], "node": 2, "weights": [0.1, 0.2], "window": 0.1},
        {"kind": "edge_added", "step": 1, "edge": [0, 1], "weight": 0.1, "window": [0.1]},  # only relays
        {"kind": "node_removed", "step": 1, "node": 4, "edges": [[0, 3]]},  # not incident
        {"kind": "node_removed", "step": 1, "node": 4, "edges": 4},
    ],
)
def test_event_from_dict_rejects_malformed_input(d):
    with pytest.raises(ValueError):
        event_from_dict(d)

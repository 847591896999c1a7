"""Property-based tests of the SPM: invariants that hold after any sequence of SPM steps.

Random graphs (inputs, outputs, a few hidden nodes, forward edges and, when cycles are
allowed, back edges) are driven through random schedules while a stand-in optimizer appends
random updates to every edge window: silent (candidates for pruning), zero-mean noise
(candidates for relays) or a steady drift. After every step we check the graph against the
events the step reported and against the graph conventions.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smgrnn_ref.events import EdgeAdded, EdgePruned, NodeRemoved, RelayInserted, event_from_dict
from smgrnn_ref.graph import add_edge, add_hidden_node, hidden_nodes, initial_graph, validate_graph
from smgrnn_ref.spm import SPMConfig, is_pruning_step, spm_step

PROPERTY_SETTINGS = settings(max_examples=30, deadline=None)

#: update size of the stand-in optimizer; the pruning thresholds below are set against it
UPDATE_SCALE = 0.01


@st.composite
def scenarios(draw):
    """A random SPM configuration, graph seed and run length."""
    T = draw(st.integers(2, 5))
    cfg = SPMConfig(
        T=T,
        s=draw(st.integers(1, 5)),
        lambda_edge=draw(st.sampled_from([0.0, 0.001, 0.01, 1.0])),
        tau_w=draw(st.sampled_from([0.0, 0.05, 0.5])),
        tau_delta=draw(st.sampled_from([0.0, UPDATE_SCALE / 10, UPDATE_SCALE])),
        eta_prune=draw(st.sampled_from([0.0, 0.5, 0.8, 1.0])),
        p_rand=draw(st.sampled_from([0.0, 0.25, 1.0])),
        rho_rand=draw(st.sampled_from([0.0, 0.1, 0.5])),
        init_weight_scale=draw(st.sampled_from([0.0, 0.01, 0.1])),
        allow_cycles=draw(st.booleans()),
        enable_edge_growth=draw(st.booleans()),
        enable_random_growth=draw(st.booleans()),
        enable_pruning=draw(st.booleans()),
    )
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(0, 4)))
    return cfg, shape, draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 25))


def random_graph(n_in, n_out, n_hidden, cfg, rng):
    """Forward edges by rank (inputs < hidden in id order < outputs) keep the graph acyclic;
    back edges between non-input nodes are added only when cycles are allowed."""
    G = initial_graph(n_in, n_out, density=0.8, rng=rng, weight_scale=0.1, T=cfg.T)
    hidden = [add_hidden_node(G) for _ in range(n_hidden)]
    inputs = [n for n in G if G.nodes[n]["kind"] == "input"]
    outputs = [n for n in G if G.nodes[n]["kind"] == "output"]
    rank = inputs + hidden + outputs
    for a, u in enumerate(rank):
        for v in rank[a + 1:]:
            if G.nodes[v]["kind"] == "input" or G.has_edge(u, v):
                continue
            if rng.random() < 0.4:
                add_edge(G, u, v, rng.uniform(-0.1, 0.1))
            elif cfg.allow_cycles and G.nodes[u]["kind"] != "input" and rng.random() < 0.2:
                add_edge(G, v, u, rng.uniform(-0.1, 0.1))
    return G


def optimizer_stand_in(G, rng):
    """Append one update to every edge window (and apply it), with a per-edge regime."""
    for k in sorted(G.edges):
        regime = rng.integers(3)
        if regime == 0:  # silent: a pruning candidate once the window is full
            dw = 0.0
        elif regime == 1:  # zero-mean noise: the instability criterion's target
            dw = rng.normal(0.0, UPDATE_SCALE)
        else:  # steady drift
            dw = UPDATE_SCALE
        G.edges[k]["updates"].append(float(dw))
        G.edges[k]["weight"] += float(dw)


def run(cfg, shape, seed, n_steps, check=None):
    """Drive the SPM for ``n_steps`` steps; call ``check(G, t, before, events)`` after each."""
    rng = np.random.default_rng(seed)
    G = random_graph(*shape, cfg, rng)
    all_events = []
    for t in range(1, n_steps + 1):
        optimizer_stand_in(G, rng)
        before = (set(G.nodes), set(G.edges))
        events = spm_step(G, t, cfg, rng)
        if check is not None:
            check(G, t, before, events)
        all_events += events
    return G, all_events


@PROPERTY_SETTINGS
@given(scenarios())
def test_invariants_after_any_sequence_of_spm_steps(scenario):
    cfg, shape, seed, n_steps = scenario
    G0 = random_graph(*shape, cfg, np.random.default_rng(seed))
    fixed = {n: (d["kind"], d["index"]) for n, d in G0.nodes(data=True) if d["kind"] != "hidden"}
    ever_seen = set(G0.nodes)

    def check(G, t, before, events):
        nodes_before, edges_before = before
        # inputs and outputs intact: same ids, kinds and indices
        assert {n: (d["kind"], d["index"]) for n, d in G.nodes(data=True) if d["kind"] != "hidden"} == fixed
        # the events describe the change exactly (and only new edges were added)
        new_nodes, gone_nodes, new_edges, gone_edges = set(), set(), [], set()
        for e in events:
            assert e.step == t
            assert event_from_dict(e.to_dict()) == e
            if isinstance(e, RelayInserted):
                new_nodes.add(e.node)
                new_edges += [(e.edge[0], e.node), (e.node, e.edge[1])]
            elif isinstance(e, EdgeAdded):
                new_edges.append(e.edge)
            elif isinstance(e, EdgePruned):
                gone_edges.add(e.edge)
            elif isinstance(e, NodeRemoved):
                gone_nodes.add(e.node)
                gone_edges |= set(e.edges)
        assert len(new_edges) == len(set(new_edges)) and not set(new_edges) & edges_before
        assert set(G.nodes) == (nodes_before | new_nodes) - gone_nodes
        assert set(G.edges) == (edges_before | set(new_edges)) - gone_edges
        # node ids never reused
        assert not (set(G.nodes) - nodes_before) & ever_seen
        ever_seen.update(G.nodes)
        # no self-loop, no edge into an input, every window a deque of maxlen T, ...
        validate_graph(G)
        assert nx.number_of_selfloops(G) == 0
        assert all(d["updates"].maxlen == cfg.T for _, _, d in G.edges(data=True))
        # no hidden orphan right after a pruning step
        if cfg.enable_pruning and is_pruning_step(t, cfg.s):
            assert all(G.in_degree(h) > 0 and G.out_degree(h) > 0 for h in hidden_nodes(G))
        if not cfg.allow_cycles:
            assert nx.is_directed_acyclic_graph(G)

    G, _ = run(cfg, shape, seed, n_steps, check)

    # the grown graph still evaluates, to finite outputs
    from smgrnn_ref.evaluate import forward

    X = np.random.default_rng(seed).normal(size=(3, shape[0]))
    Y = forward(G, X, sweeps=cfg.sweeps)
    assert Y.shape == (3, shape[1])
    assert np.all(np.isfinite(Y))


@settings(max_examples=15, deadline=None)
@given(scenarios())
def test_same_seed_gives_the_same_event_sequence(scenario):
    cfg, shape, seed, n_steps = scenario
    G1, events1 = run(cfg, shape, seed, n_steps)
    G2, events2 = run(cfg, shape, seed, n_steps)
    assert events1 == events2
    assert sorted(G1.edges(data="weight")) == sorted(G2.edges(data="weight"))

"""A fast engine rebuilt from its saved graph continues exactly (issue 19, item 5).

Resuming a run builds a fresh engine from ``graph.json``: a fresh compile, none of the arrays'
history (node positions kept by in-place edits, blocks finer than the levels after a pruning,
the edge order of appended columns, the ring buffers' pointers). The run must not notice: here
the engine is rebuilt from a JSON round trip of its synced graph after **every** step of a
lively run (every SPM rule and every kind of in-place edit happens), and the events, losses and
final graph file must be byte for byte those of the uninterrupted run.

The trainer's own resume (checkpoints of a real CartPole-v1 run) is checked by the slow test
at the end and by ``benchmarks/resume_identity.py``.
"""

import json
from collections import Counter, deque

import numpy as np
import pytest

from smgrnn_ref.config import OptimizerConfig, SPMConfig
from smgrnn_ref.fast import FastEngine, available_kernels
from smgrnn_ref.io import graph_from_dict, graph_to_dict

from test_fast import same_bits
from test_fast_exact import grown_graph

#: Short windows, a low instability threshold and frequent pruning: within 150 steps relays are
#: spliced in and declined, edges appended and deleted in place, nodes orphaned, and the layout
#: compiled again many times.
LIVELY = SPMConfig(T=8, s=10, lambda_edge=0.05, tau_w=0.05, tau_delta=1e-3, rho_rand=0.05)
STEPS = 150


def _start(T):
    """A small grown graph (hidden nodes, skip connections) with windows of length ``T``."""
    G = grown_graph(5, 40)
    G.graph["T"] = T
    for _, _, d in G.edges(data=True):
        d["updates"] = deque(maxlen=T)
    for _, d in G.nodes(data=True):
        if "activations" in d:
            d["activations"] = deque(maxlen=T)
    return G


def _round_trip(G):
    """The graph as a resumed run reads it back: through the JSON text of ``graph.json``."""
    return graph_from_dict(json.loads(json.dumps(graph_to_dict(G))))


def _run(cfg, optimizer, kernel, rebuild_every_step):
    teacher = np.random.default_rng(99).normal(size=(4, 3))
    eng = FastEngine(_start(cfg.T), optimizer=optimizer, spm=cfg, kernel=kernel)
    data, spm_rng = np.random.default_rng(1), np.random.default_rng(2)
    events, losses = [], []
    for t in range(1, STEPS + 1):
        X = data.normal(size=(16, 4))
        losses.append(eng.train_step(X, np.tanh(X) @ teacher))
        events += [e.to_dict() for e in eng.spm_step(t, spm_rng)]
        if rebuild_every_step:
            eng = FastEngine(_round_trip(eng.graph), optimizer=optimizer, spm=cfg, kernel=kernel)
    # how the uninterrupted engine absorbed the edits (the rebuilt ones only ever compiled)
    return events, np.array(losses), json.dumps(graph_to_dict(eng.graph)), eng.edit_counts


@pytest.mark.parametrize("kernel", available_kernels())
@pytest.mark.parametrize("variant", ["growth-only", "full"])
@pytest.mark.parametrize("allow_cycles", [False, True])
def test_rebuilding_the_engine_after_every_step_changes_nothing(kernel, variant, allow_cycles):
    cfg = LIVELY.replace(enable_pruning=variant == "full", allow_cycles=allow_cycles)
    optimizer = OptimizerConfig(lr=0.003)
    events, losses, graph, edits = _run(cfg, optimizer, kernel, rebuild_every_step=False)
    r_events, r_losses, r_graph, _ = _run(cfg, optimizer, kernel, rebuild_every_step=True)
    assert r_events == events
    assert same_bits(r_losses, losses)
    assert r_graph == graph
    # the uninterrupted run really edited in place what the rebuilt engines compiled afresh
    kinds = Counter(e["kind"] for e in events)
    assert kinds["relay_inserted"] >= 2 and kinds["edge_added"] >= 20, kinds
    assert edits["append"] > 0 and edits["compile"] > 0
    if variant == "full":
        assert kinds["edge_pruned"] >= 20 and kinds["node_removed"] >= 1 and edits["delete"] > 0, (kinds, edits)
    if not allow_cycles and variant == "growth-only":
        assert edits["splice"] > 0, edits


@pytest.mark.parametrize("kernel", available_kernels())
def test_rebuilding_with_sgd_momentum_changes_nothing(kernel):
    cfg = LIVELY
    optimizer = OptimizerConfig(name="sgd", lr=0.02, momentum=0.9)
    assert _run(cfg, optimizer, kernel, False)[::2] == _run(cfg, optimizer, kernel, True)[::2]


@pytest.mark.slow
def test_trainer_resume_is_exact(tmp_path):
    """CartPole-v1 full seed 0, 2,400 steps, fast engine, every kernel: stopped after step 2,133
    or 2,299 and resumed from the checkpoint, the run's files are byte for byte the
    uninterrupted run's (metrics.csv without wall_time). A few minutes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from resume_identity import check

    assert check(tmp_path) == []

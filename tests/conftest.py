"""Run directories shared by the viewer tests (test_viewer.py, test_viewer_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smgrnn_ref.config import SPMConfig
from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph, hidden_nodes, initial_graph
from smgrnn_ref.io import save_graph
from smgrnn_ref.spm import insert_relay, random_growth

#: The experiments/ scripts, which tests load as modules (they are not a package).
EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load_experiment(name: str):
    """The script ``experiments/<name>.py`` as a fresh module (its ``main`` and helpers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

# A hand-made run that records the viewer's whole data contract (docs/viewer.md): relay
# windows on relay_inserted events and prune_candidates.jsonl. Window length T = 4, pruning
# every s = 10 steps. The numbers are chosen so the statistics are easy by hand:
#   relay 3 on 0 -> 2, window [0.4, -0.2, 0.4, -0.2]: mu = 0.1, sigma^2 = 0.09, sigma = 0.3,
#     |mu| / sigma = 1/3 < 0.5, sigma^2 / (lambda_edge |mu|) = 0.09 / 0.03 = 3 > 1;
#   relay 4 on 3 -> 2, window [0.2, -0.2, 0.2, -0.2]: mu = 0, |mu| / sigma = 0, ratio infinite;
#   step 10 prunes both candidates (ceil(0.8 * 2) = 2), which orphans 3, then 4 (a chain);
#   relay 5 at step 12 has no window (a run that does not record it); step 20 has W_t empty.
MADE_SPM = {"T": 4, "s": 10, "lambda_edge": 0.3, "tau_w": 0.03, "tau_delta": 0.001, "eta_prune": 0.8,
            "p_rand": 0.25, "rho_rand": 0.05, "enable_edge_growth": True, "enable_random_growth": True,
            "enable_pruning": True}
MADE_EVENTS = [
    {"kind": "relay_inserted", "step": 3, "edge": [0, 2], "node": 3, "weights": [0.004, -0.006],
     "window": [0.4, -0.2, 0.4, -0.2]},
    {"kind": "edge_added", "step": 4, "edge": [1, 3], "weight": 0.002},
    {"kind": "relay_inserted", "step": 5, "edge": [3, 2], "node": 4, "weights": [0.001, 0.003],
     "window": [0.2, -0.2, 0.2, -0.2]},
    {"kind": "edge_pruned", "step": 10, "edge": [0, 3], "weight": 0.004},
    {"kind": "edge_pruned", "step": 10, "edge": [1, 3], "weight": 0.002},
    {"kind": "node_removed", "step": 10, "node": 3, "edges": [[3, 2], [3, 4]]},
    {"kind": "node_removed", "step": 10, "node": 4, "edges": [[4, 2]]},
    {"kind": "relay_inserted", "step": 12, "edge": [1, 2], "node": 5, "weights": [0.002, 0.001]},
]
MADE_CANDIDATES = [{"step": 10, "candidates": [[0, 3, 0.004, 0.0005], [1, 3, 0.002, 0.0002]]},
                   {"step": 20, "candidates": []}]
_IN = [[0, "input", 0, None], [1, "input", 1, None]]
MADE_SNAPSHOTS = [
    {"step": 0, "nodes": _IN + [[2, "output", 0, 0.0]], "edges": [[0, 2, 0.5], [1, 2, -0.25]]},
    {"step": 10, "nodes": _IN + [[2, "output", 0, 0.01]], "edges": [[0, 2, 0.45], [1, 2, -0.2]]},
    {"step": 20, "nodes": _IN + [[2, "output", 0, 0.02], [5, "hidden", None, -0.001]],
     "edges": [[0, 2, 0.4], [1, 2, -0.15], [1, 5, 0.0025], [5, 2, 0.0015]]},
]
#: graph.json of the made run: the step-20 graph, with each edge's update window
MADE_FINAL_UPDATES = {(0, 2): [0.01, -0.02, 0.01, 0.0], (1, 2): [0.003, 0.001], (1, 5): [0.0005], (5, 2): []}


def write_made_run(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"env_id": "Made-v0", "variant": "full", "seed": 7, "steps": 20,
                                                  "frame_every": 10, "spm": MADE_SPM}))
    (out / "topology.jsonl").write_text("".join(json.dumps(s) + "\n" for s in MADE_SNAPSHOTS))
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in MADE_EVENTS))
    (out / "prune_candidates.jsonl").write_text("".join(json.dumps(c) + "\n" for c in MADE_CANDIDATES))
    (out / "metrics.csv").write_text(
        "step,episodes,beta,loss,train_return_mean,eval_return_mean,eval_return_std,hidden_nodes,edges,params\n"
        "10,1,0.5,0.4,12.0,20.0,2.0,0,2,3\n20,2,0.0,0.3,15.0,30.0,1.0,1,4,6\n")
    G = empty_graph(2, 1, T=4)
    G.graph["next_id"] = 5  # ids 3 and 4 were used by the relays pruned at step 10
    assert add_hidden_node(G, bias=-0.001) == 5
    G.nodes[2]["bias"] = 0.02
    for (u, v), w in {(0, 2): 0.4, (1, 2): -0.15, (1, 5): 0.0025, (5, 2): 0.0015}.items():
        add_edge(G, u, v, w)
        G.edges[u, v]["updates"].extend(MADE_FINAL_UPDATES[(u, v)])
    G.nodes[5]["activations"].extend([0.1, 0.2, 0.15])
    save_graph(G, out / "graph.json")
    return out


def _snapshot(G, t):
    return {"step": t, "nodes": [[n, G.nodes[n]["kind"], G.nodes[n].get("index"), G.nodes[n].get("bias")]
                                 for n in sorted(G.nodes)],
            "edges": [[u, v, G.edges[u, v]["weight"]] for u, v in sorted(G.edges)]}


def grow_with_reference_rules(n_hidden: int, seed: int = 0):
    """A growth-only graph of ``n_hidden`` hidden nodes grown with the reference SPM rules:
    at every growth step a relay (``spm.insert_relay``) on an edge drawn uniformly (a stand-in
    for an unstable edge), then random exploratory growth (``spm.random_growth``, the default
    p_rand and rho_rand); pruning steps do nothing, as in the growth-only variant. Returns
    the graph, its first and last snapshots and the events (as dicts)."""
    rng = np.random.default_rng(seed)
    cfg = SPMConfig()
    G = initial_graph(4, 2, rng=rng)
    first, events, t = _snapshot(G, 0), [], 0
    while len(hidden_nodes(G)) < n_hidden:
        t += 1
        if t % cfg.s == 0:
            continue
        events.append(insert_relay(G, sorted(G.edges)[rng.integers(G.number_of_edges())], rng, cfg, t=t))
        events += random_growth(G, t, rng, cfg)
    return G, [first, _snapshot(G, t)], [e.to_dict() for e in events]


def write_grown_run(out: Path, n_hidden: int) -> Path:
    """A growth-only run directory of :func:`grow_with_reference_rules`'s graph."""
    G, snapshots, events = grow_with_reference_rules(n_hidden)
    out.mkdir(parents=True, exist_ok=True)
    last = snapshots[-1]["step"]
    (out / "config.json").write_text(json.dumps({"env_id": "Grown-v0", "variant": "growth-only", "seed": 0,
                                                  "steps": last, "frame_every": last}))
    (out / "topology.jsonl").write_text("".join(json.dumps(s) + "\n" for s in snapshots))
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    save_graph(G, out / "graph.json")
    return out


@pytest.fixture
def made_run(tmp_path) -> Path:
    """The hand-made run above, in a fresh directory."""
    return write_made_run(tmp_path / "made")


@pytest.fixture(scope="session")
def readme_run(tmp_path_factory) -> Path:
    """The README run (CartPole-v1, full, seed 0: 5,000 steps, about 2,000 events), trained
    once per session without pictures (about 10 s)."""
    from smgrnn_ref.distill import config_for_env, train

    out = tmp_path_factory.mktemp("readme") / "run"
    train(config_for_env({"env_id": "CartPole-v1", "variant": "full", "seed": 0}), out, progress=False,
          pictures=False)
    return out

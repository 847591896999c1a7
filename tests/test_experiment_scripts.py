"""The analysis scripts under experiments/ (spread check, topology figure) on hand-made runs."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from smgrnn_ref.graph import add_edge, add_hidden_node, initial_graph
from smgrnn_ref.viz import snapshot, write_snapshot

from conftest import load_experiment


def _run(root, env, variant, seed, late):
    """A run whose only late evaluation (step 100 of 100) returns ``late``."""
    d = root / f"{env}__{variant}__s{seed}"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"env_id": env, "variant": variant, "seed": seed, "steps": 100}))
    (d / "metrics.csv").write_text("step,loss,eval_return_mean,eval_return_std,hidden_nodes,edges,params\n"
                                   f"50,0.1,-999.0,0.0,1,5,8\n100,0.1,{late},0.0,2,6,10\n")


def test_spread_check_prints_the_block_and_overall_stds(tmp_path, capsys):
    a = [1.0, 2.0, 4.0, 8.0]
    b = [3.0, 3.0, 5.0, 5.0]
    for seed, (x, y) in enumerate(zip(a, b)):
        _run(tmp_path, "Acrobot-v1", "full", seed, x)
        _run(tmp_path, "Acrobot-v1", "mlp", seed, y)
    load_experiment("spread_check").main([str(tmp_path), "--block", "2", "--n-boot", "200"])
    out = capsys.readouterr().out
    # sample stds by hand: [1, 2] -> 0.71, [4, 8] -> 2.83, [3, 3] -> 0, [5, 5] -> 0;
    # all four: mean 3.75, std sqrt(28.75 / 3) = 3.10 and mean 4, std sqrt(4 / 3) = 1.15
    assert "seeds 0-3 (4)" in out
    assert "seeds 0-1: full     1.50 ±  0.71   mlp     3.00 ±  0.00" in out
    assert "seeds 2-3: full     6.00 ±  2.83   mlp     5.00 ±  0.00" in out
    assert "all seeds: full     3.75 ±  3.10   mlp     4.00 ±  1.15" in out
    assert f"std(full) / std(mlp) = {np.sqrt(28.75 / 3) / np.sqrt(4 / 3):.2f}" in out


def _snapshots(path):
    """Steps 0, 10, 20: a relay on 0 -> 3 at step 10, edge 0 -> 3 pruned at step 20."""
    G = initial_graph(2, 2, density=1.0, rng=np.random.default_rng(0), weight_scale=0.5)
    write_snapshot(path, snapshot(G, 0))
    r = add_hidden_node(G)
    add_edge(G, 0, r, 0.1)
    add_edge(G, r, 3, 0.1)
    write_snapshot(path, snapshot(G, 10))
    G.remove_edge(0, 3)
    write_snapshot(path, snapshot(G, 20))


def test_topology_evolution_draws_one_panel_per_step(tmp_path):
    _snapshots(tmp_path / "topology.jsonl")
    mod = load_experiment("topology_evolution")
    assert mod.pick([{"step": s} for s in (0, 10, 20)], [1, 19]) == [0, 2]
    out = tmp_path / "fig.png"
    mod.main([str(tmp_path), "--steps", "0", "10", "20", "--out", str(out), "--dpi", "50", "--gif",
              str(tmp_path / "a.gif")])
    w, h = Image.open(out).size
    assert w > 2.5 * h  # three panels in a row
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 2 and gif.size == (560, 448)  # snapshots 0 and 20: every other one
    with pytest.raises(ValueError, match="repeated snapshots"):
        mod.main([str(tmp_path), "--steps", "0", "1", "--out", str(out)])
    with pytest.raises(SystemExit, match="ascending"):
        mod.main([str(tmp_path), "--steps", "10", "0", "--out", str(out)])

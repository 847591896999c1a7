"""Tests of smgrnn_ref.viz (and the snapshot format of smgrnn_ref.rundir): snapshots, the run-wide
layout, drawings, frames, animation and training plots."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from smgrnn_ref import viz
from smgrnn_ref.graph import add_edge, add_hidden_node, initial_graph, layered_graph
from smgrnn_ref.viz import (
    animate,
    diff_snapshots,
    draw,
    graph_layout,
    plot_runs,
    plot_training,
    read_snapshots,
    render_frames,
    run_layout,
    snapshot,
    snapshot_to_graph,
    snapshots_history,
    snapshots_layout,
    write_snapshot,
)


def _graph(n_in=3, n_out=2):
    return initial_graph(n_in, n_out, density=1.0, rng=np.random.default_rng(0), weight_scale=0.5)


def _relay(G, i, j, w=0.01):
    r = add_hidden_node(G)
    add_edge(G, i, r, w)
    add_edge(G, r, j, -w)
    return r


# ------------------------------------------------------------------ layout


def test_inputs_left_outputs_right_spread_by_index():
    G = _graph(4, 2)
    pos = graph_layout(G).positions
    # ids 0..3 are inputs with index 0..3, ids 4, 5 outputs with index 0, 1
    assert [pos[n] for n in range(4)] == [(0.0, 0.875), (0.0, 0.625), (0.0, 0.375), (0.0, 0.125)]
    assert [pos[n] for n in (4, 5)] == [(1.0, 0.75), (1.0, 0.25)]


def test_relays_go_between_their_endpoints_and_never_coincide():
    G = _graph(2, 1)
    relays = [_relay(G, 0, 2) for _ in range(6)]  # six relays on one edge
    prev = relays[0]
    nested = []
    for _ in range(5):  # nested relays: each on the edge from the input to the previous one
        prev = _relay(G, 0, prev)
        nested.append(prev)
    pos = graph_layout(G).positions
    assert len({pos[r] for r in relays + nested}) == len(relays + nested)
    assert all(pos[0][0] < pos[r][0] < pos[2][0] for r in relays + nested)
    assert all(pos[a][0] < pos[b][0] for a, b in zip(nested[1:], nested))  # depth grows along the chain


def test_a_layered_graph_is_drawn_in_its_layers():
    G = layered_graph(2, [3, 3], 1, rng=np.random.default_rng(0))
    pos = graph_layout(G).positions
    # ids: inputs 0, 1; outputs 2; layer 1 = 3, 4, 5; layer 2 = 6, 7, 8 (depths 1 and 2 of 3)
    for n in (3, 4, 5):
        assert pos[n][0] == pytest.approx(1 / 3)
    for n in (6, 7, 8):
        assert pos[n][0] == pytest.approx(2 / 3)
    assert len({pos[n] for n in range(3, 9)}) == 6


def test_snapshot_lifetimes_and_the_exact_ones_of_the_events():
    snaps = _synthetic_snapshots()
    h = snapshots_history(snaps)
    life = {n.id: (n.birth, n.death) for n in h.nodes}
    assert life == {0: (0, None), 1: (0, None), 2: (0, None), 3: (0, None), 4: (0, None), 5: (1, 30),
                    6: (2, None)}
    assert {(e.u, e.v): (e.birth, e.death) for e in h.edges}[(1, 4)] == (0, 30)
    # every node the snapshots show has one place, whatever frame it is drawn in
    lay = snapshots_layout(snaps)
    assert set(lay.positions) == set(life)


def test_a_run_directory_has_one_layout_for_its_frames_and_its_viewer(made_run):
    from smgrnn_ref.viewer import build_viewer_data

    d = build_viewer_data(made_run)
    lay = run_layout(made_run)
    assert {n: (round(x, 5), round(y, 5)) for n, (x, y) in lay.positions.items()} == \
        dict(zip(d["nodes"]["id"], zip(d["nodes"]["x"], d["nodes"]["y"])))


# ------------------------------------------------------------------ snapshots


def test_snapshot_contents_and_graph_rebuild():
    G = _graph(2, 1)
    G.edges[0, 2]["weight"] = 0.25
    G.edges[1, 2]["weight"] = -0.5
    r = add_hidden_node(G, bias=0.125)
    add_edge(G, 1, r, 0.75)
    snap = snapshot(G, 42)
    assert snap == {
        "step": 42,
        "nodes": [[0, "input", 0, None], [1, "input", 1, None], [2, "output", 0, 0.0], [3, "hidden", None, 0.125]],
        "edges": [[0, 2, 0.25], [1, 2, -0.5], [1, 3, 0.75]],
    }
    json.dumps(snap)  # JSON-ready
    H = snapshot_to_graph(snap)
    assert sorted(H.edges(data="weight")) == [(0, 2, 0.25), (1, 2, -0.5), (1, 3, 0.75)]
    assert H.nodes[3] == {"kind": "hidden", "bias": 0.125}
    assert H.nodes[1] == {"kind": "input", "index": 1}


def test_diff_snapshots_hand_made():
    prev = {
        "step": 0,
        "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0], [5, "hidden", None, 0.0]],
        "edges": [[0, 1, 0.1], [0, 5, 0.2], [5, 1, 0.3]],
    }
    cur = {
        "step": 1,
        "nodes": [[0, "input", 0, None], [1, "output", 0, 0.0], [6, "hidden", None, 0.0], [7, "hidden", None, 0.0]],
        "edges": [[0, 1, 0.9], [0, 6, 0.2], [6, 7, 0.1], [7, 1, 0.3]],
    }
    assert diff_snapshots(prev, cur) == {
        "added_nodes": [6, 7],
        "removed_nodes": [5],
        "added_edges": [(0, 6), (6, 7), (7, 1)],
        "removed_edges": [(0, 5), (5, 1)],
    }
    same = diff_snapshots(cur, cur)
    assert all(v == [] for v in same.values())
    assert diff_snapshots(None, prev)["added_nodes"] == [0, 1, 5]


def test_snapshot_round_trip_through_jsonl(tmp_path):
    G = _graph(3, 2)
    snaps = [snapshot(G, 0)]
    _relay(G, 0, 3)
    snaps.append(snapshot(G, 10))
    G.remove_edge(1, 4)
    snaps.append(snapshot(G, 20))
    path = tmp_path / "run" / "topology.jsonl"
    for s in snaps:
        write_snapshot(path, s)
    assert len(path.read_text().splitlines()) == 3
    assert read_snapshots(path) == snaps


def test_malformed_topology_log_names_the_line(tmp_path):
    good = json.dumps(snapshot(_graph(2, 1), 0))
    cases = {
        "bad_json": [good, good[:-7]],  # truncated last line
        "missing_key": [good, good, json.dumps({"step": 1, "nodes": []})],
        "bad_kind": [json.dumps({"step": 0, "nodes": [[0, "neuron", None, None]], "edges": []})],
        "dangling_edge": [good, json.dumps({"step": 0, "nodes": [[0, "input", 0, None]], "edges": [[0, 9, 1.0]]})],
    }
    expected_line = {"bad_json": 2, "missing_key": 3, "bad_kind": 1, "dangling_edge": 2}
    for name, lines in cases.items():
        p = tmp_path / f"{name}.jsonl"
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(ValueError, match=f"line {expected_line[name]}:"):
            read_snapshots(p)


def test_write_snapshot_refuses_nan(tmp_path):
    snap = snapshot(_graph(2, 1), 0)
    snap["edges"][0][2] = float("nan")
    with pytest.raises(ValueError):
        write_snapshot(tmp_path / "t.jsonl", snap)


# ------------------------------------------------------------------ drawing and frames


def _synthetic_snapshots():
    G = _graph(3, 2)
    snaps = [snapshot(G, 0)]
    r = _relay(G, 0, 3)  # edge-driven growth
    snaps.append(snapshot(G, 1))
    add_edge(G, 2, r, -0.4)  # random growth
    _relay(G, r, 4)
    snaps.append(snapshot(G, 2))
    G.remove_edge(1, 4)  # pruning, then the orphan relay r and its edges go
    G.remove_node(r)
    snaps.append(snapshot(G, 30))
    return snaps


def test_draw_returns_axes_with_legend_and_ghosts():
    import matplotlib.pyplot as plt

    snaps = _synthetic_snapshots()
    lay = snapshots_layout(snaps)
    d = diff_snapshots(snaps[2], snaps[3])
    ax = draw(snapshot_to_graph(snaps[3]), layout=lay, removed_nodes=d["removed_nodes"],
              removed_edges=d["removed_edges"], title="t")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["input", "hidden", "output", "weight > 0", "weight < 0", "added", "pruned"]
    assert ax.get_title() == "t"
    # the ghost of the pruned relay 5 is labelled with its id, at its place
    ghosts = [t for t in ax.texts if t.get_text() == "5"]
    assert len(ghosts) == 1 and tuple(ghosts[0].xy) == lay.positions[5]
    # every node is named by its id: the hidden relay 6 inside; inputs 0-2 and outputs 3-4
    # (index 0, 1) beside, the id first and the index second; no bare index label is left
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(["5", "6", "0 (in 0)", "1 (in 1)", "2 (in 2)", "3 (out 0)", "4 (out 1)"])
    assert not any(t.startswith(("in ", "out ")) for t in texts)
    # marks: the candidates and a relay's parent get the viewer's halos and legend entries
    ax3 = draw(snapshot_to_graph(snaps[2]), layout=lay, candidate_edges=[(1, 4)], parent_edges=[(0, 3)])
    labels = [t.get_text() for t in ax3.get_legend().get_texts()]
    assert labels[-2:] == ["relay's parent edge", "pruning candidate"]
    # straight-line mode for large graphs draws the same edges as one collection
    ax2 = draw(snapshot_to_graph(snaps[2]), layout=lay, arrows=False)
    assert sum(len(c.get_segments()) for c in ax2.collections if hasattr(c, "get_segments")) == len(
        snaps[2]["edges"]
    )
    plt.close("all")
    # a ghost needs a known position
    with pytest.raises(ValueError, match="no position known"):
        draw(snapshot_to_graph(snaps[3]), removed_nodes=[5])
    plt.close("all")


def test_render_frames_and_gif(tmp_path):
    snaps = _synthetic_snapshots()
    paths = render_frames(snaps, tmp_path / "frames", dpi=40)
    assert [p.name for p in paths] == [f"frame_{i:04d}.png" for i in range(4)]
    sizes = set()
    for p in paths:
        assert p.stat().st_size > 0
        with Image.open(p) as im:
            sizes.add(im.size)
    assert len(sizes) == 1  # same pixel size for every frame

    gif = animate(snaps, tmp_path / "topo.gif", fps=5, dpi=40)
    with Image.open(gif) as im:
        assert im.n_frames == len(snaps)

    # from a run directory holding topology.jsonl, and from the file itself
    run = tmp_path / "run"
    for s in snaps:
        write_snapshot(run / "topology.jsonl", s)
    for src in (run, run / "topology.jsonl"):
        out = animate(src, tmp_path / "from_run.gif", dpi=40)
        with Image.open(out) as im:
            assert im.n_frames == len(snaps)


def test_animate_mp4_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.animation, "_ffmpeg_exe", lambda: None)  # where animate looks it up
    with pytest.raises(RuntimeError, match="ffmpeg"):
        animate(_synthetic_snapshots(), tmp_path / "a.mp4")
    with pytest.raises(ValueError, match=".gif or .mp4"):
        animate(_synthetic_snapshots(), tmp_path / "a.avi")


# ------------------------------------------------------------------ training plots

CSV = """step,eval_return_mean,eval_return_std,hidden_nodes,edges,loss
0,20.0,5.0,0,7,0.9
100,,,2,10,0.7
200,80.5,20.0,4,15,0.5
300,150.0,30.0,7,21,0.3
400,300.0,15.0,9,24,0.2
"""


def test_plot_training_writes_png(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(CSV)
    out = tmp_path / "training.png"
    fig = plot_training(csv_path, out)
    assert out.stat().st_size > 0
    ax_r = fig.axes[0]
    # the row without an evaluation is skipped in the return panel
    line = [ln for ln in ax_r.lines if ln.get_label() == "eval return (mean)"][0]
    assert list(line.get_xdata()) == [0, 200, 300, 400]
    # a run directory works too
    plot_training(tmp_path)


def test_plot_training_missing_column(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,eval_return_mean\n0,1\n")
    with pytest.raises(ValueError, match="missing column"):
        plot_training(p)


def test_plot_runs_mean_over_seeds(tmp_path):
    def table(ret, hid):
        return {"step": [0, 10, 20], "eval_return_mean": ret, "eval_return_std": [0, 0, 0],
                "hidden_nodes": hid, "edges": [5, 6, 7]}

    tables = [table([0, 10, 20], [0, 2, 4]), table([10, 30, 50], [0, 4, 8]), table([1, 1, 1], [0, 50, 90])]
    out = tmp_path / "runs.png"
    fig = plot_runs(tables, ["full", "full", "growth-only"], out)
    assert out.stat().st_size > 0
    ax_ret, ax_hid = fig.axes[0], fig.axes[1]
    full_ret = [ln for ln in ax_ret.lines if ln.get_label() == "full (n=2)"][0]
    assert np.allclose(full_ret.get_ydata(), [5, 20, 35])
    full_hid = [ln for ln in ax_hid.lines if ln.get_label() == "full (n=2)"][0]
    assert np.allclose(full_hid.get_ydata(), [0, 3, 6])
    with pytest.raises(ValueError):
        plot_runs(tables, ["a"])

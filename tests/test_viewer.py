"""The viewer's data and page (the browser side is tests/test_viewer_browser.py)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil

import pytest

from conftest import MADE_CANDIDATES, MADE_EVENTS, MADE_FINAL_UPDATES, MADE_SNAPSHOTS
from smgrnn_ref import cli
from smgrnn_ref.viewer import VIEWER_FILE, build_viewer_data, inline, render_page, write_viewer
from smgrnn_ref.viewer import data as viewer_data


def _alive(d, t):
    """(u, v) of the edge spans and ids of the nodes alive at t, read from the page data."""
    E, N = d["edges"], d["nodes"]
    edges = {(E["u"][k], E["v"][k]) for k in range(len(E["u"]))
             if E["birth"][k] <= t and (E["death"][k] < 0 or t < E["death"][k])}
    nodes = {N["id"][i] for i in range(len(N["id"])) if N["birth"][i] <= t and (N["death"][i] < 0 or t < N["death"][i])}
    return nodes, edges


def _page_data(page: str) -> dict:
    blob = page.split('<script type="application/json" id="smgrnn-data">')[1].split("</script>")[0]
    return json.loads(blob)


# --- the hand-made run: every field of the data contract, values computed by hand ---------


def test_made_run_lifetimes(made_run):
    d = build_viewer_data(made_run)
    N = d["nodes"]
    life = {N["id"][i]: (N["birth"][i], N["death"][i]) for i in range(len(N["id"]))}
    assert life == {0: (0, -1), 1: (0, -1), 2: (0, -1), 3: (3, 10), 4: (5, 10), 5: (12, -1)}
    assert _alive(d, 4) == ({0, 1, 2, 3}, {(0, 2), (1, 2), (0, 3), (3, 2), (1, 3)})
    assert _alive(d, 9) == ({0, 1, 2, 3, 4}, {(0, 2), (1, 2), (0, 3), (3, 2), (1, 3), (3, 4), (4, 2)})
    assert _alive(d, 10) == ({0, 1, 2}, {(0, 2), (1, 2)})
    for snap in MADE_SNAPSHOTS:
        assert _alive(d, snap["step"]) == ({n[0] for n in snap["nodes"]}, {(u, v) for u, v, _ in snap["edges"]})
    # weights: the snapshot's, and a new edge's from its event
    assert d["snapshots"]["weights"][1] == [0.45, -0.2]
    E = d["edges"]
    born = {(E["u"][k], E["v"][k]): E["birth_weight"][k] for k in range(len(E["u"]))}
    assert born[(1, 3)] == 0.002 and born[(0, 2)] is None
    assert d["nodes"]["birth_bias"][d["nodes"]["id"].index(5)] == 0.0  # a relay starts at zero bias


def test_made_run_relay_windows_and_margins(made_run):
    d = build_viewer_data(made_run)
    relays = [e for e in d["events"] if e[0] == viewer_data.EVENT_CODES["relay_inserted"]]
    assert [e[1] for e in relays] == [3, 5, 12]
    assert [e[6] for e in relays] == [0, 1, -1]  # the third relay's window was not recorded
    w0, w1 = d["relay_windows"]
    # [0.4, -0.2, 0.4, -0.2]: mu = 0.1, sigma^2 = (0.3^2 * 4) / 4 = 0.09, |mu| / sigma = 1/3
    assert w0["values"] == [0.4, -0.2, 0.4, -0.2]
    assert w0["mu"] == pytest.approx(0.1) and w0["sigma2"] == pytest.approx(0.09)
    assert w0["osc"] == pytest.approx(1 / 3, rel=1e-5) and w0["var_ratio"] == pytest.approx(0.9)
    assert w0["sd_ratio"] == pytest.approx(3.0)  # sigma / |mu| = 0.3 / 0.1, the scale-free test's
    # [0.2, -0.2, 0.2, -0.2]: mu = 0, so |mu| / sigma = 0 and sigma^2 / |mu| is infinite (None)
    assert w1["mu"] == 0.0 and w1["osc"] == 0.0 and w1["var_ratio"] is None and w1["sd_ratio"] is None
    assert d["run"]["spm"]["variance_test"] == "paper"  # the made run's config does not name it: the default


def test_made_run_pruning_candidates_and_orphan_chain(made_run):
    d = build_viewer_data(made_run)
    assert d["prune_candidates"] == [[c["step"], c["candidates"]] for c in MADE_CANDIDATES]
    E = d["edges"]
    pruned = [(E["u"][e[2]], E["v"][e[2]], e[3]) for e in d["events"] if e[0] == 2]
    assert pruned == [(0, 3, 0.004), (1, 3, 0.002)]
    chain = [(d["nodes"]["id"][e[2]], sorted((E["u"][k], E["v"][k]) for k in e[3])) for e in d["events"] if e[0] == 3]
    assert chain == [(3, [(3, 2), (3, 4)]), (4, [(4, 2)])]


def test_made_run_final_windows_come_from_graph_json(made_run):
    d = build_viewer_data(made_run)
    E = d["edges"]
    alive = [k for k in range(len(E["u"])) if E["death"][k] < 0]
    got = {(E["u"][k], E["v"][k]): w for k, w in zip(alive, d["final"]["edges"])}
    for pair, ups in MADE_FINAL_UPDATES.items():
        if ups:
            mu = sum(ups) / len(ups)
            assert got[pair]["values"] == ups
            assert got[pair]["mu"] == pytest.approx(mu, abs=1e-12)
            assert got[pair]["sigma2"] == pytest.approx(sum((x - mu) ** 2 for x in ups) / len(ups), abs=1e-12)
        else:
            assert got[pair] is None  # an empty window
    assert d["final"]["nodes"] == [None, {"values": [0.1, 0.2, 0.15]}]  # output 2, hidden 5


def test_a_run_without_the_contract_says_so(made_run):
    # the same run as today's runs write it: no windows on events, no prune_candidates.jsonl
    (made_run / "prune_candidates.jsonl").unlink()
    (made_run / "events.jsonl").write_text("".join(
        json.dumps({k: v for k, v in e.items() if k != "window"}) + "\n" for e in MADE_EVENTS))
    d = build_viewer_data(made_run)
    assert d["relay_windows"] == [] and d["prune_candidates"] is None
    assert all(e[6] == -1 for e in d["events"] if e[0] == 0)


# --- a real run: the structure at every step, against a snapshot of every step -------------


@pytest.fixture(scope="module")
def every_step_run(tmp_path_factory):
    """A CartPole full run with a snapshot at every step, and a copy of it keeping only
    every 50th snapshot (and the last), as a run with frame_every = 50 would."""
    from smgrnn_ref.distill import config_for_env, train

    root = tmp_path_factory.mktemp("every")
    full = root / "full"
    cfg = config_for_env({"env_id": "CartPole-v1", "variant": "full", "seed": 0, "steps": 600, "frame_every": 1})
    train(cfg, full, progress=False, pictures=False)
    thin = root / "thin"
    shutil.copytree(full, thin)
    lines = (full / "topology.jsonl").read_text().splitlines()
    (thin / "topology.jsonl").write_text("".join(line + "\n" for i, line in enumerate(lines)
                                                 if i % 50 == 0 or i == len(lines) - 1))
    return full, thin


def test_structure_at_every_step_is_exact(every_step_run):
    full, thin = every_step_run
    d = build_viewer_data(thin)
    snaps = [json.loads(line) for line in (full / "topology.jsonl").read_text().splitlines()]
    assert len(snaps) == 601 and len(d["snapshots"]["step"]) == 13
    kinds = {e["kind"] for e in map(json.loads, (full / "events.jsonl").read_text().splitlines())}
    assert kinds >= {"edge_added", "edge_pruned", "relay_inserted"}  # the run exercises the rules
    for snap in snaps:
        want = ({n[0] for n in snap["nodes"]}, {(u, v) for u, v, _ in snap["edges"]})
        assert _alive(d, snap["step"]) == want, snap["step"]


def test_weights_are_the_latest_the_run_wrote(every_step_run):
    full, thin = every_step_run
    d = build_viewer_data(thin)
    snaps = {s["step"]: s for s in map(json.loads, (thin / "topology.jsonl").read_text().splitlines())}
    E = d["edges"]
    for t, ws in zip(d["snapshots"]["step"], d["snapshots"]["weights"]):
        alive = [k for k in range(len(E["u"])) if E["birth"][k] <= t and (E["death"][k] < 0 or t < E["death"][k])]
        assert {(E["u"][k], E["v"][k]): w for k, w in zip(alive, ws)} == {(u, v): w for u, v, w in snaps[t]["edges"]}
    events = [json.loads(line) for line in (full / "events.jsonl").read_text().splitlines()]
    added = {(e["step"], tuple(e["edge"])): e["weight"] for e in events if e["kind"] == "edge_added"}
    for k in range(len(E["u"])):
        if (E["birth"][k], (E["u"][k], E["v"][k])) in added:
            assert E["birth_weight"][k] == float(f"{added[(E['birth'][k], (E['u'][k], E['v'][k]))]:.6g}")


def test_large_runs_keep_every_kth_snapshot_and_say_so(every_step_run, monkeypatch):
    full, _ = every_step_run
    monkeypatch.setattr(viewer_data, "MAX_WEIGHT_SAMPLES", 2000)
    monkeypatch.setattr(viewer_data, "MAX_WINDOW_VALUES", 10)
    d = build_viewer_data(full)
    steps = d["snapshots"]["step"]
    assert 1 < len(steps) < 601 and steps[-1] == 600 and steps[0] == 0
    assert sum(map(len, d["snapshots"]["weights"])) + sum(map(len, d["snapshots"]["biases"])) <= 2000 + 200
    assert d["final"] is None
    assert any("every" in n for n in d["notes"]) and any("left out" in n for n in d["notes"])


# --- the page --------------------------------------------------------------------------


def test_page_is_self_contained_and_holds_the_data(made_run):
    path = write_viewer(made_run)
    assert path == made_run / VIEWER_FILE
    page = path.read_text(encoding="utf-8")
    assert _page_data(page) == json.loads(json.dumps(build_viewer_data(made_run)))
    lowered = page.lower()
    for needle in ("http://", "https://", "src=", "href=", "<link", "@import", "url(", "fetch(",
                   "xmlhttprequest", "import("):
        assert needle not in lowered, needle
    assert lowered.count("<script") == 2  # the data and the inlined script


def test_no_string_in_the_data_can_end_its_script_element():
    page = render_page({"run": {"name": "</script><script>alert(1)</script>"}, "notes": ["<!--"]})
    assert _page_data(page)["run"]["name"] == "</script><script>alert(1)</script>"
    assert page.count("</script>") == 2


def test_inline_display_is_an_iframe_holding_the_page(made_run):
    write_viewer(made_run)
    frame = inline(made_run, height=500)._repr_html_()
    assert frame.startswith('<iframe srcdoc="') and 'height="500"' in frame
    assert html.unescape(frame.split('srcdoc="')[1].split('" width=')[0]) == (made_run / VIEWER_FILE).read_text()


def _break(run, name, text):
    (run / name).write_text(text)


@pytest.mark.parametrize("name, text, message", [
    ("events.jsonl", "{not json\n", "events.jsonl: line 1: malformed event"),
    ("events.jsonl", json.dumps({"kind": "relay_inserted", "step": 3, "edge": [1, 0], "node": 3,
                                 "weights": [0.1, 0.1]}) + "\n", "edge 1 -> 0, which does not exist"),
    ("events.jsonl", json.dumps({"kind": "edge_added", "step": 3, "edge": [0, 2], "weight": 0.1,
                                 "window": [1.0]}) + "\n", "edge_added: unknown key(s) ['window']"),
    ("events.jsonl", json.dumps({"kind": "relay_inserted", "step": 3, "edge": [0, 2], "node": 3,
                                 "weights": [0.1, 0.1], "window": ["x"]}) + "\n", "window: expected a finite number"),
    ("prune_candidates.jsonl", json.dumps({"step": 10, "candidates": [[0, 3]]}) + "\n",
     "prune_candidates.jsonl: line 1: malformed candidate set: PruneCandidates.candidates: a candidate must be "
     "[u, v, weight, mu]"),
    ("prune_candidates.jsonl", "".join(json.dumps({"step": t, "candidates": []}) + "\n" for t in (20, 10)),
     "prune_candidates.jsonl: line 2: step 10 is not after step 20"),
    ("topology.jsonl", json.dumps(MADE_SNAPSHOTS[0]) + "\n" + json.dumps(MADE_SNAPSHOTS[1])[:-3] + "\n",
     "line 2: malformed topology record"),
])
def test_malformed_logs_fail_clearly(made_run, name, text, message):
    _break(made_run, name, text)
    with pytest.raises(ValueError, match=re.escape(message)):
        build_viewer_data(made_run)


def test_logs_that_contradict_each_other_fail_clearly(made_run, tmp_path):
    with pytest.raises(ValueError, match="holds no run"):
        build_viewer_data(tmp_path)
    events = [e for e in MADE_EVENTS if e["kind"] != "edge_added"]  # (1, 3) never added
    _break(made_run, "events.jsonl", "".join(json.dumps(e) + "\n" for e in events))
    with pytest.raises(ValueError, match="does not exist|never added|do not lead"):
        build_viewer_data(made_run)


def test_a_graph_json_of_another_graph_is_refused(made_run, tmp_path):
    from smgrnn_ref.graph import add_edge, empty_graph
    from smgrnn_ref.io import save_graph

    G = empty_graph(2, 1, T=4)
    add_edge(G, 0, 2, 0.1)
    save_graph(G, made_run / "graph.json")
    with pytest.raises(ValueError, match="does not hold the graph the logs describe at step 20"):
        build_viewer_data(made_run)


# --- smgrnn-ref view ---------------------------------------------------------------------


def test_cli_view_writes_the_page_once_and_prints_its_path(made_run, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert cli.main(["view", str(made_run)]) == 0
    page = made_run / VIEWER_FILE
    assert capsys.readouterr().out.strip() == str(page.resolve())
    stamp = page.stat().st_mtime_ns
    os.utime(page, ns=(stamp, stamp))
    assert cli.main(["view", str(made_run), "--no-open"]) == 0
    assert page.stat().st_mtime_ns == stamp  # up to date: not written again
    later = stamp + 10**9
    os.utime(made_run / "events.jsonl", ns=(later, later))
    assert cli.main(["view", str(made_run), "--no-open"]) == 0
    assert page.stat().st_mtime_ns > stamp  # the logs are newer: written again


def test_cli_view_opens_a_browser_where_there_is_a_display(made_run, capsys, monkeypatch):
    opened = []
    monkeypatch.setattr(cli.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    import webbrowser

    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) or True)
    assert cli.main(["view", str(made_run)]) == 0
    assert opened == [(made_run / VIEWER_FILE).resolve().as_uri()]
    assert "opened" in capsys.readouterr().out


def test_cli_view_of_a_directory_without_a_run(tmp_path, capsys):
    assert cli.main(["view", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("smgrnn-ref: error: ")


def test_the_page_gets_the_rules_the_variant_ran_with(made_run):
    config = json.loads((made_run / "config.json").read_text())
    assert build_viewer_data(made_run)["run"]["spm"]["enable_pruning"] is True
    (made_run / "config.json").write_text(json.dumps({**config, "variant": "growth-only"}))
    spm = build_viewer_data(made_run)["run"]["spm"]
    assert spm["enable_pruning"] is False and spm["enable_edge_growth"] is True and spm["T"] == 4


def test_an_unfinished_run_has_no_final_windows_and_says_so(made_run):
    (made_run / "graph.json").unlink()  # graph.json is written when a run finishes
    d = build_viewer_data(made_run)
    assert d["final"] is None and d["run"]["last_step"] == 20
    assert any("no graph.json" in n for n in d["notes"])

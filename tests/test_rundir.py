"""The run directory (smgrnn_ref.rundir): file names, formats, writers, readers, checkpoints.

Expected bytes and values are written out here by hand (the documented formats), or computed
independently (``os.stat`` sizes, copies taken before a change), never read from the module.
"""

import json
import os
import signal

import numpy as np
import pytest

from smgrnn_ref.events import EdgeAdded, EdgePruned, NodeRemoved, PruneCandidates, RelayInserted
from smgrnn_ref.graph import add_edge, add_hidden_node, initial_graph
from smgrnn_ref.io import graph_to_dict
from smgrnn_ref.rundir import (
    RunDir,
    append_events,
    csv_line,
    read_config_dict,
    read_events,
    read_metrics,
    snapshot,
)

#: metrics.csv's header as documented in docs/distillation.md.
HEADER = ("step,episodes,beta,loss,train_return_mean,eval_return_mean,eval_return_std,hidden_nodes,edges,"
          "params,relay_inserted,edge_added,edge_pruned,node_removed,dataset_size,wall_time\n")


def _row(step, **over):
    row = dict(step=step, episodes=1, beta=0.5, loss=0.1 + 0.2, train_return_mean=None, eval_return_mean=None,
               eval_return_std=None, hidden_nodes=0, edges=4, params=6, relay_inserted=0, edge_added=1,
               edge_pruned=0, node_removed=0, dataset_size=step, wall_time=1.25)
    row.update(over)
    return row


def test_create_writes_the_documented_files(tmp_path):
    run = RunDir(tmp_path / "a" / "run")
    assert not run.holds_run()
    run.create({"env_id": "CartPole-v1", "steps": 10})
    assert sorted(os.listdir(run.path)) == [".smgrnn-run", "config.json", "events.jsonl", "metrics.csv",
                                            "prune_candidates.jsonl", "topology.jsonl"]
    assert (run.path / ".smgrnn-run").read_text() == '{"format": "smgrnn_ref.run", "version": 1}\n'
    assert (run.path / "config.json").read_text() == '{\n  "env_id": "CartPole-v1",\n  "steps": 10\n}\n'
    assert (run.path / "metrics.csv").read_text() == HEADER
    assert (run.path / "events.jsonl").read_text() == "" and (run.path / "topology.jsonl").read_text() == ""
    assert run.holds_run() and read_config_dict(run.config) == {"env_id": "CartPole-v1", "steps": 10}


def test_metrics_rows_read_back_exactly(tmp_path):
    run = RunDir(tmp_path)
    run.create({})
    run.append_metrics(_row(10))
    run.append_metrics(_row(20, eval_return_mean=1 / 3, eval_return_std=0.0, loss=None))
    lines = run.metrics.read_text().splitlines()
    assert lines[1] == "10,1,0.5,0.30000000000000004,,,,0,4,6,0,1,0,0,10,1.25"
    m = read_metrics(run.path)  # a directory: its metrics.csv
    assert m["eval_return_mean"][1] == 1 / 3  # repr round-trips the float exactly
    assert np.isnan(m["eval_return_mean"][0]) and np.isnan(m["loss"][1])
    assert m["step"].tolist() == [10.0, 20.0]


def test_csv_line_quotes_and_empties():
    assert csv_line([1, None, 2.5, "x,y", np.float32(0.5)]) == '1,,2.5,"x,y",0.5\n'


def test_read_metrics_errors_name_the_file(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,eval_return_mean\n1,2\n")
    with pytest.raises(ValueError, match=r"metrics.csv: missing column\(s\) \['eval_return_std'"):
        read_metrics(p)
    p.write_text("step,eval_return_mean,eval_return_std,hidden_nodes,edges\n1,2\n")
    with pytest.raises(ValueError, match="line 2: 2 cells, header has 5"):
        read_metrics(p)


def test_events_round_trip_and_nothing_written_for_no_events(tmp_path):
    path = tmp_path / "events.jsonl"
    append_events(path, [])
    assert not path.exists()
    events = [RelayInserted(step=1, edge=(0, 2), node=3, weights=(0.5, -0.25)), EdgeAdded(step=2, edge=(0, 3), weight=0.01),
              EdgePruned(step=30, edge=(0, 2), weight=0.001), NodeRemoved(step=30, node=3, edges=((0, 3),))]
    append_events(path, events[:2])
    append_events(path, events[2:])
    assert path.read_text().splitlines()[1] == '{"kind": "edge_added", "step": 2, "edge": [0, 3], "weight": 0.01}'
    assert read_events(path) == events
    with open(path, "a") as fh:
        fh.write('{"kind": "edge_added", "step": 3}\n')
    with pytest.raises(ValueError, match="events.jsonl: line 5: malformed event"):
        read_events(path)


def test_check_new_and_remove(tmp_path):
    RunDir(tmp_path / "missing").check_new(force=False)
    (tmp_path / "empty").mkdir()
    RunDir(tmp_path / "empty").check_new(force=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        RunDir(tmp_path / "file").check_new(force=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(ValueError, match="holds no run"):
            RunDir(other).check_new(force=force)
    RunDir(other).remove()  # holds no run: untouched
    assert (other / "notes.txt").read_text() == "mine"
    run = RunDir(tmp_path / "run")
    run.create({})
    (run.path / "notes.txt").write_text("mine too")  # a user's file inside a run directory
    with pytest.raises(ValueError, match="already holds a run"):
        run.check_new(force=False)
    run.check_new(force=True)
    run.remove()
    # only the files the run wrote are gone: the directory, its marker and the user's file stay
    assert sorted(os.listdir(run.path)) == [".smgrnn-run", "notes.txt"]


def _graph():
    G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0), weight_scale=0.5)
    r = add_hidden_node(G)
    add_edge(G, 0, r, 0.25)
    add_edge(G, r, 2, -0.5)
    return G


def _state(step):
    rng = np.random.default_rng(7)
    return {"step": step, "episodes": 2, "wall_time": 0.5, "last_eval": None, "interval": {"loss_n": 0},
            "episode": {"seed": 11, "actions": [0, 1], "return": 2.0, "obs": [0.0, 1.0]},
            "rng": {"spm": rng.bit_generator.state}}


def test_checkpoint_round_trip_then_rewind_cuts_the_logs(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({"steps": 9})
    G = _graph()
    run.append_snapshot(snapshot(G, 0))
    run.append_events([EdgeAdded(step=1, edge=(0, 3), weight=0.01)])
    run.append_prune_candidates([PruneCandidates(step=1, candidates=[(0, 2, 0.01, 0.0)])])
    run.append_metrics(_row(1))
    logs = ("events.jsonl", "topology.jsonl", "prune_candidates.jsonl")
    at_ck = {name: (run.path / name).read_bytes() for name in ("metrics.csv", *logs)}
    sizes = {name: os.stat(run.path / name).st_size for name in logs}
    obs, logits = np.arange(6.0).reshape(3, 2), np.arange(3.0).reshape(3, 1)
    ck_dir = run.write_checkpoint(G, {"obs": obs, "logits": logits, "next": 3, "capacity": 8}, _state(1))
    assert ck_dir == run.path / "checkpoint"
    assert sorted(os.listdir(run.path)) == [".smgrnn-run", "checkpoint", "config.json", "events.jsonl", "metrics.csv",
                                            "prune_candidates.jsonl", "topology.jsonl"]  # no .tmp or .old left
    assert sorted(os.listdir(ck_dir)) == ["dataset.npz", "graph.json", "metrics.csv", "state.json"]
    state = json.loads((ck_dir / "state.json").read_text())
    assert list(state) == ["format", "version", "step", "episodes", "wall_time", "last_eval", "interval",
                           "episode", "rng", "files"]
    assert (state["format"], state["version"], state["files"]) == ("smgrnn_ref.checkpoint", 1, sizes)
    assert run.checkpoint_step() == 1

    # the run goes on past the checkpoint, then "crashes"
    G2 = _graph()
    add_edge(G2, 1, 3, 0.125)
    run.append_snapshot(snapshot(G2, 5))
    run.append_events([EdgeAdded(step=5, edge=(1, 3), weight=0.125)])
    run.append_prune_candidates([PruneCandidates(step=5, candidates=[])])
    run.append_metrics(_row(5))
    ck = run.read_checkpoint()
    assert graph_to_dict(ck.graph) == graph_to_dict(G)
    assert np.array_equal(ck.dataset["obs"], obs) and np.array_equal(ck.dataset["logits"], logits)
    assert (ck.dataset["next"], ck.dataset["capacity"]) == (3, 8)
    assert ck.state["rng"] == _state(1)["rng"] and ck.state["episode"] == _state(1)["episode"]
    run.rewind(ck)
    assert {name: (run.path / name).read_bytes() for name in at_ck} == at_ck


def test_rewinding_a_run_from_before_prune_candidates_jsonl_creates_it(tmp_path):
    # a run started before the file existed: no prune_candidates.jsonl, no size for it in the
    # checkpoint; after the rewind it exists (empty), so the resumed run can append and
    # checkpoint it
    run = RunDir(tmp_path / "old")
    run.create({"steps": 9})
    run.prune_candidates.unlink()
    data = {"obs": np.zeros((0, 2)), "logits": np.zeros((0, 1)), "next": 0, "capacity": 4}
    import smgrnn_ref.rundir.directory as directory

    old_logs = ("events.jsonl", "topology.jsonl")
    orig = directory.LOG_FILES
    directory.LOG_FILES = old_logs  # the checkpoint as the old code wrote it
    try:
        run.write_checkpoint(_graph(), data, _state(3))
    finally:
        directory.LOG_FILES = orig
    ck = run.read_checkpoint()
    assert sorted(ck.state["files"]) == sorted(old_logs)
    run.rewind(ck)
    assert run.prune_candidates.read_text() == ""
    run.append_prune_candidates([PruneCandidates(step=30, candidates=[])])
    assert "prune_candidates.jsonl" in json.loads((run.write_checkpoint(_graph(), data, _state(4)) /
                                                   "state.json").read_text())["files"]


def test_a_crash_between_the_renames_leaves_the_old_checkpoint(tmp_path):
    run = RunDir(tmp_path)
    run.create({})
    data = {"obs": np.zeros((0, 2)), "logits": np.zeros((0, 1)), "next": 0, "capacity": 4}
    run.write_checkpoint(_graph(), data, _state(4))
    assert run.latest_checkpoint() == run.path / "checkpoint"
    os.rename(run.path / "checkpoint", run.path / "checkpoint.old")  # the instant between the renames
    assert run.latest_checkpoint() == run.path / "checkpoint.old"
    assert run.read_checkpoint().state["step"] == 4 and run.checkpoint_step() == 4
    run.write_checkpoint(_graph(), data, _state(8))
    assert sorted(p.name for p in run.path.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint"]
    assert run.read_checkpoint_state()["step"] == 8


@pytest.mark.parametrize("start", ["a checkpoint", "a crash between the renames"])
def test_a_complete_checkpoint_exists_at_every_instant_of_a_write(tmp_path, monkeypatch, start):
    """Before every rename and every deletion a checkpoint write makes, a complete checkpoint
    can be read back (issue 19, item 9: a crash there must leave one to resume from)."""
    import pathlib
    import shutil

    run = RunDir(tmp_path)
    run.create({})
    data = {"obs": np.zeros((0, 2)), "logits": np.zeros((0, 1)), "next": 0, "capacity": 4}
    run.write_checkpoint(_graph(), data, _state(4))
    if start == "a crash between the renames":
        os.rename(tmp_path / "checkpoint", tmp_path / "checkpoint.old")
    seen = []

    def checked(fn):
        def call(*args, **kwargs):
            seen.append(fn.__name__)
            assert run.read_checkpoint().state["step"] in (4, 8), f"no complete checkpoint before {fn.__name__}{args}"
            return fn(*args, **kwargs)
        return call

    for owner, name in ((shutil, "rmtree"), (os, "replace"), (os, "rename"), (pathlib.Path, "rename"),
                        (pathlib.Path, "replace"), (pathlib.Path, "unlink")):
        monkeypatch.setattr(owner, name, checked(getattr(owner, name)))
    run.write_checkpoint(_graph(), data, _state(8))
    monkeypatch.undo()
    assert seen and run.read_checkpoint_state()["step"] == 8
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint"]


def test_checkpoint_errors(tmp_path):
    run = RunDir(tmp_path)
    assert run.latest_checkpoint() is None and run.checkpoint_step() is None
    with pytest.raises(ValueError, match="no checkpoint to resume"):
        run.read_checkpoint()
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "state.json").write_text(json.dumps({"format": "other", "version": 1, "step": 0}))
    with pytest.raises(ValueError, match="not a smgrnn_ref.checkpoint version 1 checkpoint"):
        run.read_checkpoint_state()


def test_done_record_round_trip(tmp_path):
    run = RunDir(tmp_path)
    run.write_done({"config": {"seed": 1}, "summary": {"step": 3}})
    assert (tmp_path / "done.json").read_text() == (
        '{\n  "config": {\n    "seed": 1\n  },\n  "summary": {\n    "step": 3\n  }\n}')
    assert run.read_done() == {"config": {"seed": 1}, "summary": {"step": 3}}


# ------------------------------------------------------------------ stop signals


def test_stop_request_records_the_first_signal_and_a_second_one_interrupts():
    from smgrnn_ref.interrupt import StopRequest

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        stop.raise_if_requested()  # nothing yet: no effect
        signal.raise_signal(signal.SIGTERM)  # to this thread: the handler runs before the next line
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop.raise_if_requested()
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C is not swallowed
            signal.raise_signal(signal.SIGINT)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_sigterm_raises_interrupt_inside_the_block_only():
    from smgrnn_ref.interrupt import sigterm_raises_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sigterm_raises_interrupt():
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


# ------------------------------------------------------------------ names kept importable


#: Every public name ``smgrnn_ref/distill.py`` and ``smgrnn_ref/viz.py`` defined before they
#: became packages (commit 9dce2e8): notebooks, scripts and users import them from there.
#: (Except ``StableLayout``, replaced by the run-wide layered layout: ``viz.run_layout``,
#: ``viz.snapshots_layout``, ``viz.graph_layout``.)
OLD_DISTILL_NAMES = [
    "DEFAULT_ENGINE", "VARIANTS", "STREAMS", "ENV_SEED_BOUND", "EVENT_KINDS", "METRICS_COLUMNS", "CONFIG_FILE",
    "METRICS_FILE", "EVENTS_FILE", "TOPOLOGY_FILE", "GRAPH_FILE", "CHECKPOINT_DIR", "PLOT_FILE", "FRAMES_DIR",
    "GIF_FILE", "CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "TrainConfig", "train_config_to_dict",
    "train_config_from_dict", "config_for_env", "save_config", "read_config_dict", "load_config", "variant_spm",
    "build_graph", "mixing_beta", "spawn_streams", "Dataset", "evaluate_student", "run_name", "default_out_dir",
    "Trainer", "prepare_out_dir", "train", "resume",
]
OLD_VIZ_NAMES = [
    "TOPOLOGY_FILE", "METRICS_FILE", "NODE_COLORS", "POSITIVE_COLOR", "NEGATIVE_COLOR", "ADDED_COLOR", "GHOST_COLOR",
    "XLIM", "YLIM", "snapshot", "snapshot_to_graph", "write_snapshot", "read_snapshots", "diff_snapshots",
    "NODE_SIZE", "ARROW_EDGE_LIMIT", "legend_handles", "draw", "render_frames", "animate",
    "REQUIRED_METRICS", "read_metrics", "plot_training", "seed_band", "plot_runs",
]


@pytest.mark.parametrize("module, names", [("smgrnn_ref.distill", OLD_DISTILL_NAMES), ("smgrnn_ref.viz", OLD_VIZ_NAMES)])
def test_old_public_names_stay_importable(module, names):
    import importlib

    mod = importlib.import_module(module)
    assert [n for n in names if not hasattr(mod, n)] == []
    assert set(mod.__all__) <= set(dir(mod))


def test_file_names_are_defined_once():
    import smgrnn_ref.distill as distill
    import smgrnn_ref.experiment as experiment
    import smgrnn_ref.rundir as rundir
    import smgrnn_ref.viz as viz

    for name in ("CONFIG_FILE", "METRICS_FILE", "TOPOLOGY_FILE", "EVENTS_FILE", "GRAPH_FILE", "CHECKPOINT_DIR"):
        assert getattr(distill, name) is getattr(rundir, name)
    assert viz.TOPOLOGY_FILE is rundir.TOPOLOGY_FILE and viz.METRICS_FILE is rundir.METRICS_FILE
    assert experiment.DONE_FILE is rundir.DONE_FILE and distill.METRICS_COLUMNS is rundir.METRICS_COLUMNS

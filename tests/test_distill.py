"""Distillation runs: artifacts, labels, variants, exact resume, and bad inputs.

Runs are short (tens of steps) with a small SPM window (T = 6, s = 5) so every SPM rule fires
within them; expected values are recomputed independently (the expert, the event log, the
graph file), never copied from a previous run.
"""

import csv
import json
import math
import os
from collections import Counter

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from smgrnn_ref import cli
from smgrnn_ref.config import SPMConfig
from smgrnn_ref.distill import (
    METRICS_COLUMNS,
    STREAMS,
    VARIANTS,
    Dataset,
    TrainConfig,
    build_graph,
    config_for_env,
    load_config,
    mixing_beta,
    resume,
    save_config,
    spawn_streams,
    train,
    train_config_from_dict,
    train_config_to_dict,
    variant_spm,
)
from smgrnn_ref.engine import ENGINES
from smgrnn_ref.events import event_from_dict
from smgrnn_ref.experts import load_expert
from smgrnn_ref.graph import hidden_nodes, n_params
from smgrnn_ref.io import graph_to_dict, load_graph
from smgrnn_ref.rundir import read_prune_candidates
from smgrnn_ref.viz import read_snapshots, snapshot

ENV = "CartPole-v1"

try:  # the fast engine may not have landed yet
    import smgrnn_ref.fast  # noqa: F401

    AVAILABLE_ENGINES = list(ENGINES)
except ImportError:
    AVAILABLE_ENGINES = ["reference"]


def small_config(**changes) -> TrainConfig:
    """A few-second run in which growth, pruning and orphan removal all happen."""
    base = dict(
        env_id=ENV,
        steps=60,
        batch_size=16,
        dataset_capacity=500,
        beta0=0.5,
        mix_steps=40,
        log_every=10,
        eval_every=30,
        eval_episodes=2,
        frame_every=20,
        checkpoint_every=25,
        engine="reference",
        mlp_hidden=(3,),
        spm=SPMConfig(T=6, s=5, lambda_edge=0.0, p_rand=0.5, tau_w=0.2, tau_delta=0.05),
    )
    base.update(changes)
    return TrainConfig(**base)


def read_metrics(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def read_events(path):
    with open(path) as fh:
        return [event_from_dict(json.loads(line)) for line in fh]


def listing(root):
    """Every path under ``root`` with its size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


# ------------------------------------------------------------------ config and pieces


def test_config_round_trips_through_json(tmp_path):
    cfg = small_config(seed=7, variant="growth-only", mlp_hidden=(5, 4))
    text = json.dumps(train_config_to_dict(cfg))
    assert train_config_from_dict(json.loads(text)) == cfg


def test_default_steps_come_from_the_env_table():
    from smgrnn_ref.envs import DEFAULT_STEPS

    for env_id in DEFAULT_STEPS:
        assert TrainConfig(env_id=env_id).steps == DEFAULT_STEPS[env_id]


def test_config_layers_defaults_env_defaults_then_user_values():
    from smgrnn_ref.envs import ENV_DEFAULTS

    env = ENV_DEFAULTS[ENV]
    assert env["optimizer"] and env["max_params"]  # the env layer below has values to keep
    cfg = config_for_env({"env_id": ENV, "seed": 4, "spm": {"tau_delta": 0.5}})
    assert cfg.seed == 4 and cfg.spm.tau_delta == 0.5  # the user's values
    # the env layer, kept where the user is silent
    assert all(getattr(cfg.optimizer, k) == v for k, v in env["optimizer"].items())
    assert all(getattr(cfg.spm, k) == v for k, v in env["spm"].items())
    assert cfg.max_params == env["max_params"] != TrainConfig().max_params
    assert cfg.spm.T == SPMConfig().T and cfg.batch_size == TrainConfig().batch_size  # the defaults
    assert cfg.steps == env["steps"]
    # the user's values replace the env layer's
    user = config_for_env({"optimizer": {k: v * 2 for k, v in env["optimizer"].items()}, "steps": 7,
                           "max_params": env["max_params"] + 1})
    assert all(getattr(user.optimizer, k) == v * 2 for k, v in env["optimizer"].items())
    assert user.steps == 7 and user.max_params == env["max_params"] + 1


def test_a_run_config_from_before_the_window_option_keeps_the_update_window(tmp_path):
    # a config.json as save_config wrote it before SPMConfig had variance_test and window_signal
    cfg = config_for_env({"env_id": ENV, "seed": 1, "spm": {"lambda_edge": 0.3}})
    old = json.loads(save_config(cfg, tmp_path / "config.json").read_text())
    del old["spm"]["variance_test"], old["spm"]["window_signal"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    loaded = load_config(tmp_path / "config.json")
    assert (loaded.spm.window_signal, loaded.spm.variance_test) == ("update", "paper")  # the only ones then
    assert loaded.spm.lambda_edge == 0.3 and loaded.seed == 1
    # a partial file written by hand gets today's defaults
    (tmp_path / "mine.json").write_text(json.dumps({"seed": 2, "spm": {"lambda_edge": 0.3}}))
    assert load_config(tmp_path / "mine.json").spm.window_signal == SPMConfig().window_signal == "gradient"


@pytest.mark.parametrize(
    "field, value",
    [("steps", 0), ("batch_size", -1), ("dataset_capacity", 1.5), ("beta0", 1.5), ("mix_steps", -1),
     ("eval_every", 0), ("eval_episodes", 0), ("frame_every", 0), ("checkpoint_every", 0), ("seed", -3),
     ("loss", "hinge"), ("engine", "gpu"), ("variant", "huge"), ("mlp_hidden", (0,)), ("log_every", 0),
     ("max_params", 0), ("max_params", 2.5), ("max_params", True)],
)
def test_invalid_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}"):
        small_config(**{field: value})


def test_variant_spm_flags():
    spm = SPMConfig()
    expected = {  # (edge growth, random growth, pruning, p_rand)
        "full": (True, True, True, spm.p_rand),
        "static": (False, False, False, spm.p_rand),
        "mlp": (False, False, False, spm.p_rand),
        "growth-only": (True, True, False, spm.p_rand),
        "no-random": (True, True, True, 0.0),
    }
    assert set(expected) == set(VARIANTS)
    for v, want in expected.items():
        s = variant_spm(v, spm)
        assert (s.enable_edge_growth, s.enable_random_growth, s.enable_pruning, s.p_rand) == want


def test_mixing_beta_is_linear_then_zero():
    steps = np.arange(1, 12)
    got = [mixing_beta(int(t), beta0=0.8, mix_steps=5) for t in steps]
    np.testing.assert_allclose(got, [0.8, 0.64, 0.48, 0.32, 0.16, 0, 0, 0, 0, 0, 0], atol=1e-12)
    assert mixing_beta(1, beta0=1.0, mix_steps=0) == 0.0


def test_dataset_is_a_ring_buffer_and_samples_uniformly(tmp_path):
    d = Dataset(4, 1, 1)
    for x in range(6):
        d.add([x], [10 * x])
    # slots 0, 1 were overwritten by 4, 5
    assert sorted(d.obs[:, 0]) == [2, 3, 4, 5] and np.all(d.targets == 10 * d.obs)
    rng = np.random.default_rng(0)
    X = np.concatenate([d.sample(4, rng)[0] for _ in range(1000)])
    counts = np.bincount(X[:, 0].astype(int), minlength=6)[2:]
    assert counts.min() > 900  # 1000 expected per pair
    small = Dataset(10, 1, 1)
    small.add([1.0], [2.0])
    X, Y = small.sample(8, np.random.default_rng(0))  # fewer pairs than a batch: all of them
    assert X.tolist() == [[1.0]] and Y.tolist() == [[2.0]]
    d.save(tmp_path / "d.npz")
    e = Dataset.load(tmp_path / "d.npz", 1, 1)
    assert np.array_equal(e.obs, d.obs) and np.array_equal(e.targets, d.targets) and e.next == d.next


# ------------------------------------------------------------------ a run and its artifacts


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "full"
    cfg = small_config()
    summary = train(cfg, out, progress=False)
    return cfg, out, summary


@pytest.mark.slow
def test_every_artifact_exists_and_is_well_formed(full_run):
    cfg, out, summary = full_run
    # config.json: the run's config, exactly, with the teacher it resolved to: the shipped
    # expert (expert null) pinned by the sha256 of its .json, its logits, and the loss for them
    import hashlib

    from smgrnn_ref.experts import EXPERT_DIR

    digest = hashlib.sha256((EXPERT_DIR / f"{ENV}.json").read_bytes()).hexdigest()
    assert train_config_from_dict(json.loads((out / "config.json").read_text())) == cfg.replace(
        expert_output="logits", expert_sha256=digest, loss="kl")
    assert cfg.expert is None and cfg.loss is None
    # metrics.csv: the documented columns, a row per log_every and per evaluation
    header, rows = read_metrics(out / "metrics.csv")
    assert tuple(header) == METRICS_COLUMNS
    assert [int(r["step"]) for r in rows] == list(range(10, 61, 10))
    evals = [int(r["step"]) for r in rows if r["eval_return_mean"] != ""]
    assert evals == [30, 60]
    for r in rows:
        if r["eval_return_mean"]:
            assert 1 <= float(r["eval_return_mean"]) <= 500
    # events.jsonl: every line an event; per-interval counts in metrics.csv add up to them
    events = read_events(out / "events.jsonl")
    assert all(1 <= e.step <= cfg.steps for e in events)
    assert [e.step for e in events] == sorted(e.step for e in events)
    by_kind = Counter(e.kind for e in events)
    for kind in ("relay_inserted", "edge_added", "edge_pruned", "node_removed"):
        assert sum(int(r[kind]) for r in rows) == by_kind[kind]
        assert by_kind[kind] > 0, f"the test config should exercise {kind}"
    # graph.json: loads, and matches the last topology frame and the last metrics row
    G = load_graph(out / "graph.json")
    snaps = read_snapshots(out / "topology.jsonl")
    assert [s["step"] for s in snaps] == [0, 20, 40, 60]
    assert snaps[-1] == snapshot(G, 60)
    last = rows[-1]
    assert (int(last["hidden_nodes"]), int(last["edges"]), int(last["params"])) == (
        len(hidden_nodes(G)), G.number_of_edges(), n_params(G))
    assert summary["hidden_nodes"] == len(hidden_nodes(G)) and summary["step"] == 60
    # checkpoint: the final state
    ck = out / "checkpoint"
    state = json.loads((ck / "state.json").read_text())
    assert state["step"] == 60 and set(state["rng"]) == set(STREAMS)
    assert graph_to_dict(load_graph(ck / "graph.json")) == graph_to_dict(G)
    with np.load(ck / "dataset.npz", allow_pickle=False) as z:
        assert z["obs"].shape == (60, 4) and z["logits"].shape == (60, 2)
    assert (ck / "metrics.csv").read_text() == (out / "metrics.csv").read_text()
    # pictures
    with Image.open(out / "training.png") as im:
        assert im.size[0] > 100
    frames = sorted((out / "frames").glob("*.png"))
    assert len(frames) == len(snaps)
    with Image.open(out / "topology.gif") as im:
        assert im.format == "GIF" and im.n_frames == len(snaps)
    assert "smgrnn-data" in (out / "topology.html").read_text(encoding="utf-8")  # the viewer


def _judged_unstable(window, lam):
    """The instability criterion, computed here: |mu| < 0.5 sigma and sigma^2 > lambda |mu|."""
    x = np.asarray(window)
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return abs(mu) < 0.5 * np.sqrt(var) and var > lam * abs(mu)


@pytest.mark.slow
def test_the_run_records_each_relays_window_and_each_pruning_steps_candidates(full_run):
    cfg, out, _ = full_run
    events = read_events(out / "events.jsonl")
    relays = [e for e in events if e.kind == "relay_inserted"]
    assert relays and all(len(e.window) == cfg.spm.T and _judged_unstable(e.window, cfg.spm.lambda_edge)
                          for e in relays)
    records = read_prune_candidates(out / "prune_candidates.jsonl")
    assert [r.step for r in records] == list(range(cfg.spm.s, cfg.steps + 1, cfg.spm.s))  # empty ones too
    for r in records:
        drawn = {e.edge for e in events if e.kind == "edge_pruned" and e.step == r.step}
        listed = [(u, v) for u, v, _, _ in r.candidates]
        assert drawn <= set(listed) and len(drawn) == math.ceil(cfg.spm.eta_prune * len(listed))
        assert all(abs(w) <= cfg.spm.tau_w and abs(mu) <= cfg.spm.tau_delta for _, _, w, mu in r.candidates)
        weight = {e.edge: e.weight for e in events if e.kind == "edge_pruned" and e.step == r.step}
        assert all(w == weight[(u, v)] for u, v, w, _ in r.candidates if (u, v) in weight)
    assert sum(len(r.candidates) for r in records) > 0


@pytest.mark.slow
def test_both_engines_record_the_same_windows_and_candidate_sets(tmp_path):
    runs = {}
    for engine in ("reference", "fast"):
        train(small_config(engine=engine), tmp_path / engine, progress=False, pictures=False)
        runs[engine] = (read_events(tmp_path / engine / "events.jsonl"),
                        read_prune_candidates(tmp_path / engine / "prune_candidates.jsonl"))
    (ref_ev, ref_c), (fast_ev, fast_c) = runs["reference"], runs["fast"]
    # the same edits and candidate edges; the numbers equal up to the engines' rounding
    assert [(e.kind, e.step) for e in ref_ev] == [(e.kind, e.step) for e in fast_ev]
    windows = [(a.window, b.window) for a, b in zip(ref_ev, fast_ev) if a.kind == "relay_inserted"]
    assert windows and all(np.allclose(a, b, rtol=0, atol=1e-12) for a, b in windows)
    assert [[c[:2] for c in r.candidates] for r in ref_c] == [[c[:2] for c in r.candidates] for r in fast_c]
    assert all(np.allclose([c[2:] for c in a.candidates], [c[2:] for c in b.candidates], rtol=0, atol=1e-12)
               for a, b in zip(ref_c, fast_c) if a.candidates)


@pytest.mark.slow
def test_dataset_labels_are_the_experts_outputs(full_run):
    cfg, out, _ = full_run
    with np.load(out / "checkpoint" / "dataset.npz", allow_pickle=False) as z:
        obs, logits = z["obs"], z["logits"]
    expert = load_expert(cfg.env_id)
    for o, z in zip(obs, logits):  # one state at a time, as it was labelled
        np.testing.assert_allclose(expert.logits(o[None, :])[0], z, rtol=1e-12, atol=1e-12)
    # and the stored states are real visits: the first is the reset state of the first
    # episode, whose seed is the first draw of the "env" stream
    import gymnasium as gym

    env_stream = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(len(STREAMS))[STREAMS.index("env")])
    first_seed = int(env_stream.integers(0, 2**31 - 1))
    env = gym.make(cfg.env_id)
    first_obs = env.reset(seed=first_seed)[0]
    env.close()
    np.testing.assert_array_equal(obs[0], np.asarray(first_obs, dtype=np.float64))


# ------------------------------------------------------------------ variants


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["static", "mlp", "growth-only"])
def test_variants_only_make_their_events(tmp_path, variant):
    cfg = small_config(variant=variant, steps=40, eval_every=40, log_every=20)
    train(cfg, tmp_path / variant, progress=False, pictures=False)
    events = read_events(tmp_path / variant / "events.jsonl")
    G = load_graph(tmp_path / variant / "graph.json")
    start = build_graph(cfg, 4, 2, spawn_streams(cfg.seed)["graph"])
    if variant in ("static", "mlp"):
        assert events == []
        assert sorted(G.edges) == sorted(start.edges)  # the structure never changed
        assert len(hidden_nodes(G)) == (sum(cfg.mlp_hidden) if variant == "mlp" else 0)
    else:
        kinds = {e.kind for e in events}
        assert kinds and not kinds & {"edge_pruned", "node_removed"}
    _, rows = read_metrics(tmp_path / variant / "metrics.csv")
    if variant != "growth-only":
        for kind in ("relay_inserted", "edge_added", "edge_pruned", "node_removed"):
            assert all(r[kind] == "0" for r in rows)


# ------------------------------------------------------------------ interrupt and resume


def _artifacts(out):
    header, rows = read_metrics(out / "metrics.csv")
    for r in rows:
        r.pop("wall_time")  # the only column that measures the machine, not the run
    with np.load(out / "checkpoint" / "dataset.npz", allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    state.pop("wall_time")
    return {
        "graph": graph_to_dict(load_graph(out / "graph.json")),
        "events": (out / "events.jsonl").read_text(),
        "candidates": (out / "prune_candidates.jsonl").read_text(),
        "topology": (out / "topology.jsonl").read_text(),
        "metrics": rows,
        "dataset": data,
        "state": state,
    }


class Boom(Exception):
    pass


@pytest.mark.slow
@pytest.mark.parametrize("engine", AVAILABLE_ENGINES)
@pytest.mark.parametrize("error", [KeyboardInterrupt, Boom])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, engine, error):
    cfg = small_config(engine=engine, steps=70)
    train(cfg, tmp_path / "straight", progress=False, pictures=False)

    k = 43  # not a checkpoint, frame, log or evaluation step; mid-episode

    def hook(t):
        if t == k:
            raise error("stop here")

    with pytest.raises(error):
        train(cfg, tmp_path / "cut", progress=False, pictures=False, on_step=hook)
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert state["step"] == k - 1
    assert state["episode"]["actions"], "the interruption should fall inside an episode"
    assert not (tmp_path / "cut" / "graph.json").exists()

    resume(tmp_path / "cut", progress=False, pictures=False)
    a, b = _artifacts(tmp_path / "straight"), _artifacts(tmp_path / "cut")
    assert a["graph"] == b["graph"]  # same weights, biases, Adam state and windows, exactly
    assert a["events"] == b["events"] and a["events"]
    assert a["candidates"] == b["candidates"] and a["candidates"]  # every pruning step's W_t, once
    assert a["topology"] == b["topology"]
    assert a["metrics"] == b["metrics"]
    assert a["state"] == b["state"]
    assert a["dataset"].keys() == b["dataset"].keys()
    for key in a["dataset"]:
        assert np.array_equal(a["dataset"][key], b["dataset"][key])


@pytest.mark.slow
@pytest.mark.parametrize("engine", AVAILABLE_ENGINES)
def test_a_continuous_action_run_resumes_exactly(tmp_path, engine):
    # Pendulum-v1: the actions are float vectors, stored in state.json and replayed on resume
    cfg = small_config(env_id="Pendulum-v1", engine=engine, steps=70)
    train(cfg, tmp_path / "straight", progress=False, pictures=False)

    def hook(t):
        if t == 43:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", progress=False, pictures=False, on_step=hook)
    episode = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())["episode"]
    assert len(episode["actions"]) == 42  # the first episode (200 steps long) is under way
    assert all(isinstance(a, list) and len(a) == 1 and -2.0 <= a[0] <= 2.0 for a in episode["actions"])
    resume(tmp_path / "cut", progress=False, pictures=False)
    a, b = _artifacts(tmp_path / "straight"), _artifacts(tmp_path / "cut")
    assert a["graph"] == b["graph"] and a["events"] == b["events"] and a["events"]
    assert a["topology"] == b["topology"] and a["metrics"] == b["metrics"] and a["state"] == b["state"]
    for key in a["dataset"]:
        assert np.array_equal(a["dataset"][key], b["dataset"][key])
    # the targets are the expert's deterministic torques for the visited states
    obs, targets = a["dataset"]["obs"], a["dataset"]["logits"]
    assert targets.shape == (70, 1)
    expert = load_expert("Pendulum-v1")
    for o, y in zip(obs, targets):  # one state at a time, as it was labelled
        np.testing.assert_array_equal(expert.action(o[None, :])[0], y)
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["loss"] == "mse"


@pytest.mark.slow
def test_resume_cuts_logs_written_after_the_checkpoint(tmp_path, monkeypatch):
    cfg = small_config(steps=30, checkpoint_every=10)
    train(cfg, tmp_path / "a", progress=False, pictures=False)
    cut = tmp_path / "b"
    # a crash inside step 26: the half-updated state is not saved, checkpoint 20 stays, and
    # the events of steps 21..25 already in events.jsonl must be cut on resume
    import smgrnn_ref.distill as distill

    original = distill.Trainer.train_step

    def crashing(self, t):
        if t == 26:
            raise Boom()
        return original(self, t)

    monkeypatch.setattr(distill.Trainer, "train_step", crashing)
    with pytest.raises(Boom):
        train(cfg, cut, progress=False, pictures=False)
    monkeypatch.setattr(distill.Trainer, "train_step", original)
    assert json.loads((cut / "checkpoint" / "state.json").read_text())["step"] == 20
    assert any(e.step > 20 for e in read_events(cut / "events.jsonl"))
    resume(cut, progress=False, pictures=False)
    a, b = _artifacts(tmp_path / "a"), _artifacts(cut)
    assert a["graph"] == b["graph"] and a["events"] == b["events"] and a["metrics"] == b["metrics"]
    assert a["candidates"] == b["candidates"]


@pytest.mark.slow
@pytest.mark.parametrize("engine", AVAILABLE_ENGINES)
def test_max_params_stops_at_the_first_step_over_the_cap(tmp_path, engine):
    # The uncapped run, logged every step, says when the size first exceeds the cap; the
    # capped run must be the same run up to that step and stop there.
    cfg = small_config(engine=engine, variant="growth-only", steps=60, log_every=1)
    train(cfg, tmp_path / "free", progress=False, pictures=False)
    _, free = read_metrics(tmp_path / "free" / "metrics.csv")
    params = [int(r["params"]) for r in free]
    cap = params[0] + 4
    t_stop = next(int(r["step"]) for r in free if int(r["params"]) > cap)
    assert t_stop < cfg.steps, "the test needs a run that crosses the cap"
    summary = train(cfg.replace(max_params=cap), tmp_path / "cap", progress=False, pictures=False)
    _, capped = read_metrics(tmp_path / "cap" / "metrics.csv")
    assert summary["capped"] and summary["step"] == t_stop and summary["params"] == params[t_stop - 1]
    assert [r["step"] for r in capped] == [str(t) for t in range(1, t_stop + 1)]
    same = ("step", "loss", "hidden_nodes", "edges", "params")
    assert [[r[c] for c in same] for r in capped] == [[r[c] for c in same] for r in free[:t_stop]]
    assert capped[-1]["eval_return_mean"] != ""  # the stop step is evaluated like a last step
    assert json.loads((tmp_path / "cap" / "checkpoint" / "state.json").read_text())["step"] == t_stop
    assert n_params(load_graph(tmp_path / "cap" / "graph.json")) == params[t_stop - 1]
    # resuming a capped run stops at once and changes nothing
    before = (tmp_path / "cap" / "metrics.csv").read_text()
    again = resume(tmp_path / "cap", progress=False, pictures=False)
    assert again["capped"] and again["step"] == t_stop
    assert (tmp_path / "cap" / "metrics.csv").read_text() == before
    # crossing the cap at the very last step is a finished run, not an early stop
    last = train(cfg.replace(max_params=cap, steps=t_stop), tmp_path / "end", progress=False, pictures=False)
    assert last["step"] == t_stop and last["params"] > cap and not last["capped"]


# ------------------------------------------------------------------ the command line


def run_cli(args, capsys):
    code = cli.main(["train", "--no-progress", *args])
    return code, capsys.readouterr()


@pytest.mark.slow
def test_cli_config_file_and_flags(tmp_path, capsys):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({**train_config_to_dict(small_config(steps=20)), "seed": 5}))
    out = tmp_path / "run"
    code, io = run_cli(["--config", str(conf), "--seed", "2", "--steps", "12", "--out", str(out)], capsys)
    assert code == 0, io.err
    stored = json.loads((out / "config.json").read_text())
    assert stored["seed"] == 2 and stored["steps"] == 12 and stored["eval_episodes"] == 2
    assert "step 12" in io.out
    # the run exists: a second start is refused, --force replaces it
    before = listing(out)
    code, io = run_cli(["--config", str(conf), "--out", str(out)], capsys)
    assert code == 2 and "already holds a run" in io.err and listing(out) == before
    code, io = run_cli(["--config", str(conf), "--steps", "11", "--out", str(out), "--force"], capsys)
    assert code == 0 and json.loads((out / "config.json").read_text())["steps"] == 11
    # nothing of the replaced run is left: its pruning step 10 once, the pictures and the viewer new
    assert [r.step for r in read_prune_candidates(out / "prune_candidates.jsonl")] == [5, 10]
    assert (out / "topology.html").is_file() and (out / "topology.gif").is_file()
    # a cap below the step-0 network (CartPole: at least the 2 output biases) is refused, nothing touched
    before = listing(out)
    code, io = run_cli(["--config", str(conf), "--max-params", "1", "--out", str(out), "--force"], capsys)
    assert code == 2 and "below the initial network" in io.err and listing(out) == before
    code, io = run_cli(["--config", str(conf), "--max-params", "1000", "--out", str(out), "--force"], capsys)
    assert code == 0 and json.loads((out / "config.json").read_text())["max_params"] == 1000
    assert "step 20," in io.out and "stopped early" not in io.out


@pytest.mark.slow
def test_cli_optimizer_flags_over_a_config_file_with_the_former_name(tmp_path, capsys):
    # the file says "adam" (the former name of "optimizer"); --optimizer and --lr go over it
    conf = tmp_path / "c.json"
    data = train_config_to_dict(small_config(steps=12))
    data["adam"] = {"eps": 1e-3}
    del data["optimizer"]
    conf.write_text(json.dumps(data))
    out = tmp_path / "run"
    code, io = run_cli(["--config", str(conf), "--optimizer", "sgd", "--lr", "0.05", "--out", str(out)], capsys)
    assert code == 0, io.err
    stored = json.loads((out / "config.json").read_text())["optimizer"]
    assert (stored["name"], stored["lr"], stored["eps"]) == ("sgd", 0.05, 1e-3)
    # a resume may only restate them
    code, io = run_cli(["--resume", str(out), "--optimizer", "adam"], capsys)
    assert code == 2 and "has optimizer.name='sgd', not 'adam'" in io.err
    code, io = run_cli(["--config", str(conf), "--lr", "-1", "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and "OptimizerConfig.lr must be >= 0.0" in io.err and not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "Pong-v5"], "unknown env id 'Pong-v5'"),
        (["--env", "NoSuchEnv-v0"], "unknown env id 'NoSuchEnv-v0'"),
        (["--env", "Blackjack-v1"], "Blackjack-v1 has observation space Tuple("),
        (["--env", "CarRacing-v3"], "CarRacing-v3 has observation space Box(0, 255, (96, 96, 3), uint8); supported: a flat Box"),
        (["--env", "MountainCarContinuous-v0"], "TrainConfig.steps: no default for env 'MountainCarContinuous-v0'"),
        (["--env", "MountainCarContinuous-v0", "--steps", "5"], "no expert is shipped for env 'MountainCarContinuous-v0'"),
        (["--steps", "0"], "TrainConfig.steps"),
        (["--seed", "-1"], "TrainConfig.seed"),
        (["--resume"], "--resume needs the run directory"),
    ],
)
def test_bad_inputs_fail_clearly_and_touch_nothing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "never"
    code, io = run_cli([*args, "--out", str(out)] if args != ["--resume"] else args, capsys)
    assert code == 2
    assert message in io.err
    assert listing(tmp_path) == {}  # nothing created (not even runs/)


def test_bad_config_file_and_directories(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"batch_size": 0}))
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"spm": {"lambda": 1.0}}))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a run")
    before = listing(tmp_path)
    for args, message in [
        (["--config", str(bad)], "TrainConfig.batch_size"),
        (["--config", str(unknown)], "unknown field(s) ['lambda']"),
        (["--config", str(tmp_path / "missing.json")], "config file not found"),
        (["--out", str(other), "--steps", "5"], "holds no run"),
        (["--out", str(other), "--steps", "5", "--force"], "holds no run"),
        (["--resume", str(other)], "no run to resume"),
        (["--resume", str(tmp_path / "absent")], "no run to resume"),
    ]:
        code, io = run_cli(args, capsys)
        assert code == 2, args
        assert message in io.err, (args, io.err)
        assert listing(tmp_path) == before, args


@pytest.mark.slow
def test_cli_interrupt_keeps_a_checkpoint_and_resume_continues(tmp_path, capsys, monkeypatch):
    import smgrnn_ref.distill as distill

    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(train_config_to_dict(small_config(steps=30))))
    out = tmp_path / "run"
    original = distill.Trainer.run

    def stop(t):
        if t == 17:  # Ctrl-C at the boundary before step 17, as the SIGINT handler delivers it
            raise KeyboardInterrupt

    def interrupted_run(self, **kw):
        self.on_step = stop
        return original(self, **kw)

    monkeypatch.setattr(distill.Trainer, "run", interrupted_run)
    code, io = run_cli(["--config", str(conf), "--out", str(out)], capsys)
    assert code == 130
    assert f"checkpoint at step 16 in {out}" in io.err and "--resume" in io.err
    monkeypatch.setattr(distill.Trainer, "run", original)
    code, io = run_cli(["--resume", str(out), "--seed", "1"], capsys)  # not the run's seed
    assert code == 2 and "seed=0" in io.err
    code, io = run_cli(["--resume", str(out)], capsys)
    assert code == 0 and "step 30" in io.out

"""The experiment grid (process pool and Ray) and the report, on a tiny grid."""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from smgrnn_ref.experiment import DONE_FILE, GridSpec, expand_grid, is_done, load_grid, run_grid
from smgrnn_ref.report import make_report, std_ratio_interval

TINY = {"eval_every": 20, "eval_episodes": 1, "log_every": 10, "frame_every": 20, "checkpoint_every": 20,
        "mix_steps": 20, "batch_size": 8}


def _late_return_from_csv(path, steps):
    """The report's definition, recomputed here from the CSV with the csv module."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    vals = [float(r["eval_return_mean"]) for r in rows
            if r["eval_return_mean"] not in ("", "nan") and float(r["step"]) >= 0.9 * steps]
    return sum(vals) / len(vals), rows[-1]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "ray"])
def test_tiny_grid_runs_and_report_matches_metrics(tmp_path, backend):
    spec = GridSpec(envs=["CartPole-v1"], variants=["full", "static"], seeds=[0], steps=40,
                    base=dict(TINY, engine="reference"))
    counts = run_grid(spec, tmp_path, backend=backend, workers=2, progress=False, pictures=(backend == "process"))
    assert counts == {"runs": 2, "ran": 2, "skipped": 0, "failed": []}
    for run in expand_grid(spec, tmp_path):
        assert is_done(run) and (run.out_dir / "graph.json").is_file()
        assert (run.out_dir / "topology.gif").is_file() == (backend == "process")
    # a second call skips the finished runs
    assert run_grid(spec, tmp_path, backend=backend, workers=2, progress=False)["skipped"] == 2

    report = make_report(tmp_path, tmp_path / "report", figures=True)
    assert report["runs"] == 2
    for row in report["rows"]:
        late, last = _late_return_from_csv(tmp_path / f"CartPole-v1__{row['variant']}__s0" / "metrics.csv", 40)
        assert row["late_return_mean"] == pytest.approx(late, abs=1e-9)
        assert row["hidden_nodes_mean"] == float(last["hidden_nodes"])
        assert row["edges_mean"] == float(last["edges"])
        assert row["params_mean"] == float(last["params"])
        assert row["seeds"] == 1 and np.isnan(row["late_return_std"])
    for p in report["paths"]:
        assert p.is_file() and p.stat().st_size > 0
    text = (tmp_path / "report" / "results.md").read_text()
    assert "| CartPole-v1 | full |" in text and "| CartPole-v1 | static |" in text


def test_report_aggregates_seeds_with_sample_std(tmp_path):
    # two hand-written runs of one variant: late returns 100 and 200 -> mean 150, std 70.71
    for seed, (r1, r2) in enumerate([(90.0, 110.0), (180.0, 220.0)]):
        d = tmp_path / f"CartPole-v1__full__s{seed}"
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"env_id": "CartPole-v1", "variant": "full", "seed": seed,
                                                   "steps": 100}))
        (d / "metrics.csv").write_text(
            "step,loss,eval_return_mean,eval_return_std,hidden_nodes,edges,params\n"
            f"50,0.1,10.0,0.0,1,5,8\n90,0.1,{r1},0.0,2,6,10\n100,0.1,{r2},0.0,{seed + 3},7,12\n")
    rows = make_report(tmp_path, figures=False)["rows"]
    assert len(rows) == 1
    assert rows[0]["late_return_mean"] == pytest.approx(150.0)
    assert rows[0]["late_return_std"] == pytest.approx(np.sqrt(((100 - 150) ** 2 + (200 - 150) ** 2) / 1))
    assert rows[0]["hidden_nodes_mean"] == pytest.approx(3.5)


def _hand_run(root, variant, seed, rows, steps=100, max_params=None):
    """A run directory with a hand-written metrics.csv: rows of (step, eval return, params)."""
    d = root / f"CartPole-v1__{variant}__s{seed}"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"env_id": "CartPole-v1", "variant": variant, "seed": seed,
                                               "steps": steps, "max_params": max_params}))
    (d / "metrics.csv").write_text("step,loss,eval_return_mean,eval_return_std,hidden_nodes,edges,params\n" + "".join(
        f"{st},0.1,{ret},0.0,1,{p - 3},{p}\n" for st, ret, p in rows))


def test_report_leaves_capped_and_unfinished_runs_out_of_the_means(tmp_path):
    _hand_run(tmp_path, "growth-only", 0, [(50, 10.0, 20), (100, 30.0, 40)], max_params=1000)  # finished
    _hand_run(tmp_path, "growth-only", 1, [(50, 70.0, 60), (100, 90.0, 80)], max_params=1000)  # finished
    _hand_run(tmp_path, "growth-only", 2, [(50, 20.0, 900), (60, 25.0, 1200)], max_params=1000)  # capped at 60
    _hand_run(tmp_path, "growth-only", 3, [(50, 20.0, 900)], max_params=1000)  # still running
    _hand_run(tmp_path, "full", 0, [(50, 5.0, 2000)], max_params=1000)  # capped: a row with no finished seed
    _hand_run(tmp_path, "static", 0, [(100, 7.0, 12)])  # one seed: no std
    report = make_report(tmp_path, figures=True)
    rows = {r["variant"]: r for r in report["rows"]}
    g = rows["growth-only"]
    assert (g["seeds"], g["capped"]) == (2, 1)
    assert g["late_return_mean"] == pytest.approx(60.0) and g["late_return_std"] == pytest.approx(np.sqrt(1800.0))
    assert g["params_mean"] == pytest.approx(60.0)  # (40 + 80) / 2: the capped seed's 1200 is not in it
    f = rows["full"]
    assert (f["seeds"], f["capped"]) == (0, 1) and np.isnan(f["late_return_mean"])
    assert sorted((r["seed"], r["status"]) for r in report["left_out"] if r["variant"] == "growth-only") == \
        [(2, "capped"), (3, "unfinished")]
    text = (tmp_path / "results.md").read_text()
    assert "| - | CartPole-v1 | growth-only | 2 | 1 | 60.0 ± 42.4 |" in text
    assert "| - | CartPole-v1 | full | 0 | 1 | - | - | - | - |" in text
    assert "| - | CartPole-v1 | static | 1 | 0 | 7.0 | 1.0 | 9.0 | 12.0 |" in text
    assert "| - | CartPole-v1 | growth-only | 2 | capped | 60 of 100 | 1200.0 |" in text
    assert "| - | CartPole-v1 | growth-only | 3 | unfinished | 50 of 100 | 900.0 |" in text


@pytest.mark.slow
def test_grid_max_params_flag_caps_runs_and_old_done_files_stay_done(tmp_path, capsys):
    from smgrnn_ref import cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["growth-only"], "seeds": [0], "steps": 40,
                                "base": dict(TINY, engine="reference", spm={"T": 6, "s": 5, "lambda_edge": 0.0})}))
    out = tmp_path / "runs"
    assert cli.main(["experiment", "--grid", str(grid), "--out", str(out), "--max-params", "15", "--no-progress"]) == 0
    run = expand_grid(load_grid(grid), out)[0]
    record = json.loads((run.out_dir / DONE_FILE).read_text())
    assert record["config"]["max_params"] == 15 and record["summary"]["capped"]
    assert record["summary"]["params"] > 15 and record["summary"]["step"] < 40
    # a done.json written before a config field existed still marks the run done (a grid without
    # a cap, as every run was before max_params: CartPole-v1's per-env cap lifted)
    spec = json.loads(grid.read_text())
    spec["base"]["max_params"] = None
    grid.write_text(json.dumps(spec))
    uncapped = run.out_dir.parent / "uncapped"
    assert run_grid(GridSpec(**{**json.loads(grid.read_text())}), uncapped, workers=1, progress=False)["ran"] == 1
    done = next(uncapped.glob("*")) / DONE_FILE
    old = json.loads(done.read_text())
    del old["config"]["max_params"]
    done.write_text(json.dumps(old))
    assert run_grid(GridSpec(**{**json.loads(grid.read_text())}), uncapped, workers=1, progress=False)["skipped"] == 1


def test_params_figure_draws_capped_runs_up_to_where_they_stopped(tmp_path):
    from smgrnn_ref.report import _params_figure

    def rec(variant, steps, params, max_params=None):
        return {"variant": variant, "max_params": max_params,
                "metrics": {"step": np.array(steps, float), "params": np.array(params, float)}}

    finished = [rec("full", [10, 20, 30], [5, 6, 7]), rec("full", [10, 20, 30], [5, 8, 9])]
    capped = [rec("growth-only", [10, 20], [50, 120], 100), rec("growth-only", [10, 20, 30], [40, 90, 130], 100)]
    fig = _params_figure(finished, capped, "t", tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = fig.axes[0].get_lines()
    dashed = [ln for ln in lines if ln.get_linestyle() == "--"]
    # each capped run alone, to its own last step; the full runs' mean (5, 7, 8); the cap at 100
    assert [ln.get_xdata().tolist() for ln in dashed] == [[10, 20], [10, 20, 30]]
    assert [ln.get_ydata().tolist() for ln in lines if ln.get_linestyle() == "-"] == [[5.0, 7.0, 8.0]]
    assert [list(ln.get_ydata()) for ln in lines if ln.get_linestyle() == ":"] == [[100, 100]]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["full (mean of 2 seeds)", "growth-only, capped (2 seeds, to the step each stopped)",
                      "size cap (100 parameters)"]


def test_std_ratio_point_value_by_hand():
    # std([1, 2, 3, 4], ddof=1)^2 = 5/3; std([2, 4], ddof=1)^2 = 2  ->  ratio sqrt(5/6)
    ratio, _, _ = std_ratio_interval([1.0, 2.0, 3.0, 4.0], [2.0, 4.0], np.random.default_rng(0), n_boot=10)
    assert ratio == pytest.approx(np.sqrt(5.0 / 6.0))


def test_std_ratio_interval_of_two_seeds_is_everything():
    # Two seeds each: a replicate repeats one seed (std 0) with probability 1/2, so the four
    # equally likely (std a*, std b*) cases give ratios 1 (both 0, counted equal), 0, inf and
    # the sample ratio: the 2.5% and 97.5% points are 0 and inf.
    _, low, high = std_ratio_interval([1.0, 3.0], [0.0, 1.0], np.random.default_rng(1), n_boot=4000)
    assert low == 0.0 and high == np.inf


def test_std_ratio_interval_covers_the_true_ratio():
    # Normal seeds with true spread ratio 2: a 90% interval from 20 seeds each should hold 2 in
    # most of 200 independent draws (percentile intervals of a std under-cover a little at n=20),
    # and be narrower with 80 seeds.
    rng = np.random.default_rng(2)
    hits, widths = 0, {20: [], 80: []}
    for trial in range(200):
        for n in (20, 80):
            r, lo, hi = std_ratio_interval(rng.normal(0, 2.0, n), rng.normal(5, 1.0, n), rng, n_boot=1000, level=0.9)
            widths[n].append(hi - lo)
            hits += n == 20 and lo <= 2.0 <= hi
    assert 0.8 <= hits / 200 <= 0.97
    assert np.median(widths[80]) < 0.6 * np.median(widths[20])


def test_std_ratio_interval_edge_cases():
    rng = np.random.default_rng(3)
    assert all(np.isnan(std_ratio_interval([500.0, 500.0], [7.0, 7.0], rng)))  # both flat: no ratio
    assert std_ratio_interval([1.0, 2.0], [7.0, 7.0], rng)[0] == np.inf
    with pytest.raises(ValueError, match="at least 2"):
        std_ratio_interval([1.0], [1.0, 2.0], rng)
    with pytest.raises(ValueError, match="level"):
        std_ratio_interval([1.0, 2.0], [1.0, 2.0], rng, level=1.0)


def test_sweep_tags_and_bad_grids(tmp_path):
    spec = GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0, 1], steps=30,
                    sweep={"spm.lambda_edge": [0.001, 0.1]})
    runs = expand_grid(spec, tmp_path)
    assert [r.tag for r in runs] == ["spm.lambda_edge=0.001"] * 2 + ["spm.lambda_edge=0.1"] * 2
    assert runs[0].config.spm.lambda_edge == 0.001 and runs[3].config.spm.lambda_edge == 0.1
    assert runs[0].out_dir == tmp_path / "spm.lambda_edge=0.001" / "CartPole-v1__full__s0"
    with pytest.raises(ValueError, match="unknown field"):
        expand_grid(GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], sweep={"spm.nope": [1]}), tmp_path)
    with pytest.raises(ValueError, match="unknown variant"):
        GridSpec(variants=["huge"])
    with pytest.raises(ValueError, match="supported"):
        GridSpec(envs=["NoSuchEnv-v0"])
    bad = tmp_path / "grid.json"
    bad.write_text('{"envs": ["CartPole-v1"], "colour": "blue"}')
    with pytest.raises(ValueError, match="unknown key"):
        load_grid(bad)
    assert not any(p.name == DONE_FILE for p in tmp_path.rglob("*"))


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_the_run_checkpoints(tmp_path):
    """Killing `smgrnn-ref experiment` must not leave a worker training on, orphaned: the worker
    stops too, after checkpointing its current step (so the next call resumes the run)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    grid = tmp_path / "grid.json"
    # far more steps than the test waits for; a checkpoint only when the run is stopped
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["static"], "seeds": [0],
                                "steps": {"CartPole-v1": 1_000_000},
                                "base": {"checkpoint_every": 1_000_000, "eval_every": 1_000_000}}))
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "smgrnn_ref.cli", "experiment", "--grid", str(grid),
                             "--out", str(out), "--workers", "1", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = out / "CartPole-v1__static__s0" / "metrics.csv"
    deadline = time.monotonic() + 120
    # wait until the worker is training (a few logged rows past step 0)
    while time.monotonic() < deadline and (not metrics.is_file() or len(metrics.read_text().splitlines()) < 4):
        time.sleep(0.2)
    assert metrics.is_file(), "the run never started"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0  # interrupted, not finished
    rows = len(metrics.read_text().splitlines())
    time.sleep(3)
    assert len(metrics.read_text().splitlines()) == rows, "a worker is still training after the grid was killed"
    state = json.loads((out / "CartPole-v1__static__s0" / "checkpoint" / "state.json").read_text())
    assert state["step"] >= 300  # the stop's checkpoint, not the step-0 one


# ------------------------------------------------------------------ grids that cannot be run as written (issue 19)


@pytest.mark.parametrize("key, field", [("seed", "seeds"), ("env_id", "envs"), ("variant", "variants"),
                                        ("steps", "steps")])
def test_a_sweep_over_a_grid_axis_is_refused(tmp_path, key, field):
    # the grid sets these per run from its own fields: a sweep of them used to be silently overridden
    values = {"seed": [5, 6], "env_id": ["Acrobot-v1"], "variant": ["mlp"], "steps": [7, 8]}[key]
    with pytest.raises(ValueError, match=f"cannot vary '{key}': list its values in '{field}'"):
        GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], sweep={key: values})


def test_base_may_not_set_what_the_grid_sets(tmp_path):
    for base in ({"seed": 3}, {"env_id": "Acrobot-v1"}, {"variant": "mlp"}):
        with pytest.raises(ValueError, match="GridSpec.base cannot set"):
            GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], base=base)
    with pytest.raises(ValueError, match="GridSpec.base cannot set 'steps'"):
        GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], steps=10, base={"steps": 20})
    # without a grid-level steps, base's steps is the one every run gets
    runs = expand_grid(GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], base={"steps": 20}), tmp_path)
    assert [r.config.steps for r in runs] == [20]


def test_env_base_sets_one_envs_runs_over_base_and_under_the_sweep(tmp_path):
    spec = GridSpec(envs=["CartPole-v1", "Acrobot-v1"], variants=["full"], seeds=[0], steps=10,
                    base={"spm": {"lambda_edge": 3.0, "tau_w": 0.07}, "max_params": None},
                    env_base={"CartPole-v1": {"spm": {"lambda_edge": 0.3}, "max_params": 500}},
                    sweep={"spm.tau_w": [0.02]})
    got = {r.config.env_id: (r.config.spm.lambda_edge, r.config.spm.tau_w, r.config.max_params)
           for r in expand_grid(spec, tmp_path)}
    # CartPole: env_base's lambda_edge and cap; both: the sweep's tau_w over base's 0.07
    assert got == {"CartPole-v1": (0.3, 0.02, 500), "Acrobot-v1": (3.0, 0.02, None)}


@pytest.mark.parametrize("env_base, message", [
    ({"Acrobot-v1": {"seed": 1}}, "names 'Acrobot-v1', which is not in envs"),
    ({"CartPole-v1": {"seed": 1}}, "cannot set 'seed'"),
    ({"CartPole-v1": [1]}, "must be a JSON object"),
])
def test_bad_env_base_is_refused(env_base, message):
    with pytest.raises(ValueError, match=message):
        GridSpec(envs=["CartPole-v1"], variants=["full"], seeds=[0], env_base=env_base)


def test_the_paper_window_study_grid_restores_the_earlier_defaults():
    # the defaults before the growth study (commit 463c22b): the update window, lambda_edge 3,
    # CartPole-v1 0.3 and Pendulum-v1 1.0, a size cap on Pendulum-v1 only
    runs = expand_grid(load_grid(Path(__file__).parents[1] / "experiments" / "study_paper_window.json"), "runs")
    by_env = {r.config.env_id: r.config for r in runs if r.config.variant == "full" and r.config.seed == 0}
    assert {env: (c.spm.window_signal, c.spm.lambda_edge, c.max_params) for env, c in by_env.items()} == {
        "CartPole-v1": ("update", 0.3, None), "Acrobot-v1": ("update", 3.0, None),
        "LunarLander-v3": ("update", 3.0, None), "Pendulum-v1": ("update", 1.0, 20000),
        "LunarLanderContinuous-v3": ("update", 3.0, None)}
    assert len(runs) == 125


@pytest.mark.parametrize("field, value", [("base", [{"seed": 1}]), ("sweep", [["spm.T", [5]]]), ("base", "x"),
                                          ("steps", "many"), ("steps", True), ("env_base", "x")])
def test_grid_fields_of_the_wrong_shape_are_one_line_errors(tmp_path, capsys, field, value):
    from smgrnn_ref import cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["full"], "seeds": [0], field: value}))
    code = cli.main(["experiment", "--grid", str(grid), "--out", str(tmp_path / "runs"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"smgrnn-ref: error: GridSpec.{field} must be"), err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("spec", [
    dict(seeds=[0, 0]),
    dict(envs=["CartPole-v1", "CartPole-v1"]),
    dict(variants=["full", "full"]),
    dict(sweep={"spm.lambda_edge": [0.1, 0.1]}),
    dict(sweep={"spm.lambda_edge": [0.1234567, 0.12345671]}),  # two values, one tag: one directory
])
def test_duplicate_runs_are_refused(tmp_path, spec):
    full = {"envs": ["CartPole-v1"], "variants": ["full"], "seeds": [0], "steps": 10, **spec}
    with pytest.raises(ValueError, match="holds the run .* twice"):
        expand_grid(GridSpec(**full), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_grid_optimizer_flags_reach_every_run(tmp_path):
    from smgrnn_ref import cli

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["static"], "seeds": [0], "steps": 10,
                                "base": dict(TINY, engine="reference", adam={"momentum": 0.5})}))
    out = tmp_path / "runs"
    assert cli.main(["experiment", "--grid", str(grid), "--out", str(out), "--optimizer", "sgd", "--lr", "0.2",
                     "--workers", "1", "--no-progress"]) == 0
    run = expand_grid(load_grid(grid), out)[0]
    stored = json.loads((run.out_dir / "config.json").read_text())["optimizer"]
    assert (stored["name"], stored["lr"], stored["momentum"]) == ("sgd", 0.2, 0.5)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "ray"])
def test_a_failed_run_does_not_stop_the_grid(tmp_path, capsys, monkeypatch, backend):
    # a teacher that fails mid-run (after every check before the run): that run is reported with
    # its one-line error and left to retry; the grid's other run finishes
    from smgrnn_ref import cli

    # Ray's workers import the teachers' module from their PYTHONPATH (the process backend's
    # spawned workers inherit this interpreter's sys.path)
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["static"], "seeds": [0], "steps": 60,
                                "base": dict(TINY, engine="reference"),
                                "sweep": {"expert": ["toy_tasks:cartpole_fails_late", "toy_tasks:cartpole_logits"]}}))
    out = tmp_path / "runs"
    code = cli.main(["experiment", "--grid", str(grid), "--out", str(out), "--workers", "1", "--no-progress",
                     "--backend", backend])
    io = capsys.readouterr()
    assert code == 1
    errors = [line for line in io.err.splitlines() if line.startswith("smgrnn-ref: error: ")]
    assert len(errors) == 1 and "toy teacher: gave up after 40 calls" in errors[0], io.err
    assert "2 runs (1 run now, 0 already done, 1 failed)" in io.out
    done = {r.config.expert: is_done(r) for r in expand_grid(load_grid(grid), out)}
    assert done == {"toy_tasks:cartpole_fails_late": False, "toy_tasks:cartpole_logits": True}

"""Never lose a user's data (issue 19): who owns a run directory, what ``--force`` removes, what is
checked before anything is written, the lock, a hostile checkpoint, and one-line errors.

Every "nothing changed" below is a full listing of the directory tree (sizes and modification
times) taken before the command and compared after it; every "one-line error" is the whole of
stderr: one line, ``smgrnn-ref: error: ...``, exit code 2, no traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from smgrnn_ref import cli
from smgrnn_ref.distill import TrainConfig, resume, train, train_config_to_dict
from smgrnn_ref.io import graph_to_dict, load_graph

ROOT = Path(__file__).resolve().parents[1]

#: A run of a second or two: one evaluation episode, checkpoints at 5 and 10, no pictures.
TINY = dict(env_id="CartPole-v1", steps=12, batch_size=8, dataset_capacity=100, mix_steps=6, log_every=4,
            eval_every=12, eval_episodes=1, frame_every=4, checkpoint_every=5, engine="reference")


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


def listing(root, *, but: str | None = None) -> dict:
    """Every path under ``root`` (links not followed) with its size and modification time;
    files named ``but`` left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name == but:
                continue
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def cli_error(args, capsys, *fragments) -> str:
    """Run the CLI; it must fail with exit code 2 and exactly one line on stderr."""
    code = cli.main(args)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, (args, err)
    assert len(lines) == 1 and lines[0].startswith("smgrnn-ref: error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def config_file(tmp_path, text: str | None = None, **changes) -> Path:
    path = tmp_path / "config.in.json"
    path.write_text(text if text is not None else json.dumps({**train_config_to_dict(tiny()), **changes}))
    return path


@pytest.fixture
def old_run(tmp_path) -> Path:
    """A finished tiny run to be replaced."""
    out = tmp_path / "P"
    train(tiny(), out, progress=False, pictures=False)
    return out


# ------------------------------------------------------------------ 1. --force removes only its own files


def test_force_keeps_files_a_run_did_not_write(old_run, capsys):
    (old_run / "src").mkdir()
    (old_run / "src" / "a.py").write_text("x = 1\n")
    (old_run / "notes.txt").write_text("mine")
    code = cli.main(["train", "--config", str(config_file(old_run.parent, seed=3)), "--out", str(old_run),
                     "--force", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert (old_run / "src" / "a.py").read_text() == "x = 1\n" and (old_run / "notes.txt").read_text() == "mine"
    assert json.loads((old_run / "config.json").read_text())["seed"] == 3  # the new run replaced the old one


def test_force_refuses_a_directory_that_does_not_carry_the_marker(tmp_path, capsys):
    # the reproduction: a config.json is not enough to make a directory a run
    p = tmp_path / "P"
    (p / "src").mkdir(parents=True)
    (p / "config.json").write_text("{}")
    (p / "src" / "a.py").write_text("x")
    before = listing(tmp_path)
    cli_error(["train", "--steps", "20", "--out", str(p), "--force", "--no-progress"], capsys, "holds no run")
    assert listing(tmp_path) == before


def test_force_in_the_working_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("mine")
    before = listing(tmp_path)
    cli_error(["train", "--steps", "5", "--out", ".", "--force", "--no-progress"], capsys, "holds no run")
    assert listing(tmp_path) == before
    # a run made in an empty working directory, then a file of the user's: --force keeps it
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    conf = str(config_file(tmp_path))
    assert cli.main(["train", "--config", conf, "--out", ".", "--no-progress"]) == 0
    (work / "analysis.py").write_text("print(1)")
    assert cli.main(["train", "--config", conf, "--out", ".", "--force", "--no-progress"]) == 0, capsys.readouterr()
    assert (work / "analysis.py").read_text() == "print(1)" and (work / "graph.json").is_file()


def test_force_through_a_symlinked_out(old_run, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(old_run)
    code = cli.main(["train", "--config", str(config_file(tmp_path, seed=4)), "--out", str(link), "--force",
                     "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert link.is_symlink() and json.loads((old_run / "config.json").read_text())["seed"] == 4
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    cli_error(["train", "--steps", "5", "--out", str(dangling), "--no-progress"], capsys, "symbolic link to nothing")
    assert not (tmp_path / "nowhere").exists()


def test_a_run_made_before_the_marker_is_resumed_not_replaced(tmp_path, capsys):
    out = _interrupted(tmp_path)
    (out / ".smgrnn-run").unlink()  # as every run directory written before the marker existed
    before = listing(tmp_path)
    cli_error(["train", "--config", str(config_file(tmp_path)), "--out", str(out), "--force", "--no-progress"],
              capsys, "holds no run", "can be resumed")
    assert listing(tmp_path) == {**before, "config.in.json": listing(tmp_path)["config.in.json"]}
    assert resume(out, progress=False, pictures=False)["step"] == TINY["steps"]
    assert (out / ".smgrnn-run").is_file()  # adopted: from now on --force may replace it


# ------------------------------------------------------------------ 2. every check before anything is written


@pytest.mark.parametrize("text, fragment", [
    ('{"graph": {"output_activation": "swish"}}', "swish"),
    ('{"dataset_capacity": 100000000000000}', "dataset_capacity"),
    ('{"optimizer": {"lr": Infinity}}', "OptimizerConfig.lr"),
    ('{"adam": {"lr": Infinity}}', "OptimizerConfig.lr"),  # the former name
    ('{"spm": {"T": 1000000000000}}', "SPMConfig.T"),
])
def test_a_config_that_cannot_run_deletes_nothing(old_run, capsys, text, fragment):
    conf = config_file(old_run.parent, text)
    before = listing(old_run.parent)
    cli_error(["train", "--config", str(conf), "--out", str(old_run), "--force", "--no-progress"], capsys, fragment)
    assert listing(old_run.parent) == before


def test_a_first_step_that_fails_deletes_nothing(old_run, monkeypatch):
    import smgrnn_ref.distill.trainer as trainer

    def failing(self, t):
        raise ValueError(f"step {t} cannot be taken")

    monkeypatch.setattr(trainer.Trainer, "train_step", failing)
    before = listing(old_run.parent)
    with pytest.raises(ValueError, match="step 1 cannot be taken"):
        train(tiny(), old_run, force=True, progress=False, pictures=False)
    assert listing(old_run.parent) == before


# ------------------------------------------------------------------ 4. a crafted or damaged checkpoint


def _interrupted(tmp_path) -> Path:
    """A run stopped at step 7 (checkpoint at 7) with log lines past it cut on resume."""
    out = tmp_path / "run"

    def stop(t):
        if t == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny(), out, progress=False, pictures=False, on_step=stop)
    return out


#: A refused resume has taken the run's lock, which rewrites the lock file (the pid in it);
#: nothing else may change.
LOCK = ".smgrnn-lock"


def _edit_state(out: Path, edit) -> None:
    path = out / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


def test_state_json_cannot_truncate_or_pad_any_file(tmp_path, capsys):
    out = _interrupted(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    events_size = (out / "events.jsonl").stat().st_size
    for files, fragment in [
        ({"../victim.txt": 0, "events.jsonl": 0, "topology.jsonl": 0}, "'files' must give the sizes of the run's logs"),
        ({str(victim): 0, "topology.jsonl": 0}, "'files' must give the sizes of the run's logs"),
        ({"events.jsonl": events_size + 1000, "topology.jsonl": 0}, "fewer than the"),
        ({"events.jsonl": -1, "topology.jsonl": 0}, "integer >= 0"),
        ({"events.jsonl": "0", "topology.jsonl": 0}, "integer >= 0"),
    ]:
        _edit_state(out, lambda s: s.update(files=files))
        before = listing(tmp_path, but=LOCK)
        cli_error(["train", "--resume", str(out), "--no-progress"], capsys, fragment)
        assert listing(tmp_path, but=LOCK) == before, files
    assert victim.read_text() == "precious\n"
    assert b"\0" not in (out / "events.jsonl").read_bytes()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_log_that_is_a_link_is_not_cut(tmp_path, capsys, link):
    out = _interrupted(tmp_path)
    victim = tmp_path / "victim.jsonl"
    shutil.copyfile(out / "events.jsonl", victim)
    victim.write_text(victim.read_text() + "a line the checkpoint does not know\n")
    content = victim.read_bytes()
    (out / "events.jsonl").unlink()
    if link == "symlink":
        (out / "events.jsonl").symlink_to(victim)
    else:
        os.link(victim, out / "events.jsonl")
    cli_error(["train", "--resume", str(out), "--no-progress"], capsys, "events.jsonl", "not a plain file")
    assert victim.read_bytes() == content


def test_a_log_newer_than_the_checkpoint_must_be_a_plain_file(tmp_path, capsys):
    # a checkpoint from before prune_candidates.jsonl existed records no size for it: the resume
    # creates it if missing, and refuses a link planted in its place
    out = _interrupted(tmp_path)
    _edit_state(out, lambda s: s["files"].pop("prune_candidates.jsonl"))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (out / "prune_candidates.jsonl").unlink()
    (out / "prune_candidates.jsonl").symlink_to(victim)
    cli_error(["train", "--resume", str(out), "--no-progress"], capsys, "prune_candidates.jsonl", "not a plain file")
    assert victim.read_text() == "precious\n"
    (out / "prune_candidates.jsonl").unlink()
    assert resume(out, progress=False, pictures=False)["step"] == TINY["steps"]
    assert (out / "prune_candidates.jsonl").is_file() and not (out / "prune_candidates.jsonl").is_symlink()


def _bad_npz_header(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members["obs.npy"] = b"\x93NUMPY\x01\x00" + members["obs.npy"][8:20] + b"garbage" * 20
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _drop_npz_member(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist() if name != "next.npy"}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _huge_capacity(path: Path) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(path, **{**arrays, "capacity": np.array(10**14)})


CK = Path("checkpoint")
DAMAGE = [
    ("graph missing", lambda out: (out / CK / "graph.json").unlink(), ["graph.json is missing"]),
    ("dataset missing", lambda out: (out / CK / "dataset.npz").unlink(), ["dataset.npz is missing"]),
    ("state missing", lambda out: [(out / CK / "state.json").unlink(), shutil.rmtree(out / CK)],
     ["no checkpoint to resume"]),
    ("metrics missing", lambda out: (out / CK / "metrics.csv").unlink(), ["metrics.csv is missing"]),
    ("events.jsonl missing", lambda out: (out / "events.jsonl").unlink(), ["events.jsonl is missing"]),
    ("dataset not a zip", lambda out: (out / CK / "dataset.npz").write_bytes(b"PK\x03\x04garbage"),
     ["dataset.npz", "not a readable dataset file"]),
    ("dataset garbage", lambda out: (out / CK / "dataset.npz").write_bytes(b"\x00not an archive" * 10),
     ["dataset.npz", "not a readable dataset file"]),
    ("dataset bad header", lambda out: _bad_npz_header(out / CK / "dataset.npz"), ["'obs' is damaged"]),
    ("dataset lacks an array", lambda out: _drop_npz_member(out / CK / "dataset.npz"), ["'next' is missing"]),
    ("dataset capacity 1e14", lambda out: _huge_capacity(out / CK / "dataset.npz"), ["dataset.npz"]),
    ("graph not JSON", lambda out: (out / CK / "graph.json").write_text("{"), ["graph.json", "not valid JSON"]),
    ("state not JSON", lambda out: (out / CK / "state.json").write_text("[[["), ["state.json", "not valid JSON"]),
    ("state nested", lambda out: (out / CK / "state.json").write_text("[" * 100_000 + "]" * 100_000),
     ["state.json", "nested too deeply"]),
    ("rng missing", lambda out: _edit_state(out, lambda s: s.pop("rng")), ["state.json", "'rng'"]),
    ("rng state wrong", lambda out: _edit_state(out, lambda s: s["rng"].update(spm={"state": 3})),
     ["state.json", "malformed training state"]),
    ("interval wrong", lambda out: _edit_state(out, lambda s: s["interval"].update(loss_n="many")),
     ["state.json", "'interval'"]),
    ("bad action", lambda out: _edit_state(out, lambda s: s["episode"].update(actions=[7])),
     ["state.json", "malformed training state"]),
    ("step negative", lambda out: _edit_state(out, lambda s: s.update(step=-3)), ["state.json", "'step'"]),
    ("checkpoint a symlink", lambda out: [shutil.move(out / CK, out.parent / "elsewhere"),
                                         (out / CK).symlink_to(out.parent / "elsewhere")], ["symbolic link"]),
]


@pytest.mark.parametrize("name, damage, fragments", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_checkpoint_is_named_and_nothing_changes(tmp_path, capsys, name, damage, fragments):
    out = _interrupted(tmp_path)
    damage(out)
    before = listing(tmp_path, but=LOCK)
    line = cli_error(["train", "--resume", str(out), "--no-progress"], capsys, *fragments)
    assert "pickle" not in line  # numpy's message for any file that is not an archive
    assert listing(tmp_path, but=LOCK) == before


# ------------------------------------------------------------------ 6. one writer per run directory


def _start_training(out: Path, tmp_path: Path) -> subprocess.Popen:
    """A long ``train`` in another process, returned once it is past its first steps."""
    conf = config_file(tmp_path, steps=1_000_000, checkpoint_every=1_000_000, eval_every=1_000_000,
                       log_every=20, frame_every=1_000_000)
    proc = subprocess.Popen([sys.executable, "-m", "smgrnn_ref.cli", "train", "--config", str(conf), "--out", str(out),
                             "--no-progress"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    metrics = out / "metrics.csv"
    while time.monotonic() < deadline and (not metrics.is_file() or len(metrics.read_text().splitlines()) < 3):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    return proc


@pytest.mark.slow
def test_a_second_writer_is_refused_while_a_run_trains(tmp_path, capsys):
    out = tmp_path / "run"
    proc = _start_training(out, tmp_path)
    try:
        conf = str(config_file(tmp_path))
        for args in (["--config", conf, "--out", str(out)],  # a second train into the same --out
                     ["--config", conf, "--out", str(out), "--force"],  # a --force while it trains
                     ["--resume", str(out)]):  # a resume while it trains
            cli_error(["train", *args, "--no-progress"], capsys, f"in use by pid {proc.pid}")
        assert proc.poll() is None and (out / "config.json").is_file()
    finally:
        proc.kill()  # SIGKILL: the kernel releases the lock
        proc.wait()
    rows = len((out / "metrics.csv").read_text().splitlines())
    summary = resume(out, steps=30, progress=False, pictures=False)  # free again
    assert summary["step"] == 30 and len((out / "metrics.csv").read_text().splitlines()) < rows + 5


def test_the_lock_names_the_holder(tmp_path):
    from smgrnn_ref.rundir import RunInUseError, RunLock

    out = tmp_path / "run"
    with RunLock(out):
        with pytest.raises(RunInUseError, match=f"in use by pid {os.getpid()}"):
            train(tiny(), out, progress=False, pictures=False)
        assert sorted(os.listdir(out)) == [".smgrnn-lock"]  # nothing else written
    train(tiny(), out, progress=False, pictures=False)


# ------------------------------------------------------------------ 8. one-line errors


def test_an_unwritable_out_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out, fragment in [("/proc/x", "/proc/x"), (str(tmp_path / "file" / "child"), "not a directory")]:
        cli_error(["train", "--steps", "5", "--out", out, "--no-progress"], capsys, fragment)
    assert (tmp_path / "file").read_text() == "x"


def test_a_read_only_out_is_a_one_line_error(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes through permission bits; not through the immutable flag
        if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without chattr +i: no directory root cannot write")
        undo = ["chattr", "-i", str(ro)]
    else:
        ro.chmod(0o500)
        undo = ["chmod", "700", str(ro)]
    try:
        cli_error(["train", "--steps", "5", "--out", str(ro / "run"), "--no-progress"], capsys, "not writable")
        cli_error(["train", "--steps", "5", "--out", str(ro), "--no-progress"], capsys, "not writable")
        assert os.listdir(ro) == []
    finally:
        subprocess.run(undo, check=True)


@pytest.mark.parametrize("section, field", [("adam", "lr"), ("spm", "lambda_edge"), ("spm", "tau_w"),
                                            ("spm", "init_weight_scale"), ("graph", "init_weight_scale"),
                                            ("adam", "eps")])
@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_infinite_hyper_parameters_are_refused(tmp_path, capsys, section, field, value):
    conf = config_file(tmp_path, '{"%s": {"%s": %s}}' % (section, field, value))
    before = listing(tmp_path)
    cli_error(["train", "--config", str(conf), "--out", str(tmp_path / "run"), "--no-progress"], capsys,
              f".{field} must be")
    assert listing(tmp_path) == before


def test_deeply_nested_json_files_are_one_line_errors(tmp_path, capsys):
    deep = "[" * 200_000 + "]" * 200_000
    conf = config_file(tmp_path, '{"spm": %s}' % deep)
    cli_error(["train", "--config", str(conf), "--out", str(tmp_path / "run"), "--no-progress"], capsys,
              "nested too deeply")
    grid = tmp_path / "grid.json"
    grid.write_text('{"envs": %s}' % deep)
    cli_error(["experiment", "--grid", str(grid), "--out", str(tmp_path / "g"), "--no-progress"], capsys,
              "nested too deeply")
    graph = tmp_path / "graph.json"
    graph.write_text(deep)
    with pytest.raises(ValueError, match="nested too deeply"):
        load_graph(graph)
    assert sorted(os.listdir(tmp_path)) == ["config.in.json", "graph.json", "grid.json"]


def test_demo_refuses_a_negative_number_of_steps(capsys):
    assert cli_error(["demo", "--steps", "-1"], capsys) == "smgrnn-ref: error: run_demo.steps must be >= 1, got -1"


def test_graph_files_are_capped_in_size(tmp_path, monkeypatch):
    import smgrnn_ref.io as io

    G = load_graph(_interrupted(tmp_path) / "checkpoint" / "graph.json")
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(graph_to_dict(G)))
    size = path.stat().st_size
    with pytest.raises(ValueError, match=f"is {size:,} bytes, more than the limit of {size - 1:,}"):
        load_graph(path, max_bytes=size - 1)
    monkeypatch.setattr(io, "MAX_GRAPH_BYTES", size - 1)  # the documented knob
    with pytest.raises(ValueError, match="more than the limit"):
        load_graph(path)
    assert graph_to_dict(load_graph(path, max_bytes=size)) == graph_to_dict(G)
    # a huge (sparse) file is refused before a byte of it is read
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(io.MAX_GRAPH_BYTES + 1)
    with pytest.raises(ValueError, match="more than the limit"):
        load_graph(huge)

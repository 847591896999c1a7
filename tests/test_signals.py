"""Stop requests at any step, the last one included, for ``train`` and for a grid (issue 19, item 3).

A signal that arrives during a step is honoured at the end of that step: the run checkpoints
and stops (``KeyboardInterrupt``, exit code 130), also when that step is the last one. A grid
(``smgrnn-ref experiment``) whose worker is in its run's last step when Ctrl-C or SIGTERM
arrives must stop, not hang: the grid tests below deliver the signal while a worker is inside
its last step (a launcher makes that step slow and says when it started), in a subprocess,
with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smgrnn_ref import cli
from smgrnn_ref.distill import TrainConfig, resume, train, train_config_to_dict
from smgrnn_ref.io import graph_to_dict, load_graph

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(env_id="CartPole-v1", steps=12, batch_size=8, dataset_capacity=100, mix_steps=6, log_every=4,
            eval_every=12, eval_episodes=1, frame_every=4, checkpoint_every=5, engine="reference")


def _signal_during_step(monkeypatch, step: int, sig=signal.SIGINT) -> None:
    """Deliver ``sig`` to this process while step ``step`` runs (the step then completes)."""
    import smgrnn_ref.distill.trainer as trainer

    original = trainer.Trainer.train_step

    def step_with_signal(self, t):
        if t == step:
            signal.raise_signal(sig)
        return original(self, t)

    monkeypatch.setattr(trainer.Trainer, "train_step", step_with_signal)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_in_the_last_step_checkpoints_and_stops(tmp_path, monkeypatch, sig):
    cfg = TrainConfig(**TINY)
    train(cfg, tmp_path / "straight", progress=False, pictures=False)
    _signal_during_step(monkeypatch, cfg.steps, sig)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", progress=False, pictures=False)
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert state["step"] == cfg.steps and not (tmp_path / "cut" / "graph.json").exists()
    monkeypatch.undo()
    summary = resume(tmp_path / "cut", progress=False, pictures=False)  # finishes: graph.json, summary
    assert summary["step"] == cfg.steps
    assert graph_to_dict(load_graph(tmp_path / "cut" / "graph.json")) == graph_to_dict(
        load_graph(tmp_path / "straight" / "graph.json"))


def test_the_cli_exits_130_after_a_ctrl_c_in_the_last_step(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "c.json"
    conf.write_text(json.dumps(train_config_to_dict(TrainConfig(**TINY))))
    _signal_during_step(monkeypatch, TINY["steps"])
    code = cli.main(["train", "--config", str(conf), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 130 and f"checkpoint at step {TINY['steps']}" in err


# ------------------------------------------------------------------ a grid stopped in a worker's last step

#: Run as the grid's main script: module-level code also runs in every spawned worker, so each
#: worker's training step ``steps`` writes its pid to LAST_STEP_FLAG, then sleeps.
LAUNCHER = '''
import os, sys, time
from pathlib import Path
import smgrnn_ref.distill.trainer as trainer

_original = trainer.Trainer.train_step

def train_step(self, t):
    if t == self.cfg.steps:
        Path(os.environ["LAST_STEP_FLAG"]).write_text(str(os.getpid()))
        time.sleep(float(os.environ["LAST_STEP_SLEEP"]))
    return _original(self, t)

trainer.Trainer.train_step = train_step

if __name__ == "__main__":
    from smgrnn_ref.cli import main
    sys.exit(main(sys.argv[1:]))
'''


def _grid(tmp_path: Path, steps: int) -> Path:
    grid = tmp_path / "grid.json"
    base = {k: v for k, v in TINY.items() if k not in ("env_id", "steps")}
    grid.write_text(json.dumps({"envs": ["CartPole-v1"], "variants": ["static"], "seeds": [0],
                                "steps": {"CartPole-v1": steps}, "base": base}))
    return grid


def _start_grid(tmp_path: Path, flag: Path) -> subprocess.Popen:
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    env = {**os.environ, "LAST_STEP_FLAG": str(flag), "LAST_STEP_SLEEP": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(launcher), "experiment", "--grid", str(_grid(tmp_path, 12)),
                             "--out", str(tmp_path / "runs"), "--workers", "1", "--no-progress"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own process group, as a terminal's job


def _wait_for(flag: Path, proc: subprocess.Popen, seconds: float = 120) -> int:
    deadline = time.monotonic() + seconds
    while not (flag.is_file() and flag.read_text()):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the worker never reached its last step"
        time.sleep(0.05)
    return int(flag.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c to the group", "sigterm to the group", "sigterm to the parent",
                                 "sigterm to the worker", "sigterm to the worker, then the parent"])
def test_a_grid_stopped_during_a_worker_last_step_exits_and_resumes(tmp_path, how):
    flag = tmp_path / "last_step"
    proc = _start_grid(tmp_path, flag)
    try:
        worker = _wait_for(flag, proc)
        if how == "ctrl-c to the group":
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        elif how == "sigterm to the group":
            os.killpg(proc.pid, signal.SIGTERM)  # what a job scheduler does
        elif how == "sigterm to the parent":
            os.kill(proc.pid, signal.SIGTERM)
        elif how == "sigterm to the worker":
            os.kill(worker, signal.SIGTERM)
        else:  # what a scheduler's group signal can amount to: the worker then gets the parent's too
            os.kill(worker, signal.SIGTERM)
            time.sleep(0.5)
            os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=90)  # the hang: never returned before the fix
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read().decode()
    assert code == 130 and "Traceback" not in err, err
    run = tmp_path / "runs" / "CartPole-v1__static__s0"
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 12  # the last step checkpointed
    assert not (run / "done.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)  # no worker left behind
    # the same command again finishes the run (resumed at its last step)
    again = cli.main(["experiment", "--grid", str(_grid(tmp_path, 12)), "--out", str(tmp_path / "runs"),
                      "--workers", "1", "--no-progress"])
    assert again == 0 and json.loads((run / "done.json").read_text())["summary"]["step"] == 12

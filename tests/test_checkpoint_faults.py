"""Fault injection: a run killed (SIGKILL) at any point of a checkpoint write resumes exactly (issue 19, item 9).

Every change :meth:`smgrnn_ref.rundir.RunDir.write_checkpoint` makes on disk goes through one of
four functions of :mod:`smgrnn_ref.rundir.directory` (``_write_file``, ``_fsync``, ``_rename``,
``_remove``). A driver (this file run as a script, in a fresh interpreter, so forking is safe)
counts them during the checkpoint at step 20 of a 30-step run, then for every one of them forks
a child that trains the same run and SIGKILLs itself just before that operation, or halfway
through writing that file, or just after the checkpoint. After each kill the driver resumes the
run and compares it with an uninterrupted run: ``events.jsonl``, ``topology.jsonl``,
``prune_candidates.jsonl``, ``graph.json`` and ``metrics.csv`` (all but ``wall_time``) must be
byte for byte the same.
The checkpoint resumed from is step 20 when the kill came after the swap, step 10 (the previous
checkpoint, still whole) before it: both must occur.

Both engines. The runs are 30 steps long: the fast engine's resume is not yet exact at every
step of a long run (issue 19, item 5, fixed on another branch); at these lengths it is, as
``tests/test_distill.py``'s resume test shows, so a failure here is the checkpoint protocol's.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

#: The checkpoint whose writing is interrupted, in a run of STEPS steps with one every EVERY.
STEPS, EVERY, TARGET = 30, 10, 20
#: The operations of a checkpoint write (functions of smgrnn_ref.rundir.directory).
OPS = ("_write_file", "_fsync", "_rename", "_remove")


def _config(engine: str):
    from smgrnn_ref.config import SPMConfig
    from smgrnn_ref.distill import TrainConfig

    # a small SPM window so relays, random edges and pruning all happen within 30 steps
    return TrainConfig(env_id="CartPole-v1", steps=STEPS, batch_size=16, dataset_capacity=200, beta0=0.5,
                       mix_steps=20, log_every=5, eval_every=15, eval_episodes=1, frame_every=5,
                       checkpoint_every=EVERY, engine=engine,
                       spm=SPMConfig(T=6, s=5, lambda_edge=0.0, p_rand=0.5, tau_w=0.2, tau_delta=0.05))


def _results(out: Path) -> dict:
    """What must not differ: the logs, the final graph, the metrics without the wall time."""
    from smgrnn_ref.io import graph_to_dict, load_graph

    rows = [line.rsplit(",", 1)[0] for line in (out / "metrics.csv").read_text().splitlines()]
    return {"events": (out / "events.jsonl").read_text(), "topology": (out / "topology.jsonl").read_text(),
            "candidates": (out / "prune_candidates.jsonl").read_text(),
            "graph": graph_to_dict(load_graph(out / "graph.json")), "metrics": rows}


def _instrument(kill_at: int | None, mid_write: bool, counted: list):
    """Wrap the checkpoint operations: record each one of the checkpoint at step TARGET, and
    SIGKILL this process before the ``kill_at``-th (or halfway through it, for a file write).
    Returns a function that puts the originals back."""
    import smgrnn_ref.rundir.directory as d

    saved = {name: getattr(d, name) for name in OPS}
    saved["write_checkpoint"] = d.RunDir.write_checkpoint

    active = [False]
    original = d.RunDir.write_checkpoint

    def write_checkpoint(self, G, dataset, state):
        active[0] = state["step"] == TARGET
        try:
            return original(self, G, dataset, state)
        finally:
            active[0] = False

    def wrap(name, fn):
        def op(path, *rest):
            if active[0]:
                counted.append(f"{name}({Path(path).parent.name}/{Path(path).name})")
                if len(counted) == kill_at:
                    if mid_write and name == "_write_file":
                        buf = io.BytesIO()
                        rest[0](buf)
                        with open(path, "xb") as fh:
                            fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                            fh.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
            return fn(path, *rest)
        return op

    d.RunDir.write_checkpoint = write_checkpoint
    for name in OPS:
        setattr(d, name, wrap(name, getattr(d, name)))

    def undo():
        d.RunDir.write_checkpoint = saved.pop("write_checkpoint")
        for name, fn in saved.items():
            setattr(d, name, fn)
    return undo


def _killed_run(out: Path, cfg, kill_at: int | None, mid_write: bool, after: bool) -> int:
    """Fork a child that trains ``cfg`` into ``out`` and is killed as asked; its wait status."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            from smgrnn_ref.distill import train

            _instrument(kill_at, mid_write, [])

            def stop(t):
                if after and t == TARGET + 1:  # the checkpoint at TARGET is complete
                    os.kill(os.getpid(), signal.SIGKILL)

            train(cfg, out, progress=False, pictures=False, on_step=stop)
        finally:
            os._exit(3)  # not killed: the kill point was never reached
    return os.waitpid(pid, 0)[1]


def drive(engine: str, root: Path) -> dict:
    """Every kill point of the checkpoint at step TARGET, for ``engine``; a JSON-ready report."""
    from smgrnn_ref.distill import resume, train
    from smgrnn_ref.rundir import RunDir

    cfg = _config(engine)
    ops: list = []
    undo = _instrument(None, False, ops)  # count only
    train(cfg, root / "straight", progress=False, pictures=False)
    undo()
    expected = _results(root / "straight")
    points = [(k, False, False) for k in range(1, len(ops) + 1)]
    points += [(k, True, False) for k, op in enumerate(ops, start=1) if op.startswith("_write_file")]
    points.append((None, False, True))
    trials = []
    for i, (k, mid, after) in enumerate(points):
        out = root / f"killed{i}"
        status = _killed_run(out, cfg, k, mid, after)
        resumed_from = RunDir(out).checkpoint_step()
        resume(out, progress=False, pictures=False)
        same = {key: _results(out)[key] == value for key, value in expected.items()}
        trials.append({"point": "after the checkpoint" if after else ("halfway through " if mid else "before ")
                       + ops[k - 1], "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
                       "resumed_from": resumed_from, "same": same})
    return {"ops": ops, "trials": trials}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_kill_at_any_point_of_a_checkpoint_resumes_exactly(tmp_path, engine):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, __file__, engine, str(tmp_path)], capture_output=True, text=True,
                          cwd=root, env=env, timeout=900)  # this checkout's package, installed or not
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    # the protocol as documented: 4 files, fsyncs, the swap, the deletion of the old checkpoint
    assert sum(op.startswith("_write_file") for op in report["ops"]) == 4
    assert sum(op.startswith("_rename") for op in report["ops"]) == 2
    for trial in report["trials"]:
        assert trial["killed"], trial
        assert trial["same"] == {"events": True, "topology": True, "candidates": True, "graph": True,
                                 "metrics": True}, trial
    assert {t["resumed_from"] for t in report["trials"]} == {EVERY, TARGET}


if __name__ == "__main__":  # the driver, in its own interpreter
    print(json.dumps(drive(sys.argv[1], Path(sys.argv[2]))))

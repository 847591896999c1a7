"""A real training run interrupted and resumed from its checkpoint ends byte for byte like the
uninterrupted run (run on demand: ``python benchmarks/resume_identity.py``; the slow test
``tests/test_fast_resume.py::test_trainer_resume_is_exact`` runs it too).

For every kernel of the fast engine: one ``smgrnn-ref train`` run of CartPole-v1, variant
``full``, seed 0, 2,400 steps; then the same run stopped after step ``K`` (a ``KeyboardInterrupt``
before step ``K + 1``, which makes the trainer write a checkpoint at ``K``, as Ctrl-C does)
and resumed from that checkpoint to the end, for ``K`` = 2,133 and 2,299 (steps where resume
used to differ: issue 19, item 5). ``events.jsonl``, ``topology.jsonl``, ``graph.json`` and
``metrics.csv`` without its ``wall_time`` column must be byte for byte the same.

::

    python benchmarks/resume_identity.py [--steps 2400] [--at 2133 2299] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The files a run writes whose bytes a resume must reproduce (``metrics.csv``: all but the
#: last column, the wall time).
COMPARED = ("events.jsonl", "topology.jsonl", "graph.json", "metrics.csv")


def _bytes(run: Path, name: str) -> bytes:
    data = (run / name).read_bytes()
    if name == "metrics.csv":
        # the last column is wall_time: the only one a resume may change
        data = b"\n".join(line.rsplit(b",", 1)[0] for line in data.splitlines())
    return data


def _train(out: Path, kernel: str, steps: int, stop_after: int | None = None) -> None:
    """One run into ``out`` with the fast engine's ``kernel``; stopped after step
    ``stop_after`` (then resumed from its checkpoint) when given."""
    from smgrnn_ref.distill import config_for_env, resume, train
    from smgrnn_ref.fast import FastEngine

    defaults = FastEngine.__init__.__kwdefaults__
    old = defaults["kernel"]
    defaults["kernel"] = kernel  # the trainer builds its engine with the default kernel
    try:
        cfg = config_for_env({"env_id": "CartPole-v1", "variant": "full", "seed": 0, "steps": steps,
                              "engine": "fast"})
        if stop_after is None:
            train(cfg, out, progress=False, pictures=False)
            return

        def stop(t):
            if t == stop_after + 1:
                raise KeyboardInterrupt  # as Ctrl-C: the trainer checkpoints step stop_after

        try:
            train(cfg, out, progress=False, pictures=False, on_step=stop)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError(f"the run was not stopped after step {stop_after}")
        resume(out, progress=False, pictures=False)
    finally:
        defaults["kernel"] = old


def check(out: Path, steps: int = 2400, at=(2133, 2299), kernels=None) -> list[str]:
    """Run everything into ``out``; return the differences found (empty: all identical)."""
    from smgrnn_ref.fast import available_kernels

    problems = []
    for kernel in kernels or available_kernels():
        t0 = time.perf_counter()
        whole = out / f"{kernel}__uninterrupted"
        _train(whole, kernel, steps)
        for k in at:
            part = out / f"{kernel}__resumed_at_{k}"
            _train(part, kernel, steps, stop_after=k)
            for name in COMPARED:
                if _bytes(whole, name) != _bytes(part, name):
                    problems.append(f"{kernel}, resumed at {k}: {name} differs")
        print(f"{kernel}: {len(at)} resumes checked in {time.perf_counter() - t0:.0f} s", flush=True)
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=2400)
    p.add_argument("--at", type=int, nargs="+", default=[2133, 2299], metavar="K")
    p.add_argument("--out", type=Path, help="keep the runs here (default: a temporary directory)")
    args = p.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="resume_identity_"))
    try:
        problems = check(out, args.steps, args.at)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    print("\n".join(problems) if problems else f"identical: {', '.join(COMPARED)} (metrics without wall_time)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

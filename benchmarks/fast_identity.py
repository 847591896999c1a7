"""Short lively SPM runs of the fast engine, written for a byte-for-byte comparison of two code
versions (run on demand; not collected by pytest).

A refactoring of the fast engine must leave every run unchanged, bit for bit, with either
kernel. This script trains the fast engine for ``--steps`` steps (default 1,000) in the
configuration of ``tests/test_fast.py`` (``ACTIVE_SPM``: windows of 20, a low instability
threshold, so relays, random edges, prunes and orphan removals all happen), on CartPole-v1
observations labelled by the shipped expert, for the ``growth-only`` and ``full`` variants,
cycles off and on, and every available kernel; each run writes its events (one JSON object a
line) and its final graph (:func:`smgrnn_ref.io.graph_to_dict`, sorted keys) to ``--out``.

It uses only what the package exported before the fast engine became a package, so it runs
on older versions too: put the version on ``PYTHONPATH``.

::

    PYTHONPATH=/path/to/old/src python benchmarks/fast_identity.py --out /tmp/old
    python benchmarks/fast_identity.py --out /tmp/new
    python benchmarks/fast_identity.py --compare /tmp/old /tmp/new
"""

from __future__ import annotations

import argparse
import filecmp
import json
import time
from pathlib import Path

import numpy as np

#: The lively configuration of tests/test_fast.py (ACTIVE_SPM), as keyword arguments.
ACTIVE_SPM = dict(T=20, lambda_edge=0.02, tau_w=0.05, tau_delta=1e-3, rho_rand=0.05)


def run(variant: str, allow_cycles: bool, kernel: str, steps: int):
    """``(events as JSON lines, final graph as JSON text)`` of one run."""
    from smgrnn_ref.config import AdamConfig, SPMConfig
    from smgrnn_ref.experts import load_expert
    from smgrnn_ref.fast import FastEngine
    from smgrnn_ref.graph import initial_graph
    from smgrnn_ref.io import graph_to_dict

    cfg = SPMConfig(**ACTIVE_SPM, allow_cycles=allow_cycles, enable_pruning=variant == "full")
    label = load_expert("CartPole-v1").logits
    G = initial_graph(4, 2, rng=np.random.default_rng(0), T=cfg.T)
    eng = FastEngine(G, adam=AdamConfig(lr=0.002), spm=cfg, kernel=kernel)
    data_rng, spm_rng = np.random.default_rng(1), np.random.default_rng(2)
    lines = []
    for t in range(1, steps + 1):
        X = data_rng.normal(size=(32, 4)) * np.array([1.0, 1.0, 0.1, 1.0])
        loss = eng.train_step(X, label(X))
        lines.append(json.dumps({"step": t, "loss": loss}))
        lines += [json.dumps(e.to_dict()) for e in eng.spm_step(t, spm_rng)]
    return "\n".join(lines) + "\n", json.dumps(graph_to_dict(eng.graph), sort_keys=True)


def write_all(out: Path, steps: int) -> None:
    kernels = ("numba", "numpy") if _has_numba() else ("numpy",)
    out.mkdir(parents=True, exist_ok=True)
    for variant in ("growth-only", "full"):
        for cycles in (False, True):
            for kernel in kernels:
                t0 = time.perf_counter()
                events, graph = run(variant, cycles, kernel, steps)
                name = f"{variant}__cycles{int(cycles)}__{kernel}"
                (out / f"{name}.events.jsonl").write_text(events)
                (out / f"{name}.graph.json").write_text(graph)
                n = sum(1 for line in events.splitlines() if '"kind"' in line)
                print(f"{name}: {n} events, {len(graph)} bytes of graph, {time.perf_counter() - t0:.1f} s",
                      flush=True)


def _has_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def compare(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        print(f"different file sets: {names} vs {sorted(p.name for p in b.iterdir())}")
        return False
    same = True
    for name in names:
        equal = filecmp.cmp(a / name, b / name, shallow=False)
        same &= equal
        print(f"{name}: {'identical' if equal else 'DIFFERENT'} ({(a / name).stat().st_size} bytes)")
    return same


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="write the runs here")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two outputs")
    args = p.parse_args(argv)
    if args.compare:
        raise SystemExit(0 if compare(*args.compare) else 1)
    if args.out is None:
        p.error("--out or --compare is required")
    write_all(args.out, args.steps)


if __name__ == "__main__":
    main()

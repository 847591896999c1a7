"""Same seed, same numbers on every machine.

A run's SPM decisions turn a last-bit difference into a different graph, so a run must not
depend on which CPU-specific code path numpy, BLAS, numba or the C library pick. One machine
can imitate several: each setting below switches a library to the code path another CPU would
take, and the run must come out byte for byte the same:

* ``NPY_DISABLE_CPU_FEATURES``: numpy's dispatch of vectorised ``tanh``/``exp``/``log``/...;
* ``OPENBLAS_CORETYPE``: the BLAS kernel (and with it the summation order) of ``@``/``dot``;
* ``NUMBA_CPU_NAME=generic``: the compiled kernel for a CPU without AVX or FMA;
* ``GLIBC_TUNABLES`` (glibc only): the C library's ``exp``/``log``/``pow``/``sin``/``cos``
  for a CPU without FMA. The environments' physics (gymnasium's CartPole and Acrobot call the
  C library's ``sin``/``cos``) is not ours, so this setting is checked on a run without an
  environment (a student distilled from the expert on fixed random observations).

Each run is a subprocess (the settings act at import time). Slow: a few minutes.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

X86 = platform.machine().lower() in ("x86_64", "amd64")

#: A lively SPM so that every rule fires within a few hundred steps (short windows, a low
#: instability threshold) and a last-bit difference has time to change the graph.
LIVELY = {"spm": {"T": 20, "lambda_edge": 0.02, "tau_w": 0.05, "rho_rand": 0.05}, "optimizer": {"lr": 0.002},
          "eval_every": 100, "eval_episodes": 2, "frame_every": 100, "checkpoint_every": 1000}

SETTINGS = {"default": {}}
if X86:
    SETTINGS.update({
        "numpy without AVX-512": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
        "numpy without AVX2 and AVX-512": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
        "BLAS for Haswell": {"OPENBLAS_CORETYPE": "Haswell"},
        "BLAS for Sandy Bridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    })
SETTINGS["numba for a generic CPU"] = {"NUMBA_CPU_NAME": "generic"}

GLIBC = {"C library without FMA and AVX2": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F"}}

RUNS = {
    "fast full": ("CartPole-v1", "full", "fast", 400),
    "fast growth-only": ("LunarLander-v3", "growth-only", "fast", 300),
    "reference full": ("CartPole-v1", "full", "reference", 150),
}


def _env(extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "NUMBA_CPU_NAME", "GLIBC_TUNABLES")}
    env.update(extra)
    return env


def _digest(paths):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _train(tmp_path, label, run, extra):
    env_id, variant, engine, steps = run
    out = tmp_path / f"{label}".replace(" ", "_")
    config = tmp_path / "lively.json"
    config.write_text(json.dumps(LIVELY))
    cmd = [sys.executable, "-m", "smgrnn_ref.cli", "train", "--env", env_id, "--variant", variant, "--seed", "0",
           "--steps", str(steps), "--engine", engine, "--config", str(config), "--out", str(out), "--no-progress"]
    res = subprocess.run(cmd, env=_env(extra), capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert res.returncode == 0, res.stderr[-2000:]
    return _digest([out / "events.jsonl", out / "graph.json"])


@pytest.mark.parametrize("run", list(RUNS))
def test_training_runs_are_byte_identical_under_every_code_path(tmp_path, run):
    expected = _train(tmp_path, f"{run} default", RUNS[run], {})
    for label, extra in SETTINGS.items():
        if label == "default":
            continue
        assert _train(tmp_path, f"{run} {label}", RUNS[run], extra) == expected, label


#: The env-free run: the CartPole expert labels fixed random observations; both engines; the
#: SPM at its lively settings; prints the digest of the events and the final graph.
OFFLINE = r"""
import hashlib, json, sys
import numpy as np
from smgrnn_ref.config import AdamConfig, SPMConfig
from smgrnn_ref.engine import make_engine
from smgrnn_ref.experts import load_expert
from smgrnn_ref.graph import initial_graph
from smgrnn_ref.io import graph_to_dict
name, steps = sys.argv[1], int(sys.argv[2])
expert = load_expert("CartPole-v1")
rng = np.random.default_rng(0)
eng = make_engine(name, initial_graph(4, 2, rng=rng, T=20), adam=AdamConfig(lr=0.002),
                  spm=SPMConfig(T=20, lambda_edge=0.02, tau_w=0.05, rho_rand=0.05))
data, spm_rng, events = np.random.default_rng(1), np.random.default_rng(2), []
for t in range(1, steps + 1):
    X = data.normal(size=(32, 4)) * np.array([1.0, 1.0, 0.1, 1.0])
    eng.train_step(X, expert.logits(X))
    events += [e.to_dict() for e in eng.spm_step(t, spm_rng)]
blob = json.dumps([events, graph_to_dict(eng.graph)]).encode()
print(hashlib.sha256(blob).hexdigest())
"""


@pytest.mark.skipif(not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"),
                    reason="GLIBC_TUNABLES needs the GNU C library")
@pytest.mark.parametrize("engine, steps", [("fast", 600), ("reference", 150)])
def test_offline_distillation_is_byte_identical_with_another_c_library_path(engine, steps):
    def digest(extra):
        res = subprocess.run([sys.executable, "-c", OFFLINE, engine, str(steps)], env=_env(extra),
                             capture_output=True, text=True, cwd=Path(__file__).parents[1])
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout.strip()

    expected = digest({})
    for label, extra in {**SETTINGS, **GLIBC}.items():
        assert digest(extra) == expected, label

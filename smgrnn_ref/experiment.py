"""Run a grid of distillation runs (envs x variants x seeds x sweep values) in parallel.

The paper's study (Jia & Zhou, arXiv 2512.12713) compares SMGrNN's ablations (``static``,
``growth-only``, ``full``) against fixed MLP baselines on CartPole-v1, Acrobot-v1 and
LunarLander-v3 over several seeds. A grid here is those runs, each one an ordinary
``smgrnn-ref train`` run directory, so every run can be inspected, resumed or re-plotted alone.

* ``backend="process"`` (default): a local process pool.
* ``backend="ray"``: the same runs as Ray tasks, on a running Ray cluster (``address``) or on a
  single-node cluster started on this machine.

A run whose directory holds ``done.json`` for the same configuration is skipped; a run with a
checkpoint but no ``done.json`` is resumed. An interrupted grid therefore continues where it
stopped. Ctrl-C or SIGTERM stops the workers as well (no run goes on training orphaned); each
running run checkpoints its current step first.

A grid has no time limit per run. Where a run may explode (``growth-only`` at a low
``lambda_edge``: its graph can grow exponentially), give it a size cap instead,
``"base": {"max_params": 20000}`` or ``--max-params 20000``
(:attr:`smgrnn_ref.distill.TrainConfig.max_params`): the run stops at the same step on any
machine and ``smgrnn-ref report`` lists it as capped.

Grid file (JSON)::

    {
      "envs": ["CartPole-v1"], "variants": ["full", "mlp"], "seeds": [0, 1, 2],
      "steps": {"CartPole-v1": 6000},             # optional: int or per-env dict
      "base": {"engine": "fast", "spm": {"tau_w": 0.05}},   # optional TrainConfig overrides
      "sweep": {"spm.lambda_edge": [0.001, 0.01]}             # optional: dotted key -> values
    }

Each point of ``sweep`` becomes a tag (``spm.lambda_edge=0.001``), and runs go to
``OUT/<tag>/<env>__<variant>__s<seed>`` (``OUT/<env>__<variant>__s<seed>`` without a sweep).

Examples
--------
>>> spec = GridSpec(envs=("CartPole-v1",), variants=("full", "mlp"), seeds=(0, 1), steps=50)
>>> [r.name for r in expand_grid(spec, "runs")]
['CartPole-v1__full__s0', 'CartPole-v1__full__s1', 'CartPole-v1__mlp__s0', 'CartPole-v1__mlp__s1']
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from .distill import (
    VARIANTS,
    TrainConfig,
    config_for_env,
    load_config,
    resume,
    train,
    train_config_from_dict,
    train_config_to_dict,
)
from .envs import check_env
from .interrupt import sigterm_raises_interrupt
from .rundir import DONE_FILE, RunDir, run_name

#: Execution backends of :func:`run_grid`.
BACKENDS = ("process", "ray")


@dataclass(frozen=True)
class GridSpec:
    """The runs of an experiment: every combination of the fields below."""

    envs: tuple[str, ...] = ("CartPole-v1",)
    """Environment ids."""

    variants: tuple[str, ...] = VARIANTS
    """Variants (``full``, ``static``, ``growth-only``, ``no-random``, ``mlp``)."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """Root seeds; the paper reports several seeds per setting (we use 5 by default)."""

    steps: int | dict | None = None
    """Training steps: one number, a per-env dict, or ``None`` for each env's default."""

    base: dict = field(default_factory=dict)
    """Overrides of :class:`smgrnn_ref.distill.TrainConfig` fields (nested dicts allowed), on
    top of the per-env defaults (:data:`smgrnn_ref.envs.ENV_DEFAULTS`)."""

    sweep: dict = field(default_factory=dict)
    """Dotted config key -> list of values; the grid takes their Cartesian product."""

    def __post_init__(self):
        for name in ("envs", "variants", "seeds"):
            value = getattr(self, name)
            if isinstance(value, (str, int)) or not value:
                raise ValueError(f"GridSpec.{name} must be a non-empty list, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        for v in self.variants:
            if v not in VARIANTS:
                raise ValueError(f"GridSpec.variants: unknown variant {v!r}; known: {list(VARIANTS)}")
        for env in self.envs:
            check_env(env)
        for key, values in self.sweep.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"GridSpec.sweep[{key!r}] must be a non-empty list of values")


@dataclass(frozen=True)
class Run:
    """One run of a grid: its configuration and its directory."""

    config: TrainConfig
    out_dir: Path
    tag: str

    @property
    def name(self) -> str:
        return self.out_dir.name


def load_grid(path) -> GridSpec:
    """Read a grid file (JSON, format above); ``ValueError`` naming the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read grid file {path}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"grid file {path} must hold a JSON object")
    known = {"envs", "variants", "seeds", "steps", "base", "sweep"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"grid file {path}: unknown key(s) {unknown}; known: {sorted(known)}")
    return GridSpec(**data)


def _set_dotted(d: dict, dotted: str, value) -> None:
    """``d["a"]["b"] = value`` for ``dotted = "a.b"`` (sections created as needed; unknown
    fields are rejected later, when the config is built)."""
    *parents, leaf = dotted.split(".")
    node = d
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ValueError(f"sweep key {dotted!r}: {p!r} is not a config section")
    node[leaf] = value


def _format_value(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def expand_grid(spec: GridSpec, out_root) -> list[Run]:
    """Every run of ``spec`` with its validated config and directory, in a stable order
    (sweep point, env, variant, seed)."""
    out_root = Path(out_root)
    keys = sorted(spec.sweep)
    runs = []
    for point in itertools.product(*(spec.sweep[k] for k in keys)):
        tag = ",".join(f"{k}={_format_value(v)}" for k, v in zip(keys, point))
        for env, variant, seed in itertools.product(spec.envs, spec.variants, spec.seeds):
            # TrainConfig defaults < per-env defaults < base < sweep point < env/variant/seed/steps
            d = copy.deepcopy(spec.base)
            for k, v in zip(keys, point):
                _set_dotted(d, k, v)
            steps = spec.steps.get(env) if isinstance(spec.steps, dict) else spec.steps
            if steps is not None:
                d["steps"] = steps
            d.update(env_id=env, variant=variant, seed=seed)
            try:
                cfg = config_for_env(d)
            except ValueError as err:
                raise ValueError(f"grid run {env}/{variant}/seed {seed} {tag}: {err}") from None
            base_dir = out_root / tag if tag else out_root
            runs.append(Run(config=cfg, out_dir=base_dir / run_name(env, variant, seed), tag=tag))
    return runs


def is_done(run: Run) -> bool:
    """Whether ``run`` finished with the same configuration (then the grid skips it)."""
    rd = RunDir(run.out_dir)
    if not rd.done.is_file():
        return False
    try:
        record = rd.read_done()
        # through TrainConfig, so a field added since the run was made compares as its default
        return train_config_from_dict(record["config"]) == run.config
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return False


def execute_run(config_dict: dict, out_dir: str, pictures: bool = False) -> dict:
    """Run (or resume) one grid run; write ``done.json``; return its summary.

    A plain function of JSON-ready arguments, so a process pool or a Ray task can call it.
    ``pictures`` draws each run's ``training.png`` and topology GIF (slow: off by default in a
    grid, where the report draws the figures that compare runs).
    """
    cfg = train_config_from_dict(config_dict)
    out = Path(out_dir)
    rd = RunDir(out)
    if rd.config.is_file() and load_config(rd.config) == cfg:
        try:
            summary = resume(out, progress=False, pictures=pictures)
        except ValueError:  # no checkpoint yet: start again
            summary = train(cfg, out, force=True, progress=False, pictures=pictures)
    else:
        summary = train(cfg, out, force=True, progress=False, pictures=pictures)
    rd.write_done({"config": train_config_to_dict(cfg), "summary": summary})
    return summary


def _execute_args(args) -> dict:
    return execute_run(*args)


def _run_process_pool(todo: list[Run], workers: int, bar, pictures: bool) -> list[dict]:
    import multiprocessing

    results = []
    # "spawn": a clean interpreter per worker (no inherited threads or open environments)
    pool = multiprocessing.get_context("spawn").Pool(workers)
    try:
        args = [(train_config_to_dict(r.config), str(r.out_dir), pictures) for r in todo]
        for summary in pool.imap_unordered(_execute_args, args):
            results.append(summary)
            bar.update(1)
        pool.close()
    except BaseException:
        # Ctrl-C, SIGTERM (see run_grid) or a failed run: stop the workers now rather than
        # leave them finishing their runs orphaned. Each gets SIGTERM, so its run checkpoints
        # at the end of the current step and the next `experiment` call resumes it.
        pool.terminate()
        raise
    finally:
        pool.join()
    return results


def _run_ray(todo: list[Run], workers: int, bar, address: str | None, pictures: bool) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise ValueError('the ray backend needs Ray: pip install -e ".[ray]"') from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(execute_run)
        pending = [remote.remote(train_config_to_dict(r.config), str(r.out_dir), pictures) for r in todo]
        results = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            results.extend(ray.get(done))
            bar.update(len(done))
        return results
    finally:
        if started:
            ray.shutdown()


def run_grid(spec: GridSpec, out_root, *, backend: str = "process", workers: int = 2,
             address: str | None = None, progress: bool = True, pictures: bool = False) -> dict:
    """Run every unfinished run of ``spec`` under ``out_root``; return counts.

    Every configuration is validated before any run starts.
    """
    from tqdm.auto import tqdm

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {list(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    runs = expand_grid(spec, out_root)
    todo = [r for r in runs if not is_done(r)]
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run", desc="grid", disable=not progress)
    # SIGTERM (kill, a job scheduler) unwinds like Ctrl-C, so the workers are stopped too
    with sigterm_raises_interrupt():
        try:
            if backend == "process":
                _run_process_pool(todo, workers, bar, pictures)
            else:
                _run_ray(todo, workers, bar, address, pictures)
        finally:
            bar.close()
    return {"runs": len(runs), "ran": len(todo), "skipped": len(runs) - len(todo)}


__all__ = ["DONE_FILE", "BACKENDS", "GridSpec", "Run", "load_grid", "expand_grid", "is_done", "execute_run", "run_grid"]

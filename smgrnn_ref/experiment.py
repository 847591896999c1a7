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
running run checkpoints its current step first, whichever step it is in, and the command exits
with code 130 (it never waits on a worker that cannot finish: :func:`_run_process_pool`). Two
runs of a grid never share a directory, and a grid may not set through ``base`` or ``sweep``
what its own fields set per run (``env_id``, ``variant``, ``seed``, ``steps``).

A grid has no time limit per run. Where a run may explode (``growth-only``: its graph can grow
exponentially), a size cap stops it instead: the shipped environments set
``max_params = 20000`` in their per-env defaults (:data:`smgrnn_ref.envs.ENV_DEFAULTS`); set or
change it with ``"base": {"max_params": 20000}`` or ``--max-params 20000``
(:attr:`smgrnn_ref.distill.TrainConfig.max_params`): the run stops at the same step on any
machine and ``smgrnn-ref report`` lists it as capped.

Grid file (JSON)::

    {
      "envs": ["CartPole-v1"], "variants": ["full", "mlp"], "seeds": [0, 1, 2],
      "steps": {"CartPole-v1": 6000},             # optional: int or per-env dict
      "base": {"engine": "fast", "spm": {"tau_w": 0.05}},   # optional TrainConfig overrides
      "env_base": {"CartPole-v1": {"spm": {"lambda_edge": 0.3}}},  # optional: per-env overrides
      "sweep": {"spm.lambda_edge": [0.001, 0.01]}             # optional: dotted key -> values
    }

``env_base`` lets a grid state per-env values of its own (for example the per-env
``lambda_edge`` of an earlier set of defaults, ``experiments/study_paper_window.json``); it
is applied over ``base``, under a sweep point.

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
import signal
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
from .distill.train_config import deep_merge
from .envs import check_env
from .interrupt import StopRequest, sigterm_raises_interrupt
from .io import read_json
from .rundir import DONE_FILE, RunDir, run_name

#: Execution backends of :func:`run_grid`.
BACKENDS = ("process", "ray")


#: Config fields a grid sets for each run from its own fields (config key -> grid field).
GRID_AXES = {"env_id": "envs", "variant": "variants", "seed": "seeds", "steps": "steps"}


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

    env_base: dict = field(default_factory=dict)
    """Env id -> overrides like ``base``'s, applied over ``base`` for that env's runs only."""

    sweep: dict = field(default_factory=dict)
    """Dotted config key -> list of values; the grid takes their Cartesian product."""

    def __post_init__(self):
        for name in ("base", "env_base", "sweep"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"GridSpec.{name} must be a JSON object (a mapping), got "
                                 f"{type(getattr(self, name)).__name__}")
        if not (self.steps is None or isinstance(self.steps, (int, dict))) or isinstance(self.steps, bool):
            raise ValueError(f"GridSpec.steps must be an integer, a mapping env -> integer, or absent, got {self.steps!r:.60}")
        for key, field_name in GRID_AXES.items():
            # the grid's own axes set these per run: a value in base or sweep would be overridden
            if key in self.sweep:
                raise ValueError(f"GridSpec.sweep cannot vary {key!r}: list its values in {field_name!r} instead")
            if key in self.base and (key != "steps" or self.steps is not None):
                raise ValueError(f"GridSpec.base cannot set {key!r}, which {field_name!r} sets for each run; "
                                 f"give it in {field_name!r}")
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
        for env, over in self.env_base.items():
            if env not in self.envs:
                raise ValueError(f"GridSpec.env_base names {env!r}, which is not in envs {list(self.envs)}")
            if not isinstance(over, dict):
                raise ValueError(f"GridSpec.env_base[{env!r}] must be a JSON object (a mapping), got {type(over).__name__}")
            clash = sorted(set(over) & set(GRID_AXES))
            if clash:
                raise ValueError(f"GridSpec.env_base[{env!r}] cannot set {clash[0]!r}, which the grid's own fields set")
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
    data = read_json(path, what="grid file")
    if not isinstance(data, dict):
        raise ValueError(f"grid file {path} must hold a JSON object")
    known = {"envs", "variants", "seeds", "steps", "base", "env_base", "sweep"}
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
            # TrainConfig defaults < per-env defaults < base < env_base < sweep point < env/variant/seed/steps
            d = deep_merge(copy.deepcopy(spec.base), copy.deepcopy(spec.env_base.get(env, {})))
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
    _check_distinct(runs)
    return runs


def _check_distinct(runs: list[Run]) -> None:
    """Two runs of a grid must not share a directory (a seed, env or variant listed twice, a
    sweep value repeated, or two values with the same tag): they would write the same files."""
    seen = {}
    for r in runs:
        if r.out_dir in seen:
            raise ValueError(f"the grid holds the run {r.out_dir} twice (a repeated seed, env, variant or sweep "
                             f"value, or two sweep values written alike); list each once")
        seen[r.out_dir] = r


def is_done(run: Run) -> bool:
    """Whether ``run`` finished with the same configuration (then the grid skips it)."""
    rd = RunDir(run.out_dir)
    if not rd.done.is_file():
        return False
    try:
        record = rd.read_done()
        # through TrainConfig, so a field added since the run was made compares as its default
        return train_config_from_dict(record["config"]) == run.config
    except (KeyError, TypeError, ValueError):
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
    if rd.config.is_file() and rd.latest_checkpoint() is not None and load_config(rd.config) == cfg:
        summary = resume(out, progress=False, pictures=pictures)
    else:  # a new run, another configuration, or killed before its first checkpoint: start again
        summary = train(cfg, out, force=True, progress=False, pictures=pictures)
    rd.write_done({"config": train_config_to_dict(cfg), "summary": summary})
    return summary


def _worker(conn) -> None:
    """A grid worker process: run what the parent sends (``execute_run`` arguments), one run at
    a time, and send back ``(True, summary)``, ``(False, exception)`` or, when stopped,
    ``(None, None)``; ``None`` from the parent ends it.

    It ignores SIGINT: a Ctrl-C in a terminal reaches every process of the group, and the
    parent alone decides; it stops each worker with one SIGTERM, which the run honours at the
    end of its current step, any step, after checkpointing (:class:`smgrnn_ref.interrupt.StopRequest`).
    A second SIGTERM (a scheduler signalling the whole group, then the parent) changes nothing:
    the parent escalates with SIGKILL when asked to.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    StopRequest.second_signal_aborts = False  # a group's SIGTERM and the parent's: one request
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if args is None:
            return
        try:
            reply = (True, execute_run(*args))
        except KeyboardInterrupt:  # stopped: the run has checkpointed
            reply = (None, None)
        except Exception as err:  # noqa: BLE001 - reported by the parent
            reply = (False, err)
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            conn.send((False, RuntimeError(repr(reply[1]))))
        if reply[0] is None:
            return


class _Worker:
    """The parent's handle on one worker process: the process, its pipe, and its current run."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        # daemon: never left running if the parent dies without stopping it
        self.process = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.run = None

    def give(self, run: Run, pictures: bool) -> None:
        self.run = run
        self.conn.send((train_config_to_dict(run.config), str(run.out_dir), pictures))

    def reply(self) -> tuple:
        """The worker's answer about its run; ``RuntimeError`` if it died without one."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join()
            raise RuntimeError(f"the grid worker running {self.run.out_dir} died (exit code {self.process.exitcode}); "
                               f"its last checkpoint is on disk: run the grid again to resume it") from None


def _run_process_pool(todo: list[Run], workers: int, bar, pictures: bool, failures: list) -> list[dict]:
    """Run ``todo`` on ``workers`` processes; return the summaries (in completion order).

    Not a ``multiprocessing.Pool``: its shared queues hold locks that a worker can keep while
    the parent terminates the pool, which then waits forever. Each worker here has its own
    pipe, and on Ctrl-C, SIGTERM (see :func:`run_grid`) or a worker that dies the parent sends
    every worker one SIGTERM and waits for them: each running run checkpointed its current step,
    and the next ``experiment`` call resumes it. A second Ctrl-C or SIGTERM kills them at once.
    A run that fails with a ``ValueError`` (the project's one-line errors: a diverging run's
    non-finite gradient, say) is one failed run, not the grid's end: it is recorded in
    ``failures`` and the other runs go on.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    # "spawn": a clean interpreter per worker (no inherited threads or open environments)
    ctx = multiprocessing.get_context("spawn")
    queue, results, pool = list(reversed(todo)), [], []
    try:
        pool = [_Worker(ctx) for _ in range(min(workers, len(todo)))]
        for w in pool:
            w.give(queue.pop(), pictures)
        while any(w.run is not None for w in pool):
            busy = [w for w in pool if w.run is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for w in busy:
                if w.conn not in ready and w.process.sentinel not in ready:
                    continue
                ok, value = w.reply()
                if ok is None:
                    raise KeyboardInterrupt  # stopped by someone else's SIGTERM: the grid stops too
                if not ok and not isinstance(value, ValueError):
                    raise value
                if ok:
                    results.append(value)
                else:  # this run's own error; the others go on
                    failures.append((w.run.out_dir, str(value)))
                bar.update(1)
                w.run = None
                if queue:
                    w.give(queue.pop(), pictures)
    except BaseException:
        _stop(pool)
        raise
    for w in pool:
        w.conn.send(None)
        w.process.join()
    return results


def _stop(pool: list[_Worker]) -> None:
    """Send each live worker one SIGTERM and wait for it to checkpoint and exit; a second
    Ctrl-C or SIGTERM while waiting kills them at once."""
    alive = [w for w in pool if w.process.is_alive()]
    for w in alive:
        w.process.terminate()
    try:
        for w in alive:
            w.process.join()
    except KeyboardInterrupt:
        for w in alive:
            w.process.kill()
        for w in alive:
            w.process.join()
        raise


def _run_ray(todo: list[Run], workers: int, bar, address: str | None, pictures: bool, failures: list) -> list[dict]:
    """Run ``todo`` as Ray tasks; return the summaries (in completion order). A run that fails
    with a ``ValueError`` is recorded in ``failures`` and the others go on, as on the process
    backend (Ray raises a task's error as a ``RayTaskError`` that is also a ``ValueError``)."""
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
        run_of = {remote.remote(train_config_to_dict(r.config), str(r.out_dir), pictures): r for r in todo}
        pending, results = list(run_of), []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    results.append(ray.get(ref))
                except ValueError as err:  # this run's own error; the others go on
                    cause = getattr(err, "cause", None)
                    failures.append((run_of[ref].out_dir, str(cause if isinstance(cause, ValueError) else err)))
            bar.update(len(done))
        return results
    finally:
        if started:
            ray.shutdown()


def run_grid(spec: GridSpec, out_root, *, backend: str = "process", workers: int = 2,
             address: str | None = None, progress: bool = True, pictures: bool = False) -> dict:
    """Run every unfinished run of ``spec`` under ``out_root``; return counts.

    Every configuration is validated before any run starts. A run that fails with a
    ``ValueError`` does not stop the others (on either backend): the counts' ``failed`` lists each
    as ``(run directory, message)``; running the grid again retries it (it is not done).
    """
    from tqdm.auto import tqdm

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {list(BACKENDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    runs = expand_grid(spec, out_root)
    todo = [r for r in runs if not is_done(r)]
    failures: list = []
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run", desc="grid", disable=not progress)
    # SIGTERM (kill, a job scheduler) unwinds like Ctrl-C, so the workers are stopped too
    with sigterm_raises_interrupt():
        try:
            if backend == "process":
                _run_process_pool(todo, workers, bar, pictures, failures)
            else:
                _run_ray(todo, workers, bar, address, pictures, failures)
        finally:
            bar.close()
    return {"runs": len(runs), "ran": len(todo) - len(failures), "skipped": len(runs) - len(todo),
            "failed": failures}


__all__ = ["DONE_FILE", "BACKENDS", "GridSpec", "Run", "load_grid", "expand_grid", "is_done", "execute_run", "run_grid"]

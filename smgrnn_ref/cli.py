"""The ``smgrnn-ref`` command line.

Examples
--------
>>> build_parser().parse_args(["demo", "--steps", "10"]).steps
10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(steps=args.steps, seed=args.seed)
    return 0


def _interrupted(out) -> int:
    """Say where the run stopped and how to continue it; exit code 130 (128 + SIGINT)."""
    from .rundir import RunDir

    step = RunDir(out).checkpoint_step()
    step = "?" if step is None else step
    print(f"smgrnn-ref: interrupted; checkpoint at step {step} in {out}; continue with "
          f"`smgrnn-ref train --resume {out}`", file=sys.stderr)
    return 130


def _optimizer_flags(args) -> dict:
    """``--optimizer`` / ``--lr`` as a partial ``OptimizerConfig`` dict (empty when neither is given)."""
    return {k: v for k, v in (("name", args.optimizer), ("lr", args.lr)) if v is not None}


def _with_optimizer(data: dict, opt: dict) -> dict:
    """``data`` (a partial TrainConfig dict) with the ``opt`` fields over its optimizer's; a file
    may still call the optimizer ``adam``, its former name."""
    if not opt:
        return data
    key = "adam" if "adam" in data else "optimizer"
    nested = data.get(key, {})
    if not isinstance(nested, dict):
        raise ValueError(f"TrainConfig.{key} must be a mapping, got {type(nested).__name__}")
    return {**data, key: {**nested, **opt}}


def _train(args) -> int:
    """``smgrnn-ref train``: a fresh distillation run, or ``--resume`` of an interrupted one."""
    from .distill import config_for_env, default_out_dir, load_config, read_config_dict, resume, train
    from .rundir import RunDir

    flags = {k: v for k, v in (("env_id", args.env), ("variant", args.variant), ("seed", args.seed),
                               ("engine", args.engine), ("max_params", args.max_params)) if v is not None}
    teacher = {k: v for k, v in (("expert", args.expert), ("expert_output", args.expert_output)) if v is not None}
    if args.resume:
        if teacher:
            raise ValueError("--expert and --expert-output cannot be combined with --resume: a resumed run keeps "
                             "its teacher (config.json)")
        if args.config:
            raise ValueError("--config cannot be combined with --resume: a resumed run keeps its config.json")
        if args.force:
            raise ValueError("--force and --resume exclude each other")
        resume_dir = args.resume if isinstance(args.resume, str) else None
        if resume_dir is not None and args.out is not None and resume_dir != args.out:
            raise ValueError(f"--resume {resume_dir} and --out {args.out} name different directories")
        out = resume_dir or args.out
        if out is None:
            if not {"env_id", "variant", "seed"} <= set(flags):
                raise ValueError("--resume needs the run directory: --resume DIR, --out DIR, "
                                 "or --env, --variant and --seed of a default run directory")
            out = default_out_dir(flags["env_id"], flags["variant"], flags["seed"])
        stored_path = RunDir(out).config
        if stored_path.is_file():
            stored = load_config(stored_path)
            for key, value in flags.items():  # options may only restate the run's config
                if getattr(stored, key) != value:
                    raise ValueError(f"--resume: the run in {out} has {key}={getattr(stored, key)!r}, not {value!r}")
            for key, value in _optimizer_flags(args).items():
                if getattr(stored.optimizer, key) != value:
                    raise ValueError(f"--resume: the run in {out} has optimizer.{key}="
                                     f"{getattr(stored.optimizer, key)!r}, not {value!r}")
        try:
            summary = resume(out, steps=args.steps, progress=not args.no_progress)
        except KeyboardInterrupt:
            return _interrupted(out)
    else:
        # settings: TrainConfig defaults < per-env defaults < --config file < explicit options
        data = read_config_dict(args.config) if args.config else {}
        data.update(flags)
        data.update(teacher)
        if args.steps is not None:
            data["steps"] = args.steps
        cfg = config_for_env(_with_optimizer(data, _optimizer_flags(args)))
        out = args.out or default_out_dir(cfg.env_id, cfg.variant, cfg.seed)
        try:
            summary = train(cfg, out, force=args.force, progress=not args.no_progress)
        except KeyboardInterrupt:
            return _interrupted(out)
    ret, std = summary["eval_return_mean"], summary["eval_return_std"]
    print(
        f"{summary['out_dir']}: step {summary['step']}, eval return "
        + (f"{ret:.1f} +/- {std:.1f}" if ret is not None else "-")
        + f", {summary['hidden_nodes']} hidden nodes, {summary['edges']} edges, {summary['params']} params, "
        f"{summary['wall_time']:.0f} s training"
        + (" (stopped early: more than max_params parameters)" if summary.get("capped") else "")
    )
    return 0


def _expert_import(args) -> int:
    """``smgrnn-ref expert import``: a stable-baselines3 zip to a numpy expert
    (:mod:`smgrnn_ref.expert_import`; needs the ``experts`` extra, for torch)."""
    from .expert_import import run

    return run(args)


def _experiment(args) -> int:
    """``smgrnn-ref experiment``: a grid of runs from flags or a grid file."""
    from .experiment import GridSpec, load_grid, run_grid

    if args.grid:
        spec = load_grid(args.grid)
        if any(v is not None for v in (args.envs, args.variants, args.seeds, args.steps)):
            raise ValueError("give the grid either as --grid FILE or as --envs/--variants/--seeds/--steps, not both")
    else:
        fields = {k: v for k, v in (("envs", args.envs), ("variants", args.variants), ("seeds", args.seeds),
                                    ("steps", args.steps)) if v is not None}
        spec = GridSpec(**fields)
    overrides = {k: v for k, v in (("engine", args.engine), ("max_params", args.max_params)) if v is not None}
    opt = _optimizer_flags(args)
    if overrides or opt:
        spec = GridSpec(envs=spec.envs, variants=spec.variants, seeds=spec.seeds, steps=spec.steps,
                        base=_with_optimizer({**spec.base, **overrides}, opt), sweep=spec.sweep)
    try:
        counts = run_grid(spec, args.out, backend=args.backend, workers=args.workers, address=args.address,
                          progress=not args.no_progress, pictures=args.pictures)
    except KeyboardInterrupt:
        print(f"smgrnn-ref: interrupted; each running run checkpointed; run the same command again to "
              f"continue the grid in {args.out}", file=sys.stderr)
        return 130
    for out_dir, message in counts["failed"]:
        print(f"smgrnn-ref: error: {out_dir}: {message}", file=sys.stderr)
    failed = f", {len(counts['failed'])} failed" if counts["failed"] else ""
    print(f"{args.out}: {counts['runs']} runs ({counts['ran']} run now, {counts['skipped']} already done{failed}); "
          f"summarise with `smgrnn-ref report {args.out}`")
    return 1 if counts["failed"] else 0


def _report(args) -> int:
    """``smgrnn-ref report``: the table and figures of every run below a directory."""
    from .report import make_report

    result = make_report(args.root, args.out, figures=not args.no_figures)
    print(f"{result['runs']} runs aggregated into {len(result['rows'])} rows:")
    for p in result["paths"]:
        print(f"  {p}")
    if result["left_out"]:
        print(f"{len(result['left_out'])} runs left out of the means (listed in results.md):")
        for r in result["left_out"]:
            print(f"  {r['dir']}: {r['status']} at step {r['last_step']} of {r['steps']}")
    return 0


def _can_open_browser() -> bool:
    """Whether a graphical browser can open: on Linux only with a display (without one,
    ``webbrowser`` would start a console browser in the terminal instead)."""
    import os

    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _view(args) -> int:
    """``smgrnn-ref view``: a run's topology.html, written first when missing or older than
    the run's logs, then opened in the browser (or its path printed where there is none)."""
    import webbrowser

    from .rundir import EVENTS_FILE, GRAPH_FILE, METRICS_FILE, PRUNE_CANDIDATES_FILE, TOPOLOGY_FILE, VIEWER_FILE
    from .viewer import write_viewer

    run = Path(args.run_dir)
    page = run / VIEWER_FILE
    logs = [run / name for name in (TOPOLOGY_FILE, EVENTS_FILE, GRAPH_FILE, METRICS_FILE, PRUNE_CANDIDATES_FILE)
            if (run / name).is_file()]
    stale = page.is_file() and any(p.stat().st_mtime > page.stat().st_mtime for p in logs)
    if args.rebuild or stale or not page.is_file():
        write_viewer(run)
    uri = page.resolve().as_uri()
    if args.no_open or not _can_open_browser() or not webbrowser.open(uri):
        print(page.resolve())
    else:
        print(f"opened {page.resolve()}")
    return 0


def _add_train_parser(sub) -> None:
    """``smgrnn-ref train``: its options."""
    from .distill import VARIANTS
    from .config import OPTIMIZERS
    from .engine import ENGINES

    p = sub.add_parser(
        "train",
        help="distil a teacher (a shipped expert, an expert file, a Python callable) into an SMGrNN student",
        description="Distil a teacher into an SMGrNN student, DAgger-style. Writes a run directory "
        "(config.json, metrics.csv, events.jsonl, topology.jsonl, graph.json, checkpoint/, "
        "training.png, frames/, topology.gif, topology.html); see docs/distillation.md.",
    )
    p.add_argument("--env", help="gymnasium env id or module:EnvClass, flat Box observations, Discrete or Box "
                   "actions (default CartPole-v1)")
    p.add_argument("--expert", metavar="PATH|module:function",
                   help="the teacher: an expert file (stem, .npz, .json, or a directory holding <env>.json) or a "
                   "Python callable from observations to actions / logits / probabilities (default: the expert "
                   "shipped for --env)")
    from .teachers import OUTPUT_KINDS

    p.add_argument("--expert-output", choices=OUTPUT_KINDS,
                   help="what a callable teacher returns (default: its 'output' attribute, or read off its return "
                   "value where that is unambiguous)")
    p.add_argument("--variant", choices=VARIANTS, help="full (default), static, growth-only, no-random or mlp")
    p.add_argument("--seed", type=int, help="root seed (default 0)")
    p.add_argument("--steps", type=int, help="training steps (default: per env, smgrnn_ref.envs.DEFAULT_STEPS)")
    p.add_argument("--out", help="run directory (default runs/{env}__{variant}__s{seed})")
    p.add_argument("--engine", choices=ENGINES, help="training engine (default: TrainConfig.engine)")
    p.add_argument("--max-params", type=int, metavar="N",
                   help="stop early once the network has more than N parameters (default: per env, "
                   "20,000 on the shipped envs, smgrnn_ref.envs.ENV_DEFAULTS; no cap on others)")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help="weight optimizer: adam (the paper's, default) or sgd (plain SGD, ours; momentum via --config)")
    p.add_argument("--lr", type=float, help="optimizer step size (default: OptimizerConfig.lr, 0.003)")
    p.add_argument("--config", help="JSON file of TrainConfig fields (options given here override it)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="DIR",
                   help="continue the run in DIR (or --out) from its last checkpoint")
    p.add_argument("--force", action="store_true", help="replace a run already in the output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


def _add_expert_parser(sub) -> None:
    """``smgrnn-ref expert import``: the options of :mod:`smgrnn_ref.expert_import`."""
    p = sub.add_parser("expert", help="expert files: convert a stable-baselines3 model")
    expert_sub = p.add_subparsers(dest="expert_command", required=True)
    from .expert_import import add_arguments as add_import_arguments

    p = expert_sub.add_parser(
        "import",
        help="convert a stable-baselines3 model zip (PPO/A2C, SAC, TD3) into a numpy expert",
        description="Convert a stable-baselines3 model zip (PPO/A2C, SAC, TD3/DDPG MlpPolicy) into a numpy "
        "expert (OUT/NAME.npz + .json) for `smgrnn-ref train --expert OUT/NAME`. Nothing in the zip is "
        "unpickled. Needs torch to read the weights (pip install -e '.[experts]'); the result runs with "
        "numpy only. See docs/experts.md.",
    )
    add_import_arguments(p)
    p.set_defaults(func=_expert_import)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smgrnn-ref", description="Self-Motivated Growing Neural Network (reference)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a small fixed graph to a toy target and print the loss")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)

    _add_train_parser(sub)
    _add_expert_parser(sub)

    from .distill import VARIANTS
    from .config import OPTIMIZERS
    from .engine import ENGINES
    from .experiment import BACKENDS

    p = sub.add_parser(
        "experiment",
        help="run a grid of training runs (envs x variants x seeds) in parallel",
        description="Run every combination of --envs, --variants and --seeds (or a --grid JSON file, "
        "see smgrnn_ref/experiment.py) as ordinary run directories under --out. Finished runs are "
        "skipped and interrupted ones resumed, so re-running the command continues the grid.",
    )
    p.add_argument("--grid", help="grid file (JSON): envs, variants, seeds, steps, base, sweep")
    p.add_argument("--envs", nargs="+", help="env ids (default CartPole-v1)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, help="variants (default: all five)")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds (default 0 1 2 3 4)")
    p.add_argument("--steps", type=int, help="training steps of every run (default: per env)")
    p.add_argument("--engine", choices=ENGINES, help="training engine (default: TrainConfig.engine)")
    p.add_argument("--max-params", type=int, metavar="N",
                   help="stop each run early once its network has more than N parameters (default: per env, "
                   "20,000 on the shipped envs; no cap on others)")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help="weight optimizer: adam (the paper's, default) or sgd (plain SGD, ours; momentum via the grid's base)")
    p.add_argument("--lr", type=float, help="optimizer step size (default: OptimizerConfig.lr, 0.003)")
    p.add_argument("--out", default="runs/experiment", help="root directory of the grid's runs")
    p.add_argument("--backend", choices=BACKENDS, default="process",
                   help="process: a local process pool (default); ray: Ray tasks")
    p.add_argument("--workers", type=int, default=2, help="parallel runs (default 2, one per core here)")
    p.add_argument("--address", help="with --backend ray: address of a running Ray cluster")
    p.add_argument("--pictures", action="store_true", help="also draw each run's training.png and topology GIF")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_experiment)

    p = sub.add_parser("report", help="aggregate run directories into a results table and figures")
    p.add_argument("root", help="directory holding run directories (searched recursively)")
    p.add_argument("--out", help="where to write results.csv, results.md and figures (default: ROOT)")
    p.add_argument("--no-figures", action="store_true", help="table only")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "view",
        help="open a run's interactive topology viewer (topology.html) in the browser",
        description="Open RUN_DIR/topology.html, a self-contained page showing the graph at every "
        "step and why it changed (docs/viewer.md). The page is written first when it is missing or "
        "older than the run's logs. Without a browser, its path is printed.",
    )
    p.add_argument("run_dir", help="a run directory")
    p.add_argument("--rebuild", action="store_true", help="write the page again even if it is up to date")
    p.add_argument("--no-open", action="store_true", help="only write the page and print its path")
    p.set_defaults(func=_view)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input: a clear message, no traceback
        print(f"smgrnn-ref: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smgrnn-ref: interrupted; the last checkpoint is on disk, continue with "
              "`smgrnn-ref train --resume DIR`", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

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


def _train(args) -> int:
    """``smgrnn-ref train``: a fresh distillation run, or ``--resume`` of an interrupted one."""
    from .distill import config_for_env, default_out_dir, load_config, read_config_dict, resume, train

    flags = {k: v for k, v in (("env_id", args.env), ("variant", args.variant), ("seed", args.seed),
                               ("engine", args.engine)) if v is not None}
    if args.resume:
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
        stored_path = Path(out) / "config.json"
        if stored_path.is_file():
            stored = load_config(stored_path)
            for key, value in flags.items():  # options may only restate the run's config
                if getattr(stored, key) != value:
                    raise ValueError(f"--resume: the run in {out} has {key}={getattr(stored, key)!r}, not {value!r}")
        summary = resume(out, steps=args.steps, progress=not args.no_progress)
    else:
        # settings: TrainConfig defaults < per-env defaults < --config file < explicit options
        data = read_config_dict(args.config) if args.config else {}
        data.update(flags)
        if args.steps is not None:
            data["steps"] = args.steps
        cfg = config_for_env(data)
        summary = train(cfg, args.out, force=args.force, progress=not args.no_progress)
    ret, std = summary["eval_return_mean"], summary["eval_return_std"]
    print(
        f"{summary['out_dir']}: step {summary['step']}, eval return "
        + (f"{ret:.1f} +/- {std:.1f}" if ret is not None else "-")
        + f", {summary['hidden_nodes']} hidden nodes, {summary['edges']} edges, {summary['params']} params, "
        f"{summary['wall_time']:.0f} s training"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smgrnn-ref", description="Self-Motivated Growing Neural Network (reference)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a small fixed graph to a toy target and print the loss")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)

    from .distill import VARIANTS
    from .engine import ENGINES

    p = sub.add_parser(
        "train",
        help="distil a shipped expert into an SMGrNN student (DAgger-style)",
        description="Distil a shipped expert into an SMGrNN student. Writes a run directory "
        "(config.json, metrics.csv, events.jsonl, topology.jsonl, graph.json, checkpoint/, "
        "training.png, frames/, topology.gif); see docs/distillation.md.",
    )
    p.add_argument("--env", help="gymnasium env id with a shipped expert (default CartPole-v1)")
    p.add_argument("--variant", choices=VARIANTS, help="full (default), static, growth-only, no-random or mlp")
    p.add_argument("--seed", type=int, help="root seed (default 0)")
    p.add_argument("--steps", type=int, help="training steps (default: per env, smgrnn_ref.envs.DEFAULT_STEPS)")
    p.add_argument("--out", help="run directory (default runs/{env}__{variant}__s{seed})")
    p.add_argument("--engine", choices=ENGINES, help="training engine (default: TrainConfig.engine)")
    p.add_argument("--config", help="JSON file of TrainConfig fields (options given here override it)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="DIR",
                   help="continue the run in DIR (or --out) from its last checkpoint")
    p.add_argument("--force", action="store_true", help="replace a run already in the output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)
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

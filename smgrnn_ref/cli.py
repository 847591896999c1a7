"""The ``smgrnn-ref`` command line.

Examples
--------
>>> build_parser().parse_args(["demo", "--steps", "10"]).steps
10
"""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import run_demo

    run_demo(steps=args.steps, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smgrnn-ref", description="Self-Motivated Growing Neural Network (reference)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit a small fixed graph to a toy target and print the loss")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # bad input: a clear message, no traceback
        print(f"smgrnn-ref: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Draw a run's topology at a few training steps side by side (the figure of docs/index.md).

Reads the snapshots a training run writes (``topology.jsonl``, every ``frame_every`` steps),
lays the run out once (:func:`smgrnn_ref.viz.run_layout`, from its snapshots and events: a node
sits where it sits in the run's own frames, GIF and viewer), and draws the snapshots nearest to
``--steps`` in a row. Each panel highlights what changed since the previous panel: added nodes and edges
in green, pruned ones as dashed grey ghosts. ``--gif`` also writes the README's animation
(every other frame of the run, at 70 dpi). Example (the docs figure and the README GIF: the
README run)::

    smgrnn-ref train --env CartPole-v1 --variant full --seed 0    # writes runs/CartPole-v1__full__s0
    python experiments/topology_evolution.py runs/CartPole-v1__full__s0 --steps 0 1600 3200 5000 \\
        --out docs/img/topology_evolution.png --gif docs/img/readme_topology.gif
"""

from __future__ import annotations

import argparse
from pathlib import Path

from smgrnn_ref.viz import animate, diff_snapshots, draw, legend_handles, read_snapshots, run_layout, snapshot_to_graph

#: The README GIF: every ``GIF_EVERY``-th frame of the run at ``GIF_DPI`` (560 x 448 pixels).
GIF_EVERY, GIF_DPI = 2, 70


def pick(snapshots: list[dict], steps: list[int]) -> list[int]:
    """Index of the snapshot nearest to each requested step (in order, no repeats)."""
    idx = [min(range(len(snapshots)), key=lambda i: abs(snapshots[i]["step"] - s)) for s in steps]
    if len(set(idx)) != len(idx):
        raise ValueError(f"steps {steps} map to repeated snapshots {idx}; the run saved a snapshot every "
                         f"{snapshots[1]['step'] - snapshots[0]['step'] if len(snapshots) > 1 else '?'} steps")
    return idx


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="run directory holding topology.jsonl")
    p.add_argument("--steps", type=int, nargs="+", required=True, help="training steps to draw, ascending")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--dpi", type=int, default=100)
    p.add_argument("--gif", type=Path, help="also write the run's animation here (every other frame, 70 dpi)")
    args = p.parse_args(argv)
    if sorted(args.steps) != args.steps:
        raise SystemExit(f"--steps must be ascending, got {args.steps}")
    from matplotlib.figure import Figure

    snapshots = read_snapshots(args.run / "topology.jsonl")
    picks = pick(snapshots, args.steps)
    fig = Figure(figsize=(3.3 * len(picks), 3.6), dpi=args.dpi, layout="constrained")
    axes = fig.subplots(1, len(picks))
    layout, prev = run_layout(args.run), None
    for ax, i in zip(axes, picks):
        cur = snapshots[i]
        d = diff_snapshots(prev if prev is not None else cur, cur)
        hidden = sum(1 for n in cur["nodes"] if n[1] == "hidden")
        draw(snapshot_to_graph(cur), ax, layout, added_edges=d["added_edges"], removed_edges=d["removed_edges"],
             added_nodes=d["added_nodes"], removed_nodes=d["removed_nodes"], legend=False,
             title=f"step {cur['step']}: {hidden} hidden nodes, {len(cur['edges'])} edges")
        prev = cur
    fig.legend(handles=legend_handles(), loc="outside lower center", ncols=7, frameon=False, fontsize=8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out} (steps {[snapshots[i]['step'] for i in picks]})")
    if args.gif:
        animate(args.run, args.gif, every=GIF_EVERY, dpi=GIF_DPI, layout=layout)
        print(f"wrote {args.gif}")


if __name__ == "__main__":
    main()

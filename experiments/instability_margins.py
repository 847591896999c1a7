"""How far a run's edges are from the instability criterion of edge-driven growth.

Edge-driven growth (Jia & Zhou, arXiv 2512.12713) inserts a relay on edge ``k`` when

    |mu_k| < 0.5 sigma_k     and     sigma_k^2 > lambda_edge |mu_k|

over the window of its last ``T`` values (``--window-signal``: the applied weight updates, the
paper's window and this script's default, or the gradients, the library's default since the
growth study). This script trains one distillation run (fast engine, the committed defaults
unless overridden) and, every ``--every`` steps, reads the
graph (the source of truth) and prints, over the edges with a full window:

* ``|mu|/sigma`` (smallest three): the oscillation test needs it below 0.5;
* ``sigma^2/|mu|`` (largest three): the variance test needs it above ``lambda_edge``;
* how many edges pass each test and both.

It is the measurement behind the "why CartPole grows late" section of docs/calibration.md
(our analysis, not the paper's). Example::

    python experiments/instability_margins.py --env CartPole-v1 --seed 6 --steps 5000 --every 500 --tau-w 0.1
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from smgrnn_ref.config import WINDOW_SIGNALS
from smgrnn_ref.distill import Trainer, config_for_env
from smgrnn_ref.spm import INSTABILITY_SIGMA_FACTOR, instability_margins


def margins(G, T: int):
    """``|mu|/sigma`` and ``sigma^2/|mu|`` of every edge of ``G`` whose window is full."""
    pairs = [instability_margins(d["updates"]) for _, _, d in G.edges(data=True) if len(d["updates"]) == T]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--variant", default="full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--lambda-edge", type=float, default=None, help="override SPMConfig.lambda_edge")
    p.add_argument("--tau-w", type=float, default=None, help="override SPMConfig.tau_w")
    p.add_argument("--window-signal", choices=WINDOW_SIGNALS, default="update",
                   help="what the windows record (default: update, the paper's window that docs/calibration.md analyses)")
    args = p.parse_args(argv)
    spm = {k: v for k, v in (("lambda_edge", args.lambda_edge), ("tau_w", args.tau_w)) if v is not None}
    spm["window_signal"] = args.window_signal
    cfg = config_for_env({"env_id": args.env, "variant": args.variant, "seed": args.seed,
                          "steps": args.steps, "engine": "fast", "spm": spm})
    lam, T = cfg.spm.lambda_edge, cfg.spm.T
    print(f"{args.env} {args.variant} seed {args.seed}: lambda_edge = {lam}, T = {T}")
    print("step  edges hidden  min|mu|/sigma (need <0.5)  max sigma^2/|mu| (need >lambda)  pass osc/var/both")
    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(cfg, out, progress=False)
        tr.start_fresh()
        for t in range(1, args.steps + 1):
            tr.train_step(t)
            if t % args.every:
                continue
            G = tr.engine.graph
            ratio, spread = margins(G, T)
            hidden = sum(1 for _, k in G.nodes(data="kind") if k == "hidden")
            osc, var = ratio < INSTABILITY_SIGMA_FACTOR, spread > lam
            print(f"{t:5d} {G.number_of_edges():6d} {hidden:6d}  "
                  f"{np.array2string(np.sort(ratio)[:3], precision=3):>26}  "
                  f"{np.array2string(np.sort(spread)[-3:], formatter={'float_kind': '{:.1e}'.format}):>32}  "
                  f"{osc.sum()}/{var.sum()}/{(osc & var).sum()}")
        tr.close()


if __name__ == "__main__":
    main()

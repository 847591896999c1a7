"""Growth-only training with and without the fast engine's relay splice (run on demand).

``python benchmarks/bench_relay_splice.py --seed 0`` trains one CartPole-v1 ``growth-only``
run at the committed defaults twice, with :attr:`smgrnn_ref.fast.FastEngine.incremental_relays`
off (a full re-derivation of the arrays after every relay, as before commit ``c42afd5``) and on
(relays spliced in place when the levels allow), and prints the time of the training-step loop
(``Trainer.train_step`` only: no evaluations, logs or checkpoints) and the final size of each.
Both must end with the same graph (the splice changes no arithmetic; tests/test_fast.py checks
that bit for bit). The table in docs/performance.md ("Relays spliced in place") was measured
with it. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from smgrnn_ref.distill import Trainer, config_for_env
from smgrnn_ref.fast import FastEngine
from smgrnn_ref.graph import n_params


def timed_run(env_id: str, seed: int, splice: bool) -> tuple[float, int]:
    """Seconds spent in the training-step loop and the final parameter count."""
    FastEngine.incremental_relays = splice
    cfg = config_for_env({"env_id": env_id, "variant": "growth-only", "seed": seed, "engine": "fast"})
    with tempfile.TemporaryDirectory() as out:
        tr = Trainer(cfg, out, progress=False)
        tr.start_fresh()
        t0 = time.perf_counter()
        for t in range(1, cfg.steps + 1):
            tr.train_step(t)
        return time.perf_counter() - t0, n_params(tr.engine.structure)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    results = {}
    for splice in (False, True):
        results[splice] = timed_run(args.env, args.seed, splice)
        print(f"{args.env} growth-only seed {args.seed}, splice {'on ' if splice else 'off'}: "
              f"{results[splice][0]:.1f} s, {results[splice][1]} parameters")
    if results[False][1] != results[True][1]:
        raise SystemExit("the two runs ended with different graphs: the splice changed the training")
    print(f"speed-up {results[False][0] / results[True][0]:.2f}x")


if __name__ == "__main__":
    main()

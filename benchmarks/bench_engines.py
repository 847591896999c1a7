"""Benchmark the reference and fast engines (run on demand: ``python benchmarks/bench_engines.py``).

Not collected by pytest (the file name does not start with ``test_`` and ``benchmarks/`` is not
in ``testpaths``). Prints tables and, with ``--write``, rewrites ``docs/performance.md``.

What is measured (SMGrNN, Jia & Zhou, arXiv 2512.12713; engines of :mod:`smgrnn_ref.engine`
and :mod:`smgrnn_ref.fast`):

1. **training steps/s** (``train_step`` on a batch of 64: forward, loss, backward, Adam and
   the recorded windows), reference vs fast with each of its kernels (``numba``: the compiled
   node loop, ``numpy``: one matrix product per block), on CartPole-v1-sized (4 in, 2 out) and
   LunarLander-v3-sized (8 in, 4 out) graphs of about 50, 200 and 1,000 edges;
2. **forward + backward** at batch 64 (from the inputs to every parameter's gradient, given
   ``dL/dlogits``; no loss, no optimizer) of the fast engine (both kernels) vs a hand-written
   dense numpy MLP with one tanh hidden layer and the same number of parameters (the practical
   lower bound of numpy);
3. **forward only** at batch 64 vs neat-python's ``FeedForwardNetwork`` built on the same
   topology and weights (neat-python has no backward pass; it evaluates one sample per
   ``activate`` call, so a batch is 64 calls);
4. **the SPM's own cost per step** (the decisions: window statistics, instability and
   pruning-candidate tests) against the number of edges, on growth and on pruning steps, with
   thresholds that make no edit so only the decisions are timed; and the cost of a step that
   does edit (a relay insertion and the recompilation of the arrays).

The test graphs are grown the way the SPM grows them: from the paper's initial graph
(inputs and outputs only, density 0.8), alternately a relay on a random edge (the edge kept)
and a random new edge between unconnected nodes (acyclic), until the edge count is reached.
Their depth (number of topological levels) matters for the fast engine's numpy kernel, whose
cost is about a constant per level; it is printed with every graph. The numba kernel is
compiled (or loaded from numba's cache) before timing.

Timings are the minimum over repeats (the machine is shared; the minimum is the least
disturbed measurement).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smgrnn_ref import spm as S  # noqa: E402
from smgrnn_ref.config import AdamConfig, SPMConfig  # noqa: E402
from smgrnn_ref.engine import ReferenceEngine  # noqa: E402
from smgrnn_ref.fast import FastEngine, available_kernels  # noqa: E402
from smgrnn_ref.graph import add_edge, initial_graph, n_params  # noqa: E402

BATCH = 64
SIZES = {"CartPole-v1 (4 in, 2 out)": (4, 2), "LunarLander-v3 (8 in, 4 out)": (8, 4)}
EDGES = (50, 200, 1000)
#: The fast engine's kernels measured (numba only when it is installed).
KERNELS = available_kernels()


# --- graphs ----------------------------------------------------------------------------------


def grow_graph(n_in: int, n_out: int, n_edges: int, seed: int = 0, T: int = 100):
    """An SPM-like acyclic graph with about ``n_edges`` edges (see the module docstring)."""
    rng = np.random.default_rng(seed)
    G = initial_graph(n_in, n_out, rng=rng, T=T)
    cfg = SPMConfig(T=T, init_weight_scale=0.3)  # visible weights, so the tanh is not linear
    relay = True
    while G.number_of_edges() < n_edges:
        if relay:
            edges = sorted(G.edges)
            S.insert_relay(G, edges[rng.integers(len(edges))], rng, cfg, t=0)
        else:
            pair = S.sample_new_edge(G, rng, allow_cycles=False)
            add_edge(G, *pair, rng.uniform(-0.3, 0.3))
        relay = not relay
    for n in G:
        if G.nodes[n]["kind"] != "input":
            G.nodes[n]["bias"] = float(rng.uniform(-0.1, 0.1))
    return G


def _levels(eng: FastEngine) -> int:
    """Depth: the number of topological levels of the non-input nodes (longest path)."""
    G = eng.structure
    level = {}
    for n in eng.layout.nodes[1:]:  # a topological order
        preds = list(G.predecessors(n))
        level[n] = 1 + max((level[p] for p in preds), default=0) if preds else 0
    return max(level.values())


def best(fn, number: int, repeat: int = 5) -> float:
    """Seconds per call: the minimum over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


# --- the dense MLP lower bound ---------------------------------------------------------------


class DenseMLP:
    """``tanh`` hidden layer, linear output; hand-written forward and backward in numpy."""

    def __init__(self, n_in, hidden, n_out, rng):
        self.W1 = rng.normal(scale=0.3, size=(n_in, hidden))
        self.b1 = np.zeros(hidden)
        self.W2 = rng.normal(scale=0.3, size=(hidden, n_out))
        self.b2 = np.zeros(n_out)

    @property
    def n_params(self):
        return self.W1.size + self.b1.size + self.W2.size + self.b2.size

    def forward(self, X):
        H = np.tanh(X @ self.W1 + self.b1)
        return H, H @ self.W2 + self.b2

    def forward_backward(self, X, dO):
        H, O = self.forward(X)
        gW2 = H.T @ dO
        gb2 = dO.sum(axis=0)
        dZ = (dO @ self.W2.T) * (1.0 - H * H)
        gW1 = X.T @ dZ
        gb1 = dZ.sum(axis=0)
        return gW1, gb1, gW2, gb2


def mlp_same_params(n_in, n_out, P, rng):
    """The one-hidden-layer MLP whose parameter count is closest to ``P``."""
    hidden = max(1, round((P - n_out) / (n_in + 1 + n_out)))
    return DenseMLP(n_in, hidden, n_out, rng)


# --- neat-python -----------------------------------------------------------------------------


def neat_network(G):
    """neat-python's FeedForwardNetwork on ``G``'s topology and weights, or ``None``."""
    try:
        from neat.nn.feed_forward import FeedForwardNetwork
    except ImportError:
        return None
    import math

    eng = FastEngine(G, adam=AdamConfig(), spm=SPMConfig(T=G.graph["T"]))
    acts = {"tanh": math.tanh, "identity": lambda z: z, "relu": lambda z: max(z, 0.0)}
    inputs = eng.layout.nodes[1:eng.layout.n_fixed]
    outputs = sorted((n for n in G if G.nodes[n]["kind"] == "output"), key=lambda n: G.nodes[n]["index"])
    node_evals = []
    for n in eng.layout.nodes[eng.layout.n_fixed:]:  # a topological order
        d = G.nodes[n]
        links = [(u, G.edges[u, n]["weight"]) for u in sorted(G.predecessors(n))]
        node_evals.append((n, acts[d["activation"]], sum, d["bias"], 1.0, links))
    return FeedForwardNetwork(inputs, outputs, node_evals)


# --- the measurements ------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "numpy": np.__version__,
        "numba": numba_version,
        "python": platform.python_version(),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def distilled_graph(steps: int):
    """The graph a real ``full`` CartPole-v1 distillation run grows in ``steps`` steps
    (``smgrnn-ref train``, fast engine, default configuration), or ``None`` if it fails."""
    import subprocess
    import tempfile

    from smgrnn_ref.io import load_graph

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "smgrnn_ref.cli", "train", "--env", "CartPole-v1", "--steps",
               str(steps), "--out", tmp + "/run", "--engine", "fast", "--no-progress", "--force"]
        done = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
        if done.returncode != 0:
            print("distillation run failed; its graph is left out:\n" + done.stderr[-2000:])
            return None
        return load_graph(tmp + "/run/graph.json")


def cases(distilled):
    """``(task label, graph)``: the grown test graphs, then the distilled graph if any."""
    out = []
    for label, (n_in, n_out) in SIZES.items():
        for E in EDGES:
            out.append((label, grow_graph(n_in, n_out, E, seed=E)))
    if distilled is not None:
        out.append(("CartPole-v1, distilled (full)", distilled))
    return out


def io_sizes(G):
    kinds = [k for _, k in G.nodes(data="kind")]
    return kinds.count("input"), kinds.count("output")


def bench_training(quick: bool, graphs):
    rows = []
    for label, G in graphs:
        n_in, n_out = io_sizes(G)
        E = G.number_of_edges()
        spm = SPMConfig(T=G.graph["T"])
        rng = np.random.default_rng(0)
        X, Y = rng.normal(size=(BATCH, n_in)), rng.normal(size=(BATCH, n_out))
        ref = ReferenceEngine(G.copy(), adam=AdamConfig(), spm=spm)
        n_ref = max(2, int(400 / E)) if quick else max(3, int(2000 / E))
        t_ref = best(lambda: ref.train_step(X, Y), n_ref, repeat=3)
        row = {"task": label, "edges": G.number_of_edges(), "nodes": G.number_of_nodes(),
               "params": n_params(G), "ref_steps_s": 1 / t_ref}
        for kernel in ("numba", "numpy"):
            if kernel not in KERNELS:
                row[f"{kernel}_steps_s"] = row[f"{kernel}_speedup"] = None
                continue
            fast = FastEngine(G.copy(), adam=AdamConfig(), spm=spm, kernel=kernel)
            fast.train_step(X, Y)  # compile (or load the cached kernel)
            t_fast = best(lambda: fast.train_step(X, Y), 50 if quick else 200)
            row.update({f"{kernel}_steps_s": 1 / t_fast, f"{kernel}_speedup": t_ref / t_fast,
                        "depth": _levels(fast), "blocks": len(fast.layout.blocks)})
        rows.append(row)
        print_row(rows[-1], TRAIN_COLS)
    return rows


def bench_fwd_bwd(quick: bool, graphs):
    rows = []
    for label, G in graphs:
        n_in, n_out = io_sizes(G)
        P = n_params(G)
        rng = np.random.default_rng(1)
        X = rng.normal(size=(BATCH, n_in))
        dO = rng.normal(size=(n_out, BATCH)) / BATCH
        mlp = mlp_same_params(n_in, n_out, P, rng)
        number = 50 if quick else 300
        t_mlp = best(lambda: mlp.forward_backward(X, dO.T), number)
        t_mlp_f = best(lambda: mlp.forward(X), number)
        row = {"task": label, "edges": G.number_of_edges(), "params": P,
               "mlp_hidden": mlp.b1.size, "mlp_params": mlp.n_params,
               "mlp_fb_us": t_mlp * 1e6, "mlp_f_us": t_mlp_f * 1e6}
        for kernel in ("numba", "numpy"):
            if kernel not in KERNELS:
                row.update({f"{kernel}_fb_us": None, f"{kernel}_fb_ratio": None, f"{kernel}_f_us": None})
                continue
            fast = FastEngine(G.copy(), adam=AdamConfig(), spm=SPMConfig(T=G.graph["T"]), kernel=kernel)

            def fast_fb():
                theta = fast.state.theta
                fast.passes.backward(fast.passes.forward(X, theta), dO, theta)

            fast_fb()  # compile (or load the cached kernel)
            t_fast = best(fast_fb, number)
            t_fast_f = best(lambda: fast.forward(X), number)
            row.update({f"{kernel}_fb_us": t_fast * 1e6, f"{kernel}_fb_ratio": t_fast / t_mlp,
                        f"{kernel}_f_us": t_fast_f * 1e6, "depth": _levels(fast)})
        fast = FastEngine(G.copy(), adam=AdamConfig(), spm=SPMConfig(T=G.graph["T"]), kernel=KERNELS[0])
        t_fast_f = row[f"{KERNELS[0]}_f_us"] / 1e6
        net = neat_network(G.copy())
        t_neat = None
        if net is not None:
            rows_X = [list(x) for x in X]
            t_neat = best(lambda: [net.activate(x) for x in rows_X], max(2, number // 20), repeat=3)
            # same function: neat's outputs equal the fast engine's
            out = np.array([net.activate(x) for x in rows_X])
            assert np.allclose(out, fast.forward(X), atol=1e-9), "neat network differs"
        row.update({"neat_f_us": None if t_neat is None else t_neat * 1e6,
                    "neat_over_fast": None if t_neat is None else t_neat / t_fast_f})
        rows.append(row)
        print_row(rows[-1], FB_COLS)
    return rows


def bench_spm(quick: bool):
    """Cost of ``spm_step`` on growth and pruning steps that decide but do not edit."""
    rows = []
    sizes = (50, 100, 200, 400, 1000, 2000) if not quick else (50, 200, 1000)
    # windows fill (T = 100 steps) but no edge is unstable (lambda huge), random growth never
    # fires, every edge passes |w| <= tau_w so |mu| is computed for all, and none is pruned
    cfg = SPMConfig(lambda_edge=1e12, p_rand=0.0, tau_w=1e12, tau_delta=0.0)
    for E in sizes:
        G = grow_graph(4, 2, E, seed=E)
        rng = np.random.default_rng(2)
        X, Y = rng.normal(size=(BATCH, 4)), rng.normal(size=(BATCH, 2))
        fast = FastEngine(G.copy(), adam=AdamConfig(), spm=cfg)
        ref = ReferenceEngine(G.copy(), adam=AdamConfig(), spm=cfg)
        for _ in range(cfg.T):
            fast.train_step(X, Y)
        # the reference engine's windows: copied from the fast engine's synced graph
        ref.G = fast.graph.copy()
        srng = np.random.default_rng(3)
        n = 20 if quick else 100
        grow_fast = best(lambda: fast.spm_step(1, srng), n)
        prune_fast = best(lambda: fast.spm_step(cfg.s, srng), n)
        m = max(2, n // 10)
        grow_ref = best(lambda: ref.spm_step(1, srng), m, repeat=3)
        prune_ref = best(lambda: ref.spm_step(cfg.s, srng), m, repeat=3)
        assert fast.spm_step(1, srng) == [] and fast.spm_step(cfg.s, srng) == []
        # a step that edits: one relay, then the arrays are derived again (carry-over)
        edit_cfg = SPMConfig(lambda_edge=0.0, p_rand=0.0)
        ed = FastEngine(fast.graph.copy(), adam=AdamConfig(), spm=edit_cfg)
        k = ed.layout.edge_index[min(ed.layout.edges)]

        def one_relay():
            st = ed.state
            st.update_count[:] = 0
            st.update_count[k] = st.T  # exactly one full window ...
            st.updates[:, k] = np.tile([1.0, -1.0], st.T // 2)  # ... oscillating: unstable
            ed.spm_step(1, srng)

        t_edit = best(one_relay, 5 if quick else 20, repeat=3)
        rows.append({
            "edges": fast.layout.n_edges, "grow_fast_us": grow_fast * 1e6, "prune_fast_us": prune_fast * 1e6,
            "grow_ref_us": grow_ref * 1e6, "prune_ref_us": prune_ref * 1e6,
            "edit_fast_us": t_edit * 1e6,
            "grow_per_edge_ns": grow_fast * 1e9 / fast.layout.n_edges,
            "prune_per_edge_ns": prune_fast * 1e9 / fast.layout.n_edges,
        })
        print_row(rows[-1], SPM_COLS)
    return rows


# --- output ----------------------------------------------------------------------------------

TRAIN_COLS = [("task", "task", "{}"), ("edges", "edges", "{}"), ("nodes", "nodes", "{}"),
              ("depth", "depth", "{}"), ("ref_steps_s", "reference steps/s", "{:.1f}"),
              ("numba_steps_s", "fast (numba) steps/s", "{:.0f}"), ("numba_speedup", "speed-up", "{:.0f}x"),
              ("numpy_steps_s", "fast (numpy) steps/s", "{:.0f}"), ("numpy_speedup", "speed-up", "{:.0f}x")]
FB_COLS = [("task", "task", "{}"), ("edges", "edges", "{}"), ("params", "params", "{}"),
           ("depth", "depth", "{}"), ("mlp_hidden", "MLP hidden", "{}"),
           ("mlp_fb_us", "MLP fwd+bwd us", "{:.0f}"),
           ("numba_fb_us", "numba fwd+bwd us", "{:.0f}"), ("numba_fb_ratio", "numba/MLP", "{:.1f}x"),
           ("numpy_fb_us", "numpy fwd+bwd us", "{:.0f}"), ("numpy_fb_ratio", "numpy/MLP", "{:.1f}x"),
           ("mlp_f_us", "MLP fwd us", "{:.0f}"), ("numba_f_us", "numba fwd us", "{:.0f}"),
           ("numpy_f_us", "numpy fwd us", "{:.0f}"), ("neat_f_us", "neat fwd us", "{:.0f}"),
           ("neat_over_fast", "neat/fast (fwd)", "{:.0f}x")]
SPM_COLS = [("edges", "edges", "{}"), ("grow_fast_us", "fast growth step us", "{:.0f}"),
            ("prune_fast_us", "fast pruning step us", "{:.0f}"),
            ("grow_ref_us", "reference growth step us", "{:.0f}"),
            ("prune_ref_us", "reference pruning step us", "{:.0f}"),
            ("edit_fast_us", "fast step with one relay us", "{:.0f}"),
            ("grow_per_edge_ns", "fast growth ns/edge", "{:.0f}"),
            ("prune_per_edge_ns", "fast pruning ns/edge", "{:.0f}")]


def fmt(value, spec):
    return "n/a" if value is None else spec.format(value)


def print_row(row, cols):
    print("  " + " | ".join(f"{title}: {fmt(row[key], spec)}" for key, title, spec in cols), flush=True)


def markdown_table(rows, cols) -> str:
    head = "| " + " | ".join(title for _, title, _ in cols) + " |"
    sep = "| " + " | ".join("---" for _ in cols) + " |"
    body = ["| " + " | ".join(fmt(r[key], spec) for key, _, spec in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes (a smoke run)")
    p.add_argument("--write", metavar="PATH", help="write the tables as markdown to PATH")
    p.add_argument("--distill-steps", type=int, default=4000, metavar="N",
                   help="also time the graph of a real CartPole-v1 'full' run of N steps (0: skip)")
    args = p.parse_args(argv)
    info = machine()
    print(f"machine: nproc={info['nproc']}  cpu={info['cpu']}  numpy={info['numpy']}  numba={info['numba']}  "
          f"python={info['python']}  load average at start={info['load']}")
    t0 = time.perf_counter()
    distilled = distilled_graph(args.distill_steps) if args.distill_steps > 0 else None
    graphs = cases(distilled)
    print("\n1. training steps/s (train_step, batch 64)")
    train = bench_training(args.quick, graphs)
    print("\n2./3. forward+backward and forward at batch 64")
    fb = bench_fwd_bwd(args.quick, graphs)
    print("\n4. SPM cost per step (decisions only, no edit) and one edit")
    spm = bench_spm(args.quick)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    if args.write:
        Path(args.write).write_text(
            f"machine: nproc={info['nproc']}, CPU {info['cpu']}, numpy {info['numpy']}, numba {info['numba']}, "
            f"Python {info['python']}, load average at start {info['load']}\n\n"
            + markdown_table(train, TRAIN_COLS) + "\n\n" + markdown_table(fb, FB_COLS) + "\n\n"
            + markdown_table(spm, SPM_COLS)
            + "\n"
        )
    return {"machine": info, "train": train, "fwd_bwd": fb, "spm": spm}


if __name__ == "__main__":
    main()

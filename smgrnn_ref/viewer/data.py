"""The data of a run's topology viewer: everything the page shows, read from the run directory.

:func:`build_viewer_data` reads what a training run wrote and nothing else, through the
readers of :mod:`smgrnn_ref.rundir` (one home for the files' names and formats):

* ``topology.jsonl`` and ``events.jsonl``, replayed into node and edge lifetimes
  (:func:`smgrnn_ref.viz.history.build_history`, which checks them against each other) and
  laid out once for the whole run (:func:`smgrnn_ref.viz.layered_layout.layered_layout`, the
  layout of the run's PNG frames and GIF too);
* ``graph.json`` (the final graph: its edges' windows and nodes' activation windows);
* ``metrics.csv`` (return, loss and size curves) and ``config.json`` (the SPM thresholds);
* the records of the viewer's data contract (``docs/viewer.md``), where the run wrote them:
  a relay's ``window`` on its ``relay_inserted`` event and ``prune_candidates.jsonl``.

The result is one JSON-ready dict (format ``smgrnn_ref.viewer``, version 1), compact enough
to inline in a page: numbers are rounded to :data:`DIGITS` significant digits (windows to
:data:`WINDOW_DIGITS`), and on very large runs weights are kept from every ``k``-th snapshot
only, and the final windows and the relay windows' values are left out (the page says so;
the structure and every relay's statistics stay exact).
"""

from __future__ import annotations

import math

import numpy as np

from ..rundir import RunDir, read_events, read_metrics, read_prune_candidates, read_snapshots
from ..spm import instability_margins, rolling_stats
from ..viz.history import build_history
from ..viz.layered_layout import layered_layout

__all__ = ["build_viewer_data", "FORMAT", "VERSION", "DIGITS", "WINDOW_DIGITS", "MAX_WEIGHT_SAMPLES",
           "MAX_WINDOW_VALUES", "MAX_RELAY_WINDOW_VALUES", "EVENT_CODES"]

FORMAT = "smgrnn_ref.viewer"
VERSION = 1

#: Significant digits of weights and biases in the page: those of ``topology.jsonl``
#: (``viz.snapshot``), so nothing the run wrote is rounded further.
DIGITS = 6
#: Significant digits of the window values drawn as sparklines (their statistics are
#: computed from the full-precision values and stored at :data:`DIGITS`).
WINDOW_DIGITS = 4
#: Most weight and bias values (over all snapshots) a page holds. Above it only every
#: ``k``-th snapshot's values are kept (plus the last). **Our choice**: about 3 MB of page.
MAX_WEIGHT_SAMPLES = 300_000
#: Most values of the final graph's windows (edge updates and node activations) a page
#: holds; above it they are left out. **Our choice**: about 1.5 MB of page.
MAX_WINDOW_VALUES = 200_000
#: Most values of relay windows (``T`` per relay) a page holds; above it every relay keeps
#: its statistics and margins but not the values (no sparkline). **Our choice**: about 2 MB.
MAX_RELAY_WINDOW_VALUES = 200_000

#: Event codes of the page's compact event list.
EVENT_CODES = {"relay_inserted": 0, "edge_added": 1, "edge_pruned": 2, "node_removed": 3}
_KIND_CODES = {"input": 0, "hidden": 1, "output": 2}


def _r(x, digits=DIGITS):
    """``x`` rounded to ``digits`` significant digits (None stays None)."""
    return None if x is None else float(f"{float(x):.{digits}g}")


def _finite_or_none(x):
    return None if x is None or not math.isfinite(x) else x


def _events(run: RunDir) -> tuple[list[dict], list]:
    """The events as dicts (validated by :func:`smgrnn_ref.rundir.read_events`) and, per
    event, the relay window of the data contract or None."""
    events = read_events(run.events)
    return [e.to_dict() for e in events], [getattr(e, "window", None) for e in events]


def _prune_candidates(run: RunDir) -> dict[int, list] | None:
    """``{step: [[u, v, weight, mu], ...]}`` from ``prune_candidates.jsonl``, or None when the
    run wrote none (a run from before the file existed)."""
    if not run.prune_candidates.is_file():
        return None
    return {r.step: [[u, v, _r(w), _r(mu)] for u, v, w, mu in r.candidates]
            for r in read_prune_candidates(run.prune_candidates)}


#: The columns of ``metrics.csv`` the page plots.
METRIC_COLUMNS = ("step", "loss", "train_return_mean", "eval_return_mean", "eval_return_std", "hidden_nodes",
                  "edges", "params")


def _metrics(run: RunDir) -> dict:
    """The columns of ``metrics.csv`` the page plots (missing columns or cells: None)."""
    if not run.metrics.is_file():
        return {c: [] for c in METRIC_COLUMNS}
    cols = read_metrics(run.metrics)
    n = len(cols["step"])
    return {c: [None if not np.isfinite(x) else _r(x) for x in cols[c]] if c in cols else [None] * n
            for c in METRIC_COLUMNS}


def _window_record(values, keep_values: bool = True) -> dict:
    """A window for the page: the values (rounded; left out unless ``keep_values``), their
    statistics and the margins of the instability test, ``|mu| / sigma``, ``sigma^2 / |mu|``
    (the paper's second test) and ``sigma / |mu|`` (the scale-free one, ``SPMConfig.variance_test``),
    computed from the full-precision values and kept at full precision, so the page's margins
    are the rule's."""
    mu, sigma2 = rolling_stats(values)
    osc, var = instability_margins(values)
    # sigma / |mu| with the rule's own sigma (sqrt of the population variance)
    sd = math.sqrt(sigma2) / abs(mu) if mu != 0 else math.inf
    return {"values": [_r(x, WINDOW_DIGITS) for x in values] if keep_values else None, "n": len(values),
            "mu": _r(mu), "sigma2": _r(sigma2), "osc": _finite_or_none(osc), "var_ratio": _finite_or_none(var),
            "sd_ratio": _finite_or_none(sd)}


def _snapshots_data(history, notes: list) -> dict:
    """Per kept snapshot, the weights of the alive edge spans (ascending span index) and the
    biases of the alive non-input nodes (ascending id), as the snapshot wrote them. Every
    snapshot is kept while they hold at most :data:`MAX_WEIGHT_SAMPLES` values; beyond, every
    ``k``-th (and the last), and a note says so."""
    steps = history.snapshot_steps
    per_step = {t: 0 for t in steps}
    for samples in [*history.edge_samples, *history.node_samples.values()]:
        for t, _ in samples:
            if t in per_step:
                per_step[t] += 1
    total = sum(per_step.values())
    stride = 1 if total <= MAX_WEIGHT_SAMPLES else math.ceil(total / MAX_WEIGHT_SAMPLES)
    if stride > 1:
        notes.append(f"weights and biases are shown from every {stride}th snapshot (and the last) only, "
                     f"to keep this page small; topology.jsonl holds them all")
    kept = [t for i, t in enumerate(steps) if i % stride == 0 or i == len(steps) - 1]
    slot = {t: j for j, t in enumerate(kept)}
    weights = [[] for _ in kept]
    for samples in history.edge_samples:  # spans in ascending order, samples in step order
        for t, w in samples:
            if t in slot:
                weights[slot[t]].append(_r(w))
    biases = [[] for _ in kept]
    for n in history.nodes:  # ascending id
        for t, b in history.node_samples.get(n.id, ()):
            if t in slot:
                biases[slot[t]].append(_r(b))
    return {"step": kept, "weights": weights, "biases": biases}


def _final_windows(G, history, t, budget) -> tuple[dict | None, str | None]:
    """Windows of the final graph (``graph.json``), aligned with the spans / nodes alive at
    ``t``, or None and the reason."""
    edges = history.alive_edges(t)
    nodes = [n for n in history.alive_nodes(t) if G.nodes[n]["kind"] != "input"]
    size = sum(len(G.edges[history.edges[k].u, history.edges[k].v]["updates"]) for k in edges)
    size += sum(len(G.nodes[n]["activations"]) for n in nodes)
    if size > budget:
        return None, (f"the final windows ({size:,} values) are left out of this page "
                      f"(more than {budget:,}); graph.json holds them")
    ew = []
    for k in edges:
        ups = list(G.edges[history.edges[k].u, history.edges[k].v]["updates"])
        ew.append(_window_record(ups) if ups else None)
    nw = []
    for n in nodes:
        acts = list(G.nodes[n]["activations"])
        nw.append({"values": [_r(x, WINDOW_DIGITS) for x in acts]} if acts else None)
    return {"edges": ew, "nodes": nw}, None


def _check_final(G, history, t, path):
    nodes, edges = set(G.nodes), set(G.edges)
    want_n = set(history.alive_nodes(t))
    want_e = {(history.edges[k].u, history.edges[k].v) for k in history.alive_edges(t)}
    if nodes != want_n or edges != want_e:
        raise ValueError(f"{path} does not hold the graph the logs describe at step {t}: "
                         f"nodes differ by {sorted(nodes ^ want_n)[:5]}, edges by {sorted(edges ^ want_e)[:5]}")


def _events_data(events, windows, history, notes: list):
    out, relay_windows = [], []
    index = {n.id: i for i, n in enumerate(history.nodes)}
    n_values = sum(len(w) for w in windows if w is not None)
    keep_values = n_values <= MAX_RELAY_WINDOW_VALUES
    if not keep_values:
        notes.append(f"the values of the relay windows ({n_values:,}) are left out of this page (more than "
                     f"{MAX_RELAY_WINDOW_VALUES:,}); their statistics and margins are kept; events.jsonl holds them")
    for ev, win, spans in zip(events, windows, history.event_spans):
        code, t = EVENT_CODES[ev["kind"]], ev["step"]
        if code == 0:
            w = -1
            if win is not None:
                w = len(relay_windows)
                relay_windows.append(_window_record(win, keep_values))
            out.append([code, t, spans[0], index[ev["node"]], spans[1], spans[2], w])
        elif code == 1:
            out.append([code, t, spans[0]])
        elif code == 2:  # the weight the edge had when it was pruned
            out.append([code, t, spans[0], _r(ev["weight"])])
        else:
            out.append([code, t, index[ev["node"]], list(spans)])
    return out, relay_windows


#: The SPM settings the page shows and uses (thresholds of the rules, the schedule, switches).
SPM_FIELDS = ("T", "s", "lambda_edge", "variance_test", "window_signal", "tau_w", "tau_delta", "eta_prune", "p_rand", "rho_rand",
              "enable_edge_growth", "enable_random_growth", "enable_pruning")


def _nodes_data(history, layout) -> dict:
    first = history.snapshot_steps[0]
    nodes = history.nodes
    return {
        "id": [n.id for n in nodes],
        "kind": [_KIND_CODES[n.kind] for n in nodes],
        "index": [-1 if n.index is None else n.index for n in nodes],
        "birth": [n.birth for n in nodes],
        "death": [-1 if n.death is None else n.death for n in nodes],
        "x": [round(layout.positions[n.id][0], 5) for n in nodes],
        "y": [round(layout.positions[n.id][1], 5) for n in nodes],
        "layer": [layout.layer[n.id] for n in nodes],
        # the bias a node was born with (a relay's), None for those of the first snapshot
        "birth_bias": [_r(history.node_samples[n.id][0][1]) if n.birth > first else None for n in nodes],
    }


def _edges_data(history) -> dict:
    first = history.snapshot_steps[0]
    edges = history.edges
    return {
        "u": [e.u for e in edges],
        "v": [e.v for e in edges],
        "birth": [e.birth for e in edges],
        "death": [-1 if e.death is None else e.death for e in edges],
        # the weight an edge was born with (its event), None for those of the first snapshot
        "birth_weight": [_r(s[0][1]) if e.birth > first else None for e, s in zip(edges, history.edge_samples)],
    }


def _final_data(path, history, notes: list) -> dict | None:
    """The final graph's windows (``graph.json``), checked to be the graph of the last step."""
    if not path.is_file():
        notes.append("no graph.json (the run has not finished): no final windows")
        return None
    from ..io import load_graph

    G = load_graph(path)
    _check_final(G, history, history.last_step, path)
    final, note = _final_windows(G, history, history.last_step, MAX_WINDOW_VALUES)
    if note:
        notes.append(note)
    return final


def build_viewer_data(run_dir) -> dict:
    """Everything the topology viewer of ``run_dir`` shows, as one JSON-ready dict.

    Parameters
    ----------
    run_dir : path
        A run directory (``smgrnn-ref train`` or an experiment grid's run).

    Returns
    -------
    dict
        Format ``smgrnn_ref.viewer``, version 1; the keys are described in
        ``docs/viewer.md`` (``run``, ``nodes``, ``edges``, ``snapshots``, ``events``,
        ``relay_windows``, ``prune_candidates``, ``final``, ``metrics``, ``notes``).

    Raises
    ------
    ValueError
        No run there (no ``topology.jsonl`` or ``events.jsonl``), a malformed file (naming it
        and the line), or logs that contradict each other (events that do not lead to the
        next snapshot, a ``graph.json`` that is not the graph of the last step).
    """
    from ..config import config_to_dict
    from ..distill import load_config, variant_spm

    run = RunDir(run_dir)
    for path in (run.config, run.topology, run.events):
        if not path.is_file():
            raise ValueError(f"{run.path} holds no run (no {path.name})")
    cfg = load_config(run.config)
    # the rules the variant really ran with (growth-only: pruning off, ...)
    spm = config_to_dict(variant_spm(cfg.variant, cfg.spm))
    events, windows = _events(run)
    try:
        history = build_history(read_snapshots(run.topology), events)
    except ValueError as err:
        raise ValueError(f"{run.path}: {err}") from None
    prune_candidates = _prune_candidates(run)
    # the run's layout: viz.run_layout gives its PNG frames and GIF the same one
    layout = layered_layout(history.nodes, history.edges, grace=cfg.frame_every)
    notes: list[str] = []
    snapshots = _snapshots_data(history, notes)
    final = _final_data(run.graph, history, notes)
    ev_data, relay_windows = _events_data(events, windows, history, notes)
    return {
        "format": FORMAT,
        "version": VERSION,
        "run": {
            "name": run.path.resolve().name, "env_id": cfg.env_id, "variant": cfg.variant, "seed": cfg.seed,
            "steps": cfg.steps, "last_step": history.last_step, "frame_every": cfg.frame_every,
            "spm": {k: spm[k] for k in SPM_FIELDS},
        },
        "layout": {"n_layers": layout.n_layers, "grace": layout.grace},
        "nodes": _nodes_data(history, layout),
        "edges": _edges_data(history),
        "snapshots": snapshots,
        "events": ev_data,
        "relay_windows": relay_windows,
        "prune_candidates": None if prune_candidates is None
        else [[t, rows] for t, rows in sorted(prune_candidates.items())],
        "final": final,
        "metrics": _metrics(run),
        "notes": notes,
    }

"""The Gymnasium ladder: do grown sizes follow the capacity the distillation tasks need? (our study)

Reads ordinary run directories (``smgrnn-ref experiment`` grids: the study under Adam, our SGD
grids ``experiments/growth_gym_*.json``, the capacity probe ``experiments/growth_gym_probe.json``)
and writes, under ``--out``:

* ``growth_gym.csv``: one row per run (label, tag, env, variant, seed, late return, size, capped);
* ``rank_table.md``: per label, tag and variant (``full``, ``growth-only``), Spearman's rho
  between the env's rung and the final hidden nodes, with the stratified bootstrap interval
  (:func:`smgrnn_ref.report.spearman_interval`), and per env the late returns and the probe;
* ``ladder.png``; ``births.png`` and ``births.csv`` (every relay of the ``full`` runs: the loss
  slope before it and the loss change after it, from ``metrics.csv`` at the runs' ``log_every``,
  the window's ``|mu|/sigma`` and ``sigma^2/(lambda |mu|)`` when ``events.jsonl`` carries the
  parent edge's window, and the loss change after a matched quiet step of the same run).

The rung of an env is its position in ``--order`` (easiest first); the default is the order the
capacity probe measured (docs/growth.md). Example::

    python experiments/growth_gym.py --runs adam=runs/study --runs sgd=runs/growth/gym_sgd \\
        --probe runs/growth/gym_probe --out runs/growth/gym
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from smgrnn_ref.growth.births import birth_record, loss_change, loss_slope, matched_quiet_steps
from smgrnn_ref.growth.ladder import birth_figure, capacity_needed, ladder_figure, rank_table
from smgrnn_ref.report import FINISHED, find_runs, run_record
from smgrnn_ref.rundir import RunDir, read_events

#: Envs of the ladder, easiest first (our order; docs/growth.md says what it rests on).
ORDER = ("CartPole-v1", "LunarLander-v3", "Acrobot-v1", "LunarLanderContinuous-v3", "Pendulum-v1")


def rows_of(label: str, root: Path) -> list:
    out = []
    for d in find_runs(root):
        r = run_record(d, root)
        cfg = RunDir(d).read_config()
        out.append({"label": label, "tag": r["tag"], "env": r["env"], "variant": r["variant"], "seed": r["seed"],
                    "status": r["status"], "late_return": r["late_return"], "hidden_nodes": r["hidden_nodes"],
                    "params": r["params"], "lambda_edge": cfg["spm"]["lambda_edge"],
                    "optimizer": cfg.get("optimizer", cfg.get("adam", {})).get("name", "adam"),
                    "density": cfg["graph"]["density"], "mlp_hidden": tuple(cfg["mlp_hidden"]), "dir": str(d)})
    return out


def capacity(probe_rows: list) -> dict:
    """``{(env, seed): capacity needed}`` from the probe: late returns of the linear student
    (``static`` at density 1) and one-layer MLPs."""
    scores: dict = {}
    for r in probe_rows:
        if r["status"] != FINISHED:
            continue
        if r["variant"] == "static" and r["density"] == 1.0:
            w = 0
        elif r["variant"] == "mlp" and len(r["mlp_hidden"]) == 1:
            w = r["mlp_hidden"][0]
        else:
            continue
        scores.setdefault((r["env"], r["seed"]), {})[w] = r["late_return"]
    # a return gap under 1% of the best probe's |return| is no gap (our floor)
    return {k: capacity_needed(v, higher_is_better=True, floor=0.01 * max(abs(x) for x in v.values()))
            for k, v in scores.items() if 0 in v}


def births_of(row: dict) -> list:
    """The relay births of one run with the loss statistics from its ``metrics.csv``."""
    from smgrnn_ref.rundir import read_metrics

    d = Path(row["dir"])
    m = read_metrics(RunDir(d).metrics)
    steps, loss = np.asarray(m["step"], dtype=int), np.asarray(m["loss"], dtype=float)
    ok = np.isfinite(loss)
    steps, loss = steps[ok], loss[ok]
    if steps.size < 3:
        return []
    # the loss per step, piecewise constant over each logging interval (its mean)
    per_step = np.repeat(loss, np.diff(np.concatenate([[0], steps])))
    out, born = [], []
    for ev in read_events(RunDir(d).events):
        if ev.kind != "relay_inserted":
            continue
        window = getattr(ev, "window", None)
        rec = birth_record(ev, window, row["lambda_edge"]) if window else {"step": ev.step, "node": ev.node}
        rec.pop("window", None)
        rec["slope_before"] = loss_slope(per_step, ev.step)
        rec["change_after"] = loss_change(per_step, ev.step)
        out.append(rec)
        born.append(ev.step)
    for rec, q in zip(out, matched_quiet_steps(born, per_step.size)):
        rec["quiet_step"] = q
        rec["change_after_quiet"] = loss_change(per_step, q) if q is not None else float("nan")
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", action="append", required=True, metavar="LABEL=DIR", help="a grid's root (repeatable)")
    p.add_argument("--probe", type=Path, help="the capacity probe grid's root")
    p.add_argument("--order", nargs="+", default=list(ORDER))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in args.runs:
        label, _, root = item.partition("=")
        rows += rows_of(label, Path(root))
    cap = capacity(rows_of("probe", args.probe)) if args.probe else {}
    order = [e for e in args.order if any(r["env"] == e for r in rows)]
    for r in rows:
        r["capacity_needed"] = cap.get((r["env"], r["seed"]), "")
    cols = ["label", "tag", "env", "variant", "seed", "status", "late_return", "hidden_nodes", "params",
            "lambda_edge", "optimizer", "capacity_needed"]
    with (args.out / "growth_gym.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    done = [r for r in rows if r["status"] == FINISHED or (r["variant"] == "growth-only" and r["status"] != "unfinished")]
    grown = [r for r in done if r["variant"] in ("full", "growth-only") and r["env"] in order]
    table = rank_table(grown, rung="env", size="hidden_nodes", rung_order=order, by=("label", "tag", "variant"))
    lines = [f"Rungs (easiest first): {' < '.join(order)}", "",
             "| runs | tag | variant | rho [95% interval] | median hidden nodes by rung |", "| --- | --- | --- | --- | --- |"]
    for t in sorted(table, key=lambda t: (t["label"], t["tag"], t["variant"])):
        lines.append(f"| {t['label']} | {t['tag'] or '-'} | {t['variant']} | {t['rho']:.2f} [{t['low']:.2f}, {t['high']:.2f}] | "
                     f"{' / '.join(f'{m:g}' for m in t['median_size'])} |")
    lines += ["", "| runs | tag | env | variant | seeds | late return (mean ± std) | hidden nodes (median) | capacity needed (per seed) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key in sorted({(r["label"], r["tag"], r["env"], r["variant"]) for r in done}, key=str):
        rs = [r for r in done if (r["label"], r["tag"], r["env"], r["variant"]) == key]
        ret = np.array([r["late_return"] for r in rs], dtype=float)
        ret = ret[np.isfinite(ret)]
        caps = " ".join(str(cap[(key[2], s)]) for s in sorted(r["seed"] for r in rs) if (key[2], s) in cap)
        lines.append(f"| {key[0]} | {key[1] or '-'} | {key[2]} | {key[3]} | {len(rs)} | "
                     f"{ret.mean():.1f} ± {ret.std(ddof=1) if ret.size > 1 else 0:.1f} | "
                     f"{np.median([r['hidden_nodes'] for r in rs]):g} | {caps} |" if ret.size else
                     f"| {key[0]} | {key[1] or '-'} | {key[2]} | {key[3]} | {len(rs)} | - | - | {caps} |")
    (args.out / "rank_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    pos = {e: i for i, e in enumerate(order)}
    panels = []
    for key in sorted({(r["label"], r["tag"]) for r in grown}, key=str):
        series = {v: [(pos[r["env"]], r["hidden_nodes"]) for r in grown if (r["label"], r["tag"]) == key
                      and r["variant"] == v] for v in ("full", "growth-only")}
        panels.append((f"{key[0]} {key[1]}".strip(), series))
    if cap:
        panels.append(("capacity probe: width needed", {"mlp": [(pos[e], c) for (e, _), c in cap.items() if e in pos]}))
    if panels:
        ladder_figure(args.out / "ladder.png", panels, rung_labels=[e.split("-")[0] for e in order],
                      title="Gymnasium ladder: hidden nodes by task")
    groups = {}
    for r in done:
        if r["variant"] == "full":
            groups.setdefault(f"{r['label']} {r['tag']}".strip(), []).extend(
                dict(b, env=r["env"], seed=r["seed"]) for b in births_of(r))
    bcols = ["group", "env", "seed", "step", "node", "osc_ratio", "var_ratio", "slope_before", "change_after",
             "quiet_step", "change_after_quiet"]
    with (args.out / "births.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=bcols, extrasaction="ignore")
        w.writeheader()
        for g, bs in groups.items():
            w.writerows(dict(b, group=g) for b in bs)
    if any(groups.values()):
        birth_figure(args.out / "births.png", {g: b for g, b in groups.items() if b},
                     title="relay births, Gymnasium ladder (full)")
    print(json.dumps({g: len(b) for g, b in groups.items()}))


if __name__ == "__main__":
    main()

"""The teacher-width ladder: does SMGrNN grow more on a wider random teacher? (our study)

Rungs: random tanh teachers of hidden width 0 (linear), 2, 4, 8, 16, 32, 64 on 8-d Gaussian
inputs with 4 logits (:mod:`smgrnn_ref.growth.teachers`), distilled offline
(:mod:`smgrnn_ref.growth.offline`: fresh inputs every step, batch 64, 6,000 steps, KL loss, a
4,096-point test set). Per rung and seed (5 seeds):

* ``full`` and ``growth-only`` (capped at ``--max-params``) at every ``--lambda-edge``;
* ``static`` (the paper's initial graph, density 0.8, SPM off) and the fixed MLP (16-16);
* the capacity probe: the linear student (density 1, SPM off) and one-layer MLPs of widths
  ``PROBE_WIDTHS``, trained by the same loop; :func:`smgrnn_ref.growth.ladder.capacity_needed`.

Every run is one JSON file under ``--out`` (``<optimizer tag>/<lambda tag>/<variant>__w<width>__s<seed>.json``),
so the grid is resumable: run the same command again and only missing runs train. ``--report``
reads every file below ``--out`` and writes ``teachers.csv`` (one row per run), ``rungs.csv``,
``rank_table.csv`` / ``rank_table.md`` and the figures. Examples::

    nice -n 10 python experiments/growth_teachers.py --out runs/growth/teachers --optimizer adam --lr 0.003 \\
        --lambda-edge 0.3 1 3 10 --workers 1
    python experiments/growth_teachers.py --out runs/growth/teachers --report
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from smgrnn_ref.growth.ladder import birth_figure, capacity_needed, ladder_figure, rank_table, run_jobs
from smgrnn_ref.config import SPMConfig
from smgrnn_ref.growth.offline import offline_config_from_dict, run_offline

WIDTHS = (0, 2, 4, 8, 16, 32, 64)
SEEDS = (0, 1, 2, 3, 4)
#: Hidden widths of the capacity probe's one-layer MLPs (0 is the linear student).
PROBE_WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128)
#: growth-only's size cap offline (parameters), our choice (docs/growth.md): about 10x a grown `full` student.
MAX_PARAMS = 5_000
#: Relay births per `full` run that get a matched control fork.
CONTROLS = 3
#: The study's reference SPM: the paper's update window, the library's default when the ladders
#: were designed and run (the default is the gradient window since, docs/growth.md). Every run
#: gets it under ``--spm``, so the commands of docs/growth.md give the same runs as before.
STUDY_SPM = {"window_signal": "update"}
#: SPMConfig fields a run may set with ``--spm`` that name its setting (``spm`` column) when
#: they differ from these values (the reference's).
SPM_EXTRA = {**{f: getattr(SPMConfig, f) for f in ("init_weight_scale", "tau_w", "variance_test")}, **STUDY_SPM}
#: Figure labels of the SPM options (the ``spm`` column says them in full).
SHORT_SPM = {"variance_test=scale_free": "scale-free test", "window_signal=gradient": "gradient window"}

COLUMNS = ("tag", "optimizer", "lr", "momentum", "lambda_edge", "spm", "variant", "probe_width", "width", "seed",
           "hidden_nodes", "edges", "params", "test_loss", "train_loss_late", "capped", "steps_run", "births",
           "relay_inserted", "edge_added", "edge_pruned", "node_removed", "controls", "control_effect_mean",
           "wall_time")


def optimizer_dict(name: str, lr: float, momentum: float) -> dict:
    """The optimizer section of a config (``OptimizerConfig`` fields)."""
    from smgrnn_ref.config import OptimizerConfig  # noqa: F401  (exists once the numerics branch landed)

    d = {"name": name, "lr": lr}
    if name == "sgd":
        d["momentum"] = momentum
    return d


def optimizer_tag(opt: dict) -> str:
    tag = f"{opt['name']}_lr{opt['lr']:g}"
    return tag + (f"_m{opt['momentum']:g}" if opt.get("momentum") else "")


def jobs(args) -> list:
    """Every ``(path, config dict)`` of the grid the options describe."""
    opt = optimizer_dict(args.optimizer, args.lr, args.momentum)
    otag = optimizer_tag(opt)
    base = {"steps": args.steps, "optimizer": opt}
    extra = dict(kv.split("=", 1) for kv in args.spm or [])
    extra = {k: json.loads(v) for k, v in extra.items()}
    # a number as %g (lambda0.3_tau_w0.1), a name as it is (_variance_testscale_free)
    etag = "".join(f"_{k}{v}" if isinstance(v, str) else f"_{k}{v:g}" for k, v in sorted(extra.items()))
    out = []
    for w in args.widths:
        for s in args.seeds:
            name = f"w{w}__s{s}.json"
            for v in args.variants:
                if v in ("full", "growth-only"):
                    for lam in args.lambda_edge:
                        cfg = {**base, "width": w, "seed": s, "variant": v, "spm": {"lambda_edge": lam, **STUDY_SPM, **extra},
                               "max_params": args.max_params, "controls": args.controls if v == "full" else 0}
                        out.append((args.out / otag / f"lambda{lam:g}{etag}" / f"{v}__{name}", cfg))
                elif v == "static":
                    out.append((args.out / otag / "nospm" / f"static__{name}", {**base, "width": w, "seed": s,
                                                                                "variant": "static"}))
                elif v == "mlp":
                    out.append((args.out / otag / "nospm" / f"mlp__{name}", {**base, "width": w, "seed": s,
                                                                             "variant": "mlp"}))
                elif v == "probe":
                    out.append((args.out / otag / "nospm" / f"probe0__{name}",
                                {**base, "width": w, "seed": s, "variant": "static", "graph": {"density": 1.0}}))
                    for h in PROBE_WIDTHS:
                        out.append((args.out / otag / "nospm" / f"probe{h}__{name}",
                                    {**base, "width": w, "seed": s, "variant": "mlp", "mlp_hidden": [h]}))
    return out


def train_one(cfg: dict) -> dict:
    return run_offline(offline_config_from_dict(cfg))


def row_of(path: Path, root: Path, rec: dict) -> dict:
    cfg, fin = rec["config"], rec["final"]
    stem = path.stem.split("__")[0]
    opt = cfg["optimizer"]
    ctr = [c["effect"] for c in rec["controls"]]
    spm_extra = {k: v for k, v in cfg["spm"].items() if k in SPM_EXTRA and v != SPM_EXTRA[k]}
    return {
        "tag": path.parent.relative_to(root).as_posix(), "optimizer": opt.get("name", "adam"), "lr": opt["lr"],
        "momentum": opt.get("momentum", 0.0),
        "lambda_edge": cfg["spm"]["lambda_edge"] if stem in ("full", "growth-only") else "",
        "spm": " ".join(f"{k}={v}" for k, v in sorted(spm_extra.items())),
        "variant": "probe" if stem.startswith("probe") else stem,
        "probe_width": int(stem[5:]) if stem.startswith("probe") else "",
        "width": cfg["width"], "seed": cfg["seed"], **{k: fin[k] for k in ("hidden_nodes", "edges", "params")},
        "test_loss": fin["test_loss"], "train_loss_late": fin["train_loss_late"], "capped": fin["capped"],
        "steps_run": fin["steps_run"], "births": len(rec["births"]),
        **{k: rec["events"].get(k, 0) for k in ("relay_inserted", "edge_added", "edge_pruned", "node_removed")},
        "controls": len(ctr), "control_effect_mean": float(np.mean(ctr)) if ctr else "",
        "wall_time": fin["wall_time"],
    }


def read_all(root: Path):
    rows, births = [], {}
    for p in sorted(root.glob("*/*/*.json")):  # <optimizer>/<lambda or nospm>/<run>.json, not calibration.json
        rec = json.loads(p.read_text())
        row = row_of(p, root, rec)
        rows.append(row)
        if row["variant"] == "full":
            key = (row["optimizer"], row["lr"], row["lambda_edge"], row["spm"])
            ctr = {c["step"]: c for c in rec["controls"]}
            births.setdefault(key, []).extend(
                dict(b, width=row["width"], seed=row["seed"], control=ctr.get(b["step"])) for b in rec["births"])
    return rows, births


#: A birth counts as "still learning" when the loss fell by more than 1% over the window
#: before it (``slope_before < STILL_LEARNING``), and its variance test as "close" when
#: ``sigma^2 / (lambda_edge |mu|) < VAR_CLOSE`` (within a factor 10 of failing): **our choices**.
STILL_LEARNING, VAR_CLOSE = -0.01, 10.0

#: Columns of ``births.csv`` (one row per relay of a ``full`` run; the windows stay in the runs).
BIRTH_COLUMNS = ("optimizer", "lr", "lambda_edge", "spm", "width", "seed", "step", "node", "mu", "sigma2", "osc_ratio",
                 "var_ratio", "slope_before", "change_after", "removed_at", "control_effect", "control_relative")


def birth_rows(births: dict) -> list:
    """One flat row per birth; ``control_relative`` = effect / the loss without the relay."""
    out = []
    for (opt, lr, lam, spm), bs in sorted(births.items(), key=str):
        for b in bs:
            c = b.get("control")
            out.append({"optimizer": opt, "lr": lr, "lambda_edge": lam, "spm": spm,
                        **{k: b.get(k, "") for k in BIRTH_COLUMNS[4:-2]},
                        "control_effect": c["effect"] if c else "",
                        "control_relative": c["effect"] / c["without_relay"] if c and c["without_relay"] > 0 else ""})
    return out


def birth_summary(rows: list) -> list:
    """Per setting and rung: how many births, the medians of their statistics, and how often
    the variance test was close (:data:`VAR_CLOSE`), the loss still falling (:data:`STILL_LEARNING`) or a control helped."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["optimizer"], r["lr"], r["lambda_edge"], r["spm"], r["width"]), []).append(r)
    out = []
    for (opt, lr, lam, spm, w), rs in sorted(groups.items()):
        col = lambda k: np.array([float(r[k]) for r in rs if r[k] != ""], dtype=float)  # noqa: E731
        osc, var, slope, after, rel = (col(k) for k in ("osc_ratio", "var_ratio", "slope_before", "change_after",
                                                         "control_relative"))
        med = lambda v: float(np.nanmedian(v)) if np.isfinite(v).any() else ""  # noqa: E731
        out.append({"optimizer": opt, "lr": lr, "lambda_edge": lam, "spm": spm, "width": w, "births": len(rs),
                    "runs": len({r["seed"] for r in rs}), "osc_ratio_median": med(osc), "var_ratio_median": med(var),
                    "var_test_close_share": float(np.mean(var < VAR_CLOSE)) if var.size else "",
                    "slope_before_median": med(slope), "still_learning_share": float(np.mean(slope[np.isfinite(slope)] < STILL_LEARNING))
                    if np.isfinite(slope).any() else "", "change_after_median": med(after),
                    "controls": rel.size, "control_relative_median": med(rel),
                    "control_helped_share": float(np.mean(rel < 0)) if rel.size else ""})
    return out


def capacity_rows(rows) -> dict:
    """``{(optimizer tag, width, seed): (capacity needed, linear loss, best probe loss)}``."""
    probes: dict = {}
    for r in rows:
        if r["variant"] == "probe":
            probes.setdefault((r["tag"].split("/")[0], r["width"], r["seed"]), {})[r["probe_width"]] = r["test_loss"]
    return {k: (capacity_needed(v), v[0], min(v.values())) for k, v in probes.items() if 0 in v}


def write_csv(path: Path, rows: list, columns) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def report(root: Path) -> None:
    rows, births = read_all(root)
    if not rows:
        sys.exit(f"no runs below {root}")
    cap = capacity_rows(rows)
    static = {(r["tag"].split("/")[0], r["width"], r["seed"]): r["test_loss"] for r in rows if r["variant"] == "static"}
    for r in rows:
        key = (r["tag"].split("/")[0], r["width"], r["seed"])
        r["capacity_needed"] = cap.get(key, ("",))[0]
        r["static_loss"] = static.get(key, "")
    write_csv(root / "teachers.csv", rows, COLUMNS + ("capacity_needed", "static_loss"))
    grown = [r for r in rows if r["variant"] in ("full", "growth-only")]
    table = rank_table(grown, rung="width", size="hidden_nodes", by=("optimizer", "lr", "lambda_edge", "spm", "variant"))
    nonlinear = [r for r in grown if r["width"] >= 2]
    table2 = rank_table(nonlinear, rung="width", size="hidden_nodes",
                        by=("optimizer", "lr", "lambda_edge", "spm", "variant"))
    for t, scope in ((table, "all rungs"), (table2, "rungs >= 2")):
        for rec in t:
            rec["scope"] = scope
    cols = ("scope", "optimizer", "lr", "lambda_edge", "spm", "variant", "rungs", "runs", "rho", "low", "high",
            "median_size")
    write_csv(root / "rank_table.csv", table + table2, cols)
    lines = ["| rungs | optimizer | lr | lambda_edge | spm | variant | rho [95% interval] | median hidden nodes by rung |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for rec in sorted(table + table2, key=lambda r: (r["scope"], r["optimizer"], str(r["lambda_edge"]), r["spm"],
                                                      r["variant"])):
        lines.append(f"| {rec['scope']} | {rec['optimizer']} | {rec['lr']:g} | {rec['lambda_edge']:g} | {rec['spm'] or '-'} | "
                     f"{rec['variant']} | {rec['rho']:.2f} [{rec['low']:.2f}, {rec['high']:.2f}] | "
                     f"{' / '.join(f'{m:g}' for m in rec['median_size'])} |")
    (root / "rank_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    rungs_summary(root, rows)
    brows = birth_rows(births)
    if brows:
        write_csv(root / "births.csv", brows, BIRTH_COLUMNS)
        summary = birth_summary(brows)
        write_csv(root / "births_summary.csv", summary, list(summary[0]))
    figures(root, rows, births)


def rungs_summary(root: Path, rows: list) -> None:
    """Per (tag, variant, probe width, rung): medians over seeds of size and losses."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["tag"], r["variant"], r["probe_width"], r["width"]), []).append(r)
    out = []
    for (tag, v, pw, w), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]), kv[0][3])):
        med = lambda k: float(np.median([float(r[k]) for r in rs]))  # noqa: E731
        caps = [r["capacity_needed"] for r in rs if r["capacity_needed"] != ""]
        out.append({"tag": tag, "variant": v, "probe_width": pw, "width": w, "seeds": len(rs),
                    "hidden_nodes_median": med("hidden_nodes"), "params_median": med("params"),
                    "test_loss_median": med("test_loss"), "static_loss_median": med("static_loss") if all(
                        r["static_loss"] != "" for r in rs) else "",
                    "capacity_needed_median": float(np.median(caps)) if caps else "",
                    "capped": sum(bool(r["capped"]) for r in rs)})
    write_csv(root / "rungs.csv", out, list(out[0]))


def figures(root: Path, rows: list, births: dict) -> None:
    labels = [str(w) for w in WIDTHS]
    pos = {w: i for i, w in enumerate(WIDTHS)}
    for opt in sorted({r["optimizer"] for r in rows}):
        settings = sorted({(r["lr"], r["lambda_edge"], r["spm"]) for r in rows
                           if r["optimizer"] == opt and r["variant"] == "full"}, key=lambda s: (s[0], s[1], s[2]))
        panels = []
        for lr, lam, spm in settings:
            series = {}
            for v in ("full", "growth-only"):
                series[v] = [(pos[r["width"]], r["hidden_nodes"]) for r in rows if r["optimizer"] == opt
                             and r["variant"] == v and r["lr"] == lr and r["lambda_edge"] == lam and r["spm"] == spm
                             and r["width"] in pos]
            panels.append((f"{opt} lr {lr:g}, lambda {lam:g}" + (f"\n{SHORT_SPM.get(spm, spm)}" if spm else ""), series))
        cap = [(pos[r["width"]], r["capacity_needed"]) for r in rows if r["optimizer"] == opt and r["variant"] == "static"
               and r["capacity_needed"] != "" and r["width"] in pos]
        if cap:  # a grid without the probe draws no empty panel
            panels.append(("capacity probe: width needed", {"mlp": cap}))
        if panels:
            ladder_figure(root / f"ladder_{opt}.png", panels, rung_labels=labels,
                          title=f"teacher-width ladder, {opt}: hidden nodes by teacher width")
        groups = {f"{o} lambda {lam:g} {SHORT_SPM.get(spm, spm)}".strip(): b for (o, _lr, lam, spm), b in sorted(births.items(), key=str)
                  if o == opt and b}
        if groups:
            birth_figure(root / f"births_{opt}.png", groups, title=f"relay births, {opt} (teacher-width ladder, full)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report", action="store_true", help="only aggregate the runs below --out")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--lambda-edge", type=float, nargs="+", default=[3.0])
    p.add_argument("--spm", action="append", metavar="FIELD=VALUE", help="another SPMConfig field (repeatable)")
    p.add_argument("--variants", nargs="+", default=["full", "growth-only", "static", "mlp", "probe"],
                   choices=["full", "growth-only", "static", "mlp", "probe"])
    p.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--max-params", type=int, default=MAX_PARAMS)
    p.add_argument("--controls", type=int, default=CONTROLS)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    if not args.report:
        n = run_jobs(jobs(args), train_one, workers=args.workers, progress=lambda m: print(m, flush=True))
        print(f"{n} runs trained")
    report(args.out)


if __name__ == "__main__":
    main()

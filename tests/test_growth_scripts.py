"""experiments/growth_teachers.py and growth_calibrate.py on tiny grids (seconds)."""

import csv
import json

import pytest

from conftest import load_experiment


def test_teacher_grid_is_resumable_and_reported(tmp_path):
    teachers = load_experiment("growth_teachers")
    argv = ["--out", str(tmp_path), "--optimizer", "sgd", "--lr", "0.1", "--lambda-edge", "3", "--widths", "0", "2",
            "--seeds", "0", "1", "--steps", "700", "--variants", "full", "static", "mlp", "--controls", "0"]
    teachers.main(argv)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    # 2 widths x 2 seeds x 3 variants, under <optimizer>/<lambda or nospm>/
    assert len(files) == 12
    assert "sgd_lr0.1/lambda3/full__w2__s1.json" in files and "sgd_lr0.1/nospm/mlp__w0__s0.json" in files
    stamp = (tmp_path / files[0]).stat().st_mtime_ns
    teachers.main(argv)  # nothing left to train: the files are not rewritten
    assert (tmp_path / files[0]).stat().st_mtime_ns == stamp
    with (tmp_path / "teachers.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and {r["variant"] for r in rows} == {"full", "static", "mlp"}
    mlp = [r for r in rows if r["variant"] == "mlp"]
    assert all(int(r["hidden_nodes"]) == 32 for r in mlp)  # the 16-16 MLP
    assert {r["scope"] for r in csv.DictReader((tmp_path / "rank_table.csv").open())} == {"all rungs", "rungs >= 2"}
    n_births = sum(len(json.loads(p.read_text())["births"]) for p in tmp_path.rglob("full__*.json"))
    assert n_births > 0  # SGD at lambda_edge 3 grows (and prunes) within 700 steps
    births = list(csv.DictReader((tmp_path / "births.csv").open()))
    assert len(births) == n_births
    recs = [b for p in sorted(tmp_path.rglob("full__*.json")) for b in json.loads(p.read_text())["births"]]
    removed = sorted(str(b["removed_at"]) for b in recs if "removed_at" in b)
    assert removed and sorted(b["removed_at"] for b in births if b["removed_at"]) == removed


def test_ship_writes_small_files_from_a_grid(tmp_path, monkeypatch):
    teachers, ship = load_experiment("growth_teachers"), load_experiment("growth_ship")
    held = tmp_path / "held"
    teachers.main(["--out", str(held), "--optimizer", "sgd", "--lr", "0.1", "--lambda-edge", "3", "--widths", "0", "2",
                   "--seeds", "0", "1", "--steps", "300", "--variants", "full", "static", "--controls", "1"])
    (held / "calibration.json").write_text(json.dumps({"lr": 0.1, "lambda_edge": 3.0}))
    monkeypatch.setattr(ship, "WINDOW_WIDTH", 2)
    monkeypatch.setattr(ship, "WINDOW_SEED", 1)
    monkeypatch.setattr(ship, "WINDOW_SETTINGS", (("sgd", 3.0),))
    ship.main(["--held", str(held), "--cal", str(held), "--dest", str(tmp_path / "docs")])
    res = tmp_path / "docs" / "results" / "growth"
    (win,) = json.loads((res / "windows.json").read_text())
    run = json.loads((held / "sgd_lr0.1" / "lambda3" / "full__w2__s1.json").read_text())
    assert win["birth_steps"] == [b["step"] for b in run["births"]] and 0 < len(win["windows"]) <= ship.WINDOWS
    shown = win["windows"][0]
    (src,) = [b for b in run["births"] if b["step"] == shown["step"] and "window" in b][:1]
    assert shown["window"] == src["window"]
    sample = list(csv.DictReader((res / "births_sample.csv").open()))
    assert len(sample) == min(ship.SAMPLE, len(list(csv.DictReader((held / "births.csv").open()))))
    assert (tmp_path / "docs" / "img" / "growth_windows.png").read_bytes()[:4] == b"\x89PNG"


def test_birth_summary_by_hand():
    teachers = load_experiment("growth_teachers")
    rows = [{"optimizer": "sgd", "lr": 0.1, "lambda_edge": 1.0, "spm": "", "width": 2, "seed": s, "osc_ratio": o,
             "var_ratio": v,
             "slope_before": sl, "change_after": ca, "control_relative": cr}
            for s, o, v, sl, ca, cr in ((0, 0.1, 5.0, -0.2, -0.1, -0.5), (0, 0.3, 50.0, 0.0, 0.1, ""),
                                        (1, 0.2, 500.0, -0.005, 0.2, 0.25))]
    (rec,) = teachers.birth_summary(rows)
    assert rec["births"] == 3 and rec["runs"] == 2
    assert rec["osc_ratio_median"] == 0.2 and rec["var_ratio_median"] == 50.0
    assert rec["var_test_close_share"] == 1 / 3  # only 5 < 10
    assert rec["still_learning_share"] == 1 / 3  # only -0.2 < -0.01
    assert rec["controls"] == 2 and rec["control_relative_median"] == -0.125 and rec["control_helped_share"] == 0.5
    # the same births under another test of the same lambda are another setting
    other = [dict(r, spm="variance_test=scale_free") for r in rows[:1]]
    recs = teachers.birth_summary(rows + other)
    assert [(r["spm"], r["births"]) for r in recs] == [("", 3), ("variance_test=scale_free", 1)]


def write_csv(path, rows):
    cols = ["optimizer", "lr", "momentum", "spm", "variant", "lambda_edge", "seed", "test_loss", "hidden_nodes"]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({"momentum": 0.0, "spm": "", "lambda_edge": "", **r})


def test_calibration_applies_the_rules_and_ignores_held_out_seeds(tmp_path):
    cal = load_experiment("growth_calibrate")
    rows = []
    for s in range(5):
        rows += [{"optimizer": "sgd", "lr": 0.1, "variant": "mlp", "seed": s, "test_loss": 0.04, "hidden_nodes": 32},
                 {"optimizer": "sgd", "lr": 0.3, "variant": "mlp", "seed": s, "test_loss": 0.01, "hidden_nodes": 32},
                 {"optimizer": "sgd", "lr": 0.3, "variant": "full", "lambda_edge": 0.1, "seed": s, "test_loss": 0.02,
                  "hidden_nodes": 4},
                 {"optimizer": "sgd", "lr": 0.3, "variant": "full", "lambda_edge": 0.01, "seed": s, "test_loss": 0.0105,
                  "hidden_nodes": 9},
                 {"optimizer": "sgd", "lr": 0.3, "variant": "full", "lambda_edge": 0.001, "seed": s, "test_loss": 0.01,
                  "hidden_nodes": 30}]
    # a held-out seed that would win everything if it were read
    rows.append({"optimizer": "sgd", "lr": 1.0, "variant": "mlp", "seed": 7, "test_loss": 1e-6, "hidden_nodes": 32})
    write_csv(tmp_path / "teachers.csv", rows)
    cal.main(["--runs", str(tmp_path)])
    res = json.loads((tmp_path / "calibration.json").read_text())
    # lr: 0.01 < 0.04; lambda: 0.001 best (0.01), 0.01 within 10% (0.0105) with fewer nodes, 0.1 twice as bad
    assert res["lr"] == 0.3 and res["lambda_edge"] == 0.01
    assert "1.0" not in res["lr_candidates"] and res["lr_candidates"]["0.3"]["runs"] == 5


def test_calibration_of_an_spm_option_chooses_lambda_alone_among_its_own_runs(tmp_path):
    cal = load_experiment("growth_calibrate")
    opt = {"optimizer": "adam", "lr": 0.003, "variant": "full", "spm": "variance_test=scale_free"}
    rows = []
    for s in range(5):
        rows += [dict(opt, lambda_edge=10.0, seed=s, test_loss=0.010, hidden_nodes=50),
                 dict(opt, lambda_edge=100.0, seed=s, test_loss=0.0108, hidden_nodes=20),
                 dict(opt, lambda_edge=1000.0, seed=s, test_loss=0.02, hidden_nodes=2),
                 # the paper's test at the same lambda: another setting, not read
                 dict(opt, spm="", lambda_edge=1000.0, seed=s, test_loss=0.001, hidden_nodes=1)]
    write_csv(tmp_path / "teachers.csv", rows)
    cal.main(["--runs", str(tmp_path), "--optimizer", "adam", "--lr", "0.003", "--spm", "variance_test=scale_free"])
    res = json.loads((tmp_path / "calibration_adam_variance_test-scale_free.json").read_text())
    # 100 is within 10% of 10's 0.010 (0.0108) with fewer nodes; 1000 is twice as bad
    assert res["lambda_edge"] == 100.0 and res["lr"] == 0.003 and "lr_candidates" not in res
    assert res["lambda_candidates"]["1000.0"]["geometric_mean_test_kl"] == pytest.approx(0.02)


def test_calibration_without_runs_fails_clearly(tmp_path):
    cal = load_experiment("growth_calibrate")
    with pytest.raises(SystemExit, match="growth_calibrate: error"):
        cal.main(["--runs", str(tmp_path)])


def _grid(path, rows, rank, name=None):
    path.mkdir(parents=True, exist_ok=True)
    for fname, data in (("teachers.csv", rows), ("rank_table.csv", rank)):
        with (path / fname).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)


def test_the_options_decision_by_hand(tmp_path):
    opts = load_experiment("growth_options")
    sf = "variance_test=scale_free"
    run = lambda spm, lam, w, loss: {"optimizer": "adam", "lr": 0.003, "lambda_edge": lam, "spm": spm,  # noqa: E731
                                     "variant": "full", "width": w, "seed": 5, "test_loss": loss}
    rank = lambda spm, lam, scope, low: {"scope": scope, "optimizer": "adam", "lr": 0.003, "lambda_edge": lam,  # noqa: E731
                                         "spm": spm, "variant": "full", "rho": 0.5, "low": low, "high": 0.9,
                                         "median_size": "[1.0]", "runs": 2}
    # the default (the paper's test at lambda 3): nonlinear KLs 0.01 and 0.04, geometric mean 0.02;
    # its linear rung (1e-8) is outside the decision's scope
    _grid(tmp_path / "held", [run("", 3.0, 0, 1e-8), run("", 3.0, 2, 0.01), run("", 3.0, 4, 0.04)],
          [rank("", 3.0, "rungs >= 2", -0.1)])
    # the option at two values: 1000 tracks (low 0.2) with KLs 0.02, 0.0238 (gmean sqrt(4.76e-4) =
    # 0.02182, 1.09 times the default's: no worse); 100 does not track
    _grid(tmp_path / "sf_held", [run(sf, 1000.0, 2, 0.02), run(sf, 1000.0, 4, 0.0238), run(sf, 100.0, 2, 0.001)],
          [rank(sf, 1000.0, "rungs >= 2", 0.2), rank(sf, 1000.0, "all rungs", 0.3), rank(sf, 100.0, "rungs >= 2", -0.2)])
    (tmp_path / "sf_cal").mkdir()
    (tmp_path / "sf_cal" / "calibration_adam_variance_test-scale_free.json").write_text(json.dumps(
        {"optimizer": "adam", "lr": 0.003, "spm": sf, "lambda_edge": 1000.0,
         "lambda_candidates": {"100.0": {"runs": 35, "geometric_mean_test_kl": 0.5, "median_hidden_nodes": 9.0},
                               "1000.0": {"runs": 35, "geometric_mean_test_kl": 0.4, "median_hidden_nodes": 3.0}}}))
    out, img = tmp_path / "out", tmp_path / "img"
    img.mkdir()
    opts.main(["--cal", str(tmp_path / "sf_cal"), "--held", str(tmp_path / "sf_held"), "--baseline",
               str(tmp_path / "held"), "--out", str(out), "--img", str(img)])
    text = (out / "decision.md").read_text()
    assert "2 runs, geometric mean test KL 0.02." in text
    (line,) = [x for x in text.splitlines() if x.startswith("| adam | 0.003 | 1000 |")]
    assert line.split(" | ")[5:9] == ["yes", "1.09", "yes", "yes |"]
    held = list(csv.DictReader((out / "held.csv").open()))
    assert {(float(h["lambda_edge"]), h["rho_all"] != "") for h in held} == {(1000.0, True), (100.0, False)}
    assert [r["chosen"] for r in csv.DictReader((out / "calibration.csv").open())] == ["False", "True"]

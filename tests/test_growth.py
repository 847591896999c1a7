"""The growth study's tools: teachers, the offline loop, birth statistics, the rank statistic.

Expected values are computed independently: by hand, by scipy, by the reference SPM rule, or by
a Monte Carlo truth for the coverage check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from smgrnn_ref.config import AdamConfig, GraphConfig, SPMConfig
from smgrnn_ref.growth.births import birth_record, loss_change, loss_slope, matched_quiet_steps
from smgrnn_ref.growth.ladder import capacity_needed, choose_lambda, choose_lr, geometric_mean, rank_table
from smgrnn_ref.growth.offline import OfflineConfig, offline_config_from_dict, offline_config_to_dict, run_offline
from smgrnn_ref.growth.teachers import TeacherSpec, make_teacher
from smgrnn_ref.report import average_ranks, spearman_interval
from smgrnn_ref.spm import is_unstable


# --- teachers -------------------------------------------------------------------------------------


def test_linear_teacher_is_linear_and_normalised():
    t = make_teacher(0, seed=3)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    assert np.allclose(t(2.0 * a - 3.0 * b), 2.0 * t(a) - 3.0 * t(b))
    # logits of std 2 on fresh inputs too (the reference sample fixes the scale to ~1%)
    assert abs(t(rng.normal(size=(50_000, 8))).std() - 2.0) < 0.05


def test_tanh_teacher_by_hand_and_seeding():
    t = make_teacher(3, seed=1, n_inputs=2, n_outputs=1)
    x = np.array([[0.5, -1.0]])
    # z = s sum_k W2[k] tanh(sum_i x_i W1[i, k] + b1[k]), term by term
    by_hand = t.scale * sum(t.W2[k, 0] * math.tanh(0.5 * t.W1[0, k] - 1.0 * t.W1[1, k] + t.b1[k]) for k in range(3))
    assert t(x)[0, 0] == pytest.approx(by_hand, rel=1e-12)
    assert not np.array_equal(make_teacher(3, seed=2, n_inputs=2, n_outputs=1).W1, t.W1)
    assert not np.array_equal(make_teacher(4, seed=1, n_inputs=2, n_outputs=1).W1[:, :3], t.W1)


@pytest.mark.parametrize("bad", [{"width": -1}, {"width": 2, "gain": 0.0}, {"width": 2, "n_inputs": 0}])
def test_teacher_spec_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="TeacherSpec"):
        TeacherSpec(**bad)


# --- the offline loop -----------------------------------------------------------------------------


def test_offline_config_round_trip_and_errors():
    cfg = OfflineConfig(width=4, seed=2, variant="mlp", mlp_hidden=(3,), spm=SPMConfig(lambda_edge=0.5))
    assert offline_config_from_dict(offline_config_to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="variant"):
        OfflineConfig(width=2, variant="huge")
    with pytest.raises(ValueError, match="unknown field"):
        offline_config_from_dict({"width": 2, "widht": 3})


def test_dense_linear_student_fits_a_linear_teacher():
    # a linear teacher and a dense linear student with MSE: the test loss goes to ~0
    dense = run_offline(OfflineConfig(width=0, seed=0, variant="static", steps=1000, loss="mse",
                                      graph=GraphConfig(density=1.0), optimizer=AdamConfig(lr=0.03),
                                      test_size=256, eval_every=1000))
    assert dense["final"]["test_loss"] < 1e-4
    assert dense["final"]["hidden_nodes"] == 0 and dense["events"] == {}


def test_births_are_recorded_with_windows_the_reference_rule_calls_unstable():
    cfg = OfflineConfig(width=8, seed=0, steps=1500, eval_every=500, test_size=256)
    r = run_offline(cfg)
    assert len(r["births"]) == r["events"].get("relay_inserted", 0) > 0
    for b in r["births"][:20]:
        assert is_unstable(b["window"], cfg.spm.lambda_edge, cfg.spm.T)
        assert b["osc_ratio"] < 0.5 and b["var_ratio"] > 1.0


def test_reference_and_fast_engines_give_the_same_births():
    cfg = OfflineConfig(width=4, seed=1, steps=250, eval_every=125, test_size=128, engine="fast",
                        spm=SPMConfig(T=20, s=10))
    a, b = run_offline(cfg), run_offline(cfg.replace(engine="reference"))
    assert [x["step"] for x in a["births"]] == [x["step"] for x in b["births"]]
    assert a["births"] and a["final"]["params"] == b["final"]["params"]
    assert a["final"]["test_loss"] == pytest.approx(b["final"]["test_loss"], rel=1e-9)


def test_a_dead_relay_has_no_effect_in_its_control():
    # relay weights of 0: tanh(0) = 0 and both weights' gradients are 0 (the saddle), so the
    # relay stays dead and the two arms of the control train identically
    cfg = OfflineConfig(width=8, seed=0, steps=1200, controls=2, control_steps=100, test_size=256,
                        spm=SPMConfig(init_weight_scale=0.0, enable_random_growth=False))
    r = run_offline(cfg)
    assert r["controls"], "no controlled birth"
    for c in r["controls"]:
        assert abs(c["effect"]) < 1e-12


def test_growth_only_stops_at_its_cap():
    r = run_offline(OfflineConfig(width=8, seed=0, variant="growth-only", steps=6000, max_params=60,
                                  spm=SPMConfig(lambda_edge=0.3), test_size=64))
    assert r["final"]["capped"] and r["final"]["params"] > 60
    assert r["final"]["steps_run"] < 6000


# --- birth statistics -----------------------------------------------------------------------------


def test_loss_slope_and_change_by_hand():
    L = np.array([4.0, 3.0, 2.0, 1.0, 1.0, 1.0])
    # steps 1..4: slope -1 per step, span 4 -> -4 over a mean of 2.5
    assert loss_slope(L, t=4, span=4) == pytest.approx(-4.0 / 2.5)
    assert math.isnan(loss_slope(L, t=3, span=4))
    # mean of steps 1..2 = 3.5, of steps 3..4 = 1.5 (after = 2)
    assert loss_change(L, t=2, after=2, span=2) == pytest.approx((1.5 - 3.5) / 3.5)
    assert math.isnan(loss_change(L, t=5, after=2, span=2))


def test_birth_record_margins_by_hand():
    from smgrnn_ref.events import RelayInserted

    w = [0.002, -0.002, 0.002, -0.001]  # mu 2.5e-4, sigma^2 = 3.1875e-6
    r = birth_record(RelayInserted(step=3, edge=(0, 9), node=12, weights=(0.0, 0.0)), w, lambda_edge=3.0)
    assert r["mu"] == pytest.approx(2.5e-4)
    assert r["sigma2"] == pytest.approx(3.1875e-6)
    assert r["osc_ratio"] == pytest.approx(2.5e-4 / math.sqrt(3.1875e-6))
    assert r["var_ratio"] == pytest.approx(3.1875e-6 / (3.0 * 2.5e-4))


def test_matched_quiet_steps_avoid_births():
    births = [150, 400, 410]
    got = matched_quiet_steps(births, 1000, quiet=20, lo=100, hi=900)
    for b, q in zip(births, got):
        assert all(abs(q - x) > 20 for x in births)
    assert got == [129, 379, 431]  # ties go to the earlier step (150: 129 and 171)


# --- the capacity probe ---------------------------------------------------------------------------


def test_capacity_needed_by_hand():
    # best 0.01, gap 0.5 - 0.01 = 0.49: bar 0.01 + 0.049 = 0.059 -> width 8 (0.05) qualifies, 4 does not
    assert capacity_needed({0: 0.5, 2: 0.3, 4: 0.1, 8: 0.05, 16: 0.01}) == 8
    assert capacity_needed({0: 0.002, 4: 0.0015}, floor=1e-3) == 0
    assert capacity_needed({0: 0.5, 4: 0.96, 8: 0.97}, higher_is_better=True) == 4
    with pytest.raises(ValueError, match="width 0"):
        capacity_needed({2: 0.1})


def test_calibration_rules_by_hand():
    # geometric mean of 0.001, 0.1 = sqrt(1e-4) = 0.01
    assert math.isclose(geometric_mean([0.001, 0.1]), 0.01)
    with pytest.raises(ValueError, match="positive"):
        geometric_mean([0.1, 0.0])
    # floored: -1e-19 and 1e-12 both read as 1e-12; sqrt(1e-12 * 1e-4) = 1e-8
    assert math.isclose(geometric_mean([-1e-19, 1e-4], floor=1e-12), 1e-8)
    assert choose_lambda({1.0: [1e-4, -1e-19], 10.0: [1e-4, 1e-12]}, {1.0: [5], 10.0: [5]}) == 10.0
    # lr: gms 0.04, 0.0205 (0.02 * 1.025 is within 5% of 0.02), 0.02, inf -> tied 0.3 and 1.0: the smaller
    assert choose_lr({0.1: [0.04], 0.3: [0.0205], 1.0: [0.02], 3.0: [float("inf")]}) == 0.3
    assert choose_lr({0.1: [0.04], 0.3: [0.022], 1.0: [0.02]}) == 1.0  # 10% worse: no tie
    with pytest.raises(ValueError, match="diverged"):
        choose_lr({0.1: [float("nan")]})
    # lambda: best gm 0.01 (at 0.001); acceptable up to 0.011: 0.001, 0.01 (0.0109), not 0.1 (0.02)
    losses = {0.001: [0.01], 0.01: [0.0109], 0.1: [0.02]}
    assert choose_lambda(losses, {0.001: [50, 60], 0.01: [20, 30], 0.1: [2, 3]}) == 0.01
    # equal medians (25 and 25): the larger lambda
    assert choose_lambda(losses, {0.001: [20, 30], 0.01: [25], 0.1: [2]}) == 0.01
    assert choose_lambda(losses, {0.001: [10], 0.01: [25], 0.1: [2]}) == 0.001


# --- the rank statistic ---------------------------------------------------------------------------


def test_average_ranks_by_hand():
    assert average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert average_ranks([[1.0, 1.0], [2.0, 1.0]]).tolist() == [[1.5, 1.5], [2.0, 1.0]]


def test_spearman_by_hand_and_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rungs, sizes = [0, 0, 1, 1, 2, 2], [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
    # midranks of the rungs 1.5 1.5 3.5 3.5 5.5 5.5; sizes ranked 1 3 2 5 4 6:
    # sum dx dy = 12, sum dx^2 = 16, sum dy^2 = 17.5  ->  12 / sqrt(280)
    rho, _, _ = spearman_interval(rungs, sizes, np.random.default_rng(0), n_boot=10)
    assert rho == pytest.approx(12.0 / math.sqrt(280.0), rel=1e-12)
    rng = np.random.default_rng(5)
    x = np.repeat(np.arange(7), 5)
    y = rng.poisson(3.0 + x, size=x.size).astype(float)  # ties in both
    assert spearman_interval(x, y, rng, n_boot=10)[0] == pytest.approx(scipy_stats.spearmanr(x, y)[0], rel=1e-12)


def test_spearman_interval_matches_the_exact_bootstrap_distribution():
    # 2 rungs x 2 runs: each rung's resample is tied with probability 1/2, so rho* is 1 (both
    # tied, p 1/4), 4/sqrt(18) (one tied, p 1/2) or 0.8944 (neither, p 1/4): the 2.5% and 97.5%
    # quantiles are 0.8944 and 1
    rho, low, high = spearman_interval([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0], np.random.default_rng(1), n_boot=4000)
    assert rho == pytest.approx(2.0 / math.sqrt(5.0))
    assert low == pytest.approx(2.0 / math.sqrt(5.0)) and high == pytest.approx(1.0)


def test_spearman_flat_sizes_and_bad_input():
    rho, low, high = spearman_interval([0, 0, 1, 1], [2.0, 2.0, 2.0, 2.0], np.random.default_rng(0), n_boot=50)
    assert math.isnan(rho) and low == high == 0.0
    with pytest.raises(ValueError, match="two rungs"):
        spearman_interval([0, 0, 1], [1.0, 2.0, 3.0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="same length"):
        spearman_interval([0, 0, 1, 1], [1.0, 2.0], np.random.default_rng(0))


def test_spearman_interval_coverage():
    # 7 rungs x 5 seeds, size = a * rung + N(0, 1): the interval must cover the population rank
    # correlation (a Monte Carlo truth from 20,000 runs per rung) about 95% of the time; the
    # percentile bootstrap with 5 runs per rung covers a little less (we measured 0.92-0.95)
    x = np.repeat(np.arange(7), 5)
    big = np.repeat(np.arange(7), 20_000)
    truth_rng = np.random.default_rng(123)
    a = 0.3
    yb = big * a + truth_rng.normal(size=big.size)
    rb = np.argsort(np.argsort(yb)).astype(float)  # no ties among normals: ordinary ranks
    rx = np.repeat(np.arange(7) * 20_000 + 10_000.5, 20_000)  # midranks of the rungs
    truth = float(np.corrcoef(rx, rb)[0, 1])
    hits, n = 0, 200
    for i in range(n):
        rng = np.random.default_rng(1000 + i)
        y = x * a + rng.normal(size=x.size)
        _, low, high = spearman_interval(x, y, rng, n_boot=1000)
        hits += low <= truth <= high
    assert 0.88 <= hits / n <= 0.99


def test_rank_table_groups_and_named_rungs():
    rows = [{"v": v, "task": t, "size": s} for v in ("a", "b") for t, s in
            (("easy", 1), ("easy", 2), ("hard", 5), ("hard", 9))]
    rows[-1]["size"] = rows[-2]["size"] = 0  # group b: hard is smaller
    table = {r["v"]: r for r in rank_table(rows, rung="task", size="size", by=("v",), rung_order=["easy", "hard"],
                                           n_boot=200)}
    assert table["a"]["rho"] > 0 > table["b"]["rho"]
    assert table["a"]["median_size"] == [1.5, 7.0]


def test_relay_fates_follow_the_events():
    from smgrnn_ref.events import EdgePruned, NodeRemoved
    from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph
    from smgrnn_ref.growth.births import final_fates, track_fate

    by_node = {5: {"edge": [0, 2]}, 6: {"edge": [1, 2]}}
    track_fate(by_node, EdgePruned(step=30, edge=(0, 5), weight=0.004))
    track_fate(by_node, EdgePruned(step=60, edge=(5, 2), weight=-0.002))  # the first one is kept
    track_fate(by_node, NodeRemoved(step=60, node=5, edges=((5, 2),)))
    G = empty_graph(2, 1)
    G.graph["next_id"] = 6
    r = add_hidden_node(G)
    add_edge(G, 1, r, 0.25)
    final_fates(by_node, G)
    assert by_node[5] == {"edge": [0, 2], "pruned_weight": 0.004, "pruned_edge": [0, 5], "removed_at": 60}
    assert by_node[6]["final_weights"] == [0.25, None]


def test_offline_births_record_what_became_of_each_relay():
    r = run_offline(OfflineConfig(width=8, seed=0, steps=1500, eval_every=500, test_size=128))
    removed = [b for b in r["births"] if "removed_at" in b]
    kept = [b for b in r["births"] if "final_weights" in b]
    assert len(removed) + len(kept) == len(r["births"])
    assert len(kept) == r["final"]["hidden_nodes"]  # every hidden node of `full` is a relay
    assert all(b["removed_at"] > b["step"] for b in removed)

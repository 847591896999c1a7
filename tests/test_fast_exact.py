"""The fast engine's arithmetic, exactly: its two kernels give the same bits, its batch sums are
numpy's, and the order of its reverse pass is what makes it equal to the reference engine.

(tests/test_fast.py compares each kernel with the reference engine; these tests compare the
pieces and check that those comparisons can fail.)
"""

import numpy as np
import pytest

from smgrnn_ref import spm as S
from smgrnn_ref.config import OptimizerConfig, SPMConfig
from smgrnn_ref.evaluate import compile_plan
from smgrnn_ref.fast import FastEngine, available_kernels
from smgrnn_ref.graph import add_edge, initial_graph
from smgrnn_ref.losses import loss_and_grad
from smgrnn_ref.params import get_params

from test_fast import random_graph, same_bits

needs_numba = pytest.mark.skipif("numba" not in available_kernels(), reason="numba is not installed")


@needs_numba
def test_the_compiled_batch_sum_is_numpys_sum_on_every_length():
    from smgrnn_ref.fast.kernel_numba import compiled_batch_dot

    dot = compiled_batch_dot()
    rng = np.random.default_rng(0)
    for n in list(range(1, 1001)) + [1024, 2047, 4099]:
        # magnitudes spread over many binades, so that every change of order shows
        P = rng.normal(size=(2, n)) * np.exp(rng.normal(size=(2, n)) * 6)
        Q = rng.normal(size=(3, n))
        for i, k in ((0, 0), (1, 2)):
            assert same_bits(dot(P[i], Q[k]), np.sum(P[i] * Q[k])), n


def grown_graph(seed, n_edges, cycles=False):
    """A graph grown as the SPM grows them: relays on random edges and random new edges."""
    rng = np.random.default_rng(seed)
    G = initial_graph(4, 3, rng=rng, T=10)
    cfg = SPMConfig(T=10, init_weight_scale=0.5)
    relay = True
    while G.number_of_edges() < n_edges:
        if relay:
            edges = sorted(G.edges)
            S.insert_relay(G, edges[rng.integers(len(edges))], rng, cfg, t=0)
        else:
            pair = S.sample_new_edge(G, rng, allow_cycles=cycles)
            if pair is not None:
                add_edge(G, *pair, rng.uniform(-0.5, 0.5))
        relay = not relay
    for n in G:
        if G.nodes[n]["kind"] != "input":
            G.nodes[n]["bias"] = float(rng.normal(scale=0.3))
    return G


@needs_numba
@pytest.mark.parametrize("cycles", [False, True])
@pytest.mark.parametrize("optimizer", [OptimizerConfig(lr=0.01), OptimizerConfig(name="sgd", lr=0.02, momentum=0.5)])
def test_both_kernels_give_the_same_bits(cycles, optimizer):
    G = grown_graph(1, 600, cycles=cycles)
    spm = SPMConfig(T=10)
    a, b = (FastEngine(G.copy(), optimizer=optimizer, spm=spm, kernel=k) for k in ("numba", "numpy"))
    assert a.layout.any_cyclic == cycles
    rng = np.random.default_rng(2)
    for batch in (1, 7, 64, 300):  # 300: numpy's pairwise summation splits the batch
        X = rng.normal(size=(batch, 4))
        assert same_bits(a.forward(X), b.forward(X))
        target = rng.normal(size=(batch, 3))
        la, ga = a.loss_and_grad(X, target)
        lb, gb = b.loss_and_grad(X, target)
        assert same_bits(la, lb) and same_bits(ga, gb)
    for _ in range(20):
        X, target = rng.normal(size=(32, 4)), rng.normal(size=(32, 3))
        assert same_bits(a.train_step(X, target), b.train_step(X, target))
    assert same_bits(a.state.theta, b.state.theta) and same_bits(a.state.updates, b.state.updates)


@pytest.mark.parametrize("batch", [1, 200])
def test_large_and_single_batches_match_the_reference(batch):
    rng = np.random.default_rng(3)
    G = random_graph(rng, cyclic=True, n_hidden=8, extra_edges=20)
    plan = compile_plan(G)
    X, target = rng.normal(size=(batch, 3)), rng.normal(size=(batch, 2))
    ref_loss, ref_grad = loss_and_grad(get_params(G, list(plan.keys)), plan, X, target, "kl")
    for kernel in available_kernels():
        loss, grad = FastEngine(G, spm=SPMConfig(), kernel=kernel).loss_and_grad(X, target)
        assert same_bits(loss, ref_loss) and same_bits(grad, ref_grad), kernel


def _gradients_differ_with(monkeypatch, reorder) -> int:
    """How many of 12 random graphs get a gradient other than the reference's when the reverse
    pass's order is replaced by ``reorder(contributions, uses)``."""
    import smgrnn_ref.fast.tape as tape

    original = tape.reverse_order

    def reordered(*args):
        return reorder(*original(*args))

    monkeypatch.setattr(tape, "reverse_order", reordered)
    differ = 0
    for seed in range(6):
        for cyclic in (False, True):
            rng = np.random.default_rng(seed)
            G = random_graph(rng, cyclic=cyclic, n_hidden=8, extra_edges=25)
            plan = compile_plan(G)
            X, target = rng.normal(size=(37, 3)), rng.normal(size=(37, 2))
            _, ref = loss_and_grad(get_params(G, list(plan.keys)), plan, X, target, "kl")
            _, got = FastEngine(G, spm=SPMConfig(), kernel="numpy").loss_and_grad(X, target)
            differ += not same_bits(got, ref)
    return differ


def test_the_reverse_pass_order_is_what_makes_the_gradients_exact(monkeypatch):
    def same(con, use):
        return con, use

    def consumers_ascending(con, use):  # pull each dL/da from its consumers by row instead
        t, s, p = con
        o = np.lexsort((s, t))
        return (t[o], s[o], p[o]), use

    def uses_by_row(con, use):  # sum a cyclic block's parameter uses by row instead
        p, d, s = use
        o = np.lexsort((d, p))
        return con, (p[o], d[o], s[o])

    assert _gradients_differ_with(monkeypatch, same) == 0
    assert _gradients_differ_with(monkeypatch, consumers_ascending) >= 10
    assert _gradients_differ_with(monkeypatch, uses_by_row) >= 2  # only cyclic graphs reuse a parameter


def test_windows_longer_than_the_vectorised_bound_are_judged_by_the_reference_rule():
    from smgrnn_ref.fast.decisions import VECTORISED_MAX_T, prune_candidate_columns, unstable_columns
    from smgrnn_ref.spm import is_prune_candidate, is_unstable

    rng = np.random.default_rng(4)
    T = VECTORISED_MAX_T + 1
    U = rng.normal(size=(T, 6)) * 1e-3 + np.array([0.0, 1e-5, 1e-3, -2e-4, 0.0, 5e-4])
    count, ptr, w = np.array([T, T, T, T, 3, T]), 17, np.full(6, 0.01)
    windows = [list(U[(ptr - T + np.arange(T)) % T, k]) for k in range(6)]
    expected_u = [k for k in range(6) if count[k] == T and is_unstable(windows[k], 1e-4, T)]
    expected_p = [k for k in range(6) if count[k] == T and is_prune_candidate(0.01, windows[k], 0.05, 3e-4, T)]
    assert unstable_columns(U, count, ptr, 1e-4).tolist() == expected_u
    expected_s = [k for k in range(6) if count[k] == T and is_unstable(windows[k], 8.0, T, "scale_free")]
    assert unstable_columns(U, count, ptr, 8.0, "scale_free").tolist() == expected_s
    assert expected_s and len(expected_s) < 5
    assert prune_candidate_columns(U, count, ptr, w, 0.05, 3e-4).tolist() == expected_p
    assert expected_u and expected_p and len(expected_p) < 5  # both rules said yes and no


@needs_numba
@pytest.mark.parametrize("loss", ["kl", "mse"])
def test_the_compiled_loss_is_the_numpy_loss_bit_for_bit(loss):
    from smgrnn_ref.fast.loss import loss_and_logit_grad

    rng = np.random.default_rng(5)
    for trial in range(200):
        n, B = int(rng.integers(1, 6)), int(rng.integers(1, 300))
        scale = (1.0, 10.0, 300.0, 1e3)[trial % 4]  # 300 and 1,000: exp underflows to 0
        O, T = rng.normal(size=(n, B)) * scale, rng.normal(size=(B, n)) * scale
        if trial % 7 == 0:
            T[:, 0] = T[:, -1]  # ties for the maximum
        if trial % 11 == 0:
            O = T.T.copy()  # identical distributions: KL exactly 0
        v1, g1 = loss_and_logit_grad(loss, O, T, compiled=True)
        v2, g2 = loss_and_logit_grad(loss, O, T, compiled=False)
        assert same_bits(v1, v2) and same_bits(g1, g2), (trial, n, B)

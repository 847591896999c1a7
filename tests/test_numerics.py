"""Machine-independent arithmetic (smgrnn_ref.numerics): accuracy against an independent
reference (x87 extended precision, ``numpy.longdouble``, or exact rationals), special values,
derivatives against finite differences, and the compiled twin bit for bit."""

import math
from fractions import Fraction

import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads

from smgrnn_ref import numerics as N

RNG = np.random.default_rng(20261201)

HAS_LONGDOUBLE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant


def ulp_error(got, ref_long):
    """``|got - ref| / ulp(ref)`` with ``ref`` in extended precision."""
    ref64 = ref_long.astype(np.float64)
    ulp = np.spacing(np.abs(ref64)).astype(np.longdouble)
    return (np.abs(got.astype(np.longdouble) - ref_long) / ulp).astype(np.float64)


SAMPLES = {
    "tanh": np.concatenate([RNG.normal(size=100_000) * 3, RNG.normal(size=20_000) * 1e-4,
                            RNG.uniform(-25, 25, 20_000), np.logspace(-300, 1.4, 2_000)]),
    "exp": np.concatenate([RNG.normal(size=100_000) * 5, RNG.uniform(-745, 709.7, 50_000),
                           RNG.normal(size=5_000) * 1e-9]),
    "log": np.concatenate([np.abs(RNG.normal(size=100_000)) * 5, np.exp(RNG.uniform(-700, 700, 50_000)),
                           1 + RNG.normal(size=5_000) * 1e-6]),
}


@pytest.mark.skipif(not HAS_LONGDOUBLE, reason="numpy.longdouble is plain double on this platform")
@pytest.mark.parametrize("name, max_ulp", [("tanh", 3.0), ("exp", 1.0), ("log", 1.0)])
def test_accuracy_against_extended_precision(name, max_ulp):
    x = SAMPLES[name]
    got = getattr(N, name)(x)
    ref = getattr(np, name)(x.astype(np.longdouble))
    assert float(ulp_error(got, ref).max()) <= max_ulp


def test_special_values():
    z = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 25.0, -25.0])
    t = N.tanh(z)
    assert t[:2].tolist() == [0.0, 0.0] and math.copysign(1, t[0]) == 1 and math.copysign(1, t[1]) == -1
    assert t[2:4].tolist() == [1.0, -1.0] and np.isnan(t[4])
    assert t[5] == 5e-324 and t[6:].tolist() == [1.0, -1.0]  # tanh z = z below an ulp of z^3/3
    e = N.exp(np.array([0.0, -np.inf, np.inf, np.nan, 710.0, -746.0, 1.0]))
    assert e[:3].tolist() == [1.0, 0.0, np.inf] and np.isnan(e[3])
    assert e[4] == np.inf and e[5] == 0.0
    assert abs(e[6] - math.e) <= math.ulp(math.e)  # fdlibm's exp(1) is one ulp above e
    lg = N.log(np.array([1.0, 0.0, -1.0, np.inf, np.nan, 2.0, 5e-324]))
    assert lg[0] == 0.0 and lg[1] == -np.inf and np.isnan(lg[2]) and lg[3] == np.inf and np.isnan(lg[4])
    assert lg[5] == 0.6931471805599453  # ln 2 rounded to double
    assert abs(lg[6] - (-1074 * math.log(2))) < 1e-12  # the smallest subnormal is 2^-1074


def test_no_warnings_on_special_values():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = N.tanh(np.array([np.nan, np.inf, -np.inf]))
        e = N.exp(np.array([np.nan, np.inf, -np.inf]))
        lg = N.log(np.array([np.nan, np.inf, 0.0, -1.0]))
    # and the IEEE values: tanh(+-inf) = +-1, exp(inf) = inf, exp(-inf) = 0, log(0) = -inf,
    # log of a negative number nan, nan in -> nan out
    assert np.isnan(t[0]) and t[1] == 1.0 and t[2] == -1.0
    assert np.isnan(e[0]) and e[1] == np.inf and e[2] == 0.0
    assert np.isnan(lg[0]) and lg[1] == np.inf and lg[2] == -np.inf and np.isnan(lg[3])


@pytest.mark.parametrize("f", [N.tanh, N.exp])
def test_derivatives_against_finite_differences(f):
    x = RNG.normal(size=7)
    check_grads(lambda v: f(v), modes=["rev"], order=1)(x)


def test_log_derivative_against_finite_differences():
    check_grads(lambda v: N.log(v), modes=["rev"], order=1)(np.abs(RNG.normal(size=7)) + 0.1)


def test_tanh_derivative_is_one_minus_tanh_squared():
    assert grad(lambda v: N.tanh(v))(0.3) == 1.0 - float(N.tanh(0.3)) ** 2


def test_scalar_twin_bit_for_bit():
    x = np.concatenate([SAMPLES["tanh"][:20_000], [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-320, 20.0, 40.0]])
    vec = N.tanh(x)
    scalar = np.array([N.tanh_scalar(float(v)) for v in x])
    assert np.array_equal(vec.view(np.int64), scalar.view(np.int64))


def test_compiled_twin_bit_for_bit():
    numba = pytest.importorskip("numba")
    f = numba.njit(N.tanh_scalar)

    @numba.njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    x = np.concatenate([SAMPLES["tanh"], [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-320, 20.0, 40.0]])
    out = np.empty_like(x)
    apply(x, out)
    assert np.array_equal(out.view(np.int64), N.tanh(x).view(np.int64))


@pytest.mark.parametrize("base", [0.9, 0.99, 0.999, 0.5, 0.9999])
def test_power_is_correctly_rounded(base):
    for n in list(range(60)) + [100, 1000, 4321, 10**5]:
        exact = Fraction(base) ** n
        got = N.power(base, n)
        assert abs(Fraction(got) - exact) <= Fraction(math.ulp(float(exact))) / 2, (base, n)


def test_power_rejects_bad_exponents():
    for n in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n must be an integer"):
            N.power(0.9, n)


def test_matmul_sums_in_index_order():
    X, W = RNG.normal(size=(5, 7)), RNG.normal(size=(7, 3))
    got = N.matmul(X, W)
    # the same sum by hand, left to right over k
    expected = np.zeros((5, 3))
    for i in range(5):
        for j in range(3):
            s = 0.0
            for k in range(7):
                s = s + X[i, k] * W[k, j]
            expected[i, j] = s
    assert np.array_equal(got, expected)
    assert np.allclose(got, X @ W, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="do not fit"):
        N.matmul(X, W.T)


def test_matmul_is_the_running_sum_bit_for_bit_including_zero_signs():
    X = RNG.normal(size=(40, 9)) * np.exp(RNG.normal(size=(40, 9)) * 5)
    X[3] = -0.0  # a row of negative zeros: every product is -0 or +0, the sum +0
    W = RNG.normal(size=(9, 5))
    expected = np.zeros((40, 5))
    for k in range(9):
        expected = expected + X[:, k:k + 1] * W[k]
    got = N.matmul(X, W)
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    # both ways of running the sum (one accumulation, one k at a time) give the same bits
    import smgrnn_ref.numerics as numerics

    for threshold in (0, 10**9):
        old, numerics.MATMUL_ACCUMULATE_MAX = numerics.MATMUL_ACCUMULATE_MAX, threshold
        try:
            assert np.array_equal(N.matmul(X, W).view(np.int64), expected.view(np.int64)), threshold
        finally:
            numerics.MATMUL_ACCUMULATE_MAX = old
    assert N.matmul(np.zeros((2, 0)), np.zeros((0, 3))).tolist() == [[0.0] * 3] * 2


EXP_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 709.78, -745.13, 1e-300, -1e-300,
               N.EXP_OVERFLOW, N.EXP_UNDERFLOW, 708.5, -708.5, -740.0]
LOG_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.0, -1.0, 2.2250738585072014e-308,
               np.sqrt(0.5), np.nextafter(np.sqrt(0.5), 0), 1.7976931348623157e308]


@pytest.mark.parametrize("name, special", [("exp", EXP_SPECIAL), ("log", LOG_SPECIAL)])
def test_exp_and_log_scalar_twins_bit_for_bit(name, special):
    x = np.concatenate([SAMPLES[name][:20_000], special])
    vec = getattr(N, name)(x)
    twin = getattr(N, f"{name}_scalar")
    assert np.array_equal(vec.view(np.int64), np.array([twin(float(v)) for v in x]).view(np.int64))
    numba = pytest.importorskip("numba")
    f = numba.njit(twin)

    @numba.njit
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    x = np.concatenate([SAMPLES[name], special])
    out = np.empty_like(x)
    apply(x, out)
    assert np.array_equal(out.view(np.int64), getattr(N, name)(x).view(np.int64))


def test_the_compiled_twins_give_the_numpy_codes_bits(monkeypatch):
    # with numba installed, tanh / exp / log / matmul run compiled loops; the numpy code is the
    # definition: the same bits on every sample, special values, shapes and layouts
    pytest.importorskip("numba")
    cases = {"tanh": np.concatenate([SAMPLES["tanh"], [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-320, 40.0]]),
             "exp": np.concatenate([SAMPLES["exp"], EXP_SPECIAL]),
             "log": np.concatenate([SAMPLES["log"], LOG_SPECIAL])}
    X, W = RNG.normal(size=(33, 17)) * np.exp(RNG.normal(size=(33, 17)) * 4), RNG.normal(size=(17, 5))
    inputs = {name: [x, x[:600].reshape(20, 30).T, np.float64(x[3]), x[:0]] for name, x in cases.items()}
    got = {name: [getattr(N, name)(v) for v in vs] for name, vs in inputs.items()}
    got_mm = [N.matmul(X, W), N.matmul(X[:, ::2], W[::2]), N.matmul(X[:1], W)]
    monkeypatch.setattr(N, "USE_COMPILED", False)
    for name, vs in inputs.items():
        for v, g in zip(vs, got[name]):
            expected = getattr(N, name)(v)
            assert np.shape(g) == np.shape(expected) and np.array_equal(np.asarray(g).view(np.int64),
                                                                          np.asarray(expected).view(np.int64)), name
    for g, e in zip(got_mm, [N.matmul(X, W), N.matmul(X[:, ::2], W[::2]), N.matmul(X[:1], W)]):
        assert np.array_equal(g.view(np.int64), e.view(np.int64))

"""Machine-independent arithmetic: ``tanh``, ``exp``, ``log``, powers and products built from
IEEE-754 basic operations only.

Why this module exists
----------------------
The Structural Plasticity Module takes discrete decisions (insert a relay, prune an edge) from
the last bits of floating-point numbers, so a difference of one unit in the last place (ulp)
anywhere in a run grows into a different graph within a few hundred steps. Several numpy and
C-library functions give different last bits on different machines of the same architecture:

* numpy's ``tanh``, ``exp``, ``log`` and ``power`` pick an implementation by the CPU's vector
  extensions at import time (``NPY_DISABLE_CPU_FEATURES`` shows it on one machine);
* the C library's ``exp``, ``log``, ``pow``, ``sin``, ``cos`` and ``tanh`` (glibc) have separate
  versions for CPUs with and without fused multiply-add (``GLIBC_TUNABLES=glibc.cpu.hwcaps=...``);
* BLAS (``@``, ``np.dot``, ``np.matmul``) picks a kernel per CPU family, and each kernel sums in
  its own order (``OPENBLAS_CORETYPE``).

Addition, subtraction, multiplication, division and square root are *correctly rounded* by
IEEE-754: every conforming machine returns the same bits for the same operands, whatever its
vector width. So the functions below use only those operations (plus exact ones: ``abs``,
comparisons, ``floor``, ``trunc``, scaling by powers of two, ``frexp``), in a fixed order, and
return the same bits on every machine. They are ``autograd`` primitives (with their
derivatives beside them), so the reference engine differentiates through them, and
:mod:`smgrnn_ref.fast` runs the same operations in its compiled kernel (scalar twins below, tested
bit for bit against these).

Where it is used: the hidden activation of both engines (:data:`smgrnn_ref.graph.ACTIVATIONS`,
:mod:`smgrnn_ref.fast`'s kernels), the losses' ``exp`` and ``log`` (:mod:`smgrnn_ref.losses`),
Adam's bias corrections ``1 - beta^t`` (:mod:`smgrnn_ref.optim`, the fast engine's tables) and
the expert's forward pass (:mod:`smgrnn_ref.experts`: ``tanh``, ``matmul``, ``exp``). What is
still machine-dependent in a run (the environments' physics) is listed in
``docs/performance.md`` ("Machine independence").

Accuracy: within a few ulp of the correctly rounded value (measured in
``tests/test_numerics.py``); the algorithms are the classic ones of fdlibm (Sun Microsystems,
1993), simplified where a branch only served speed.

Examples
--------
>>> import numpy as np
>>> float(tanh(0.5)), float(log(np.e))
(0.46211715726000974, 1.0)
>>> float(exp(1.0))  # fdlibm's exp (as Java's StrictMath.exp): one ulp above e's double
2.7182818284590455
>>> matmul(np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]]))
array([[11.]])
>>> power(0.5, 3)
0.125
"""

from __future__ import annotations

import math

import numpy as np
from autograd.extend import defvjp, primitive

# --- constants (fdlibm) -----------------------------------------------------------------------

#: ``ln 2`` split so that ``k * LN2_HI`` is exact for ``|k| < 2**11`` (Cody & Waite reduction).
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
#: ``1 / ln 2``.
INV_LN2 = 1.44269504088896338700e00
#: Coefficients of fdlibm's ``exp`` remainder polynomial (``e_exp.c``).
EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
         -1.65339022054652515390e-06, 4.13813679705723846039e-08)
#: Above this ``exp`` overflows to ``inf``; below ``EXP_UNDERFLOW`` it is 0.
EXP_OVERFLOW, EXP_UNDERFLOW = 7.09782712893383973096e02, -7.45133219101941108420e02
#: Coefficients of fdlibm's ``log`` polynomial in ``s^2`` (``e_log.c``).
LOG_LG = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
          2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
          1.479819860511658591e-01)
#: Taylor coefficients ``1/k!`` (k = 1..13) of ``expm1`` on the reduced range of :func:`tanh`.
EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(1, 14))
#: ``tanh`` is exactly ``+-1`` in double precision beyond this ``|z|``; clamping there keeps
#: the reduction in range.
TANH_SATURATION = 20.0


# --- tanh ---------------------------------------------------------------------------------------


def _tanh(z):
    """``tanh`` on arrays (see :func:`tanh`)."""
    z = np.asarray(z, dtype=np.float64)
    nan = np.isnan(z)
    # y = 2|z|, clamped where tanh is already +-1 (a NaN is computed as 0, then put back)
    y = np.minimum(2.0 * np.abs(np.where(nan, 0.0, z)), 2.0 * TANH_SATURATION)
    # y = k ln2 + r with |r| <= ln(2)/2: k = round(y / ln 2)
    k = np.floor(y * INV_LN2 + 0.5)
    # x = -r, in two pieces so the product k ln2 loses nothing
    x = (k * LN2_HI - y) + k * LN2_LO
    # q = expm1(x) / x as a Taylor polynomial in Horner form (degree 13)
    q = _horner(x, EXPM1_TAYLOR)
    # sc = 2^-k, exact
    sc = np.ldexp(1.0, -k.astype(np.int64))
    # m = exp(-2|z|) - 1 = 2^-k (1 + x q) - 1, without cancellation for small |z|
    m = sc * (x * q) + (sc - 1.0)
    # tanh |z| = -m / (2 + m), >= 0 (abs: m = +0 would give -0)
    r = np.abs(-m / (2.0 + m))
    # odd function, the sign of zero included; NaN stays NaN
    r = np.copysign(r, z)
    return np.where(nan, z, r)


def _horner(x, coeffs):
    """``c0 + x (c1 + x (c2 + ...))``, innermost first, the order the scalar twin uses."""
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = c + x * acc
    return acc


@primitive
def tanh(z):
    """Hyperbolic tangent, the same bits on every machine.

    ::

        tanh |z| = -m / (2 + m),   m = expm1(-2|z|) = 2^-k (1 + x q(x)) - 1,
        2|z| = k ln 2 - x,  |x| <= ln(2) / 2,   q = the Taylor series of expm1(x) / x

    Parameters
    ----------
    z : float or numpy.ndarray

    Returns
    -------
    numpy.ndarray
        float64, same shape; ``d tanh / dz = 1 - tanh^2`` for autograd.

    Examples
    --------
    >>> tanh(np.array([0.0, -0.0, 30.0, -np.inf]))
    array([ 0., -0.,  1., -1.])
    """
    return _elementwise("tanh", z, _tanh)


defvjp(tanh, lambda ans, z: lambda g: g * (1.0 - ans * ans))


def tanh_scalar(z: float) -> float:
    """:func:`tanh` of one float, written for ``numba.njit`` (the fast engine's compiled
    kernel): the same operations in the same order, so the same bits (tested).

    Branch-free (selects, ``numpy.floor`` and ``math.copysign``, which numba maps to LLVM
    intrinsics), so LLVM vectorises the loops that call it: ``2^-k`` is built from the bits of
    ``k`` by multiplying exact powers of two, which equals :func:`numpy.ldexp`'s exact result
    (``k <= 58`` after the clamp).

    Examples
    --------
    >>> tanh_scalar(0.5) == float(tanh(0.5)), tanh_scalar(-0.0)
    (True, -0.0)
    """
    zz = 0.0 if z != z else z
    y = min(2.0 * abs(zz), 2.0 * TANH_SATURATION)
    k = np.floor(y * INV_LN2 + 0.5)
    x = (k * LN2_HI - y) + k * LN2_LO
    q = _E13
    q = _E12 + x * q
    q = _E11 + x * q
    q = _E10 + x * q
    q = _E9 + x * q
    q = _E8 + x * q
    q = _E7 + x * q
    q = _E6 + x * q
    q = _E5 + x * q
    q = _E4 + x * q
    q = _E3 + x * q
    q = _E2 + x * q
    q = _E1 + x * q
    # 2^-k from the bits of k (32 + 16 + ... + 1 >= 58): exact products of powers of two
    take = k >= 32.0
    sc = 2.3283064365386963e-10 if take else 1.0
    k = k - (32.0 if take else 0.0)
    take = k >= 16.0
    sc = sc * (1.52587890625e-05 if take else 1.0)
    k = k - (16.0 if take else 0.0)
    take = k >= 8.0
    sc = sc * (0.00390625 if take else 1.0)
    k = k - (8.0 if take else 0.0)
    take = k >= 4.0
    sc = sc * (0.0625 if take else 1.0)
    k = k - (4.0 if take else 0.0)
    take = k >= 2.0
    sc = sc * (0.25 if take else 1.0)
    k = k - (2.0 if take else 0.0)
    sc = sc * (0.5 if k >= 1.0 else 1.0)
    m = sc * (x * q) + (sc - 1.0)
    r = abs(-m / (2.0 + m))
    r = math.copysign(r, z)
    return float(r) if z == z else float(z)


(_E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = EXPM1_TAYLOR


# --- exp ----------------------------------------------------------------------------------------


def _exp(x):
    """``exp`` on arrays (see :func:`exp`)."""
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(x)
    # out of range: computed at the bound, then replaced (as a NaN, computed as 0)
    xc = np.clip(np.where(nan, 0.0, x), EXP_UNDERFLOW, EXP_OVERFLOW)
    # k = x / ln 2 rounded half away from zero
    k = np.trunc(xc * INV_LN2 + np.copysign(0.5, xc))
    # hi - lo = x - k ln 2 = r,  |r| <= ln(2)/2
    hi = xc - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    # c = r - r^2 (P1 + r^2 (P2 + ...)): exp(r) = 1 + r + r c / (2 - c)
    t = r * r
    c = r - t * _horner(t, EXP_P)
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    # exp(x) = 2^k exp(r), the scaling exact
    out = np.ldexp(y, k.astype(np.int64))
    out = np.where(x > EXP_OVERFLOW, np.inf, out)
    out = np.where(x < EXP_UNDERFLOW, 0.0, out)
    return np.where(nan, x, out)


@primitive
def exp(x):
    """Exponential, the same bits on every machine (fdlibm's ``e_exp.c`` algorithm).

    ::

        x = k ln 2 + r,   exp(r) = 1 + r + r c / (2 - c),   c = r - r^2 P(r^2),
        exp(x) = 2^k exp(r)

    Parameters
    ----------
    x : float or numpy.ndarray

    Returns
    -------
    numpy.ndarray
        float64; ``d exp / dx = exp`` for autograd.

    Examples
    --------
    >>> exp(np.array([0.0, -1000.0, 1000.0]))
    array([ 1.,  0., inf])
    """
    return _elementwise("exp", x, _exp)


defvjp(exp, lambda ans, x: lambda g: g * ans)


def exp_scalar(x: float) -> float:
    """:func:`exp` of one float, written for ``numba.njit`` (the fast engine's compiled loss):
    the same operations in the same order, so the same bits (tested).

    Examples
    --------
    >>> exp_scalar(1.0) == float(exp(1.0)), exp_scalar(-1000.0), exp_scalar(1000.0)
    (True, 0.0, inf)
    """
    xx = 0.0 if x != x else x
    xc = min(max(xx, EXP_UNDERFLOW), EXP_OVERFLOW)
    k = np.trunc(xc * INV_LN2 + math.copysign(0.5, xc))
    hi = xc - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    p = _P5
    p = _P4 + t * p
    p = _P3 + t * p
    p = _P2 + t * p
    p = _P1 + t * p
    c = r - t * p
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    out = math.ldexp(y, int(k))
    out = math.inf if x > EXP_OVERFLOW else out
    out = 0.0 if x < EXP_UNDERFLOW else out
    return float(x) if x != x else float(out)


(_P1, _P2, _P3, _P4, _P5) = EXP_P


# --- log ----------------------------------------------------------------------------------------


def _log(x):
    """``log`` on arrays (see :func:`log`)."""
    x = np.asarray(x, dtype=np.float64)
    # x = 2^k f1, f1 in [sqrt(2)/2, sqrt(2)): frexp is exact
    regular = (x > 0.0) & (x < np.inf)
    m, k = np.frexp(np.where(regular, x, 1.0))
    small = m < (math.sqrt(2.0) / 2.0)
    m = np.where(small, 2.0 * m, m)
    k = (k - small).astype(np.float64)
    # f = f1 - 1, s = f / (2 + f):  log(1 + f) = 2 atanh(s) = f - s (f - R(s^2)) ...
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    lg = LOG_LG
    t1 = w * (lg[1] + w * (lg[3] + w * lg[5]))
    t2 = z * (lg[0] + w * (lg[2] + w * (lg[4] + w * lg[6])))
    R = t2 + t1
    hfsq = 0.5 * f * f
    # log x = k ln 2 + log(1 + f)
    out = k * LN2_HI - ((hfsq - (s * (hfsq + R) + k * LN2_LO)) - f)
    out = np.where(x == 0.0, -np.inf, out)
    out = np.where(x < 0.0, np.nan, out)
    out = np.where(x == np.inf, np.inf, out)
    return np.where(np.isnan(x), x, out)


@primitive
def log(x):
    """Natural logarithm, the same bits on every machine (fdlibm's ``e_log.c`` algorithm).

    ::

        x = 2^k (1 + f),  s = f / (2 + f),
        log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))),   log x = k ln 2 + log(1 + f)

    Parameters
    ----------
    x : float or numpy.ndarray

    Returns
    -------
    numpy.ndarray
        float64 (``-inf`` at 0, ``nan`` below); ``d log / dx = 1 / x`` for autograd.

    Examples
    --------
    >>> log(np.array([1.0, 0.0, 8.0])) / np.array([1.0, 1.0, log(2.0)])
    array([  0., -inf,   3.])
    """
    return _elementwise("log", x, _log)


defvjp(log, lambda ans, x: lambda g: g / x)


#: ``sqrt(2) / 2``: :func:`log` reduces ``x = 2^k m`` to ``m`` in ``[sqrt(2)/2, sqrt(2))``.
_SQRT_HALF = math.sqrt(2.0) / 2.0


def log_scalar(x: float) -> float:
    """:func:`log` of one float, written for ``numba.njit`` (the fast engine's compiled loss):
    the same operations in the same order, so the same bits (tested).

    Examples
    --------
    >>> log_scalar(8.0) == float(log(8.0)), log_scalar(0.0), log_scalar(-1.0) != log_scalar(-1.0)
    (True, -inf, True)
    """
    regular = (x > 0.0) and (x < math.inf)
    m, e = math.frexp(x if regular else 1.0)
    small = m < _SQRT_HALF
    m = 2.0 * m if small else m
    k = float(e - 1) if small else float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    out = k * LN2_HI - ((hfsq - (s * (hfsq + R) + k * LN2_LO)) - f)
    out = -math.inf if x == 0.0 else out
    out = math.nan if x < 0.0 else out
    out = math.inf if x == math.inf else out
    return float(x) if x != x else float(out)


(_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7) = LOG_LG


# --- powers and products ------------------------------------------------------------------------


#: Veltkamp's splitting constant ``2^27 + 1``: ``a = hi + lo`` with 26-bit halves, so products of
#: halves are exact.
_SPLIT = 134217729.0


def _two_product(a: float, b: float) -> tuple[float, float]:
    """``a b = p + e`` exactly (Dekker, 1971), from products of the halves of ``a`` and ``b``."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _dd_mul(x: tuple[float, float], y: tuple[float, float]) -> tuple[float, float]:
    """Product of two double-double numbers ``hi + lo`` (about 106 significant bits)."""
    p, e = _two_product(x[0], y[0])
    e += x[0] * y[1] + x[1] * y[0]
    s = p + e
    return s, e - (s - p)


def power(base: float, n: int) -> float:
    """``base ** n`` for an integer ``n >= 0``, the same bits on every machine.

    Python's ``**`` on floats calls the C library's ``pow``, whose last bit depends on the CPU.
    Here: square-and-multiply in double-double arithmetic (pairs ``hi + lo`` whose products
    are made exact by Dekker's two-product), then one rounding, so the result is within about
    one ulp of the exact power even for ``n`` in the millions (plain repeated squaring would
    lose ``~n`` ulps).

    Examples
    --------
    >>> power(0.9, 0), power(2.0, 10), power(0.5, 3)
    (1.0, 1024.0, 0.125)
    >>> abs(power(0.999, 1000) - 0.999 ** 1000) <= 1e-16
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"power: n must be an integer >= 0, got {n!r}")
    result, square, n = (1.0, 0.0), (float(base), 0.0), int(n)
    while n:
        if n & 1:
            result = _dd_mul(result, square)
        n >>= 1
        if n:
            square = _dd_mul(square, square)
    return result[0] + result[1]


#: :func:`matmul` forms all products at once and runs one accumulation when an output has at
#: most this many entries (few rows: a call per ``k`` would cost more than the arithmetic),
#: else it adds one ``k`` at a time. Both give the same bits (tested); measured crossover
#: about 400 entries.
MATMUL_ACCUMULATE_MAX = 256


def matmul(X, W) -> np.ndarray:
    """``X @ W`` summed in a fixed order: ``0 + sum_k X[:, k] W[k, :]`` for ``k = 0, 1, ...``
    (BLAS picks a kernel, and with it a summation order, per CPU).

    Small outputs take the running sum with one :func:`numpy.add.accumulate` along ``k`` (an
    accumulation is defined term by term, so its order is fixed); larger ones add the terms
    one ``k`` at a time. The two are the same operations in the same order.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, K)
    W : numpy.ndarray, shape (K, m)

    Returns
    -------
    numpy.ndarray, shape (n, m)

    Examples
    --------
    >>> matmul(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[1., 2.],
           [3., 4.]])
    """
    X, W = np.asarray(X, dtype=np.float64), np.asarray(W, dtype=np.float64)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"matmul: shapes {X.shape} and {W.shape} do not fit")
    n, K = X.shape
    out = np.zeros((n, W.shape[1]))
    if K == 0:
        return out
    compiled = _compiled_twins() if USE_COMPILED else False
    if compiled:
        compiled["matmul"](np.ascontiguousarray(X), np.ascontiguousarray(W), out)
        return out
    if out.size <= MATMUL_ACCUMULATE_MAX:
        # the products X[i, k] W[k, j] (k first), their running sum over k, its last entry;
        # 0 + ...: the sum starts from zero, as the loop below does
        products = X.T[:, :, None] * W[:, None, :]
        out[...] = np.add.accumulate(products, axis=0)[-1] + 0.0
        return out
    term = np.empty_like(out)
    for k in range(K):
        # out <- out + X[:, k] W[k, :]
        np.multiply(X[:, k:k + 1], W[k], out=term)
        out += term
    return out


# --- the same functions compiled (when numba is installed) ---------------------------------


def _tanh_loop(x, out):
    """``out[i] = tanh_scalar(x[i])`` (compiled by :func:`_compiled_twins`)."""
    for i in range(x.shape[0]):
        out[i] = _tanh_c(x[i])


def _exp_loop(x, out):
    """``out[i] = exp_scalar(x[i])``."""
    for i in range(x.shape[0]):
        out[i] = _exp_c(x[i])


def _log_loop(x, out):
    """``out[i] = log_scalar(x[i])``."""
    for i in range(x.shape[0]):
        out[i] = _log_c(x[i])


def _matmul_loop(X, W, out):
    """``out += X @ W`` as :func:`matmul` sums it: for each entry ``0 + X[i, 0] W[0, j] + ...``,
    ``k`` ascending (``out`` holds zeros on entry)."""
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            x = X[i, k]
            for j in range(W.shape[1]):
                out[i, j] += x * W[k, j]


#: The compiled twins, ``False`` without numba, ``None`` before the first call.
_COMPILED = None
_tanh_c = _exp_c = _log_c = None


def _compiled_twins():
    """``{"tanh", "exp", "log", "matmul"}`` compiled with ``numba.njit(cache=True)`` (no
    fast-math: the same operations in the same order, so the same bits as the numpy code;
    tested), or ``False`` when numba cannot be imported. numpy needs a few dozen calls for one
    ``tanh`` of a small array (the polynomial), a compiled loop one: the expert's forward pass at
    batch 1, for example, takes 5 us instead of 85 us."""
    global _COMPILED, _tanh_c, _exp_c, _log_c
    if _COMPILED is None:
        try:
            import numba
        except ImportError:
            _COMPILED = False
        else:
            opts = dict(cache=True, nogil=True, error_model="numpy")
            _tanh_c = numba.njit(inline="always", **opts)(tanh_scalar)
            _exp_c = numba.njit(inline="always", **opts)(exp_scalar)
            _log_c = numba.njit(inline="always", **opts)(log_scalar)
            _COMPILED = {"tanh": numba.njit(**opts)(_tanh_loop), "exp": numba.njit(**opts)(_exp_loop),
                         "log": numba.njit(**opts)(_log_loop), "matmul": numba.njit(**opts)(_matmul_loop)}
    return _COMPILED


#: Use the compiled twins when numba is installed (``False``: always numpy; for tests).
USE_COMPILED = True


def _elementwise(name: str, x, numpy_version):
    """``numpy_version(x)``, by its compiled twin when there is one (the same bits)."""
    compiled = _compiled_twins() if USE_COMPILED else False
    if not compiled:
        return numpy_version(x)
    x = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    compiled[name](flat, out)
    return out.reshape(x.shape)


__all__ = ["tanh", "exp", "log", "tanh_scalar", "exp_scalar", "log_scalar", "power", "matmul", "LN2_HI", "LN2_LO", "INV_LN2", "EXP_P", "LOG_LG",
           "EXPM1_TAYLOR", "TANH_SATURATION"]

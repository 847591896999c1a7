"""Two-dimensional toy datasets of TensorFlow Playground: ``gauss``, ``xor``, ``circle``, ``spiral``.

TensorFlow Playground (playground.tensorflow.org) is the best-known picture of "a network that
needs more capacity": a linear model separates two Gaussian blobs but fails on xor, a circle
inside a ring, or two interleaved spirals. :func:`make_playground` draws the same distributions
as the Playground's classification generators, re-implemented here in numpy from their
definitions in the Playground's source, file ``src/dataset.ts`` of the GitHub repository
``tensorflow/playground`` (Apache-2.0; functions ``classifyTwoGaussData``, ``classifyXORData``,
``classifyCircleData``, ``classifySpiralData``). Only the random number generator differs (an
explicit ``numpy.random.Generator`` instead of the Playground's seeded ``Math.random``), so the
points are the same *distribution*, not the same numbers.

``noise`` is the argument those functions receive: the Playground's "Noise" slider (0 to 50)
divided by 100, so the slider's range is ``0 <= noise <= 0.5``. How it acts differs per
dataset, exactly as in the Playground:

* ``gauss``: two Gaussian blobs centred at ``(2, 2)`` (label 1) and ``(-2, -2)`` (label 0),
  each coordinate with variance ``0.5 + 7 noise`` (the Playground maps noise ``[0, 0.5]``
  linearly to variance ``[0.5, 4]``);
* ``xor``: ``x, y ~ U(-5, 5)``, each pushed ``0.3`` away from zero (``x > 0``: ``+0.3``, else
  ``-0.3``); the label is that of the **noised** point ``(x + n_x, y + n_y)``,
  ``n ~ U(-5, 5) noise``: 1 when ``(x + n_x)(y + n_y) >= 0``, else 0. The returned point is the
  un-noised one, so noise flips labels near the axes;
* ``circle``: label-1 points at radius ``U(0, 2.5)``, label-0 points at radius ``U(3.5, 5)``,
  angle ``U(0, 2 pi)``, ``(x, y) = (r sin a, r cos a)``; the label is then recomputed from the
  noised point (``n ~ U(-5, 5) noise``): 1 inside radius 2.5, else 0. Again the returned
  point is un-noised;
* ``spiral``: two arms; point ``i`` of ``m`` on an arm has ``r = 5 i / m`` and angle
  ``t = 1.75 (2 pi) i / m + delta`` (``delta = 0`` for label 1, ``pi`` for label 0), and is
  returned at ``(r sin t + n_x, r cos t + n_y)`` with ``n ~ U(-1, 1) noise``: here the noise
  moves the point, not the label.

Labels are 0/1 (the Playground's -1 is our 0), and ``(X, y)`` is returned like
:func:`sklearn.datasets.make_moons`. Where the Playground makes ``n_samples / 2`` points per
class, we make ``ceil(n_samples / 2)`` of label 1 and ``floor(n_samples / 2)`` of label 0, so an
odd ``n_samples`` is honoured exactly (**our choice**).

Examples
--------
>>> import numpy as np
>>> X, y = make_playground("xor", 200, noise=0.0, random_state=0)
>>> X.shape, y.shape, X.dtype, sorted(set(y.tolist()))
((200, 2), (200,), dtype('float64'), [0, 1])
>>> bool(np.all(y == (X[:, 0] * X[:, 1] >= 0)))   # no noise: the label is the quadrant's
True
>>> bool(np.all(np.abs(X) >= 0.3))                 # the 0.3 padding away from the axes
True
>>> X, y = make_playground("circle", 100, noise=0.0, random_state=1)
>>> r = np.hypot(X[:, 0], X[:, 1])
>>> bool(np.all((r < 2.5) == (y == 1))), int(y.sum())
(True, 50)
"""

from __future__ import annotations

import math

import numpy as np

#: Names accepted by :func:`make_playground`, in the Playground's order of difficulty for a
#: linear model (``gauss`` is linearly separable, the others are not).
PLAYGROUND_DATASETS = ("gauss", "xor", "circle", "spiral")

#: The Playground's number of classification points (``NUM_SAMPLES_CLASSIFY``).
PLAYGROUND_N_SAMPLES = 500

# --- constants of the Playground's generators (src/dataset.ts) ---------------------------------
GAUSS_CENTER = 2.0  # blobs at (2, 2) and (-2, -2)
GAUSS_VARIANCE = (0.5, 4.0)  # variance at noise 0 and at noise 0.5 (linear in between)
GAUSS_NOISE_SPAN = 0.5  # the noise range mapped onto GAUSS_VARIANCE
XOR_HALF_WIDTH = 5.0  # x, y ~ U(-5, 5)
XOR_PADDING = 0.3  # pushed away from the axes
CIRCLE_RADIUS = 5.0  # inner disc radius 0.5 R, outer ring 0.7 R .. R
CIRCLE_INNER, CIRCLE_RING = 0.5, 0.7
SPIRAL_RADIUS = 5.0  # an arm ends at radius 5
SPIRAL_TURNS = 1.75  # an arm winds 1.75 turns


def _class_sizes(n: int) -> tuple[int, int]:
    """Points of label 1 and of label 0: ``ceil(n / 2)`` and ``floor(n / 2)``."""
    return n - n // 2, n // 2


def _gauss(n: int, noise: float, rng: np.random.Generator):
    n1, n0 = _class_sizes(n)
    lo, hi = GAUSS_VARIANCE
    # variance = 0.5 + (4 - 0.5) noise / 0.5: the Playground's linear noise -> variance scale
    variance = lo + (hi - lo) * noise / GAUSS_NOISE_SPAN
    sd = math.sqrt(variance)
    pos = rng.normal(GAUSS_CENTER, sd, size=(n1, 2))
    neg = rng.normal(-GAUSS_CENTER, sd, size=(n0, 2))
    return np.vstack([pos, neg]), np.r_[np.ones(n1, int), np.zeros(n0, int)]


def _xor(n: int, noise: float, rng: np.random.Generator):
    a = XOR_HALF_WIDTH
    xy = rng.uniform(-a, a, size=(n, 2))
    # padding: x > 0 moves up by 0.3, anything else (x <= 0) down by 0.3
    xy += np.where(xy > 0, XOR_PADDING, -XOR_PADDING)
    shift = rng.uniform(-a, a, size=(n, 2)) * noise
    noised = xy + shift
    # label of the noised point: 1 when x y >= 0
    label = (noised[:, 0] * noised[:, 1] >= 0).astype(int)
    return xy, label


def _circle(n: int, noise: float, rng: np.random.Generator):
    R = CIRCLE_RADIUS
    n1, n0 = _class_sizes(n)
    parts = []
    for size, (r_lo, r_hi) in ((n1, (0.0, CIRCLE_INNER * R)), (n0, (CIRCLE_RING * R, R))):
        r = rng.uniform(r_lo, r_hi, size=size)
        angle = rng.uniform(0.0, 2.0 * math.pi, size=size)
        parts.append(np.c_[r * np.sin(angle), r * np.cos(angle)])
    xy = np.vstack(parts)
    shift = rng.uniform(-R, R, size=(n, 2)) * noise
    # label of the noised point: 1 inside radius R / 2
    label = (np.hypot(*(xy + shift).T) < CIRCLE_INNER * R).astype(int)
    return xy, label


def _spiral(n: int, noise: float, rng: np.random.Generator):
    n1, n0 = _class_sizes(n)
    parts = []
    for m, delta in ((n1, 0.0), (n0, math.pi)):
        i = np.arange(m)
        r = i / m * SPIRAL_RADIUS
        t = SPIRAL_TURNS * i / m * 2.0 * math.pi + delta
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
    xy = np.vstack(parts)
    xy += rng.uniform(-1.0, 1.0, size=(n, 2)) * noise
    return xy, np.r_[np.ones(n1, int), np.zeros(n0, int)]


_GENERATORS = {"gauss": _gauss, "xor": _xor, "circle": _circle, "spiral": _spiral}


def make_playground(name: str, n_samples: int = PLAYGROUND_N_SAMPLES, noise: float = 0.0,
                    random_state=None, *, shuffle: bool = True):
    """Draw one of TensorFlow Playground's four classification datasets.

    The definitions are the Playground's (``src/dataset.ts`` of ``tensorflow/playground``; see
    the module docstring for each one and for how ``noise`` acts on it).

    Parameters
    ----------
    name : {"gauss", "xor", "circle", "spiral"}
        Which dataset.
    n_samples : int
        Number of points (the Playground uses 500). Label 1 gets ``ceil(n_samples / 2)``
        points and label 0 the rest, except ``xor`` whose labels follow the quadrants.
    noise : float
        The Playground's noise, its slider value divided by 100 (the slider spans 0 to 0.5);
        any value ``>= 0`` is accepted.
    random_state : int, numpy.random.Generator or None
        Seed of the one ``numpy.random.Generator`` every draw comes from
        (:func:`numpy.random.default_rng`); ``None`` draws fresh entropy.
    shuffle : bool
        Shuffle the points (as ``make_moons``). Off, label-1 points come first, each arm of the
        spiral from its centre outwards. The shuffle is drawn after the points, so it permutes
        the same points.

    Returns
    -------
    X : numpy.ndarray of float, shape (n_samples, 2)
        The points ``(x, y)``.
    y : numpy.ndarray of int, shape (n_samples,)
        Labels 0 and 1 (the Playground's -1 and 1).

    Raises
    ------
    ValueError
        For an unknown ``name``, ``n_samples`` that is not an integer ``>= 1``, or a ``noise``
        that is negative or not finite.

    Examples
    --------
    Without noise, point 1 of 3 on the label-1 arm has ``r = 5/3`` and ``t = 1.75 (2 pi) / 3``
    (210 degrees): ``(r sin t, r cos t) = (-5/6, -5 sqrt(3) / 6)``; the label-0 arm is the
    label-1 arm turned by ``pi``:

    >>> X, y = make_playground("spiral", 6, noise=0.0, shuffle=False)
    >>> X[1].round(4).tolist(), y.tolist()
    ([-0.8333, -1.4434], [1, 1, 1, 0, 0, 0])
    >>> bool(np.allclose(X[3:], -X[:3]))
    True
    >>> make_playground("moons", 10)
    Traceback (most recent call last):
    ...
    ValueError: unknown Playground dataset 'moons'; known: ['gauss', 'xor', 'circle', 'spiral']
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown Playground dataset {name!r}; known: {list(PLAYGROUND_DATASETS)}")
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(random_state)
    X, y = _GENERATORS[name](int(n_samples), float(noise), rng)
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return np.ascontiguousarray(X, dtype=float), y.astype(np.int64)


__all__ = ["PLAYGROUND_DATASETS", "PLAYGROUND_N_SAMPLES", "make_playground"]

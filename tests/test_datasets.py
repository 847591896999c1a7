"""make_playground against the Playground's definitions (src/dataset.ts), checked by hand.

The noised labels of ``xor`` and ``circle`` are checked by replaying the documented draws
(points first, then the noise) with a Generator of the same seed and applying the Playground's
label rule, written out again here.
"""

import math

import numpy as np
import pytest

from smgrnn_ref.datasets import PLAYGROUND_DATASETS, make_playground


@pytest.mark.parametrize("name", PLAYGROUND_DATASETS)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shape_dtype_labels_and_class_sizes(name, n):
    X, y = make_playground(name, n, noise=0.1, random_state=0)
    assert X.shape == (n, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64 and set(y.tolist()) <= {0, 1}
    assert np.all(np.isfinite(X))
    if name in ("gauss", "spiral"):  # labels are fixed by construction: ceil(n/2) ones
        assert int(y.sum()) == math.ceil(n / 2)


@pytest.mark.parametrize("name", PLAYGROUND_DATASETS)
def test_seeded_reproducible_and_shuffle_permutes_the_same_points(name):
    X1, y1 = make_playground(name, 50, noise=0.2, random_state=3)
    X2, y2 = make_playground(name, 50, noise=0.2, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = make_playground(name, 50, noise=0.2, random_state=3, shuffle=False)
    rows = sorted(map(tuple, np.c_[X1, y1].tolist()))
    assert rows == sorted(map(tuple, np.c_[X3, y3].tolist()))
    assert not np.array_equal(X1, X3)  # shuffled
    X4, _ = make_playground(name, 50, noise=0.2, random_state=4)
    assert not np.array_equal(X1, X4)


def test_xor_without_noise_is_the_quadrant_rule_with_padding():
    X, y = make_playground("xor", 2000, noise=0.0, random_state=1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    # U(-5, 5) pushed 0.3 away from zero: |coordinate| in [0.3, 5.3]
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    assert abs(y.mean() - 0.5) < 0.05


def test_xor_label_is_the_sign_of_x_times_y_of_the_noised_point():
    n, noise, seed = 500, 0.3, 7
    X, y = make_playground("xor", n, noise=noise, random_state=seed, shuffle=False)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, size=(n, 2))
    x = x + np.where(x > 0, 0.3, -0.3)
    noised = x + rng.uniform(-5, 5, size=(n, 2)) * noise
    np.testing.assert_array_equal(X, x)  # the returned point is the un-noised one
    np.testing.assert_array_equal(y, (noised[:, 0] * noised[:, 1] >= 0).astype(int))
    # noise this large flips a good share of the labels against the quadrant rule
    flipped = np.mean(y != (X[:, 0] * X[:, 1] >= 0))
    assert 0.05 < flipped < 0.5


def test_circle_radii_and_noised_labels():
    X, y = make_playground("circle", 1000, noise=0.0, random_state=2, shuffle=False)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(r[:500] <= 2.5) and np.all((r[500:] >= 3.5) & (r[500:] <= 5.0))
    np.testing.assert_array_equal(y, (r < 2.5).astype(int))
    n, noise, seed = 400, 0.2, 5
    X, y = make_playground("circle", n, noise=noise, random_state=seed, shuffle=False)
    rng = np.random.default_rng(seed)
    pts = []
    for lo, hi in ((0.0, 2.5), (3.5, 5.0)):
        rad = rng.uniform(lo, hi, size=n // 2)
        ang = rng.uniform(0, 2 * np.pi, size=n // 2)
        pts.append(np.c_[rad * np.sin(ang), rad * np.cos(ang)])
    pts = np.vstack(pts)
    noised = pts + rng.uniform(-5, 5, size=(n, 2)) * noise
    np.testing.assert_allclose(X, pts, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(y, (np.hypot(noised[:, 0], noised[:, 1]) < 2.5).astype(int))


def test_spiral_arms_by_hand_and_noise_moves_points_within_the_box():
    n = 8  # 4 per arm: r = 0, 5/4, 10/4, 15/4 and t = 1.75 * 2 pi * i / 4
    clean, y = make_playground("spiral", n, noise=0.0, shuffle=False)
    for i in range(4):
        r, t = 5 * i / 4, 1.75 * 2 * np.pi * i / 4
        np.testing.assert_allclose(clean[i], [r * np.sin(t), r * np.cos(t)], atol=1e-12)
        np.testing.assert_allclose(clean[4 + i], [r * np.sin(t + np.pi), r * np.cos(t + np.pi)], atol=1e-12)
    assert y.tolist() == [1] * 4 + [0] * 4
    noisy, y2 = make_playground("spiral", n, noise=0.5, random_state=0, shuffle=False)
    assert np.array_equal(y, y2)
    d = noisy - clean
    assert np.all(np.abs(d) <= 0.5) and np.abs(d).max() > 0.1


@pytest.mark.parametrize("noise, variance", [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_centres_and_variance_scale(noise, variance):
    X, y = make_playground("gauss", 20000, noise=noise, random_state=0)
    for label, centre in ((1, 2.0), (0, -2.0)):
        pts = X[y == label]
        assert np.abs(pts.mean(axis=0) - centre).max() < 0.05
        # each coordinate's variance: 0.5 at noise 0 to 4 at noise 0.5, linear
        assert np.abs(pts.var(axis=0) / variance - 1).max() < 0.05


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "moons"}, "unknown Playground dataset 'moons'"),
    ({"name": "xor", "n_samples": 0}, "n_samples must be an integer >= 1"),
    ({"name": "xor", "n_samples": 2.5}, "n_samples must be an integer >= 1"),
    ({"name": "xor", "n_samples": True}, "n_samples must be an integer >= 1"),
    ({"name": "xor", "noise": -0.1}, "noise must be a finite number >= 0"),
    ({"name": "xor", "noise": float("nan")}, "noise must be a finite number >= 0"),
    ({"name": "xor", "noise": "0.1"}, "noise must be a finite number >= 0"),
])
def test_bad_arguments_are_a_clear_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_playground(**kwargs)

"""Extrapolation to n = ∞ on a metric of exact form a + b/n, and on the Fréchet distance of Gaussians whose
true distance is known in closed form."""

import numpy as np
import pytest

from benchbox.errors import BenchboxError
from benchbox.metrics.extrapolate import default_sizes, extrapolate_to_infinite_n
from benchbox.metrics.frechet import frechet_distance, gaussian_statistics


def test_exact_a_plus_b_over_n_is_recovered():
    fake = np.zeros((1000, 3))
    a, b = extrapolate_to_infinite_n(lambda x: 3.0 + 70.0 / len(x), fake)
    assert (a, b) == pytest.approx((3.0, 70.0), rel=1e-10)
    a, b = extrapolate_to_infinite_n(lambda x: -1.5 + 4.0 / len(x), fake, sizes=[10, 20, 999])
    assert (a, b) == pytest.approx((-1.5, 4.0), rel=1e-10)


def test_default_sizes_are_even_in_one_over_n():
    sizes = default_sizes(50_000)
    assert sizes[0] == 10_000 and sizes[-1] == 50_000 and len(sizes) == 15
    assert np.diff(1 / sizes) == pytest.approx(np.full(14, (1 / 50_000 - 1 / 10_000) / 14), rel=1e-3)


def _covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.5 * np.eye(d)


def test_fd_infinity_removes_the_small_sample_bias():
    d, n, runs = 8, 500, 100
    rng = np.random.default_rng(0)
    mu1, sigma1, mu2, sigma2 = np.zeros(d), _covariance(rng, d), np.full(d, 0.1), _covariance(rng, d)
    true = frechet_distance(mu1, sigma1, mu2, sigma2)  # the real statistics are the exact parameters

    def fd(x):
        return frechet_distance(*gaussian_statistics(x), mu2, sigma2)

    at_infinity, at_smallest = [], []
    for run in range(runs):
        fake = rng.multivariate_normal(mu1, sigma1, size=n)
        at_infinity.append(extrapolate_to_infinite_n(fd, fake, seed=run)[0])
        at_smallest.append(fd(fake[: default_sizes(n)[0]]))
    bias_smallest = np.mean(at_smallest) - true  # ≈ (tr Σ1 + covariance terms)/n, clearly positive
    bias_infinity = np.mean(at_infinity) - true
    assert bias_smallest > 0.2
    assert abs(bias_infinity) < 0.2 * bias_smallest


def test_bad_sizes_are_refused():
    fake = np.zeros((100, 2))
    with pytest.raises(BenchboxError, match="between 2 and 100"):
        extrapolate_to_infinite_n(np.mean, fake, sizes=[50, 200])
    with pytest.raises(BenchboxError, match="2 distinct"):
        extrapolate_to_infinite_n(np.mean, fake, sizes=[50, 50])

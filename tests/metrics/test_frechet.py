"""Fréchet distance against closed forms, scipy's sqrtm formula and torch-fidelity."""

import numpy as np
import pytest
import torch
from scipy import linalg
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from benchbox.errors import BenchboxError
from benchbox.metrics.frechet import frechet_distance, frechet_distance_of_features, gaussian_statistics


def sqrtm_formula(mu1, s1, mu2, s2):
    """The formula as pytorch-fid writes it, with scipy's sqrtm (real part)."""
    covmean = linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_spd(rng, d, condition):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * np.logspace(0, -np.log10(condition), d)) @ q.T


def test_closed_form_for_diagonal_covariances():
    """For commuting (diagonal) covariances FD = ‖μ1 − μ2‖² + Σ_i (σ1_i − σ2_i)²."""
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sd1, sd2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = 1 + 0 + 4 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0
    assert frechet_distance(mu1, np.diag(sd1**2), mu2, np.diag(sd2**2)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("condition", [1e2, 1e8, 1e12])
def test_matches_scipy_sqrtm_on_ill_conditioned_covariances(condition):
    rng = np.random.default_rng(0)
    d = 64
    s1, s2 = random_spd(rng, d, condition), random_spd(rng, d, condition)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(ours)
    assert ours == pytest.approx(sqrtm_formula(mu1, s1, mu2, s2), rel=1e-6)


def test_rank_deficient_covariance_gives_a_finite_nonnegative_value():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 32))  # rank ≤ 9 in 32 dimensions
    s = np.cov(x, rowvar=False)
    value = frechet_distance(x.mean(0), s, x.mean(0) + 1, s)
    assert np.isfinite(value) and value == pytest.approx(32.0, rel=1e-6)  # same covariance: only ‖Δμ‖² = 32 remains


def test_matches_torch_fidelity_on_features_and_is_zero_on_itself():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(600, 40))
    b = rng.normal(0.3, 1.2, size=(500, 40)) @ rng.normal(size=(40, 40)) / 6
    tf = fid_statistics_to_metric(
        fid_features_to_statistics(torch.from_numpy(a)), fid_features_to_statistics(torch.from_numpy(b)), verbose=False
    )["frechet_inception_distance"]
    assert frechet_distance_of_features(a, b) == pytest.approx(tf, rel=1e-6)
    assert frechet_distance_of_features(a, a) == pytest.approx(0.0, abs=1e-8)


def test_too_few_samples_says_how_many_are_needed():
    with pytest.raises(BenchboxError, match="at least 65 samples"):
        gaussian_statistics(np.zeros((64, 64)))


def test_nan_statistics_are_refused():
    with pytest.raises(BenchboxError, match="NaN"):
        frechet_distance(np.array([np.nan, 0]), np.eye(2), np.zeros(2), np.eye(2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_statistics_are_numpy_s_mean_and_cov_bit_for_bit_and_leave_the_features_unchanged(dtype):
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(3000, 64)).astype(dtype)
    before = x.copy()
    mu, sigma = gaussian_statistics(x)
    x64 = x.astype(np.float64)
    np.testing.assert_array_equal(mu, x64.mean(axis=0))
    np.testing.assert_array_equal(sigma, np.cov(x64, rowvar=False))
    np.testing.assert_array_equal(x, before)

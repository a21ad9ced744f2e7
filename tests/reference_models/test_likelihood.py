"""Likelihood pieces against closed forms, torch.distributions and scipy.stats."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from benchbox.errors import BenchboxError
from reference_models.likelihood import (
    bernoulli_log_likelihood,
    bits_per_dim,
    check_pixel_range,
    dequantized_bits_per_dim,
    discretized_gaussian_log_likelihood,
    discretized_logistic_log_likelihood,
    gaussian_kl,
    gaussian_kl_standard,
    log_jacobian_of_scaling,
)

GRID = torch.arange(256, dtype=torch.float64) / 127.5 - 1  # every 8-bit level on [-1, 1]
EDGES = np.concatenate([[-np.inf], (np.arange(1, 256) - 0.5) / 127.5 - 1, [np.inf]])  # bin boundaries by hand
# (mean, scale): centred, off-centre, outside [-1, 1], on a bin boundary, tiny and huge scales
PARAMS = [(0.0, 1.0), (0.3, 0.05), (-2.5, 0.3), (4.0, 2.0), (1 / 255, 1e-4), (0.5, 1e-4), (-3.0, 1e-4), (0.0, 1e3)]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_kl_standard_matches_hand_formula_and_torch():
    mean = torch.randn(5, 3, 4, generator=gen(), dtype=torch.float64)
    log_var = torch.randn(5, 3, 4, generator=gen(1), dtype=torch.float64)
    var = log_var.exp()
    by_hand = (0.5 * (var + mean**2 - 1 - torch.log(var))).sum(dim=(1, 2))
    by_torch = kl_divergence(Normal(mean, var.sqrt()), Normal(0.0, 1.0)).sum(dim=(1, 2))
    got = gaussian_kl_standard(mean, log_var)
    assert got.shape == (5,)
    torch.testing.assert_close(got, by_hand, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, by_torch, rtol=1e-12, atol=1e-12)


def test_gaussian_kl_standard_is_zero_at_prior_and_keeps_1d_batches():
    assert gaussian_kl_standard(torch.zeros(4, 7), torch.zeros(4, 7)).abs().max() == 0
    mean, log_var = torch.tensor([1.0, -2.0]), torch.tensor([0.0, math.log(4.0)])
    expected = torch.tensor([0.5, 0.5 * (4.0 + 4.0 - 1.0 - math.log(4.0))])
    torch.testing.assert_close(gaussian_kl_standard(mean, log_var), expected)


def test_gaussian_kl_matches_hand_formula_and_torch_elementwise():
    m1, m2, lv1, lv2 = (torch.randn(6, 2, 3, generator=gen(s), dtype=torch.float64) for s in range(4))
    s1, s2 = (0.5 * lv1).exp(), (0.5 * lv2).exp()
    by_hand = torch.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    got = gaussian_kl(m1, lv1, m2, lv2)
    assert got.shape == (6, 2, 3)
    torch.testing.assert_close(got, by_hand, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, kl_divergence(Normal(m1, s1), Normal(m2, s2)), rtol=1e-12, atol=1e-12)


def grid_log_probs(fn, mean, scale):
    log_scale = torch.full_like(GRID, math.log(scale))
    return fn(GRID, torch.full_like(GRID, mean), log_scale)


def scipy_bin_probs(dist, mean, scale):
    """Each bin's mass as CDF differences; upper-tail bins via the survival function to keep precision."""
    cdf, sf = dist.cdf(EDGES, mean, scale), dist.sf(EDGES, mean, scale)
    return np.where(EDGES[:-1] >= mean, sf[:-1] - sf[1:], cdf[1:] - cdf[:-1])


@pytest.mark.parametrize("fn", [discretized_gaussian_log_likelihood, discretized_logistic_log_likelihood])
@pytest.mark.parametrize("mean,scale", PARAMS)
def test_discretized_probabilities_sum_to_one(fn, mean, scale):
    log_p = grid_log_probs(fn, mean, scale)
    assert torch.isfinite(log_p).all()
    assert abs(float(log_p.exp().sum()) - 1.0) < 1e-6


@pytest.mark.parametrize(
    "fn,dist",
    [(discretized_gaussian_log_likelihood, stats.norm), (discretized_logistic_log_likelihood, stats.logistic)],
)
@pytest.mark.parametrize("mean,scale", PARAMS)
def test_discretized_bins_match_scipy(fn, dist, mean, scale):
    got = grid_log_probs(fn, mean, scale).exp().numpy()
    expected = scipy_bin_probs(dist, mean, scale)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-13)
    # the edge bins are open: P(x = -1) = cdf(-1 + 1/255), P(x = 1) = 1 - cdf(1 - 1/255)
    np.testing.assert_allclose(got[0], dist.cdf(-1 + 1 / 255, mean, scale), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(got[-1], 1 - dist.cdf(1 - 1 / 255, mean, scale), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    "fn,dist",
    [(discretized_gaussian_log_likelihood, stats.norm), (discretized_logistic_log_likelihood, stats.logistic)],
)
def test_discretized_log_probs_match_scipy_far_in_the_tails(fn, dist):
    """Scale 1e-4 puts most bins hundreds of thousands of nats down; the log must stay exact, not clamped."""
    log_p = grid_log_probs(fn, 0.0, 1e-4).numpy()
    lo, hi = EDGES[:-1], EDGES[1:]
    inner = slice(
        1, 120
    )  # bins below the mean: log(cdf(hi) - cdf(lo)) ≈ logcdf(hi) + log1p(-exp(logcdf(lo) - logcdf(hi)))
    la, lb = dist.logcdf(lo[inner], 0.0, 1e-4), dist.logcdf(hi[inner], 0.0, 1e-4)
    np.testing.assert_allclose(log_p[inner], lb + np.log(-np.expm1(la - lb)), rtol=1e-9)
    np.testing.assert_allclose(log_p[0], dist.logcdf(-1 + 1 / 255, 0.0, 1e-4), rtol=1e-9)
    np.testing.assert_allclose(log_p[-1], dist.logsf(1 - 1 / 255, 0.0, 1e-4), rtol=1e-9)


@pytest.mark.parametrize("fn", [discretized_gaussian_log_likelihood, discretized_logistic_log_likelihood])
def test_discretized_float32_and_gradients_are_finite_at_extreme_scales(fn):
    x = GRID.float().repeat(3)
    mean = torch.zeros_like(x).requires_grad_()
    log_scale = torch.tensor([math.log(1e-4), 0.0, math.log(1e3)]).repeat_interleave(256).requires_grad_()
    log_p = fn(x, mean, log_scale)
    assert log_p.dtype == torch.float32
    log_p.sum().backward()
    assert torch.isfinite(log_p).all() and torch.isfinite(mean.grad).all() and torch.isfinite(log_scale.grad).all()
    torch.testing.assert_close(log_p.exp().reshape(3, 256).sum(1), torch.ones(3), rtol=0, atol=1e-5)


def test_discretized_gaussian_broadcasts_over_images():
    x = GRID[torch.randint(0, 256, (2, 3, 4, 4), generator=gen())]
    log_p = discretized_gaussian_log_likelihood(x, torch.zeros(1, 3, 1, 1, dtype=torch.float64), torch.zeros(()))
    expected = np.log(scipy_bin_probs(stats.norm, 0.0, 1.0))[((x.numpy() + 1) * 127.5).round().astype(int)]
    np.testing.assert_allclose(log_p.numpy(), expected, rtol=1e-10)


def test_bernoulli_matches_hand_formula():
    x = torch.tensor([0.0, 1.0, 1.0, 0.25, 0.5], dtype=torch.float64)
    logits = torch.tensor([-3.0, 2.0, -0.5, 0.7, 40.0], dtype=torch.float64)
    p = 1 / (1 + torch.exp(-logits))
    by_hand = x * torch.log(p) + (1 - x) * torch.log1p(-p)
    by_hand[-1] = 0.5 * (-math.log1p(math.exp(-40.0))) + 0.5 * (-40.0 - math.log1p(math.exp(-40.0)))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), by_hand, rtol=1e-12, atol=1e-12)
    with pytest.raises(BenchboxError, match="x/255"):
        bernoulli_log_likelihood(x * 255, logits)


def test_bits_per_dim_of_a_factorized_gaussian_matches_scipy():
    rng = np.random.default_rng(0)
    mu, sigma, n, d = np.array([0.5, -1.0, 2.0]), np.array([0.3, 1.5, 2.0]), 50, 3
    data = rng.normal(mu, sigma, size=(n, d))
    nll = (0.5 * np.log(2 * np.pi * sigma**2) + (data - mu) ** 2 / (2 * sigma**2)).sum(axis=1)  # nats per sample
    expected = -stats.norm.logpdf(data, mu, sigma).sum(axis=1) / (d * np.log(2))
    got = bits_per_dim(torch.from_numpy(nll), d)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert bits_per_dim(d * math.log(2), d) == pytest.approx(1.0)


def test_uniform_density_on_dequantized_data_is_eight_bits_per_dim():
    d = 3 * 8 * 8
    x = torch.randint(0, 256, (16, d), generator=gen())
    y = (x + torch.rand(16, d, generator=gen(1))) / 256  # uniform dequantization into [0, 1)
    assert 0 <= float(y.min()) and float(y.max()) < 1
    nll_uniform = torch.zeros(16, dtype=torch.float64)  # the density of U[0, 1)^D is 1 everywhere on it
    torch.testing.assert_close(
        dequantized_bits_per_dim(nll_uniform, d, 1 / 256), torch.full((16,), 8.0, dtype=torch.float64)
    )
    assert log_jacobian_of_scaling(d, 1 / 256) == pytest.approx(-d * math.log(256))
    # the same uniform model stretched over [-1, 1) has density 2^-D, i.e. nll D·log 2: still 8 bits/dim
    assert dequantized_bits_per_dim(d * math.log(2), d, 2 / 256) == pytest.approx(8.0)
    assert dequantized_bits_per_dim(0.0, d, 2 / 256) == pytest.approx(7.0)


@pytest.mark.parametrize("bad", [lambda: log_jacobian_of_scaling(3, 0.0), lambda: bits_per_dim(1.0, 0)])
def test_scaling_helpers_refuse_nonsense(bad):
    with pytest.raises(BenchboxError):
        bad()


def test_check_pixel_range_refuses_uint8_scaled_floats():
    x = torch.arange(256, dtype=torch.float32)
    with pytest.raises(BenchboxError) as err:
        check_pixel_range(x)
    message = str(err.value)
    assert "\n" not in message and "0..255" in message and "x/127.5 - 1" in message
    with pytest.raises(BenchboxError, match="x/127.5 - 1"):
        discretized_gaussian_log_likelihood(x, torch.zeros(256), torch.zeros(256))
    with pytest.raises(BenchboxError, match="floating point"):
        check_pixel_range(x.to(torch.uint8))


def test_check_pixel_range_refuses_values_off_the_grid():
    check_pixel_range(GRID.float())  # x/127.5 - 1 in float32 is on the grid
    off = GRID.clone()
    off[100] += 0.003
    with pytest.raises(BenchboxError) as err:
        check_pixel_range(off)
    message = str(err.value)
    assert "\n" not in message and "256-level grid" in message and "x/127.5 - 1" in message
    with pytest.raises(BenchboxError, match="grid"):
        discretized_logistic_log_likelihood(off, torch.zeros(256), torch.zeros(256))
    check_pixel_range(off, levels=None)  # continuous data in range passes when no grid is asked for
    with pytest.raises(BenchboxError, match="NaN"):
        check_pixel_range(torch.tensor([0.0, float("nan")]))

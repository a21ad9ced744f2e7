"""DDPM's bound: each term against closed forms, zero where the model equals the true posterior, and the whole
bound against the exact discrete log-likelihood of Gaussian data under its exact ε-predictor."""

import math

import pytest
import torch
from scipy import stats

from reference_models.diffusion.schedule import NoiseSchedule, linear_betas, q_posterior
from reference_models.diffusion.vlb import fixed_log_variance, prior_bits, step_bits, total_bits

GRID = torch.arange(256, dtype=torch.float64) / 127.5 - 1


def on_grid(n, seed):
    idx = torch.randint(0, 256, (n, 1, 2, 2), generator=torch.Generator().manual_seed(seed))
    return GRID[idx]


def test_prior_term_is_the_gaussian_kl_to_the_standard_normal_by_hand():
    schedule = NoiseSchedule.from_betas(linear_betas(1000))
    x0 = on_grid(3, 0)
    a = schedule.alpha_bars[-1].item()
    by_hand = 0.5 * ((1 - a) + a * x0**2 - 1 - math.log(1 - a))  # KL(N(√a x, 1 − a) ‖ N(0, 1))
    torch.testing.assert_close(prior_bits(schedule, x0), by_hand.flatten(1).mean(1) / math.log(2))
    assert prior_bits(schedule, x0).max().item() < 1e-4  # Ho et al.: L_T ≈ 1e-5 bits/dim for their schedule


def test_a_model_equal_to_the_true_posterior_pays_nothing_for_t_at_least_2():
    schedule = NoiseSchedule.from_betas(linear_betas(100))
    x0, xt = on_grid(4, 1), torch.randn(4, 1, 2, 2, dtype=torch.float64)
    t = torch.tensor([2, 10, 50, 100])
    mean, var = q_posterior(schedule, x0, xt, t)
    assert step_bits(schedule, x0, xt, t, mean, var.log()).abs().max().item() < 1e-12


def test_decoder_term_is_minus_the_log_mass_of_the_pixel_bin():
    schedule = NoiseSchedule.from_betas(linear_betas(100))
    x0 = torch.tensor([[[[-1.0, 1.0], [GRID[100].item(), GRID[200].item()]]]], dtype=torch.float64)
    mean = x0 + torch.tensor([0.004, -0.006, 0.002, 0.0], dtype=torch.float64).view_as(x0)
    log_var = fixed_log_variance(schedule, torch.tensor([1]), x0)
    sigma = math.exp(0.5 * log_var.flatten()[0].item())
    masses = []
    for x, m in zip(x0.flatten().tolist(), mean.flatten().tolist(), strict=True):
        lo = -math.inf if x <= -0.999 else x - 1 / 255
        hi = math.inf if x >= 0.999 else x + 1 / 255
        masses.append(stats.norm.cdf(hi, m, sigma) - stats.norm.cdf(lo, m, sigma))
    want = -sum(math.log(m) for m in masses) / 4 / math.log(2)
    got = step_bits(schedule, x0, torch.zeros_like(x0), torch.tensor([1]), mean, log_var)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_whole_bound_is_at_least_the_exact_nll_and_close_to_it_for_gaussian_data():
    """Data: N(0.2, 0.3²) draws rounded to the 256-level grid, whose entropy (≈ the cross-entropy under the
    discretized Gaussian, computed with scipy) no model can beat (Gibbs). With the exact ε-predictor of the
    continuous Gaussian, the bound must not fall below it beyond Monte Carlo noise, and it stays within a bit of it
    at T = 1000 (the gap is the continuous model's mismatch with quantized data)."""
    mu, s = 0.2, 0.3
    schedule = NoiseSchedule.from_betas(linear_betas(1000))

    def eps(x, t):
        a = schedule.alpha_bars[t.long() - 1].view(-1, 1, 1, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * s**2 + 1 - a)

    g = torch.Generator().manual_seed(3)
    x0 = (
        torch.round(((mu + s * torch.randn(400, 1, 2, 2, generator=g, dtype=torch.float64)) + 1) * 127.5).clamp(0, 255)
        / 127.5
        - 1
    )
    lo = torch.where(x0 <= -0.999, torch.full_like(x0, -math.inf), x0 - 1 / 255)
    hi = torch.where(x0 >= 0.999, torch.full_like(x0, math.inf), x0 + 1 / 255)
    mass = stats.norm.cdf(hi.numpy(), mu, s) - stats.norm.cdf(lo.numpy(), mu, s)
    exact = float(-torch.tensor(mass).log().mean() / math.log(2))  # bits/dim of the discretized Gaussian
    bound = total_bits(eps, schedule, x0, torch.Generator().manual_seed(4), variance="posterior").mean().item()
    assert bound >= exact - 0.05
    assert bound - exact < 1.0

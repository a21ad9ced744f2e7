"""Samplers against identities of the papers and against data whose optimal ε-predictor is known in closed form."""

import pytest
import torch

from benchbox.errors import BenchboxError
from reference_models.diffusion.samplers import ddim_step, ddim_timesteps, ddpm_step, guided_eps, sample
from reference_models.diffusion.schedule import NoiseSchedule, cosine_betas, linear_betas, predict_x0, q_posterior

MU, STD = 0.3, 0.5  # data ~ N(MU, STD²) in every dimension


def optimal_eps(schedule):
    """E[ε | x_t] for Gaussian data: x_t ~ N(√ᾱ μ, ᾱ s² + 1 − ᾱ), Cov(ε, x_t) = √(1 − ᾱ), so the optimal
    predictor is √(1 − ᾱ)(x_t − √ᾱ μ)/(ᾱ s² + 1 − ᾱ)."""

    def eps(x, t):
        a = schedule.alpha_bars[t.long() - 1].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return (1 - a).sqrt() * (x - a.sqrt() * MU) / (a * STD**2 + 1 - a)

    return eps


def random(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_ddpm_step_mean_is_the_posterior_mean_at_the_predicted_x0():
    """Ho et al. eq. 11: the step's mean equals μ̃_t(x_t, x̂_0(x_t, ε))."""
    schedule = NoiseSchedule.from_betas(linear_betas(100))
    xt, eps = random(4, 3, seed=0), random(4, 3, seed=1)
    for t in (2, 50, 100):
        tt = torch.full((4,), t)
        want, _ = q_posterior(schedule, predict_x0(schedule, xt, tt, eps), xt, tt)
        torch.testing.assert_close(ddpm_step(schedule, xt, t, eps, torch.zeros_like(xt)), want)


@pytest.mark.parametrize("kind", [linear_betas, cosine_betas])
def test_ddim_with_eta_1_over_all_steps_is_ancestral_sampling_with_the_posterior_variance(kind):
    """η = 1 and τ = 1..T: σ_t² = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t = β̃_t and the mean is μ̃_t: DDPM's step exactly."""
    schedule = NoiseSchedule.from_betas(kind(50))
    xt, eps, z = random(6, 2, seed=2), random(6, 2, seed=3), random(6, 2, seed=4)
    for t in range(50, 1, -1):
        ddim = ddim_step(schedule, xt, t, t - 1, eps, 1.0, z)
        ddpm = ddpm_step(schedule, xt, t, eps, z, variance="posterior")
        torch.testing.assert_close(ddim, ddpm, rtol=1e-9, atol=1e-10)


HO = NoiseSchedule.from_betas(linear_betas(1000))  # Ho et al.'s T = 1000, β from 1e-4 to 0.02


@pytest.mark.parametrize("method, eta", [("ddpm", 0.0), ("ddim", 0.0), ("ddim", 1.0)])
def test_sampling_all_steps_with_the_optimal_predictor_recovers_the_data_distribution(method, eta):
    """Ancestral sampling, DDIM's deterministic ODE (η = 0) and DDIM with η = 1, all 1,000 steps: mean and std
    of 20,000 samples match the data's (standard errors 0.004 and 0.003)."""
    x = sample(optimal_eps(HO), HO, (20_000, 1), torch.Generator().manual_seed(0), method, 1000, eta)
    assert x.mean().item() == pytest.approx(MU, abs=0.015)
    assert x.std().item() == pytest.approx(STD, rel=0.02)


def test_ddim_discretisation_error_shrinks_with_more_steps():
    errors = [
        abs(sample(optimal_eps(HO), HO, (20_000, 1), torch.Generator().manual_seed(0), "ddim", n).std().item() - STD)
        for n in (10, 50, 1000)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.01


def test_ddim_timesteps_are_an_even_descending_subsequence_ending_at_T():
    assert ddim_timesteps(1000, 1000) == list(range(1000, 0, -1))
    taus = ddim_timesteps(1000, 50)
    assert len(taus) == 50 and taus[0] == 1000 and taus[-1] == 1 and taus == sorted(taus, reverse=True)
    with pytest.raises(BenchboxError, match="1001 sampling steps asked of a diffusion with T = 1000"):
        ddim_timesteps(1000, 1001)


def test_guidance_scale_0_is_unconditional_and_1_is_conditional():
    u, c = random(3, 2, seed=5), random(3, 2, seed=6)
    torch.testing.assert_close(guided_eps(u, c, 0.0), u)
    torch.testing.assert_close(guided_eps(u, c, 1.0), c)
    torch.testing.assert_close(guided_eps(u, c, 3.0), u + 3 * (c - u))
    with pytest.raises(BenchboxError, match="not a finite number"):
        guided_eps(u, c, float("inf"))


def test_bad_sampler_settings_are_refused():
    schedule = NoiseSchedule.from_betas(linear_betas(10))
    with pytest.raises(BenchboxError, match="unknown sampler"):
        sample(optimal_eps(schedule), schedule, (2, 1), torch.Generator(), "euler")
    with pytest.raises(BenchboxError, match="η"):
        ddim_step(schedule, torch.zeros(1, 1), 5, 4, torch.zeros(1, 1), float("nan"), torch.zeros(1, 1))

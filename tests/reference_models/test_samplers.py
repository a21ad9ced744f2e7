"""Samplers against identities of the papers and against data whose optimal ε-predictor is known in closed form."""

import pytest
import torch

from benchbox.errors import BenchboxError
from reference_models.diffusion.samplers import ddim_step, ddim_timesteps, ddpm_step, guided_eps, sample
from reference_models.diffusion.schedule import (
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    predict_x0,
    q_posterior,
    respaced,
)

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


def test_ancestral_sampling_on_all_T_steps_is_exactly_algorithm_2():
    """steps = T (or None) runs Ho et al.'s loop on the original schedule, bit for bit: no respacing round-off."""
    schedule = NoiseSchedule.from_betas(linear_betas(30))
    model = optimal_eps(schedule)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(50, 2, generator=g)
    for t in range(30, 0, -1):
        z = torch.randn(50, 2, generator=g) if t > 1 else torch.zeros_like(x)
        x = ddpm_step(schedule, x, t, model(x, torch.full((50,), t)), z)
    for steps in (None, 30):
        assert torch.equal(sample(model, schedule, (50, 2), torch.Generator().manual_seed(7), "ddpm", steps), x)


@pytest.mark.parametrize("kind", [linear_betas, cosine_betas])
def test_respaced_ancestral_step_with_the_posterior_variance_is_ddim_with_eta_1_on_the_subsequence(kind):
    """On τ = ddim_timesteps(T, K), step i of the respaced schedule with σ² = β̃'_i is DDIM's η = 1 step from τ_i to
    τ_{i−1} (Song et al. eq. 16), down to τ_0 = 0 where both return x̂_0."""
    schedule = NoiseSchedule.from_betas(kind(100))
    taus = ddim_timesteps(100, 7)
    sub = respaced(schedule, taus)
    xt, eps, z = random(6, 2, seed=8), random(6, 2, seed=9), random(6, 2, seed=10)
    for i, (t, t_prev) in zip(range(7, 0, -1), zip(taus, [*taus[1:], 0], strict=True), strict=True):
        ddim = ddim_step(schedule, xt, t, t_prev, eps, 1.0, z)
        ddpm = ddpm_step(sub, xt, i, eps, z, variance="posterior")
        torch.testing.assert_close(ddpm, ddim, rtol=1e-9, atol=1e-10)


def test_respaced_ancestral_sampling_is_ddim_with_eta_1_and_calls_the_net_at_the_original_steps():
    schedule = NoiseSchedule.from_betas(linear_betas(100))
    seen = []

    def model(x, t):
        seen.append(int(t[0]))
        return optimal_eps(schedule)(x, t)

    ddpm = sample(model, schedule, (500, 1), torch.Generator().manual_seed(11), "ddpm", 9, variance="posterior")
    assert seen == ddim_timesteps(100, 9)
    ddim = sample(model, schedule, (500, 1), torch.Generator().manual_seed(11), "ddim", 9, eta=1.0)
    torch.testing.assert_close(ddpm, ddim, rtol=1e-4, atol=1e-5)  # float32 samples


@pytest.mark.parametrize("variance", ["beta", "posterior"])
def test_respaced_ancestral_error_shrinks_with_more_steps(variance):
    """Gaussian data with its optimal predictor: the samples' std nears the data's as K grows to T."""
    errors = [
        abs(
            sample(optimal_eps(HO), HO, (20_000, 1), torch.Generator().manual_seed(0), "ddpm", k, variance=variance)
            .std()
            .item()
            - STD
        )
        for k in (10, 50, 1000)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.01


def with_v(model, v):
    """A net that outputs ε and a constant variance interpolation v, stacked on dim 1."""
    return lambda x, t: torch.cat([model(x, t), torch.full_like(x, v)], 1)


@pytest.mark.parametrize("steps", [None, 8])
def test_learned_variance_at_v_1_is_beta_and_at_v_minus_1_is_the_posterior_variance(steps):
    """Nichol & Dhariwal eq. 15 with f = (v + 1)/2: v = 1 gives σ² = β'_t and v = −1 gives β̃'_t, on the respaced
    schedule when K < T."""
    schedule = NoiseSchedule.from_betas(cosine_betas(40))
    model, g = optimal_eps(schedule), torch.Generator
    for v, variance in ((1.0, "beta"), (-1.0, "posterior")):
        want = sample(model, schedule, (300, 1), g().manual_seed(12), "ddpm", steps, variance=variance)
        got = sample(with_v(model, v), schedule, (300, 1), g().manual_seed(12), "ddpm", steps, variance="learned")
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_ddim_ignores_a_learned_variance():
    schedule = NoiseSchedule.from_betas(linear_betas(40))
    model, g = optimal_eps(schedule), torch.Generator
    want = sample(model, schedule, (50, 1), g().manual_seed(13), "ddim", 10, eta=0.5)
    got = sample(with_v(model, 0.3), schedule, (50, 1), g().manual_seed(13), "ddim", 10, eta=0.5, variance="learned")
    assert torch.equal(got, want)


@pytest.mark.parametrize("kind", [linear_betas, cosine_betas])
def test_clipping_keeps_the_posterior_mean_at_the_clipped_x0(kind):
    """With clip, the ancestral mean is Ho et al.'s eq. 7, √ᾱ_{t−1}β_t/(1 − ᾱ_t) x̂_0 + √α_t(1 − ᾱ_{t−1})/(1 − ᾱ_t) x_t,
    at x̂_0 clipped to [−1, 1], written here from the β's; DDIM's clipped step is eq. 12 at the clipped x̂_0 with
    ε re-derived from it. Where x̂_0 is inside [−1, 1] nothing changes."""
    schedule = NoiseSchedule.from_betas(kind(100))
    betas = schedule.betas
    bars = torch.cumprod(1 - betas, 0)
    xt, eps = 3 * random(6, 4, seed=2), random(6, 4, seed=3)  # wide x_t: many x̂_0 leave [−1, 1]
    for t in (2, 30, 100):
        b, a_bar, a_prev = betas[t - 1], bars[t - 1], bars[t - 2]
        x0 = ((xt - (1 - a_bar).sqrt() * eps) / a_bar.sqrt()).clamp(-1, 1)
        assert (x0.abs() == 1).any()  # the clip is exercised
        want = a_prev.sqrt() * b / (1 - a_bar) * x0 + (1 - b).sqrt() * (1 - a_prev) / (1 - a_bar) * xt
        got = ddpm_step(schedule, xt, t, eps, torch.zeros_like(xt), clip=True)
        torch.testing.assert_close(got, want)
        eps_clipped = (xt - a_bar.sqrt() * x0) / (1 - a_bar).sqrt()
        want_ddim = bars[t - 11].sqrt() * x0 + (1 - bars[t - 11]).sqrt() * eps_clipped if t > 10 else None
        if want_ddim is not None:
            got_ddim = ddim_step(schedule, xt, t, t - 10, eps, 0.0, torch.zeros_like(xt), clip=True)
            torch.testing.assert_close(got_ddim, want_ddim)
    inside = predict_x0(schedule, xt, torch.full((6,), 2), eps).abs() <= 1
    same = ddpm_step(schedule, xt, 2, eps, torch.zeros_like(xt), clip=True)
    plain = ddpm_step(schedule, xt, 2, eps, torch.zeros_like(xt))
    torch.testing.assert_close(same[inside], plain[inside])

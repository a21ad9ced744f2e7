"""DDPM's forward process against derivations done independently: the one-step recursion, Bayes' rule for two
Gaussians, the cosine schedule's own ᾱ formula, and a Monte Carlo run of the Markov chain."""

import math

import pytest
import torch

from benchbox.errors import BenchboxError
from reference_models.diffusion.schedule import (
    NoiseSchedule,
    check_betas,
    cosine_betas,
    linear_betas,
    predict_x0,
    q_mean_variance,
    q_posterior,
    q_sample,
    respaced,
)

SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}


@pytest.mark.parametrize("kind", SCHEDULES)
def test_closed_form_marginal_matches_iterating_the_one_step_kernel(kind):
    """x_t = √α_t x_{t−1} + √β_t ε gives mean m_t = √α_t m_{t−1} and variance v_t = α_t v_{t−1} + β_t."""
    schedule = NoiseSchedule.from_betas(SCHEDULES[kind](100))
    x0 = torch.tensor([[0.7, -1.0, 0.0]], dtype=torch.float64)
    m, v = x0.clone(), torch.zeros_like(x0)
    for t in range(1, 101):
        beta = schedule.betas[t - 1]
        m, v = (1 - beta).sqrt() * m, (1 - beta) * v + beta
        mean, var = q_mean_variance(schedule, x0, torch.tensor([t]))
        torch.testing.assert_close(mean, m, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(var, v, rtol=1e-12, atol=1e-14)


def test_monte_carlo_chain_has_the_closed_form_moments():
    schedule = NoiseSchedule.from_betas(linear_betas(50, 1e-3, 0.1))
    g = torch.Generator().manual_seed(0)
    n, t = 200_000, 30
    x = torch.full((n, 1), 0.8, dtype=torch.float64)
    for s in range(t):
        beta = schedule.betas[s]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(n, 1, generator=g, dtype=torch.float64)
    direct = q_sample(
        schedule,
        torch.full((n, 1), 0.8, dtype=torch.float64),
        torch.full((n,), t),
        torch.randn(n, 1, generator=g, dtype=torch.float64),
    )
    mean, var = q_mean_variance(schedule, torch.tensor([[0.8]], dtype=torch.float64), torch.tensor([t]))
    for sample in (x, direct):  # standard errors: √(var/n) ≈ 0.002 for the mean
        assert sample.mean().item() == pytest.approx(mean.item(), abs=0.01)
        assert sample.var().item() == pytest.approx(var.item(), rel=0.02)


@pytest.mark.parametrize("kind", SCHEDULES)
def test_alpha_bar_at_T_is_near_zero(kind):
    schedule = NoiseSchedule.from_betas(SCHEDULES[kind](1000))
    assert schedule.alpha_bars[-1].item() < 1e-4  # linear: exp(Σ log(1 − β_t)) ≈ 4e-5; cosine: ~0
    assert schedule.alpha_bars[0].item() > 0.999


def test_linear_schedule_is_the_papers():
    betas = linear_betas(1000)
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    assert torch.allclose(betas.diff(), torch.full((999,), (0.02 - 1e-4) / 999, dtype=torch.float64))


def test_cosine_schedule_follows_its_alpha_bar_formula_until_the_clip():
    T, s = 1000, 0.008
    schedule = NoiseSchedule.from_betas(cosine_betas(T))
    f = [math.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    clipped = (schedule.betas >= 0.999).nonzero()
    first_clip = int(clipped[0]) if len(clipped) else T
    assert first_clip > 990  # only the last steps hit the 0.999 clip
    for t in (1, 10, 500, 900, first_clip):
        assert schedule.alpha_bars[t - 1].item() == pytest.approx(f[t] / f[0], rel=1e-9)


@pytest.mark.parametrize("kind", SCHEDULES)
def test_posterior_is_bayes_rule_for_the_two_gaussians(kind):
    """q(x_{t−1}|x_0) = N(√ᾱ_{t−1}x_0, 1 − ᾱ_{t−1}) times q(x_t|x_{t−1}) = N(√α_t x_{t−1}, β_t): precision
    1/(1 − ᾱ_{t−1}) + α_t/β_t, mean = variance · (√ᾱ_{t−1} x_0 /(1 − ᾱ_{t−1}) + √α_t x_t / β_t)."""
    schedule = NoiseSchedule.from_betas(SCHEDULES[kind](200))
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(5, 3, generator=g, dtype=torch.float64)
    xt = torch.randn(5, 3, generator=g, dtype=torch.float64)
    for t in (2, 17, 100, 200):
        prev = schedule.alpha_bars[t - 2].item()
        alpha, beta = 1 - schedule.betas[t - 1].item(), schedule.betas[t - 1].item()
        var = 1 / (1 / (1 - prev) + alpha / beta)
        mean = var * (math.sqrt(prev) * x0 / (1 - prev) + math.sqrt(alpha) * xt / beta)
        got_mean, got_var = q_posterior(schedule, x0, xt, torch.full((5,), t))
        torch.testing.assert_close(got_mean, mean, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(got_var, torch.full_like(xt, var), rtol=1e-9, atol=1e-15)


def test_posterior_at_t_1_is_x0_with_no_variance():
    schedule = NoiseSchedule.from_betas(linear_betas(10))
    x0, xt = torch.ones(2, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
    mean, var = q_posterior(schedule, x0, xt, torch.tensor([1, 1]))
    torch.testing.assert_close(mean, x0, rtol=1e-12, atol=0)
    assert torch.equal(var, torch.zeros_like(var))


def test_predict_x0_inverts_q_sample():
    schedule = NoiseSchedule.from_betas(cosine_betas(100))
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(4, 2, generator=g, dtype=torch.float64), torch.randn(4, 2, generator=g, dtype=torch.float64)
    t = torch.tensor([1, 30, 60, 99])
    torch.testing.assert_close(predict_x0(schedule, q_sample(schedule, x0, t, eps), t, eps), x0)


@pytest.mark.parametrize(
    "betas, message",
    [
        ([0.1, 0.0, 0.2], "outside \\(0, 1\\)"),
        ([0.1, 0.5, 1.0], "outside \\(0, 1\\)"),
        ([0.1, float("nan")], "outside \\(0, 1\\)"),
        ([0.2, 0.1, 0.3], "decrease at t = 2"),
        ([], "T >= 1"),
    ],
)
def test_bad_schedules_are_refused_in_one_line(betas, message):
    with pytest.raises(BenchboxError, match=message) as info:
        check_betas(torch.tensor(betas, dtype=torch.float64))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("build", [linear_betas, cosine_betas])
def test_fewer_than_one_step_is_refused(build):
    with pytest.raises(BenchboxError, match="T >= 1"):
        build(0)


def test_timesteps_outside_1_to_T_are_refused():
    schedule = NoiseSchedule.from_betas(linear_betas(10))
    with pytest.raises(BenchboxError, match="1..10"):
        q_sample(schedule, torch.zeros(1, 1), torch.tensor([11]), torch.zeros(1, 1))


UNEVEN = [1, 2, 5, 6, 30, 31, 77, 120, 199, 200]  # gaps of 1 to 46 steps


@pytest.mark.parametrize("kind", SCHEDULES)
def test_respaced_schedule_keeps_alpha_bar_at_tau_and_its_posterior_is_bayes_rule(kind):
    """Nichol & Dhariwal 2021, section 4: ᾱ'_i = ᾱ_{τ_i}; β'_i is one minus the product of the one-step α_s over
    the gap τ_{i−1} < s ≤ τ_i; β̃'_i is the variance of Bayes' rule for q(x_{τ_{i−1}}|x_0) and the gap's kernel."""
    schedule = NoiseSchedule.from_betas(SCHEDULES[kind](200))
    sub = respaced(schedule, list(reversed(UNEVEN)))  # the order τ comes in does not matter
    assert sub.steps == len(UNEVEN)
    for i, (tau, tau_prev) in enumerate(zip(UNEVEN, [0, *UNEVEN[:-1]], strict=True), start=1):
        gap = math.prod(1 - schedule.betas[s - 1].item() for s in range(tau_prev + 1, tau + 1))
        prev = math.prod(1 - schedule.betas[s - 1].item() for s in range(1, tau_prev + 1))
        assert sub.alpha_bars[i - 1].item() == pytest.approx(prev * gap, rel=1e-12)
        assert sub.betas[i - 1].item() == pytest.approx(1 - gap, rel=1e-9)
        if i >= 2:
            bayes = 1 / (1 / (1 - prev) + gap / (1 - gap))
            assert sub.posterior_variance[i - 1].item() == pytest.approx(bayes, rel=1e-9)


def test_respacing_onto_every_step_gives_back_the_schedule():
    schedule = NoiseSchedule.from_betas(cosine_betas(100))
    sub = respaced(schedule, list(range(100, 0, -1)))
    for name in ("betas", "alpha_bars", "posterior_variance", "posterior_mean_x0", "posterior_mean_xt"):
        torch.testing.assert_close(getattr(sub, name), getattr(schedule, name), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("taus", [[0, 5], [3, 3, 5], [11], []])
def test_bad_respacings_are_refused(taus):
    with pytest.raises(BenchboxError, match="distinct timesteps in 1..10"):
        respaced(NoiseSchedule.from_betas(linear_betas(10)), taus)

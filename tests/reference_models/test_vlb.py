"""DDPM's bound: each term against closed forms, zero where the model equals the true posterior, and the whole
bound against the exact discrete log-likelihood of Gaussian data under its exact ε-predictor."""

import math
from dataclasses import replace

import pytest
import torch
from scipy import stats

from benchbox.errors import BenchboxError
from reference_models.diffusion.schedule import NoiseSchedule, linear_betas, q_posterior
from reference_models.diffusion.unet import UNet, UNetConfig
from reference_models.diffusion.vlb import (
    estimated_bits,
    fixed_log_variance,
    hybrid_vlb_term,
    learned_log_variance,
    prior_bits,
    step_bits,
    strata,
    total_bits,
)

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


def oracle_eps(schedule, x0):
    """The ε that maps x_t back to this very x_0: every bound term is then a closed form, free of noise."""

    def eps(x, t):
        a = schedule.alpha_bars[t.long() - 1].view(-1, 1, 1, 1)
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    return eps


def oracle_bound_by_hand(schedule, x0):
    """With x̂_0 = x_0 and σ_t² = β_t: L_{t−1} = ½(log β_t/β̃_t + β̃_t/β_t − 1) nats per dimension (Ho eq. 5, means
    equal), L_0 = −log of the N(x_0, β_1) mass of x_0's bin (scipy), L_T by hand; bits/dim of the one image."""
    x = x0[0].flatten().tolist()
    a_T, beta1 = schedule.alpha_bars[-1].item(), schedule.betas[0].item()
    prior = sum(0.5 * ((1 - a_T) + a_T * v**2 - 1 - math.log(1 - a_T)) for v in x) / len(x)
    terms = [-sum(math.log(bin_mass(v, v, math.sqrt(beta1))) for v in x) / len(x)]
    for t in range(2, schedule.steps + 1):
        prev, a = schedule.alpha_bars[t - 2].item(), schedule.alpha_bars[t - 1].item()
        ratio = (1 - prev) / (1 - a)  # β̃_t / β_t
        terms.append(0.5 * (-math.log(ratio) + ratio - 1))
    return (prior + sum(terms)) / math.log(2), [v / math.log(2) for v in terms]


def bin_mass(x, mean, sigma):
    lo = -math.inf if x <= -0.999 else x - 1 / 255
    hi = math.inf if x >= 0.999 else x + 1 / 255
    return stats.norm.cdf(hi, mean, sigma) - stats.norm.cdf(lo, mean, sigma)


ONE_IMAGE = GRID[torch.tensor([[[[0, 40], [128, 255]]]])]  # both edge bins and two inner ones


def test_whole_bound_of_the_oracle_is_the_closed_form():
    schedule = NoiseSchedule.from_betas(linear_betas(20))
    x0 = ONE_IMAGE.expand(5, -1, -1, -1)
    want, _ = oracle_bound_by_hand(schedule, x0)
    got = total_bits(oracle_eps(schedule, x0), schedule, x0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, torch.full((5,), want, dtype=torch.float64), rtol=1e-9, atol=0)


def test_strata_split_1_to_T_into_contiguous_near_equal_pieces():
    assert strata(20, 6) == [(1, 3), (4, 3), (7, 4), (11, 3), (14, 3), (17, 4)]
    assert strata(5, 5) == [(t, 1) for t in range(1, 6)]
    assert strata(7, 1) == [(1, 7)]
    with pytest.raises(BenchboxError, match="21 VLB timesteps for T = 20"):
        strata(20, 21)


def test_stratified_estimate_of_the_oracle_bound_is_unbiased_with_the_stratified_variance():
    """Noise-free terms: each row draws t_k in each stratum, so its estimate Σ_k n_k L(t_k) has mean Σ_t L(t) (the
    closed form) and variance Σ_k n_k² Var_{t∈k} L(t); 20,000 rows check both."""
    schedule = NoiseSchedule.from_betas(linear_betas(20))
    x0 = ONE_IMAGE.expand(20_000, -1, -1, -1)
    want, terms = oracle_bound_by_hand(schedule, x0)
    got = estimated_bits(oracle_eps(schedule, x0), schedule, x0, torch.Generator().manual_seed(1), 6)
    var = sum(n**2 * torch.tensor(terms[f - 1 : f - 1 + n]).var(unbiased=False).item() for f, n in strata(20, 6))
    assert abs(got.mean().item() - want) < 4 * math.sqrt(var / len(got))
    assert got.var().item() == pytest.approx(var, rel=0.05)


def test_stratified_estimate_with_noise_matches_the_whole_bound_in_expectation():
    """A mismatched Gaussian ε-predictor, so every term is random in x_t: the means of 4,000 estimates (K = 7 of
    T = 20) and of 4,000 full bounds agree within four standard errors of their difference."""
    schedule = NoiseSchedule.from_betas(linear_betas(20, 1e-3, 0.2))

    def eps(x, t):
        a = schedule.alpha_bars[t.long() - 1].view(-1, 1, 1, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * 0.1) / (a * 0.3**2 + 1 - a)

    x0 = ONE_IMAGE.expand(4000, -1, -1, -1)
    est = estimated_bits(eps, schedule, x0, torch.Generator().manual_seed(2), 7)
    full = total_bits(eps, schedule, x0, torch.Generator().manual_seed(3))
    se = math.sqrt(est.var().item() / len(est) + full.var().item() / len(full))
    assert abs(est.mean().item() - full.mean().item()) < 4 * se
    assert est.var().item() > full.var().item()  # the price of 7 network calls instead of 20


def test_one_timestep_per_stratum_is_the_whole_bound_with_the_same_draws():
    schedule = NoiseSchedule.from_betas(linear_betas(15))
    eps = oracle_eps(schedule, GRID[torch.zeros(3, 1, 2, 2, dtype=torch.long)])  # wrong for most pixels: noisy terms
    x0 = on_grid(3, 5)
    want = total_bits(eps, schedule, x0, torch.Generator().manual_seed(4), variance="posterior")
    got = estimated_bits(eps, schedule, x0, torch.Generator().manual_seed(4), 15, variance="posterior")
    assert torch.equal(got, want)


def test_learned_log_variance_interpolates_beta_and_the_clipped_posterior_variance():
    """f = (v + 1)/2: v = 1 → log β_t, v = −1 → log β̃_t (β_1 at t = 1), v = 0 → their mean, by hand."""
    schedule = NoiseSchedule.from_betas(linear_betas(50))
    t = torch.tensor([1, 2, 25, 50])
    beta = schedule.betas[t - 1].log().view(-1, 1)
    prev, a = schedule.alpha_bars[(t - 2).clamp(min=0)], schedule.alpha_bars[t - 1]
    post = torch.where(t == 1, schedule.betas[0], (1 - prev) / (1 - a) * schedule.betas[t - 1]).log().view(-1, 1)
    for v, want in ((1.0, beta), (-1.0, post), (0.0, (beta + post) / 2)):
        got = learned_log_variance(schedule, t, torch.full((4, 3), v, dtype=torch.float64))
        torch.testing.assert_close(got, want.expand(4, 3))


def test_learned_variance_at_v_1_gives_the_fixed_beta_bound():
    schedule = NoiseSchedule.from_betas(linear_betas(20))
    x0 = on_grid(4, 6)
    eps = oracle_eps(schedule, GRID[torch.full((4, 1, 2, 2), 100)])

    def eps_and_v(x, t):
        return torch.cat([eps(x, t), torch.ones_like(x)], 1)

    want = total_bits(eps, schedule, x0, torch.Generator().manual_seed(7))
    got = total_bits(eps_and_v, schedule, x0, torch.Generator().manual_seed(7), variance="learned")
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    t = torch.tensor([1, 2, 10, 20])
    xt = torch.randn(4, 1, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    term = hybrid_vlb_term(schedule, x0, xt, t, eps_and_v(xt, t))
    mean = model_mean(schedule, xt, t, eps(xt, t))
    fixed = step_bits(schedule, x0, xt, t, mean, fixed_log_variance(schedule, t, x0))
    torch.testing.assert_close(term, 20 * fixed)  # L_vlb's one-draw estimate: T · L_{t−1}


def model_mean(schedule, xt, t, eps):
    """Ho eq. 11 written out: (x_t − β_t/√(1 − ᾱ_t) ε)/√α_t."""
    b, a = schedule.betas[t - 1].view(-1, 1, 1, 1), schedule.alpha_bars[t - 1].view(-1, 1, 1, 1)
    return (xt - b / (1 - a).sqrt() * eps) / (1 - b).sqrt()


def test_hybrid_vlb_term_trains_only_the_variance_channels():
    """The mean is built from the detached ε, so ∂(λ L_vlb)/∂ε is exactly zero and only v (and the net's weights
    through v) learn from it; at t = 1 β̃_1 is replaced by β_1, so v gets no gradient there either."""
    torch.manual_seed(0)
    config = UNetConfig(
        image_size=8, in_channels=1, base_channels=16, channel_mults=(1, 2), attention_resolutions=(4,), norm_groups=8
    )
    net = UNet(replace(config, learn_sigma=True))
    torch.nn.init.normal_(net.conv_out.weight, std=0.05)
    schedule = NoiseSchedule.from_betas(linear_betas(20))
    x0 = GRID[torch.randint(0, 256, (4, 1, 8, 8), generator=torch.Generator().manual_seed(9))].float()
    t = torch.tensor([1, 2, 10, 20])
    xt = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(10))
    out = net(xt, t)
    out.retain_grad()
    (0.001 * hybrid_vlb_term(schedule, x0, xt, t, out).mean()).backward()
    assert torch.equal(out.grad[:, :1], torch.zeros_like(out.grad[:, :1]))
    assert torch.isfinite(out.grad).all() and (out.grad[1:, 1:].abs().flatten(1).sum(1) > 0).all()
    assert torch.equal(out.grad[0, 1:], torch.zeros_like(out.grad[0, 1:]))
    assert torch.equal(net.conv_out.weight.grad[:1], torch.zeros_like(net.conv_out.weight.grad[:1]))
    assert net.conv_out.weight.grad[1:].abs().sum() > 0

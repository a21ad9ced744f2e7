"""DDPM's variational bound in bits/dim (Ho et al. 2020, eq. 5): L = L_T + Σ_{t=2}^T L_{t−1} + L_0 with
L_T = KL(q(x_T|x_0) ‖ N(0, I)), L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t)) and
L_0 = −log p_θ(x_0|x_1) under the discretized Gaussian decoder (section 3.3). Every term is per sample, in bits
per dimension (nats summed over dimensions, divided by D·ln 2). Data x_0 lies on the 256-level grid in [−1, 1].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from benchbox.errors import BenchboxError
from reference_models.diffusion.schedule import NoiseSchedule, at, predict_x0, q_mean_variance, q_posterior
from reference_models.likelihood import check_pixel_range, discretized_gaussian_log_likelihood, gaussian_kl

VARIANCES = ("beta", "posterior", "learned")  # σ_t² = β_t, β̃_t (Ho et al. 2020), or learned (Nichol & Dhariwal 2021)


def per_sample_bits(nats: Tensor) -> Tensor:
    """Elementwise nats (N, …) → bits per dimension per sample (N,)."""
    return nats.flatten(1).mean(1) / math.log(2)


def prior_bits(schedule: NoiseSchedule, x0: Tensor) -> Tensor:
    """L_T = KL(N(√ᾱ_T x_0, (1 − ᾱ_T) I) ‖ N(0, I)) in bits/dim: no parameters, near 0 for a good schedule."""
    mean, var = q_mean_variance(schedule, x0, torch.full((x0.shape[0],), schedule.steps))
    return per_sample_bits(gaussian_kl(mean, var.log(), torch.zeros_like(mean), torch.zeros_like(mean)))


def model_mean_from_eps(schedule: NoiseSchedule, xt: Tensor, t: Tensor, eps: Tensor, clip: bool = False) -> Tensor:
    """p_θ's mean μ̃_t(x_t, x̂_0(x_t, ε_θ)), the ε-parameterisation's mean (Ho et al. 2020, eq. 11); with `clip`, x̂_0
    clipped to [−1, 1] first, as Ho's and Nichol & Dhariwal's released code sample and evaluate."""
    x0 = predict_x0(schedule, xt, t, eps)
    mean, _ = q_posterior(schedule, x0.clamp(-1, 1) if clip else x0, xt, t)
    return mean


def step_bits(
    schedule: NoiseSchedule, x0: Tensor, xt: Tensor, t: Tensor, model_mean: Tensor, model_log_var: Tensor
) -> Tensor:
    """L_{t−1} for samples with t ≥ 2 and L_0 = −log p(x_0|x_1) (discretized Gaussian) where t = 1, bits/dim."""
    true_mean, true_var = q_posterior(schedule, x0, xt, t)
    kl = gaussian_kl(true_mean, true_var.clamp(min=1e-30).log(), model_mean, model_log_var)
    decoder = -discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_log_var, check=False)
    first = (t == 1).view(-1, *([1] * (x0.dim() - 1)))
    return per_sample_bits(torch.where(first, decoder, kl))


def fixed_log_variance(schedule: NoiseSchedule, t: Tensor, like: Tensor, variance: str = "beta") -> Tensor:
    """log σ_t² for the fixed variances of Ho et al.: β_t, or β̃_t (with β̃_1 replaced by β_1, which is 0)."""
    if variance == "beta":
        return at(schedule.betas, t, like).log().expand_as(like)
    post = torch.cat([schedule.betas[:1], schedule.posterior_variance[1:]])
    return at(post, t, like).log().expand_as(like)


def learned_log_variance(schedule: NoiseSchedule, t: Tensor, v: Tensor) -> Tensor:
    """log σ² = f log β_t + (1 − f) log β̃_t with f = (v + 1)/2 for the net's raw output v, as improved-diffusion codes
    Nichol & Dhariwal 2021's eq. 15 (the paper writes v for f); β̃_1 is replaced by β_1 as in fixed_log_variance."""
    frac = (v + 1) / 2
    beta, post = (fixed_log_variance(schedule, t, v, kind) for kind in ("beta", "posterior"))
    return frac * beta + (1 - frac) * post


def eps_and_log_variance(schedule: NoiseSchedule, t: Tensor, output: Tensor, variance: str) -> tuple[Tensor, Tensor]:
    """Split a net's output into ε and log σ_t²: ε alone for a fixed variance ("beta", "posterior"), or ε then v
    stacked on dim 1 (2C channels, as UNetConfig.learn_sigma gives) for "learned"."""
    if variance not in VARIANCES:
        raise BenchboxError(f"unknown DDPM variance '{variance}'", f"use one of {', '.join(VARIANCES)}")
    if variance != "learned":
        return output, fixed_log_variance(schedule, t, output, variance)
    if output.dim() < 2 or output.shape[1] % 2:
        raise BenchboxError(f"a learned variance needs ε and v on dim 1, got {tuple(output.shape)}", "set learn_sigma")
    eps, v = output.chunk(2, 1)
    return eps, learned_log_variance(schedule, t, v)


def _sampled_step_bits(
    eps_model, schedule: NoiseSchedule, x0: Tensor, t: Tensor, generator, variance: str, clip: bool
) -> Tensor:
    """L_{t−1} (or L_0) per sample at one fresh x_t ~ q(x_t|x_0), the noise drawn from `generator` on the CPU."""
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    mean, var = q_mean_variance(schedule, x0, t)
    xt = mean + var.sqrt() * noise
    eps, log_var = eps_and_log_variance(schedule, t, eps_model(xt, t), variance)
    return step_bits(schedule, x0, xt, t, model_mean_from_eps(schedule, xt, t, eps, clip), log_var)


@torch.no_grad()
def total_bits(
    eps_model,
    schedule: NoiseSchedule,
    x0: Tensor,
    generator: torch.Generator,
    variance: str = "beta",
    clip: bool = False,
) -> Tensor:
    """The whole bound per sample in bits/dim: T network evaluations, one fresh x_t ~ q(x_t|x_0) per step; `clip`
    clips x̂_0 in p_θ's mean (model_mean_from_eps)."""
    check_pixel_range(x0)
    total = prior_bits(schedule, x0)
    for step in range(1, schedule.steps + 1):
        t = torch.full((x0.shape[0],), step, device=x0.device)
        total = total + _sampled_step_bits(eps_model, schedule, x0, t, generator, variance, clip)
    return total


def strata(total: int, count: int) -> list[tuple[int, int]]:
    """`count` contiguous strata of 1..T as (first step, size): stratum k is ⌊kT/K⌋+1..⌊(k+1)T/K⌋ (sizes differ by ≤ 1)."""
    if not 1 <= count <= total:
        raise BenchboxError(f"{count} VLB timesteps for T = {total}", f"use 1..{total}, or 0 for all T terms")
    bounds = [k * total // count for k in range(count + 1)]
    return [(lo + 1, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


@torch.no_grad()
def estimated_bits(
    eps_model,
    schedule: NoiseSchedule,
    x0: Tensor,
    generator: torch.Generator,
    timesteps: int,
    variance: str = "beta",
    clip: bool = False,
) -> Tensor:
    """An unbiased, stratified estimate of total_bits with K = `timesteps` network calls: L_T + Σ_k n_k L_{t_k−1},
    t_k uniform in stratum k (of n_k steps), drawn per image; a stratum of one step draws nothing, so K = T is
    total_bits with the same generator."""
    check_pixel_range(x0)
    total = prior_bits(schedule, x0)
    n = x0.shape[0]
    for first, size in strata(schedule.steps, timesteps):
        t = first + (
            torch.randint(0, size, (n,), generator=generator) if size > 1 else torch.zeros(n, dtype=torch.long)
        )
        total = total + size * _sampled_step_bits(eps_model, schedule, x0, t.to(x0.device), generator, variance, clip)
    return total


def hybrid_vlb_term(schedule: NoiseSchedule, x0: Tensor, xt: Tensor, t: Tensor, output: Tensor) -> Tensor:
    """L_vlb's one-sample estimate T·L_{t−1} (T·L_0 at t = 1) in bits/dim per sample, with μ from the stop-gradiented
    ε and σ² from v, so that it trains only the variance (Nichol & Dhariwal 2021, section 3.1: L_simple + λ L_vlb)."""
    eps, log_var = eps_and_log_variance(schedule, t, output, "learned")
    mean = model_mean_from_eps(schedule, xt, t, eps.detach())
    return schedule.steps * step_bits(schedule, x0, xt, t, mean, log_var)

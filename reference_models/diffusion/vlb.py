"""DDPM's variational bound in bits/dim (Ho et al. 2020, eq. 5): L = L_T + Σ_{t=2}^T L_{t−1} + L_0 with
L_T = KL(q(x_T|x_0) ‖ N(0, I)), L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t)) and
L_0 = −log p_θ(x_0|x_1) under the discretized Gaussian decoder (section 3.3). Every term is per sample, in bits
per dimension (nats summed over dimensions, divided by D·ln 2). Data x_0 lies on the 256-level grid in [−1, 1].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from reference_models.diffusion.schedule import NoiseSchedule, at, predict_x0, q_mean_variance, q_posterior
from reference_models.likelihood import check_pixel_range, discretized_gaussian_log_likelihood, gaussian_kl


def per_sample_bits(nats: Tensor) -> Tensor:
    """Elementwise nats (N, …) → bits per dimension per sample (N,)."""
    return nats.flatten(1).mean(1) / math.log(2)


def prior_bits(schedule: NoiseSchedule, x0: Tensor) -> Tensor:
    """L_T = KL(N(√ᾱ_T x_0, (1 − ᾱ_T) I) ‖ N(0, I)) in bits/dim: no parameters, near 0 for a good schedule."""
    mean, var = q_mean_variance(schedule, x0, torch.full((x0.shape[0],), schedule.steps))
    return per_sample_bits(gaussian_kl(mean, var.log(), torch.zeros_like(mean), torch.zeros_like(mean)))


def model_mean_from_eps(schedule: NoiseSchedule, xt: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """p_θ's mean μ̃_t(x_t, x̂_0(x_t, ε_θ)), the ε-parameterisation's mean (Ho et al. 2020, eq. 11)."""
    mean, _ = q_posterior(schedule, predict_x0(schedule, xt, t, eps), xt, t)
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


@torch.no_grad()
def total_bits(
    eps_model, schedule: NoiseSchedule, x0: Tensor, generator: torch.Generator, variance: str = "beta"
) -> Tensor:
    """The whole bound per sample in bits/dim: T network evaluations, one fresh x_t ~ q(x_t|x_0) per step."""
    check_pixel_range(x0)
    total = prior_bits(schedule, x0)
    for step in range(1, schedule.steps + 1):
        t = torch.full((x0.shape[0],), step, device=x0.device)
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        mean, var = q_mean_variance(schedule, x0, t)
        xt = mean + var.sqrt() * noise
        model_mean = model_mean_from_eps(schedule, xt, t, eps_model(xt, t))
        total = total + step_bits(schedule, x0, xt, t, model_mean, fixed_log_variance(schedule, t, x0, variance))
    return total

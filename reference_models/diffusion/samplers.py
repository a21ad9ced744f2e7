"""Samplers for a trained ε-prediction network: DDPM's ancestral sampling (Ho et al. 2020, Algorithm 2), on all T
steps or respaced to a subsequence (Nichol & Dhariwal 2021), and DDIM (Song et al. 2021, eq. 12) with η and a
subsequence of the timesteps, plus classifier-free guidance's mix of the conditional and unconditional predictions
(Ho & Salimans 2021). Schedule, network and sampler are separate pieces.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from benchbox.errors import BenchboxError
from reference_models.diffusion.schedule import NoiseSchedule, at, predict_x0, q_posterior, respaced
from reference_models.diffusion.vlb import VARIANCES, eps_and_log_variance

EpsModel = Callable[[Tensor, Tensor], Tensor]  # (x_t, t) -> predicted ε


def ddpm_step(
    schedule: NoiseSchedule,
    xt: Tensor,
    t: int,
    eps: Tensor,
    noise: Tensor,
    variance: str = "beta",
    log_var: Tensor | None = None,
    clip: bool = False,
) -> Tensor:
    """x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) ε) / √α_t + σ_t z, σ_t² = β_t, β̃_t or exp(log_var) (learned), no noise at
    t = 1 (Algorithm 2). With `clip` the mean is μ̃_t(x_t, clip(x̂_0, −1, 1)), the same mean with x̂_0 kept in the
    data's range, as Ho's released sampler computes it."""
    tt = torch.full((xt.shape[0],), t)
    beta, alpha, alpha_bar = (at(v, tt, xt) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    if clip:
        mean, _ = q_posterior(schedule, predict_x0(schedule, xt, tt, eps).clamp(-1, 1), xt, tt)
    else:
        mean = (xt - beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()
    if t == 1:
        return mean
    if variance == "learned" and log_var is not None:
        return mean + (0.5 * log_var).exp() * noise
    if variance not in ("beta", "posterior"):
        raise BenchboxError(
            f"unknown DDPM variance '{variance}' (or 'learned' without log_var)",
            "use 'beta' (σ² = β_t), 'posterior' (σ² = β̃_t) or 'learned' with the model's log σ²",
        )
    var = beta if variance == "beta" else at(schedule.posterior_variance, tt, xt)
    return mean + var.sqrt() * noise


def ddim_timesteps(total: int, steps: int) -> list[int]:
    """An evenly spaced subsequence τ of 1..T with `steps` elements, ending at T, descending (DDIM's "uniform")."""
    if not 1 <= steps <= total:
        raise BenchboxError(
            f"{steps} sampling steps asked of a diffusion with T = {total}", f"use between 1 and {total} steps"
        )
    return sorted({round(1 + i * (total - 1) / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


def ddim_step(
    schedule: NoiseSchedule,
    xt: Tensor,
    t: int,
    t_prev: int,
    eps: Tensor,
    eta: float,
    noise: Tensor,
    clip: bool = False,
) -> Tensor:
    """x_{τ'} = √ᾱ_{τ'} x̂_0 + √(1 − ᾱ_{τ'} − σ²) ε + σ z, σ = η √((1 − ᾱ_{τ'})/(1 − ᾱ_τ)) √(1 − ᾱ_τ/ᾱ_{τ'}),
    with ᾱ_0 = 1 (Song et al. 2021, eqs. 12 and 16). With `clip`, x̂_0 is clipped to [−1, 1] and ε re-derived from
    it (as improved-diffusion's DDIM does)."""
    if not math.isfinite(eta) or eta < 0:
        raise BenchboxError(f"DDIM's η must be a finite number >= 0, got {eta}", "use η = 0 (deterministic) to 1")
    tt = torch.full((xt.shape[0],), t)
    alpha_bar = at(schedule.alpha_bars, tt, xt)
    prev = at(schedule.alpha_bars, torch.full_like(tt, t_prev), xt) if t_prev >= 1 else torch.ones_like(alpha_bar)
    x0 = predict_x0(schedule, xt, tt, eps)
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (xt - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()
    sigma = eta * ((1 - prev) / (1 - alpha_bar)).sqrt() * (1 - alpha_bar / prev).sqrt()
    return prev.sqrt() * x0 + (1 - prev - sigma**2).clamp(min=0).sqrt() * eps + sigma * noise


def guided_eps(eps_uncond: Tensor, eps_cond: Tensor, scale: float) -> Tensor:
    """ε̃ = ε(x, ∅) + w (ε(x, c) − ε(x, ∅)): w = 0 unconditional, w = 1 conditional, w > 1 guided (Ho & Salimans)."""
    if not math.isfinite(scale):
        raise BenchboxError(f"guidance scale {scale} is not a finite number", "pass a finite scale, e.g. 0 to 10")
    return eps_uncond + scale * (eps_cond - eps_uncond)


@torch.no_grad()
def sample(
    eps_model: EpsModel,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    generator: torch.Generator,
    method: str = "ddpm",
    steps: int | None = None,
    eta: float = 0.0,
    device: torch.device | str = "cpu",
    variance: str = "beta",
    clip: bool = False,
) -> Tensor:
    """x_T ~ N(0, I), then `steps` (default T) steps on τ = ddim_timesteps(T, steps): DDPM's ancestral steps on the
    respaced schedule (Nichol & Dhariwal 2021, section 4; the plain Algorithm 2 when steps = T) or DDIM's; returns
    x_0. The network is called once per step at the original τ_i. With variance "learned" it returns ε and v
    stacked on dim 1 (DDIM uses only ε). Noise comes from `generator` (on the CPU), so samples do not depend on the
    device."""

    def normal() -> Tensor:
        return torch.randn(shape, generator=generator).to(device)

    if method not in ("ddpm", "ddim"):
        raise BenchboxError(f"unknown sampler '{method}'", "use 'ddpm' or 'ddim'")
    if variance not in VARIANCES:
        raise BenchboxError(f"unknown DDPM variance '{variance}'", f"use one of {', '.join(VARIANCES)}")
    taus = ddim_timesteps(schedule.steps, steps or schedule.steps)
    x = normal()
    if method == "ddpm":
        sub = schedule if len(taus) == schedule.steps else respaced(schedule, taus)
        for i, t in zip(range(len(taus), 0, -1), taus, strict=True):
            out = eps_model(x, torch.full((shape[0],), t, device=device))
            ii = torch.full((shape[0],), i)
            eps, log_var = eps_and_log_variance(sub, ii, out, variance) if variance == "learned" else (out, None)
            x = ddpm_step(sub, x, i, eps, normal() if i > 1 else torch.zeros_like(x), variance, log_var, clip)
        return x
    for t, t_prev in zip(taus, [*taus[1:], 0], strict=True):
        eps = eps_model(x, torch.full((shape[0],), t, device=device))
        eps = eps.chunk(2, 1)[0] if variance == "learned" else eps
        noise = normal() if eta and t_prev else torch.zeros_like(x)
        x = ddim_step(schedule, x, t, t_prev, eps, eta, noise, clip)
    return x

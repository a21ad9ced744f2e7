"""DDPM's noise schedule and forward process (Ho et al. 2020), as pure functions of a schedule's β_1..β_T.

q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t I); with α_t = 1 − β_t and ᾱ_t = ∏_{s≤t} α_s the marginal is
q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) (eq. 4) and the posterior q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I) with
μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) x_t and β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) β_t
(eqs. 6–7). Timesteps are 1..T as in the paper; tensors are indexed by t − 1. Schedules are float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from benchbox.errors import BenchboxError


def linear_betas(steps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> Tensor:
    """β_t linear from β_1 to β_T (Ho et al. 2020, section 4: 1e-4 to 0.02 over T = 1000)."""
    check_steps(steps)
    return check_betas(torch.linspace(beta_1, beta_T, steps, dtype=torch.float64))


def cosine_betas(steps: int, offset: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """β_t = min(1 − ᾱ_t/ᾱ_{t−1}, 0.999) with ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2)
    (Nichol & Dhariwal 2021, eq. 17, s = 0.008)."""
    check_steps(steps)
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return check_betas((1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta))


def check_steps(steps: int) -> None:
    if not isinstance(steps, int) or steps < 1:
        raise BenchboxError(f"a diffusion needs T >= 1 steps, got {steps}", "set the number of steps T to 1 or more")


def check_betas(betas: Tensor, increasing: bool = True) -> Tensor:
    """β_1..β_T must lie in (0, 1) and (unless increasing=False) never decrease; returns them as float64."""
    betas = torch.as_tensor(betas, dtype=torch.float64)
    if betas.ndim != 1 or len(betas) < 1:
        raise BenchboxError(
            f"a schedule is a 1-D sequence of T >= 1 betas, got shape {tuple(betas.shape)}", "pass β_1..β_T"
        )
    if not torch.isfinite(betas).all() or betas.min() <= 0 or betas.max() >= 1:
        raise BenchboxError(
            f"schedule betas span [{betas.min().item():.3g}, {betas.max().item():.3g}], outside (0, 1)",
            "every β_t must lie strictly between 0 and 1",
        )
    drops = (betas[1:] < betas[:-1]).nonzero()
    if increasing and len(drops):
        t = int(drops[0]) + 2
        raise BenchboxError(
            f"schedule betas decrease at t = {t} ({betas[t - 2].item():.3g} → {betas[t - 1].item():.3g})",
            "use a non-decreasing schedule (noise is added ever faster)",
        )
    return betas


@dataclass(frozen=True)
class NoiseSchedule:
    """Everything the forward process and its posterior need, precomputed from β_1..β_T (float64, length T)."""

    betas: Tensor
    alphas: Tensor
    alpha_bars: Tensor
    alpha_bars_prev: Tensor  # ᾱ_{t−1}, with ᾱ_0 = 1
    posterior_variance: Tensor  # β̃_t
    posterior_mean_x0: Tensor  # coefficient of x_0 in μ̃_t
    posterior_mean_xt: Tensor  # coefficient of x_t in μ̃_t

    @property
    def steps(self) -> int:
        return len(self.betas)

    @classmethod
    def from_betas(cls, betas: Tensor, increasing: bool = True) -> NoiseSchedule:
        betas = check_betas(betas, increasing)
        alphas = 1 - betas
        alpha_bars = torch.cumprod(alphas, 0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars[:-1]])
        return cls(
            betas=betas,
            alphas=alphas,
            alpha_bars=alpha_bars,
            alpha_bars_prev=prev,
            posterior_variance=(1 - prev) / (1 - alpha_bars) * betas,
            posterior_mean_x0=prev.sqrt() * betas / (1 - alpha_bars),
            posterior_mean_xt=alphas.sqrt() * (1 - prev) / (1 - alpha_bars),
        )


def respaced(schedule: NoiseSchedule, taus: list[int]) -> NoiseSchedule:
    """The schedule on a subsequence τ of 1..T: β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} with ᾱ_{τ_0} = 1, so ᾱ'_i = ᾱ_{τ_i}
    (Nichol & Dhariwal 2021, section 4). Step i of it stands for the original step τ_i (ascending)."""
    steps = sorted(set(taus))
    if len(steps) != len(taus) or not steps or steps[0] < 1 or steps[-1] > schedule.steps:
        raise BenchboxError(
            f"a respacing needs distinct timesteps in 1..{schedule.steps}, got {list(taus)}", "use ddim_timesteps(T, K)"
        )
    kept = schedule.alpha_bars[torch.tensor(steps) - 1]
    prev = torch.cat([torch.ones(1, dtype=torch.float64), kept[:-1]])
    return NoiseSchedule.from_betas(1 - kept / prev, increasing=False)  # uneven gaps can make β' dip


def at(values: Tensor, t: Tensor, like: Tensor) -> Tensor:
    """values[t − 1] per sample, shaped to broadcast against `like` (N, …) and in its dtype."""
    t = torch.as_tensor(t, device=values.device)
    if t.min() < 1 or t.max() > len(values):
        raise BenchboxError(
            f"timesteps must lie in 1..{len(values)}, got {t.min().item()}..{t.max().item()}",
            "timesteps count from 1 to T, as in Ho et al. 2020",
        )
    out = values[t.long() - 1].to(device=like.device, dtype=like.dtype)
    return out.reshape(-1, *([1] * (like.dim() - 1)))


def q_sample(schedule: NoiseSchedule, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
    """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, eq. 4, reparameterised)."""
    a = at(schedule.alpha_bars, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def q_mean_variance(schedule: NoiseSchedule, x0: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """Mean √ᾱ_t x_0 and variance (1 − ᾱ_t) of q(x_t | x_0)."""
    a = at(schedule.alpha_bars, t, x0)
    return a.sqrt() * x0, (1 - a).expand_as(x0)


def q_posterior(schedule: NoiseSchedule, x0: Tensor, xt: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """Mean μ̃_t(x_t, x_0) and variance β̃_t of q(x_{t−1} | x_t, x_0) (Ho et al. 2020, eqs. 6–7)."""
    mean = at(schedule.posterior_mean_x0, t, x0) * x0 + at(schedule.posterior_mean_xt, t, xt) * xt
    return mean, at(schedule.posterior_variance, t, xt).expand_as(xt)


def predict_x0(schedule: NoiseSchedule, xt: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """x_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t, the inverse of q_sample for a predicted ε."""
    a = at(schedule.alpha_bars, t, xt)
    return (xt - (1 - a).sqrt() * eps) / a.sqrt()

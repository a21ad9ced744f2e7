"""Likelihood pieces for VAEs and DDPMs on 8-bit images: Gaussian KLs, discretized decoders, bits/dim.

Conventions: tensors are batch-first; every function says whether it returns one value per element
("elementwise") or per sample; nothing averages over the batch. Images are on the 256-level grid of
[-1, 1] (x_uint8/127.5 - 1, bin width 2/255) for the discretized likelihoods, and in [0, 1] for the
Bernoulli one. All log-likelihoods are in nats; `bits_per_dim` converts.

The log(256) terms, written out once (Theis et al. 2016, "A note on the evaluation of generative
models", section 3.1): a continuous density p_y fitted to uniformly dequantized data y = a·(x + u),
u ~ U[0, 1)^D, gives log P(x) >= E_u[log p_y(y)] + D·log a. With a = 1/256 (data in [0, 1)) the bound
on the discrete NLL is nll_y + D·log 256, i.e. 8 bits/dim more than nll_y/(D ln 2); with a = 2/256
(data in [-1, 1)) it is 7 bits/dim more. The discretized decoders below need no such term: they
already return the log of a probability mass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import BenchboxError

NUM_LEVELS = 256  # 8-bit data
HALF_BIN = 1.0 / (NUM_LEVELS - 1)  # half the bin width 2/255 on [-1, 1]
EDGE = 0.999  # |x| beyond this is an edge bin, as in Ho et al.'s released code (grid step is 0.0078)


def _grid_expression(low: float, high: float) -> str:
    """The map from 0..255 to [low, high] written for a user, e.g. 'x/127.5 - 1'."""
    text = f"x/{(NUM_LEVELS - 1) / (high - low):g}"
    if low < 0:
        text += f" - {-low:g}"
    elif low > 0:
        text += f" + {low:g}"
    return text


def check_pixel_range(
    x: Tensor, low: float = -1.0, high: float = 1.0, *, levels: int | None = NUM_LEVELS, atol: float = 1e-4
) -> None:
    """Raise BenchboxError unless x is finite, in [low, high] and (when levels is set) within atol of the levels-point grid."""
    if not high > low:
        raise BenchboxError(f"pixel range [{low:g}, {high:g}] is empty", "pass low < high")
    fix = f"scale 8-bit images to [{low:g}, {high:g}] with {_grid_expression(low, high)}"
    if not torch.is_floating_point(x):
        raise BenchboxError(f"pixel values have dtype {x.dtype}, not floating point", fix)
    if x.numel() == 0:
        return
    if not bool(torch.isfinite(x).all()):
        raise BenchboxError("pixel values contain NaN or inf", "check the data loader and the model's output")
    lo, hi = float(x.min()), float(x.max())
    if lo < low - atol or hi > high + atol:
        looks_8bit = hi > 2.0 and hi <= NUM_LEVELS - 1 + atol and lo >= -atol
        found = " (they look like 0..255 values)" if looks_8bit else ""
        raise BenchboxError(f"pixel values span [{lo:.4g}, {hi:.4g}], outside [{low:g}, {high:g}]{found}", fix)
    if levels is None:
        return
    step = (high - low) / (levels - 1)
    units = (x.double() - low) / step
    distance = (units - units.round()).abs() * step
    worst = int(distance.argmax())
    if float(distance.flatten()[worst]) > atol:
        value = float(x.flatten()[worst])
        raise BenchboxError(
            f"pixel values are not on the {levels}-level grid of [{low:g}, {high:g}] "
            f"({value:.6g} is {float(distance.flatten()[worst]):.3g} from the nearest level)",
            f"{fix} from the integer values, or quantize first",
        )


def gaussian_kl_standard(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ (σ² + μ² − 1 − log σ²), per sample (Kingma & Welling 2014, appendix B)."""
    mean, log_var = torch.broadcast_tensors(mean, log_var)
    if mean.dim() == 0:
        raise BenchboxError("gaussian_kl_standard got a scalar", "pass batch-first tensors of shape (N, ...)")
    kl = 0.5 * (torch.exp(log_var) + mean.square() - 1.0 - log_var)
    return kl.reshape(kl.shape[0], -1).sum(dim=1)


def gaussian_kl(mean1: Tensor, log_var1: Tensor, mean2: Tensor, log_var2: Tensor) -> Tensor:
    """KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) = ½ (log σ2²/σ1² + (σ1² + (μ1 − μ2)²)/σ2² − 1), elementwise (Ho et al. 2020, eq. 5)."""
    return 0.5 * (
        log_var2 - log_var1 + torch.exp(log_var1 - log_var2) + (mean1 - mean2).square() * torch.exp(-log_var2) - 1.0
    )


def _log_normal_mass(lo: Tensor, hi: Tensor) -> Tensor:
    """log(Φ(hi) − Φ(lo)) for lo ≤ hi, reflected into the left tail so neither CDF rounds to 1."""
    flip = (lo + hi) > 0
    lo, hi = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    tiny = torch.finfo(hi.dtype).tiny  # only reached when the bin is narrower than float resolution
    return log_hi + torch.log(torch.clamp(-torch.expm1(log_lo - log_hi), min=tiny))


def _work_dtype(t: Tensor) -> torch.dtype:
    return torch.float32 if t.device.type == "mps" else torch.float64  # mps has no float64


def discretized_gaussian_log_likelihood(x: Tensor, mean: Tensor, log_scale: Tensor, *, check: bool = True) -> Tensor:
    """log ∫ N(t; μ, σ²) dt over x's bin [x − 1/255, x + 1/255], edge bins open to ∓∞, elementwise (Ho et al. 2020, section 3.3).

    Exact CDFs (log_ndtr) instead of the paper code's tanh approximation; computed in float64 because the
    bin mass is a difference of two nearly equal CDFs when σ is large; returned in the inputs' dtype.
    `check=False` skips check_pixel_range (a device sync) in hot training loops.
    """
    if check:
        check_pixel_range(x)
    out_dtype = torch.promote_types(torch.promote_types(x.dtype, mean.dtype), log_scale.dtype)
    work = _work_dtype(x)
    x, mean, log_scale = x.to(work), mean.to(work), log_scale.to(work)
    inv_scale = torch.exp(-log_scale)
    lo = (x - mean - HALF_BIN) * inv_scale
    hi = (x - mean + HALF_BIN) * inv_scale
    log_cdf_hi = torch.special.log_ndtr(hi)  # bin (−∞, −1 + 1/255] at x = −1
    log_sf_lo = torch.special.log_ndtr(-lo)  # bin [1 − 1/255, ∞) at x = 1
    interior = _log_normal_mass(lo, hi)
    out = torch.where(x < -EDGE, log_cdf_hi, torch.where(x > EDGE, log_sf_lo, interior))
    return out.to(out_dtype)


def discretized_logistic_log_likelihood(x: Tensor, mean: Tensor, log_scale: Tensor, *, check: bool = True) -> Tensor:
    """log(σ((x + 1/255 − μ)/s) − σ((x − 1/255 − μ)/s)), edge bins open to ∓∞, elementwise (Salimans et al. 2017, PixelCNN++ eq. 2).

    Uses σ(b) − σ(a) = σ(b)·σ(−a)·(1 − e^(a−b)) with b − a = (2/255)/s, so no CDFs are subtracted and
    every dtype is stable. `check=False` skips check_pixel_range (a device sync) in hot training loops.
    """
    if check:
        check_pixel_range(x)
    inv_scale = torch.exp(-log_scale)
    lo = (x - mean - HALF_BIN) * inv_scale
    hi = (x - mean + HALF_BIN) * inv_scale
    width = 2.0 * HALF_BIN * inv_scale
    log_cdf_hi = F.logsigmoid(hi)
    log_sf_lo = F.logsigmoid(-lo)
    tiny = torch.finfo(width.dtype).tiny
    interior = log_cdf_hi + log_sf_lo + torch.log(torch.clamp(-torch.expm1(-width), min=tiny))
    return torch.where(x < -EDGE, log_cdf_hi, torch.where(x > EDGE, log_sf_lo, interior))


def bernoulli_log_likelihood(x01: Tensor, logits: Tensor, *, check: bool = True) -> Tensor:
    """x log σ(ℓ) + (1 − x) log(1 − σ(ℓ)) = −BCE-with-logits, elementwise; grey x in [0, 1] act as probabilities (Kingma & Welling 2014, appendix C.1)."""
    if check:
        check_pixel_range(x01, 0.0, 1.0, levels=None)
    return -F.binary_cross_entropy_with_logits(logits, x01.to(logits.dtype), reduction="none")


def _check_num_dims(num_dims: int) -> None:
    if num_dims < 1:
        raise BenchboxError(f"num_dims is {num_dims}", "pass the number of dimensions per sample, e.g. C·H·W")


def bits_per_dim(nll_nats_per_sample: Tensor | float, num_dims: int) -> Tensor | float:
    """bits/dim = NLL_nats / (D ln 2), per sample; the NLL must already be a discrete one (Theis et al. 2016)."""
    _check_num_dims(num_dims)
    return nll_nats_per_sample / (num_dims * math.log(2.0))


def log_jacobian_of_scaling(num_dims: int, a: float) -> float:
    """log |det ∂y/∂x| = D·log a for y = a·x (+ shift); −D·log 256 for a = 1/256 (Theis et al. 2016, section 3.1)."""
    _check_num_dims(num_dims)
    if not a > 0:
        raise BenchboxError(f"scale a is {a}", "pass the positive factor of y = a·x, e.g. 1/256 for data in [0, 1)")
    return num_dims * math.log(a)


def dequantized_bits_per_dim(nll_nats_continuous: Tensor | float, num_dims: int, scale: float) -> Tensor | float:
    """bits/dim ≤ (NLL_y − D·log a) / (D ln 2): the discrete bound from a density on y = a·(x + u), per sample (Theis et al. 2016).

    `scale` is a: 1/256 when dequantized data lie in [0, 1) (adds log2 256 = 8 bits/dim), 2/256 for [-1, 1)
    (adds 7). The result is an upper bound on the true discrete NLL by Jensen's inequality.
    """
    nll_discrete = nll_nats_continuous - log_jacobian_of_scaling(num_dims, scale)
    return bits_per_dim(nll_discrete, num_dims)

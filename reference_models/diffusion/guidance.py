"""CLIP guidance for diffusion sampling: push each step toward images whose CLIP embedding matches a caption.

In ε-form (Dhariwal & Nichol 2021, eq. 14 with CLIP similarity as log p(y|x_t)): ε̂ = ε − s √(1 − ᾱ_t) ∇_{x_t} sim,
where sim is the cosine between the caption's embedding and CLIP's embedding of x̂_0(x_t, ε) (the denoised estimate,
as in GLIDE's and Crowson's CLIP-guided sampling with an unnoised CLIP), and ε is held fixed when differentiating.
CLIP comes from the metric engine's loader (benchbox.features.clip), weights rule and all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import BenchboxError
from reference_models.diffusion.schedule import NoiseSchedule, at, predict_x0

Embed = Callable[[Tensor], Tensor]  # images in [−1, 1] → (N, D) embeddings, differentiably


def clip_image_embedding(extractor) -> Embed:
    """A differentiable stand-in for the extractor's preprocessing: grey → RGB, [−1, 1] → [0, 1], a smooth resize of
    both sides to CLIP's input size (the extractor's own rounds to 8 bits like PIL, which has no gradient), CLIP's
    mean/std, then encode_image."""
    p = extractor.preprocess
    mean = torch.tensor(p["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(p["std"]).view(1, 3, 1, 1)

    def embed(x: Tensor) -> Tensor:
        x = (x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x) * 0.5 + 0.5
        x = F.interpolate(x.float(), size=(p["size"], p["size"]), mode="bilinear", align_corners=False, antialias=True)
        x = (x - mean.to(x.device)) / std.to(x.device)
        return extractor.net.encode_image(x)

    return embed


def cosine_similarity(embed: Embed, images: Tensor, text_features: Tensor) -> Tensor:
    """Per-sample cosine between the images' embeddings and the matching caption embeddings."""
    return F.cosine_similarity(embed(images), text_features.to(images.device), dim=1)


def clip_guided_eps(
    eps_model: Callable[[Tensor, Tensor], Tensor],
    schedule: NoiseSchedule,
    embed: Embed,
    text_features: Tensor,
    scale: float,
) -> Callable[[Tensor, Tensor], Tensor]:
    """ε̂(x_t, t) = ε(x_t, t) − s √(1 − ᾱ_t) ∇_{x_t} cos(CLIP(x̂_0(x_t, ε)), text), one caption per sample."""
    if not math.isfinite(scale):
        raise BenchboxError(
            f"CLIP guidance scale {scale} is not a finite number", "pass a finite scale, e.g. 0 to 1000"
        )

    def guided(x: Tensor, t: Tensor) -> Tensor:
        eps = eps_model(x, t)
        if scale == 0:
            return eps
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            x0 = predict_x0(schedule, x_in, t, eps.detach()).clamp(-1, 1)
            sim = cosine_similarity(embed, x0, text_features).sum()
            (grad,) = torch.autograd.grad(sim, x_in)
        return eps - scale * (1 - at(schedule.alpha_bars, t, x)).sqrt() * grad

    return guided

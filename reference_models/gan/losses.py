"""GAN losses as a table of pure functions of discriminator outputs ("logits").

Every row gives d(real, fake) and g(real, fake), both means over the batch. g takes the real logits
too so that relativistic losses fit the same row shape; the others ignore them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import UnknownNameError

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class AdversarialLoss:
    name: str
    d: LossFn
    g: LossFn
    citation: str


LOSSES: dict[str, AdversarialLoss] = {}


def register_loss(name: str, d: LossFn, g: LossFn, citation: str) -> None:
    LOSSES[name] = AdversarialLoss(name, d, g, citation)


def get_loss(name: str) -> AdversarialLoss:
    if name not in LOSSES:
        raise UnknownNameError("GAN loss", name, list(LOSSES))
    return LOSSES[name]


def bce_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """−E[log σ(D(x))] − E[log(1 − σ(D(G(z))))] = E[softplus(−D(x))] + E[softplus(D(G(z)))]."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[log(1 − σ(D(G(z))))] = −E[softplus(D(G(z)))] (Goodfellow et al. 2014, eq. 1)."""
    return -F.softplus(fake).mean()


def non_saturating_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """−E[log σ(D(G(z)))] = E[softplus(−D(G(z)))] (Goodfellow et al. 2014, section 3)."""
    return F.softplus(-fake).mean()


def wasserstein_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[D(G(z))] − E[D(x)] (Arjovsky et al. 2017)."""
    return fake.mean() - real.mean()


def wasserstein_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """−E[D(G(z))]."""
    return -fake.mean()


def least_squares_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """½E[(D(x) − 1)²] + ½E[D(G(z))²] (Mao et al. 2017, eq. 2 with a=0, b=1)."""
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()


def least_squares_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """½E[(D(G(z)) − 1)²] (Mao et al. 2017, eq. 2 with c=1)."""
    return 0.5 * ((fake - 1) ** 2).mean()


def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


register_loss("minimax", bce_d_loss, minimax_g_loss, "Goodfellow et al. 2014")
register_loss("non_saturating", bce_d_loss, non_saturating_g_loss, "Goodfellow et al. 2014")
register_loss("wasserstein", wasserstein_d_loss, wasserstein_g_loss, "Arjovsky et al. 2017")
register_loss("least_squares", least_squares_d_loss, least_squares_g_loss, "Mao et al. 2017")
register_loss("hinge", hinge_d_loss, wasserstein_g_loss, "Lim & Ye 2017")


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)x̃ with one ε ~ U[0,1] per sample (Gulrajani et al. 2017, Alg. 1)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

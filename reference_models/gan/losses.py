"""GAN losses as a table of pure functions of discriminator outputs ("logits"), and BEGAN's, which carries state.

Every row gives d(real, fake) and g(real, fake), both means over the batch. g takes the real logits
too so that relativistic losses fit the same row shape; the others ignore them (the trainer passes None).
A row's start(settings) makes the loss one training run uses (TrainingLoss): a stateless row is its own, BEGAN's
row makes a fresh k_t balance (reference_models.gan.began) that advances after each generator step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import BenchboxError, UnknownNameError
from reference_models.gan.began import BEGANBalance
from reference_models.gan.fgan import DIVERGENCES, fgan_alternative_g_loss, fgan_d_loss, fgan_g_loss

if TYPE_CHECKING:
    from reference_models.gan.trainer import TrainSettings

LossFn = Callable[[Tensor, Tensor], Tensor]


class TrainingLoss(Protocol):
    """A loss as one training run uses it; its state (if any) goes into the trainer's checkpoint."""

    g_reads_real: bool  # the generator step passes the real batch's critic outputs (computed without gradients)

    def d(self, real: Tensor, fake: Tensor) -> Tensor: ...

    def g(self, real: Tensor | None, fake: Tensor) -> Tensor: ...

    def after_g_step(self, real: Tensor | None, fake: Tensor) -> dict[str, Tensor]:
        """Advance the state on the generator step's detached critic outputs; returns values for the log."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class AdversarialLoss:
    """A stateless row: pure d and g, so the row itself is the loss of every run."""

    name: str
    d: LossFn
    g: LossFn
    citation: str
    g_reads_real: bool = False  # relativistic losses compare with real outputs in the generator's loss too
    penalty_at: str = "interpolates"  # where settings.gradient_penalty is taken: a key of PENALTY_POINTS

    def start(self, settings: TrainSettings) -> TrainingLoss:
        return self

    def after_g_step(self, real: Tensor | None, fake: Tensor) -> dict[str, Tensor]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class StatefulLoss:
    """A row whose loss carries state through a run (BEGAN's k_t): start makes a fresh one from the settings."""

    name: str
    start: Callable[[TrainSettings], TrainingLoss]
    citation: str


def perturbed_real(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """DRAGAN's pair: each real x and x + 0.5·std(batch)·u with u ~ U[0,1] per pixel (Kodali et al. 2017's code), so
    the penalty holds D's gradient norm near 1 in a neighbourhood of the data instead of between data and samples."""
    return real, real + 0.5 * real.std() * torch.rand_like(real)


PENALTY_POINTS: dict[str, Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "interpolates": lambda real, fake: (real, fake),  # WGAN-GP: on lines between real and generated samples
    "perturbed_real": perturbed_real,  # DRAGAN
}


def penalty_pair(loss: str, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """The two ends between which the gradient penalty of loss row `loss` is taken."""
    row = get_loss(loss)
    return PENALTY_POINTS[getattr(row, "penalty_at", "interpolates")](real, fake)


LOSSES: dict[str, AdversarialLoss | StatefulLoss] = {}


def register_loss(
    name: str, d: LossFn, g: LossFn, citation: str, g_reads_real: bool = False, penalty_at: str = "interpolates"
) -> None:
    if penalty_at not in PENALTY_POINTS:
        raise ValueError(f"loss '{name}': penalty_at '{penalty_at}' is not one of {', '.join(PENALTY_POINTS)}")
    LOSSES[name] = AdversarialLoss(name, d, g, citation, g_reads_real, penalty_at)


def register_stateful_loss(name: str, start: Callable[[TrainSettings], TrainingLoss], citation: str) -> None:
    LOSSES[name] = StatefulLoss(name, start, citation)


def get_loss(name: str) -> AdversarialLoss | StatefulLoss:
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


def _paired_difference(real: Tensor, fake: Tensor) -> Tensor:
    """C(x_r) − C(x_f) for the i-th real and i-th generated sample; RSGAN pairs them one to one."""
    if real.shape != fake.shape:
        raise BenchboxError(
            f"RSGAN pairs each real sample with one generated sample, but got critic outputs of shapes "
            f"{tuple(real.shape)} (real) and {tuple(fake.shape)} (generated)",
            "give the discriminator as many generated samples as real ones",
        )
    return real - fake


def relativistic_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """−E[log σ(C(x_r) − C(x_f))] = E[softplus(C(x_f) − C(x_r))] (Jolicoeur-Martineau 2018, RSGAN)."""
    return F.softplus(-_paired_difference(real, fake)).mean()


def relativistic_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """−E[log σ(C(x_f) − C(x_r))] = E[softplus(C(x_r) − C(x_f))] (Jolicoeur-Martineau 2018, RSGAN)."""
    return F.softplus(_paired_difference(real, fake)).mean()


def relativistic_average_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[softplus(−D̃(x_r))] + E[softplus(D̃(x_f))], D̃(x_r) = C(x_r) − E[C(x_f)] (Jolicoeur-Martineau 2018, RaSGAN)."""
    return F.softplus(fake.mean() - real).mean() + F.softplus(fake - real.mean()).mean()


def relativistic_average_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[softplus(D̃(x_r))] + E[softplus(−D̃(x_f))] (Jolicoeur-Martineau 2018, RaSGAN)."""
    return F.softplus(real - fake.mean()).mean() + F.softplus(real.mean() - fake).mean()


def relativistic_average_ls_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[(D̃(x_r) − 1)²] + E[(D̃(x_f) + 1)²], D̃(x_f) = C(x_f) − E[C(x_r)] (Jolicoeur-Martineau 2018, RaLSGAN)."""
    return ((real - fake.mean() - 1) ** 2).mean() + ((fake - real.mean() + 1) ** 2).mean()


def relativistic_average_ls_g_loss(real: Tensor, fake: Tensor) -> Tensor:
    """E[(D̃(x_f) − 1)²] + E[(D̃(x_r) + 1)²] (Jolicoeur-Martineau 2018, RaLSGAN)."""
    return ((fake - real.mean() - 1) ** 2).mean() + ((real - fake.mean() + 1) ** 2).mean()


register_loss("minimax", bce_d_loss, minimax_g_loss, "Goodfellow et al. 2014")
register_loss("non_saturating", bce_d_loss, non_saturating_g_loss, "Goodfellow et al. 2014")
register_loss("wasserstein", wasserstein_d_loss, wasserstein_g_loss, "Arjovsky et al. 2017")
register_loss("least_squares", least_squares_d_loss, least_squares_g_loss, "Mao et al. 2017")
register_loss("hinge", hinge_d_loss, wasserstein_g_loss, "Lim & Ye 2017")
# RaSGAN and RaLSGAN as the paper writes them, sums of two means; its released code halves both (a scale only,
# which Adam all but ignores, though it halves the loss's weight against a gradient penalty).
register_loss("rsgan", relativistic_d_loss, relativistic_g_loss, "Jolicoeur-Martineau 2018", g_reads_real=True)
register_loss(
    "rasgan", relativistic_average_d_loss, relativistic_average_g_loss, "Jolicoeur-Martineau 2018", g_reads_real=True
)
register_loss(
    "ralsgan",
    relativistic_average_ls_d_loss,
    relativistic_average_ls_g_loss,
    "Jolicoeur-Martineau 2018",
    g_reads_real=True,
)
for _div in DIVERGENCES.values():  # f-GAN: one row per divergence of reference_models.gan.fgan
    register_loss(f"fgan_{_div.name}", partial(fgan_d_loss, _div), partial(fgan_g_loss, _div), _div.citation)
    # The generator update Nowozin et al. use in their experiments (section 3.2): ascend E_Q[g_f(V(G(z)))].
    register_loss(
        f"fgan_{_div.name}_alt",
        partial(fgan_d_loss, _div),
        partial(fgan_alternative_g_loss, _div),
        f"{_div.citation}, section 3.2",
    )


def began_loss(settings: TrainSettings) -> BEGANBalance:
    """BEGAN's loss for one run: k_0 = 0, the settings' γ and λ_k (Berthelot et al. 2017, section 3.4)."""
    return BEGANBalance(settings.began_gamma, settings.began_lambda_k)


register_stateful_loss("began", began_loss, "Berthelot et al. 2017")
# DRAGAN: the non-saturating GAN with a gradient penalty around the data, λ = settings.gradient_penalty
register_loss("dragan", bce_d_loss, non_saturating_g_loss, "Kodali et al. 2017", penalty_at="perturbed_real")


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1 − ε)x̃ with one ε ~ U[0,1] per sample (Gulrajani et al. 2017, Alg. 1)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

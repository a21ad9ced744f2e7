"""BEGAN (Berthelot et al. 2017): an auto-encoder discriminator and the k_t balance between its two losses.

The discriminator's output for a batch is each image's reconstruction loss L(v) = mean |v − D(v)| (η = 1).
L_D = L(x) − k_t L(G(z)), L_G = L(G(z)), k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1), and the convergence
measure M = L(x) + |γ L(x) − L(G(z))| (the paper's eq. 4 and section 3.4.1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from reference_models.blocks import down_block, up_block
from reference_models.gan.dcgan import dcgan_layout


def began_d_loss(real_errors: Tensor, fake_errors: Tensor, k: float) -> Tensor:
    """L_D = L(x) − k_t · L(G(z_D))."""
    return real_errors.mean() - k * fake_errors.mean()


def began_g_loss(fake_errors: Tensor) -> Tensor:
    """L_G = L(G(z_G))."""
    return fake_errors.mean()


def began_k_update(k: float, real_loss: float, fake_loss: float, gamma: float, lambda_k: float) -> float:
    """k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1)."""
    return min(max(k + lambda_k * (gamma * real_loss - fake_loss), 0.0), 1.0)


def convergence_measure(real_loss: float, fake_loss: float, gamma: float) -> float:
    """M_global = L(x) + |γ L(x) − L(G(z))|."""
    return real_loss + abs(gamma * real_loss - fake_loss)


class BEGANBalance:
    """BEGAN's losses with the one piece of state they carry, k_t (starting at 0 as in the paper): the loss one
    training run uses (reference_models.gan.losses.TrainingLoss), made by the "began" row of the loss table."""

    g_reads_real = True  # the balance reads L(x) at the generator step

    def __init__(self, gamma: float, lambda_k: float) -> None:
        self.gamma = gamma
        self.lambda_k = lambda_k
        self.k = 0.0

    def d(self, real_errors: Tensor, fake_errors: Tensor) -> Tensor:
        return began_d_loss(real_errors, fake_errors, self.k)

    def g(self, real_errors: Tensor | None, fake_errors: Tensor) -> Tensor:
        return began_g_loss(fake_errors)

    def after_g_step(self, real_errors: Tensor, fake_errors: Tensor) -> dict[str, Tensor]:
        """Advance k_t after a generator step; returns k_t and the convergence measure for the log."""
        real, fake = float(real_errors.mean()), float(fake_errors.mean())
        self.k = began_k_update(self.k, real, fake, self.gamma, self.lambda_k)
        m = convergence_measure(real, fake, self.gamma)
        return {"began_k": torch.tensor(self.k), "convergence": torch.tensor(m)}

    def state_dict(self) -> dict[str, Any]:
        return {"k": self.k}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = float(state["k"])


class BEGANDiscriminator(nn.Module):
    """BEGAN's auto-encoder discriminator on DCGAN's layout: strided ELU convs to an h-d code at 1×1, transposed ELU
    convs back, no batch norm; returns each image's reconstruction loss mean |x − D(x)|, BEGAN's "logit"."""

    def __init__(self, channels: int, image_size: int, base_width: int, hidden: int) -> None:
        super().__init__()
        start, widths = dcgan_layout(image_size, base_width)
        down = [channels, *widths[::-1]]
        encoder: list[nn.Module] = [
            down_block(a, b, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=nn.ELU())
            for a, b in zip(down, down[1:], strict=False)
        ]
        encoder.append(nn.Conv2d(widths[0], hidden, start))
        decoder: list[nn.Module] = [
            up_block(hidden, widths[0], kernel_size=start, stride=1, padding=0, batch_norm=False, activation=nn.ELU())
        ]
        up = [*widths, channels]
        decoder += [
            up_block(a, b, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=nn.ELU())
            for a, b in zip(up[:-1], up[1:-1], strict=False)
        ]
        decoder.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))  # linear output, as BEGAN's decoder
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.reconstruct(x)).abs().flatten(1).mean(1)

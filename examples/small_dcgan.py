"""A small DCGAN brought as a user's own model: `benchbox run --suite digits --models examples.small_dcgan:factory`.

Plain PyTorch, nothing of benchbox's but the ModelContext type. The contract it meets is in docs/user-models.md.
Any image shape (C, H, W) works: the nets work at S×S, S the nearest power of two ≥ max(H, W) (at least 4); the
generator's output is resized to (H, W) before its tanh and the discriminator resizes real and fake images to S×S.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from benchbox.model import ModelContext

Z_DIM = 64
WIDTH = 32  # channels of the S×S layer; doubled at each halving of the size, at most MAX_WIDTH
MAX_WIDTH = 256
BATCH = 64
LR, BETAS = 2e-4, (0.5, 0.999)  # Radford et al. 2016
SAMPLE_CHUNK = 500  # images generated at once in sample(): n may be a suite's whole n_eval (10,000)


def _widths(side: int) -> list[int]:
    """Channels at sizes 4, 8, ..., side (widest first)."""
    levels = int(math.log2(side)) - 2
    return [min(WIDTH * 2**i, MAX_WIDTH) for i in range(levels, -1, -1)]


class Generator(nn.Module):
    def __init__(self, shape: tuple[int, int, int], side: int) -> None:
        super().__init__()
        channels, *self.size = shape
        w = _widths(side)
        self.fc = nn.Sequential(nn.Linear(Z_DIM, w[0] * 16), nn.Unflatten(1, (w[0], 4, 4)), nn.BatchNorm2d(w[0]))
        ups = [
            nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b))
            for a, b in pairwise(w)
        ]
        self.body = nn.Sequential(*ups, nn.ReLU(), nn.Conv2d(w[-1], channels, 3, 1, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.body(self.fc(z))
        if list(x.shape[2:]) != self.size:  # e.g. 32×32 -> 28×28 for Fashion-MNIST
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return torch.tanh(x)  # last, so that samples are in [-1, 1] whatever the resize did


class Discriminator(nn.Module):
    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.side = side
        w = _widths(side)[::-1]  # narrowest first
        layers: list[nn.Module] = [nn.Conv2d(channels, w[0], 3, 1, 1), nn.LeakyReLU(0.2)]
        for a, b in pairwise(w):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(w[-1] * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2:] != (self.side, self.side):
            x = F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False)
        return self.body(x).squeeze(1)


class SmallDCGAN:
    """Non-saturating GAN (Goodfellow et al. 2014) on DCGAN nets; one D step and one G step per train_step."""

    examples_per_step = BATCH  # the runner hands train_step batches of exactly this many real images

    def __init__(self, ctx: ModelContext) -> None:
        if len(ctx.sample_shape) != 3:
            raise ValueError(f"SmallDCGAN needs images (C, H, W), not samples of shape {ctx.sample_shape}")
        self.device = ctx.device
        side = max(4, 2 ** math.ceil(math.log2(max(ctx.sample_shape[1:]))))
        self.g = Generator(tuple(ctx.sample_shape), side).to(self.device)
        self.d = Discriminator(ctx.sample_shape[0], side).to(self.device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=LR, betas=BETAS)

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One step on real images: float32 N×C×H×W in [-1, 1] on the run's device, N = examples_per_step.
        Returns detached Python floats: a tensor would keep its graph alive, and a non-finite value ends the run
        as diverged. The latent comes from torch's global RNG, which the runner seeds and checkpoints."""
        self.g.train()
        self.d.train()
        real = batch.to(self.device)
        fake = self.g(torch.randn(len(real), Z_DIM, device=self.device))

        d_loss = F.softplus(-self.d(real)).mean() + F.softplus(self.d(fake.detach())).mean()  # -log D(x) - log(1-D)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        g_loss = F.softplus(-self.d(fake)).mean()  # non-saturating: -log D(G(z))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n images, float32 (n, C, H, W) in [-1, 1], on the CPU. The latent is drawn on the CPU from the given
        generator (so the samples depend on it alone, on any device), then moved to the device in chunks of
        SAMPLE_CHUNK so that n = 10,000 does not exhaust memory. Eval mode: BatchNorm uses its running statistics,
        so a sample does not depend on the others in its chunk; train mode is restored afterwards."""
        z = torch.randn(n, Z_DIM, generator=generator)
        was_training = self.g.training
        self.g.eval()
        try:
            return torch.cat([self.g(c.to(self.device)).float().cpu() for c in z.split(SAMPLE_CHUNK)])
        finally:
            self.g.train(was_training)

    def state_dict(self) -> dict[str, Any]:
        """Both nets and both optimisers' moments: `--resume` from a checkpoint continues exactly where it stopped."""
        return {
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


def factory(ctx: ModelContext) -> SmallDCGAN:
    """What `--models examples.small_dcgan:factory` calls, once per run, with the task's shape and the device."""
    return SmallDCGAN(ctx)

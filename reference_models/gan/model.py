"""One GAN trainer for every loss of the table; a variant is a config, not a new class."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from benchbox.model import ModelContext
from benchbox.registry import register_model
from reference_models.blocks import init_normal
from reference_models.gan.losses import get_loss, gradient_penalty
from reference_models.gan.nets import PackedMaxoutDiscriminator, mlp_generator, pack_samples


@dataclass(frozen=True)
class MLPGANConfig:
    """A GAN on vectors. Defaults are PacGAN's 2-D setup (its released config.py), the protocol we compare with."""

    loss: str = "non_saturating"  # a row of reference_models.gan.losses.LOSSES; PacGAN's baseline is non-saturating
    z_dim: int = 2  # PacGAN: 2-D standard normal latent
    g_hidden: int = 400  # PacGAN: 4 hidden layers of 400 ReLU units with batch norm
    g_layers: int = 4
    d_hidden: int = 200  # PacGAN: 3 maxout layers of 200 units, 5 pieces, no batch norm
    d_layers: int = 3
    maxout_pieces: int = 5
    pack: int = 1  # PacGAN's m: samples the discriminator judges jointly
    batch_size: int = 100  # packed inputs per discriminator step
    lr: float = 1e-4  # PacGAN: Adam, lr 1e-4, beta1 0.8
    betas: tuple[float, float] = (0.8, 0.999)
    n_critic: int = 1  # discriminator steps per generator step (5 for WGAN-GP)
    gradient_penalty: float = 0.0  # λ of WGAN-GP (10 in Gulrajani et al.)
    init_std: float = 0.02  # PacGAN: N(0, 0.02²) weights, zero biases
    bn_momentum: float = 0.05  # PacGAN's population statistics update: 0.95·old + 0.05·batch


class MLPGAN:
    """Generator and discriminator MLPs trained with one loss of the table (Model protocol)."""

    def __init__(self, config: MLPGANConfig, ctx: ModelContext) -> None:
        self.config = config
        self.loss = get_loss(config.loss)
        dim = math.prod(ctx.sample_shape)
        self.sample_shape = ctx.sample_shape
        self.device = ctx.device
        c = config
        self.generator = mlp_generator(c.z_dim, dim, c.g_hidden, c.g_layers, c.bn_momentum).to(ctx.device)
        self.discriminator = PackedMaxoutDiscriminator(dim, c.d_hidden, c.d_layers, c.maxout_pieces, c.pack).to(
            ctx.device
        )
        init_normal(self.generator, c.init_std)
        init_normal(self.discriminator, c.init_std)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=c.lr, betas=c.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=c.lr, betas=c.betas)
        self.examples_per_step = c.batch_size * c.pack * c.n_critic

    def _fake(self, n: int) -> torch.Tensor:
        return self.generator(torch.randn(n, self.config.z_dim, device=self.device))

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        c = self.config
        self.generator.train()
        real_batches = batch.to(self.device).flatten(1).chunk(c.n_critic)
        for real in real_batches:
            fake = self._fake(real.shape[0]).detach()
            d_loss = self.loss.d(self.discriminator(real), self.discriminator(fake))
            if c.gradient_penalty:
                critic_on_packed = self.discriminator.net  # the penalty is on the packed input the critic sees
                penalty = gradient_penalty(critic_on_packed, pack_samples(real, c.pack), pack_samples(fake, c.pack))
                d_loss = d_loss + c.gradient_penalty * penalty
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
        real = real_batches[-1]
        g_loss = self.loss.g(self.discriminator(real), self.discriminator(self._fake(real.shape[0])))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Samples from the generator in eval mode (batch norm with its population statistics)."""
        self.generator.eval()
        z = torch.randn(n, self.config.z_dim, generator=generator).to(self.device)
        return self.generator(z).reshape(n, *self.sample_shape).cpu()

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])


@register_model("mlp_gan", MLPGANConfig)
def build_mlp_gan(config: MLPGANConfig, ctx: ModelContext) -> MLPGAN:
    return MLPGAN(config, ctx)

"""The MLP GAN of the toy2d suite: PacGAN's 2-D nets trained by the shared GAN trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from benchbox.model import ModelContext
from benchbox.registry import register_model
from benchbox.suite import HASHED_WHEN_SET
from reference_models.blocks import init_normal
from reference_models.gan.conditional import Conditioner
from reference_models.gan.nets import PackedMaxoutDiscriminator, mlp_generator
from reference_models.gan.trainer import GANTrainer, TrainSettings, check_settings


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
    # (step, factor): a step decay (PacGAN: none). Added after v1's cells: hashed only when set
    lr_milestones: tuple[tuple[int, float], ...] = field(default=(), metadata=HASHED_WHEN_SET)
    # > 0: sample from an exponential moving average of G's weights (PacGAN: none). Hashed only when set
    ema_decay: float = field(default=0.0, metadata=HASHED_WHEN_SET)


class MLPGAN(GANTrainer):
    """Generator and discriminator MLPs trained with one loss of the table (Model protocol)."""

    def __init__(self, config: MLPGANConfig, ctx: ModelContext) -> None:
        self.config = c = config
        dim = math.prod(ctx.sample_shape)
        generator = mlp_generator(c.z_dim, dim, c.g_hidden, c.g_layers, c.bn_momentum)
        discriminator = PackedMaxoutDiscriminator(dim, c.d_hidden, c.d_layers, c.maxout_pieces, c.pack)
        init_normal(generator, c.init_std)
        init_normal(discriminator, c.init_std)
        settings = TrainSettings(
            loss=c.loss,
            batch_size=c.batch_size,
            lr_g=c.lr,
            lr_d=c.lr,
            betas=c.betas,
            n_critic=c.n_critic,
            gradient_penalty=c.gradient_penalty,
            pack=c.pack,
            lr_milestones=c.lr_milestones,
            ema_decay=c.ema_decay,
        )
        super().__init__(generator, discriminator, settings, Conditioner("none", c.z_dim), ctx.sample_shape, ctx.device)


def check_config(c: MLPGANConfig) -> None:
    check_settings(
        TrainSettings(
            c.loss, c.batch_size, c.lr, c.lr, c.betas, n_critic=c.n_critic, pack=c.pack, lr_milestones=c.lr_milestones
        )
    )


@register_model(
    "mlp_gan", MLPGANConfig, check=check_config, cost=lambda c: c.n_critic, family="gan"
)  # D steps per G step
def build_mlp_gan(config: MLPGANConfig, ctx: ModelContext) -> MLPGAN:
    return MLPGAN(config, ctx)

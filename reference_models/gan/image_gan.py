"""GANs on images: DCGAN nets (or BEGAN's auto-encoder discriminator) under any loss and conditioning of the zoo."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from benchbox.suite import HASHED_WHEN_SET
from reference_models.gan.began import BEGANDiscriminator
from reference_models.gan.conditional import MODES, Conditioner
from reference_models.gan.dcgan import DCGANNetsConfig, dcgan_discriminator, dcgan_generator
from reference_models.gan.trainer import GANTrainer, TrainSettings, check_settings


@dataclass(frozen=True)
class ImageGANConfig:
    """One GAN of the zoo on images. Defaults: DCGAN (Radford et al. 2016) with the non-saturating loss."""

    loss: str = "non_saturating"  # a row of reference_models.gan.losses.LOSSES ("began": BEGAN's auto-encoder D)
    conditioning: str = "none"  # "cgan", "acgan" or "infogan" (reference_models.gan.conditional)
    z_dim: int = 100  # DCGAN's 100-d latent (labels or InfoGAN codes are appended to it)
    base_width: int = 64  # channels of the widest-resolution hidden layer (PyTorch's DCGAN example: ngf = ndf = 64)
    d_batch_norm: bool = True  # DCGAN's D; off for WGAN-GP (a per-sample penalty) and SNGAN
    spectral_norm: bool = False  # SNGAN (Miyato et al. 2018)
    pack: int = 1  # PacGAN's m
    batch_size: int = 64  # DCGAN's example and Lucic et al. 2018: 64
    lr_g: float = 2e-4  # DCGAN: Adam, lr 2e-4, β1 0.5
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"  # "rmsprop" for WGAN with clipping
    n_critic: int = 1
    gradient_penalty: float = 0.0
    weight_clip: float = 0.0
    ema_decay: float = 0.999  # samples come from an EMA of G's weights (see reference_models/gan/ema.py)
    began_gamma: float = 0.5  # BEGAN: γ = 0.5, λ_k = 0.001, k_0 = 0 (the paper's section 4)
    began_lambda_k: float = 1e-3
    began_hidden: int = 64  # BEGAN: the auto-encoder's code has h = 64 dimensions
    info_categories: int = 10  # InfoGAN on MNIST: one 10-way categorical code, two continuous codes
    info_continuous: int = 2
    # InfoGAN-style fully connected layers in G and D (Lucic et al. 2018's nets: 1024); 0 is DCGAN's all-conv pair.
    # Added after the suites' first cells: hashed only when set
    fc_hidden: int = field(default=0, metadata=HASHED_WHEN_SET)


def build_nets(config: ImageGANConfig, ctx: ModelContext, conditioner: Conditioner):
    if len(ctx.sample_shape) != 3 or ctx.sample_shape[1] != ctx.sample_shape[2]:
        raise BenchboxError(
            f"image GANs train on square C×H×W images, not samples of shape {ctx.sample_shape}",
            "use an image suite (digits, fashion-mnist, cifar10)",
        )
    channels, size, _ = ctx.sample_shape
    nets = DCGANNetsConfig(
        z_dim=conditioner.input_dim,
        base_width=config.base_width,
        image_size=size,
        channels=channels,
        d_batch_norm=config.d_batch_norm,
        spectral_norm=config.spectral_norm,
        pack=config.pack,
        label_channels=conditioner.num_classes if conditioner.labels_to_d else 0,
        aux_dim=conditioner.aux_dim,
        fc_hidden=config.fc_hidden,
    )
    generator = dcgan_generator(nets)
    if config.loss == "began":
        return generator, BEGANDiscriminator(channels, size, config.base_width, config.began_hidden)
    return generator, dcgan_discriminator(nets)


def train_settings(c: ImageGANConfig) -> TrainSettings:
    return TrainSettings(
        loss=c.loss,
        batch_size=c.batch_size,
        lr_g=c.lr_g,
        lr_d=c.lr_d,
        betas=c.betas,
        optimizer=c.optimizer,
        n_critic=c.n_critic,
        gradient_penalty=c.gradient_penalty,
        weight_clip=c.weight_clip,
        pack=c.pack,
        ema_decay=c.ema_decay,
        began_gamma=c.began_gamma,
        began_lambda_k=c.began_lambda_k,
    )


def check_config(config: ImageGANConfig) -> None:
    """What can be checked without data: the loss, optimiser and numbers, and the conditioning."""
    check_settings(train_settings(config))
    if config.conditioning not in MODES:
        raise BenchboxError(f"unknown conditioning '{config.conditioning}'", f"choose one of: {', '.join(MODES)}")
    if config.loss == "began" and (config.conditioning != "none" or config.pack != 1):
        raise BenchboxError("BEGAN's auto-encoder discriminator is unconditional", "use conditioning='none', pack=1")
    if config.pack > 1 and config.conditioning != "none":
        raise BenchboxError("PacGAN packing cannot take per-sample labels or heads", "use pack=1 with conditioning")


class ImageGAN(GANTrainer):
    def __init__(self, config: ImageGANConfig, ctx: ModelContext) -> None:
        self.config = c = config
        check_config(c)
        conditioner = Conditioner(
            c.conditioning,
            c.z_dim,
            ctx.num_classes,
            info_categories=c.info_categories,
            info_continuous=c.info_continuous,
        )
        generator, discriminator = build_nets(c, ctx, conditioner)
        super().__init__(generator, discriminator, train_settings(c), conditioner, ctx.sample_shape, ctx.device)


@register_model(
    "image_gan", ImageGANConfig, check=check_config, cost=lambda c: c.n_critic, family="gan"
)  # D steps per G step
def build_image_gan(config: ImageGANConfig, ctx: ModelContext) -> ImageGAN:
    return ImageGAN(config, ctx)

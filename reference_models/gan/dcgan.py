"""DCGAN generator and discriminator (Radford et al. 2016, section 3), sized for 8×8, 28×28 and 32×32 images.

The paper's rules: no pooling (strided convs in D, transposed convs in G), batch norm in both nets except G's
output and D's input layer, ReLU in G with a tanh output, LeakyReLU(0.2) in D, no fully connected hidden layers
(G projects z from 1×1 with a transposed conv; D ends in a conv to a 1×1 logit), weights ~ N(0, 0.02²).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchbox.errors import BenchboxError
from reference_models.blocks import apply_spectral_norm, down_block, init_dcgan, up_block
from reference_models.gan.nets import pack_samples

# image size → (side of the first feature map, number of ×2 steps from it to the image)
LAYOUTS: dict[int, tuple[int, int]] = {
    8: (2, 2),  # digits: 2 → 4 → 8
    28: (7, 2),  # Fashion-MNIST: 7 → 14 → 28
    32: (4, 3),  # CIFAR-10: 4 → 8 → 16 → 32, the paper's 64×64 net less its first stage
}


@dataclass(frozen=True)
class DCGANNetsConfig:
    """Shapes and options of a DCGAN pair; the defaults build the 32×32 RGB (CIFAR-10) nets."""

    z_dim: int = 100  # the paper's 100-d latent
    base_width: int = 64  # channels of the widest-resolution hidden layer, doubled per halving (PyTorch example's ngf)
    image_size: int = 32  # a key of LAYOUTS
    channels: int = 3  # 3 for CIFAR-10, 1 for Fashion-MNIST and digits
    d_batch_norm: bool = True  # the paper's D; False for WGAN-GP critics (per-sample penalty) and SNGAN's D
    spectral_norm: bool = False  # Miyato et al. 2018: normalise every D conv to spectral norm 1
    pack: int = 1  # PacGAN's m: D judges m samples concatenated along channels
    init_std: float = 0.02  # the paper: all weights from N(0, 0.02²)
    leaky_slope: float = 0.2  # the paper: LeakyReLU slope 0.2 in D


def _layout(config: DCGANNetsConfig) -> tuple[int, list[int]]:
    """(side of the first feature map, widths of the hidden feature maps from the smallest to the largest)."""
    if config.image_size not in LAYOUTS:
        supported = ", ".join(str(s) for s in sorted(LAYOUTS))
        raise BenchboxError(
            f"DCGAN nets are not defined for {config.image_size}×{config.image_size} images",
            f"use an image size of {supported}",
        )
    if config.pack < 1:
        raise BenchboxError(f"PacGAN's pack must be at least 1, got {config.pack}", "use pack=1 for no packing")
    start, steps = LAYOUTS[config.image_size]
    return start, [config.base_width * 2 ** (steps - 1 - i) for i in range(steps)]


def dcgan_generator(config: DCGANNetsConfig) -> nn.Sequential:
    """(N, z_dim) → (N, C, H, W) in [-1, 1]: transposed conv from 1×1, then ×2 transposed convs, then tanh."""
    start, widths = _layout(config)
    layers: list[nn.Module] = [
        nn.Unflatten(1, (config.z_dim, 1, 1)),
        up_block(
            config.z_dim, widths[0], kernel_size=start, stride=1, padding=0, batch_norm=True, activation=nn.ReLU()
        ),
    ]
    for c_in, c_out in zip(widths, widths[1:], strict=False):
        layers.append(up_block(c_in, c_out, kernel_size=4, stride=2, padding=1, batch_norm=True, activation=nn.ReLU()))
    layers.append(
        up_block(widths[-1], config.channels, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=None)
    )
    layers.append(nn.Tanh())
    net = nn.Sequential(*layers)
    init_dcgan(net, config.init_std)
    return net


class DCGANDiscriminator(nn.Module):
    """Strided convs down to a 1×1 logit; with pack m, m consecutive samples are stacked along channels."""

    def __init__(self, config: DCGANNetsConfig) -> None:
        super().__init__()
        start, widths = _layout(config)
        self.pack = config.pack
        self.sample_shape = (config.channels, config.image_size, config.image_size)
        widths = widths[::-1]  # largest feature map first
        bn = config.d_batch_norm
        layers = [
            # the paper: no batch norm on D's input layer
            down_block(
                config.channels * config.pack,
                widths[0],
                kernel_size=4,
                stride=2,
                padding=1,
                batch_norm=False,
                activation=nn.LeakyReLU(config.leaky_slope),
            )
        ]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            activation = nn.LeakyReLU(config.leaky_slope)
            layers.append(
                down_block(c_in, c_out, kernel_size=4, stride=2, padding=1, batch_norm=bn, activation=activation)
            )
        layers.append(
            down_block(widths[-1], 1, kernel_size=start, stride=1, padding=0, batch_norm=False, activation=None)
        )
        self.net = nn.Sequential(*layers)
        init_dcgan(self.net, config.init_std)
        if config.spectral_norm:
            apply_spectral_norm(self.net)  # after init: the parametrization rescales the initialised weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B·pack, C, H, W) → logits (B,)."""
        if tuple(x.shape[1:]) != self.sample_shape:
            raise BenchboxError(
                f"this DCGAN discriminator takes images of shape {self.sample_shape}, got {tuple(x.shape[1:])}",
                "build the nets with the image size and channels of the data",
            )
        if x.shape[0] % self.pack:
            raise BenchboxError(
                f"a batch of {x.shape[0]} samples cannot be packed in groups of {self.pack}",
                f"give the discriminator a multiple of {self.pack} samples",
            )
        channels, height, width = self.sample_shape
        packed = pack_samples(x, self.pack).view(-1, self.pack * channels, height, width)
        return self.net(packed).view(-1)


def dcgan_discriminator(config: DCGANNetsConfig) -> DCGANDiscriminator:
    """(B·pack, C, H, W) → (B,) logits, optionally spectrally normalised and packed."""
    return DCGANDiscriminator(config)

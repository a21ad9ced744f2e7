"""DCGAN generator and discriminator (Radford et al. 2016, section 3), sized for 8×8, 28×28 and 32×32 images.

The paper's rules: no pooling (strided convs in D, transposed convs in G), batch norm in both nets except G's
output and D's input layer, ReLU in G with a tanh output, LeakyReLU(0.2) in D, no fully connected hidden layers
(G projects z from 1×1 with a transposed conv; D ends in a conv to a 1×1 logit), weights ~ N(0, 0.02²).

With `fc_hidden` > 0 the pair becomes the InfoGAN-style nets of Lucic et al. 2018 (their Table 7, for MNIST and
Fashion-MNIST; Chen et al. 2016's): G maps z through a fully connected layer of `fc_hidden` units (batch norm,
ReLU) and a second one to the first feature map, D ends in a fully connected layer of `fc_hidden` units (batch norm
when D has it, LeakyReLU) and a linear logit. At base width 64 on 28×28 that is their 1024 → 7·7·128 → 64 → 1
generator and 64 → 128 → 1024 → 1 discriminator.
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
    label_channels: int = 0  # CGAN: a one-hot label of this many classes joins the image as constant channels
    aux_dim: int = 0  # ACGAN's class head or InfoGAN's Q head: a second conv on D's last feature map
    fc_hidden: int = 0  # > 0: InfoGAN-style fully connected layers of this width in G and D (Lucic et al.: 1024)


def dcgan_layout(image_size: int, base_width: int) -> tuple[int, list[int]]:
    """(side of the first feature map, widths of the hidden feature maps from the smallest to the largest)."""
    if image_size not in LAYOUTS:
        supported = ", ".join(str(s) for s in sorted(LAYOUTS))
        raise BenchboxError(
            f"DCGAN nets are not defined for {image_size}×{image_size} images", f"use an image size of {supported}"
        )
    start, steps = LAYOUTS[image_size]
    return start, [base_width * 2 ** (steps - 1 - i) for i in range(steps)]


def _layout(config: DCGANNetsConfig) -> tuple[int, list[int]]:
    if config.pack < 1:
        raise BenchboxError(f"PacGAN's pack must be at least 1, got {config.pack}", "use pack=1 for no packing")
    return dcgan_layout(config.image_size, config.base_width)


def fc_projection(z_dim: int, hidden: int, out: int) -> list[nn.Module]:
    """InfoGAN's G input: z → FC hidden (BN, ReLU) → FC out (BN, ReLU)."""
    return [
        nn.Linear(z_dim, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, out, bias=False),
        nn.BatchNorm1d(out),
        nn.ReLU(),
    ]


def fc_features(in_features: int, hidden: int, batch_norm: bool, slope: float) -> nn.Sequential:
    """InfoGAN's D top: flatten → FC hidden (BN when D has it) → LeakyReLU."""
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(in_features, hidden, bias=not batch_norm)]
    layers += [nn.BatchNorm1d(hidden)] if batch_norm else []
    return nn.Sequential(*layers, nn.LeakyReLU(slope))


def dcgan_generator(config: DCGANNetsConfig) -> nn.Sequential:
    """(N, z_dim) → (N, C, H, W) in [-1, 1]: transposed conv from 1×1, then ×2 transposed convs, then tanh."""
    start, widths = _layout(config)
    layers: list[nn.Module] = (
        [
            *fc_projection(config.z_dim, config.fc_hidden, widths[0] * start * start),
            nn.Unflatten(1, (widths[0], start, start)),
        ]
        if config.fc_hidden
        else [
            nn.Unflatten(1, (config.z_dim, 1, 1)),
            up_block(
                config.z_dim, widths[0], kernel_size=start, stride=1, padding=0, batch_norm=True, activation=nn.ReLU()
            ),
        ]
    )
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
        if config.pack > 1 and (config.label_channels or config.aux_dim):
            raise BenchboxError(
                "PacGAN packing judges several samples at once, so it cannot take per-sample labels or heads",
                "use pack=1 with CGAN, ACGAN and InfoGAN",
            )
        self.pack = config.pack
        self.label_channels = config.label_channels
        self.sample_shape = (config.channels, config.image_size, config.image_size)
        widths = widths[::-1]  # largest feature map first
        bn = config.d_batch_norm
        layers = [
            # the paper: no batch norm on D's input layer
            down_block(
                (config.channels + config.label_channels) * config.pack,
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
        if config.fc_hidden:  # InfoGAN-style: an FC layer on the last feature map, then linear heads
            layers.append(fc_features(widths[-1] * start * start, config.fc_hidden, bn, config.leaky_slope))
            self.body = nn.Sequential(*layers)
            self.head: nn.Module = nn.Sequential(nn.Linear(config.fc_hidden, 1))
            self.aux = nn.Linear(config.fc_hidden, config.aux_dim) if config.aux_dim else None
        else:
            self.body = nn.Sequential(*layers)
            self.head = nn.Conv2d(widths[-1], 1, start)  # the last conv, to a 1×1 logit
            self.aux = nn.Conv2d(widths[-1], config.aux_dim, start) if config.aux_dim else None
        init_dcgan(self, config.init_std)
        if config.spectral_norm:
            apply_spectral_norm(self)  # after init: the parametrization rescales the initialised weight

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (B·pack, C, H, W) → logits (B,), or (logits, aux head outputs (B, aux_dim)) with an aux head."""
        self._check(x)
        features = self.body(self.pack_inputs(self._with_labels(x, labels)))
        logits = self.head(features).view(-1)
        if self.aux is None:
            return logits
        return logits, self.aux(features).flatten(1)

    def _with_labels(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if not self.label_channels:
            return x
        if labels is None:
            raise BenchboxError("this CGAN discriminator needs the labels of its inputs", "pass labels")
        planes = nn.functional.one_hot(labels, self.label_channels).to(x.dtype)[:, :, None, None]
        return torch.cat([x, planes.expand(-1, -1, *x.shape[2:])], 1)

    def packed_critic(self, packed: torch.Tensor) -> torch.Tensor:
        """Logits of already packed inputs (B, pack·C, H, W): what a gradient penalty differentiates."""
        return self.head(self.body(packed)).view(-1)

    def _check(self, x: torch.Tensor) -> None:
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

    def pack_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """(B·pack, C, H, W) → (B, pack·C, H, W): m consecutive samples stacked along channels."""
        channels = x.shape[1]
        height, width = self.sample_shape[1:]
        return pack_samples(x, self.pack).view(-1, self.pack * channels, height, width)


def dcgan_discriminator(config: DCGANNetsConfig) -> DCGANDiscriminator:
    """(B·pack, C, H, W) → (B,) logits, optionally spectrally normalised and packed."""
    return DCGANDiscriminator(config)

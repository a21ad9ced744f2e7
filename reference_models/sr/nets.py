"""SRResNet's generator and SRGAN's discriminator (Ledig et al. 2017, Figure 4), with widths and depths as
arguments so that a CPU budget can shrink them.

Generator: 9×9 conv + PReLU; B residual blocks (3×3 conv, BN, PReLU, 3×3 conv, BN, identity skip); 3×3 conv + BN
with a skip from the first layer's output; log2(f) sub-pixel ×2 upsamplers (3×3 conv to 4× the channels,
PixelShuffle(2), PReLU; Shi et al. 2016); 9×9 conv to the image's channels. Discriminator: 3×3 convs with LeakyReLU
0.2, strides alternating 1 and 2 and widths doubling from `width` (BN after the first), a dense layer of `hidden`
units, LeakyReLU, one logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from benchbox.errors import BenchboxError


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def subpixel_upsampler(width: int) -> nn.Sequential:
    """×2: a conv to 4·width channels rearranged into a twice-larger map (PixelShuffle), then PReLU."""
    return nn.Sequential(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width))


def upsampler_count(factor: int) -> int:
    """log2(factor) ×2 upsamplers; SRResNet's sub-pixel layers scale by powers of 2 only."""
    count = round(math.log2(factor)) if factor >= 2 else 0
    if count < 1 or 2**count != factor:
        raise BenchboxError(f"an upscaling factor of {factor}", "use 2, 4 or 8 (SRResNet upsamples in ×2 steps)")
    return count


class SRResNet(nn.Module):
    def __init__(self, channels: int, width: int, blocks: int, factor: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.merge = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))
        self.up = nn.Sequential(*(subpixel_upsampler(width) for _ in range(upsampler_count(factor))))
        self.tail = nn.Conv2d(width, channels, 9, padding=4)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        first = self.head(lr)
        return self.tail(self.up(first + self.merge(self.blocks(first))))


class SRDiscriminator(nn.Module):
    """D(x) -> one logit per image (the sigmoid is in the loss)."""

    def __init__(self, channels: int, size: tuple[int, int], width: int, hidden: int, levels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, side_h, side_w = channels, *size
        for level in range(levels):
            c_out = width * 2**level
            for stride in (1, 2):
                if level == 0 and stride == 1:  # Ledig: no BN after the first conv
                    layers += [nn.Conv2d(c_in, c_out, 3, 1, 1), nn.LeakyReLU(0.2)]
                else:
                    layers += [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)]
                c_in = c_out
            side_h, side_w = (side_h + 1) // 2, (side_w + 1) // 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(c_in * side_h * side_w, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)

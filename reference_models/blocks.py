"""Layers shared by the reference models."""

from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """Linear map to out_features × pieces, then the max over pieces (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features * pieces)
        self.out_features = out_features
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.out_features, self.pieces).amax(dim=-1)


def init_normal(module: nn.Module, std: float) -> None:
    """Weights ~ N(0, std²), biases 0, as DCGAN and PacGAN initialise (std 0.02)."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def up_block(
    in_channels: int,
    out_channels: int,
    *,
    kernel_size: int,
    stride: int,
    padding: int,
    batch_norm: bool,
    activation: nn.Module | None,
) -> nn.Sequential:
    """Transposed ("fractional-strided") conv → optional BatchNorm → optional activation (DCGAN's G layer)."""
    conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
    return _conv_block(conv, out_channels, batch_norm, activation)


def down_block(
    in_channels: int,
    out_channels: int,
    *,
    kernel_size: int,
    stride: int,
    padding: int,
    batch_norm: bool,
    activation: nn.Module | None,
) -> nn.Sequential:
    """Strided conv (no pooling) → optional BatchNorm → optional activation (DCGAN's D layer)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
    return _conv_block(conv, out_channels, batch_norm, activation)


def _conv_block(conv: nn.Module, out_channels: int, batch_norm: bool, activation: nn.Module | None) -> nn.Sequential:
    # a conv followed by batch norm has no bias: BN's own shift would cancel it
    layers = [conv]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if activation is not None:
        layers.append(activation)
    return nn.Sequential(*layers)


def init_dcgan(module: nn.Module, std: float = 0.02) -> None:
    """Conv and linear weights ~ N(0, std²), BatchNorm scales ~ N(1, std²), all biases 0 (Radford et al. 2016).

    Call it before `apply_spectral_norm`: a parametrized weight is computed, not stored, so it cannot be set.
    """
    init_normal(module, std)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Divide every conv and linear weight by its largest singular value, as a parametrization (Miyato et al. 2018).

    The weight is reshaped to (out, in·kh·kw) and σ estimated by one power iteration per training forward pass.
    """
    for m in list(module.modules()):
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.utils.parametrizations.spectral_norm(m)
    return module

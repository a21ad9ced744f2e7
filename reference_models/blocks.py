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

"""Networks for GANs on vectors: an MLP generator and a maxout MLP discriminator (PacGAN's 2-D nets)."""

from __future__ import annotations

import torch
from torch import nn

from benchbox.errors import BenchboxError
from reference_models.blocks import Maxout


def mlp_generator(z_dim: int, out_dim: int, hidden: int, layers: int, bn_momentum: float) -> nn.Sequential:
    """layers × (Linear without bias → BatchNorm → ReLU), then a linear output (PacGAN's 2-D generator)."""
    blocks: list[nn.Module] = []
    width = z_dim
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden, momentum=bn_momentum), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, out_dim))


class PackedMaxoutDiscriminator(nn.Module):
    """Maxout MLP that judges `pack` samples at once, concatenated (PacGAN, Lin et al. 2018)."""

    def __init__(self, in_dim: int, hidden: int, layers: int, pieces: int, pack: int) -> None:
        super().__init__()
        self.pack = pack
        blocks: list[nn.Module] = []
        width = in_dim * pack
        for _ in range(layers):
            blocks.append(Maxout(width, hidden, pieces))
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B·pack, D) → logits (B,): consecutive groups of `pack` rows form one packed input."""
        return self.packed_critic(self.pack_inputs(x))

    def pack_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return pack_samples(x, self.pack)

    def packed_critic(self, packed: torch.Tensor) -> torch.Tensor:
        """Logits of already packed inputs (B, pack·D): what a gradient penalty differentiates."""
        return self.net(packed).squeeze(1)


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(B·pack, D…) → (B, pack·D): concatenate each group of `pack` consecutive samples."""
    if x.shape[0] % pack:
        raise BenchboxError(
            f"batch of {x.shape[0]} cannot be packed in groups of {pack}", "use a batch size divisible by the packing"
        )
    return x.reshape(x.shape[0] // pack, -1)

"""Layers shared by the reference models."""

from __future__ import annotations

import math

import torch
from torch import nn

from benchbox.errors import BenchboxError


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


# --- DDPM U-Net layers (Ho et al. 2020, their released diffusion_tf code) ---


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(N,) timesteps → (N, dim): [sin(t·ω_i), cos(t·ω_i)] with ω_i = exp(−ln(10000)·i/(dim/2 − 1)), i < dim/2.

    The Transformer's position embedding as Ho et al. 2020's code computes it: the divisor is half − 1 (diffusers'
    downscale_freq_shift=1, flip_sin_to_cos=False), so ω runs from 1 down to exactly 1/10000; an odd dim gets a
    zero last column.
    """
    if dim < 4:
        raise BenchboxError(f"a sinusoidal embedding needs dim >= 4, got {dim}", "use a larger embedding dimension")
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - 1))
    angles = t.to(torch.float32).reshape(-1, 1) * freqs
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with `groups` groups (Ho's code: 32), refusing a channel count the groups do not divide."""
    if groups < 1 or channels % groups:
        raise BenchboxError(
            f"{channels} channels cannot be split into {groups} GroupNorm groups",
            "use channel counts that are multiples of the number of groups, or fewer groups",
        )
    return nn.GroupNorm(groups, channels)


def init_xavier(module: nn.Module) -> None:
    """Conv and linear weights Xavier-uniform, biases 0: Ho's code's variance_scaling(1, 'fan_avg', 'uniform')."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def zero_init(module: nn.Module) -> nn.Module:
    """Every parameter 0: Ho's init_scale=0 layers, which make a residual branch start as nothing."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """x + conv(drop(SiLU(GN(conv(SiLU(GN(x))) + W·SiLU(temb))))), the last conv zero; 1×1 skip when widths differ."""

    def __init__(
        self, in_channels: int, out_channels: int, temb_dim: int, *, dropout: float = 0.0, groups: int = 32
    ) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels, groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.temb_proj = nn.Linear(temb_dim, out_channels)
        self.norm2 = group_norm(out_channels, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        # Ho's nin_shortcut: a 1×1 conv (a dense layer over channels) only where the widths differ
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        init_xavier(self)
        zero_init(self.conv2)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.temb_proj(nn.functional.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(nn.functional.silu(self.norm2(h))))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """x + proj(softmax(q·kᵀ/√C)·v) over the H·W positions, single head, q, k, v 1×1 convs of GN(x); proj zero."""

    def __init__(self, channels: int, *, groups: int = 32) -> None:
        super().__init__()
        self.norm = group_norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)  # Ho's three nin layers q, k, v, stacked
        self.proj = nn.Conv2d(channels, channels, 1)
        init_xavier(self)
        for w in self.qkv.weight.chunk(3):  # Xavier per q, k, v (fan_out C each), as three separate layers get
            nn.init.xavier_uniform_(w)
        zero_init(self.proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, height, width = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, height * width).unbind(1)
        weights = torch.softmax(torch.einsum("ncp,ncs->nps", q, k) * c**-0.5, dim=-1)
        h = torch.einsum("nps,ncs->ncp", weights, v).reshape(n, c, height, width)
        return x + self.proj(h)


class Downsample(nn.Module):
    """Conv 3×3 with stride 2 and padding 1: side s → ⌈s/2⌉ (28 → 14 → 7, 7 → 4)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
        init_xavier(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour ×2 (or to `size`, the skip's side, where a downsample rounded an odd side up), conv 3×3."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        init_xavier(self)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if size is None:
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = nn.functional.interpolate(x, size=size, mode="nearest")
        return self.conv(x)

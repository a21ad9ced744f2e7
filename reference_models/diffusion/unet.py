"""The DDPM noise-prediction U-Net (Ho et al. 2020, appendix B and their released diffusion_tf code).

A PixelCNN++-style U-Net of wide ResNet blocks: conv_in, then per resolution level `num_res_blocks` ResBlocks
(self-attention after each at the attention resolutions) and a strided-conv downsample (none after the last
level); a middle of ResBlock, attention, ResBlock; per level on the way up `num_res_blocks + 1` ResBlocks, each
taking the concatenation of the running features and the matching skip (every down-path output, conv_in's
included, is one skip), then a nearest ×2 upsample and conv; GroupNorm → SiLU → conv_out (zero at init). The
timestep enters every ResBlock through a sinusoidal embedding and a two-layer MLP; a class label, if any, adds a
learned embedding to it (Dhariwal & Nichol 2021; Ho & Salimans 2022 drop labels to a null class for guidance).
Odd sides round up when downsampled (7 → 4) and the upsample then resizes to the skip's side (4 → 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchbox.errors import BenchboxError
from reference_models.blocks import (
    AttentionBlock,
    Downsample,
    ResBlock,
    Upsample,
    group_norm,
    init_xavier,
    sinusoidal_embedding,
    zero_init,
)

IMAGE_SIZES = (8, 28, 32)  # digits, Fashion-MNIST, CIFAR-10


@dataclass(frozen=True)
class UNetConfig:
    """Shapes of a DDPM U-Net; the defaults are Ho et al. 2020's CIFAR-10 net (35.7M parameters)."""

    image_size: int = 32  # one of IMAGE_SIZES
    in_channels: int = 3  # 3 for CIFAR-10, 1 for Fashion-MNIST and digits
    base_channels: int = 128  # Ho's ch for CIFAR-10; 32 or less runs on a CPU
    channel_mults: tuple[int, ...] = (1, 2, 2, 2)  # Ho's CIFAR-10: 32, 16, 8, 4; use 3 levels for 28 px (28, 14, 7)
    num_res_blocks: int = 2  # Ho: 2 per level on the way down, 3 on the way up
    attention_resolutions: tuple[int, ...] = (16,)  # Ho: self-attention at 16×16 only (plus the middle's)
    dropout: float = 0.1  # Ho's CIFAR-10 value; they used 0 for the larger data sets
    num_classes: int = 0  # 0: unconditional; else labels 0..num_classes−1 and num_classes, the null class
    learn_sigma: bool = False  # False: ε only (C channels); True: ε and the variance interpolation v (2C channels)
    norm_groups: int = 32  # Ho's GroupNorm groups; base_channels must be a multiple (use 8 for a tiny net)
    cond_channels: int = 0  # channels of an image concatenated to x_t at the input (SR3's upscaled low-res input)

    @property
    def out_channels(self) -> int:
        return 2 * self.in_channels if self.learn_sigma else self.in_channels

    @property
    def temb_dim(self) -> int:
        return 4 * self.base_channels  # Ho: the timestep MLP is 4·ch wide


def unet_resolutions(config: UNetConfig) -> list[int]:
    """Side of the feature maps at each level, from image_size down: ⌈s/2⌉ per strided conv (28, 14, 7)."""
    sides = [config.image_size]
    for _ in config.channel_mults[1:]:
        sides.append((sides[-1] + 1) // 2)
    return sides


def check_unet_config(config: UNetConfig) -> None:
    """Raise a BenchboxError that names the fix for a config the U-Net cannot be built from."""
    if config.image_size not in IMAGE_SIZES:
        sizes = ", ".join(map(str, IMAGE_SIZES))
        raise BenchboxError(f"the U-Net is not defined for {config.image_size}-pixel images", f"use {sizes}")
    if config.in_channels < 1 or config.base_channels < 1 or config.num_res_blocks < 1:
        raise BenchboxError(
            "in_channels, base_channels and num_res_blocks must be positive",
            f"got {config.in_channels}, {config.base_channels} and {config.num_res_blocks}",
        )
    if not config.channel_mults or min(config.channel_mults) < 1:
        raise BenchboxError(
            f"channel_mults must be one or more positive integers, got {config.channel_mults}", "e.g. (1, 2, 2)"
        )
    sides = unet_resolutions(config)
    if min(sides[:-1], default=2) < 2:
        raise BenchboxError(
            f"{len(config.channel_mults)} levels halve a {config.image_size}-pixel image below 1 pixel ({sides})",
            "use fewer channel_mults",
        )
    if config.base_channels % config.norm_groups:
        raise BenchboxError(
            f"base_channels {config.base_channels} is not a multiple of norm_groups {config.norm_groups}, "
            "so GroupNorm cannot split every width (all are multiples of base_channels)",
            "choose base_channels as a multiple of norm_groups, or fewer norm_groups",
        )
    missing = sorted(set(config.attention_resolutions) - set(sides))
    if missing:
        raise BenchboxError(
            f"attention_resolutions {missing} are not among this U-Net's feature-map sides {sides}",
            "choose attention resolutions from those sides",
        )
    if not 0.0 <= config.dropout < 1.0:
        raise BenchboxError(f"dropout must lie in [0, 1), got {config.dropout}", "Ho et al. used 0.1 on CIFAR-10")
    if config.num_classes < 0:
        raise BenchboxError(f"num_classes must be 0 or more, got {config.num_classes}", "use 0 for unconditional")


class _Stage(nn.Module):
    """One ResBlock, then self-attention where the level asks for it."""

    def __init__(self, res: ResBlock, attn: AttentionBlock | None) -> None:
        super().__init__()
        self.res = res
        self.attn = attn

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.res(x, temb)
        return h if self.attn is None else self.attn(h)


class UNet(nn.Module):
    """ε_θ(x_t, t[, y]): (N, C, H, W), (N,) → (N, C or 2C, H, W), as in Ho et al. 2020."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        check_unet_config(config)
        self.config = config
        base, temb_dim, groups = config.base_channels, config.temb_dim, config.norm_groups
        sides = unet_resolutions(config)
        widths = [base * m for m in config.channel_mults]

        def stage(c_in: int, c_out: int, side: int) -> _Stage:
            attn = AttentionBlock(c_out, groups=groups) if side in config.attention_resolutions else None
            return _Stage(ResBlock(c_in, c_out, temb_dim, dropout=config.dropout, groups=groups), attn)

        self.time_mlp = nn.Sequential(nn.Linear(base, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        # one extra row: index num_classes is the null label that classifier-free guidance drops labels to
        self.label_emb = nn.Embedding(config.num_classes + 1, temb_dim) if config.num_classes else None
        self.conv_in = nn.Conv2d(config.in_channels + config.cond_channels, base, 3, padding=1)

        self.down = nn.ModuleList()
        skips, ch = [base], base  # widths of the skips, in the order the down path makes them
        for level, (side, width) in enumerate(zip(sides, widths, strict=True)):
            for _ in range(config.num_res_blocks):
                self.down.append(stage(ch, width, side))
                ch = width
                skips.append(ch)
            if level < len(sides) - 1:
                self.down.append(Downsample(ch))
                skips.append(ch)

        self.middle = nn.ModuleList(
            [
                ResBlock(ch, ch, temb_dim, dropout=config.dropout, groups=groups),
                AttentionBlock(ch, groups=groups),  # Ho: the middle always attends, whatever the resolution
                ResBlock(ch, ch, temb_dim, dropout=config.dropout, groups=groups),
            ]
        )

        self.up = nn.ModuleList()
        for level in reversed(range(len(sides))):
            for _ in range(config.num_res_blocks + 1):
                self.up.append(stage(ch + skips.pop(), widths[level], sides[level]))
                ch = widths[level]
            if level > 0:
                self.up.append(Upsample(ch))

        self.norm_out = group_norm(ch, groups)
        self.conv_out = nn.Conv2d(ch, config.out_channels, 3, padding=1)
        init_xavier(self.time_mlp)
        init_xavier(self.conv_in)
        zero_init(self.conv_out)  # Ho's init_scale=0: the net predicts ε = 0 at the start

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None, cond: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x_t (N, C, H, W); t (N,) or a scalar, as the schedule numbers steps (1..T in schedule.py; Ho's code fed
        0..T−1, which the net cannot tell apart); labels (N,) in 0..num_classes for a class-conditional net, with
        num_classes the null class; cond (N, cond_channels, H, W), concatenated to x_t, for a net built with
        cond_channels (SR3, Saharia et al. 2021)."""
        self._check(x)
        x = self._with_condition(x, cond)
        t = torch.as_tensor(t, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise BenchboxError(
                f"timesteps must have shape ({x.shape[0]},) for {x.shape[0]} images, got {tuple(t.shape)}",
                "pass one timestep per image, or a single one for all",
            )
        temb = self.time_mlp(sinusoidal_embedding(t, self.config.base_channels).to(x.dtype))
        temb = temb + self._label_embedding(labels, x.shape[0], x.device)

        hs = [self.conv_in(x)]
        for layer in self.down:
            hs.append(layer(hs[-1]) if isinstance(layer, Downsample) else layer(hs[-1], temb))
        h = self.middle[0](hs[-1], temb)
        h = self.middle[2](self.middle[1](h), temb)
        for layer in self.up:
            if isinstance(layer, Upsample):
                h = layer(h, size=hs[-1].shape[-2:])  # the next skip's side: ×2, or less after an odd side
            else:
                h = layer(torch.cat([h, hs.pop()], dim=1), temb)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))

    def _label_embedding(self, labels: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | float:
        classes = self.config.num_classes
        if self.label_emb is None:
            if labels is not None:
                raise BenchboxError("this U-Net is unconditional but was given labels", "set num_classes > 0")
            return 0.0
        if labels is None:
            raise BenchboxError(
                "this class-conditional U-Net needs labels",
                f"pass labels; use {classes} (the null class) for the unconditional prediction",
            )
        labels = torch.as_tensor(labels, device=device)
        if labels.shape != (n,) or labels.dtype.is_floating_point:
            raise BenchboxError(
                f"labels must be {n} integers, got shape {tuple(labels.shape)} of {labels.dtype}",
                "pass one integer class index per image",
            )
        if labels.min() < 0 or labels.max() > classes:
            raise BenchboxError(
                f"labels span {int(labels.min())}..{int(labels.max())}, outside 0..{classes}",
                f"use class indices 0..{classes - 1}, or {classes} for the null class",
            )
        return self.label_emb(labels)

    def _with_condition(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        want = self.config.cond_channels
        if not want:
            if cond is not None:
                raise BenchboxError("this U-Net takes no conditioning image", "build it with cond_channels > 0")
            return x
        if cond is None or cond.shape != (x.shape[0], want, *x.shape[2:]):
            got = None if cond is None else tuple(cond.shape)
            raise BenchboxError(
                f"this U-Net needs a conditioning image of shape {(x.shape[0], want, *x.shape[2:])}, got {got}",
                "pass cond, the low-resolution input upscaled to the output's size",
            )
        return torch.cat([x, cond], dim=1)

    def _check(self, x: torch.Tensor) -> None:
        c, size = self.config.in_channels, self.config.image_size
        if x.ndim != 4 or tuple(x.shape[1:]) != (c, size, size):
            raise BenchboxError(
                f"this U-Net takes images of shape (N, {c}, {size}, {size}), got {tuple(x.shape)}",
                "build the U-Net with the image size and channels of the data",
            )

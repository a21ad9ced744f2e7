"""The super-resolution protocol's degradation and its bicubic baseline, as pure functions.

Low-resolution inputs are made as the SR literature makes them (MATLAB's `imresize`, which SRCNN, SRResNet/SRGAN and
EDSR all use): bicubic with Keys' a = −0.5, antialiased when shrinking (the kernel widened by the factor), then
rounded to 8 bits, since the published LR test images are 8-bit files. torch's `interpolate(mode="bicubic",
antialias=True)` is that kernel (PIL's too); without `antialias` torch uses a = −0.75 and no widening, a different
image. Upscaling uses the same kernel, so the bicubic baseline is MATLAB's `imresize(lr, factor)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchbox.errors import BenchboxError

KERNEL = "bicubic a=-0.5, antialiased (MATLAB imresize, PIL BICUBIC), LR rounded to uint8"


def check_factor(shape: tuple[int, ...], factor: int) -> None:
    """Refuse a factor that does not divide the images' sides (the HR image would not be the LR one's exact ×f)."""
    h, w = shape[-2:]
    if factor < 2 or h % factor or w % factor:
        raise BenchboxError(
            f"a ×{factor} degradation of {h}×{w} images",
            "use a factor of 2 or more that divides both sides (×2 for 28×28, ×2 or ×4 for 32×32)",
        )


def resize_bicubic(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Float N×C×H×W images resized to `size` with the protocol's kernel (no clamping: bicubic overshoots)."""
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


def downsample(hr: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 N×C×H×W -> uint8 N×C×(H/f)×(W/f): bicubic in float32 on [0, 255], clamped, rounded half to even."""
    check_factor(tuple(hr.shape), factor)
    h, w = hr.shape[-2:]
    lr = resize_bicubic(hr.float(), (h // factor, w // factor))
    return lr.clamp(0, 255).round().to(torch.uint8)


def upsample(lr: torch.Tensor, factor: int) -> torch.Tensor:
    """Float N×C×h×w in [−1, 1] -> float N×C×(f·h)×(f·w), the same kernel, unclamped (models clamp or learn)."""
    h, w = lr.shape[-2:]
    return resize_bicubic(lr, (h * factor, w * factor))


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [−1, 1] (x / 127.5 − 1), the models' input range."""
    return x.float().div(127.5).sub(1.0)

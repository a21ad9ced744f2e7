"""PSNR and SSIM of super-resolved images as the SR literature computes them: on one stated channel (the luma Y of
ITU-R BT.601 for RGB, the image itself for grey), with a stated border shaved off, on 8-bit images (data range 255).

The settings papers disagree on (channel, shave, range, kernel) change a PSNR by a decibel or more, so each is a
field of `FidelitySettings`, part of the suite's protocol and printed with its table. Y is MATLAB's `rgb2ycbcr`
luma, Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in [0, 255], kept in float64 (not re-rounded to
8 bits), as BasicSR's `calculate_psnr(test_y_channel=True)` and EDSR's evaluation compute it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchbox.catalogue import Value, register_values
from benchbox.errors import BenchboxError
from benchbox.metrics.reconstruction import SSIM_WINDOW, psnr, ssim

BT601_Y = (65.481, 128.553, 24.966)  # ITU-R BT.601 luma weights for [0, 1] RGB, scaled to Y's 219 levels
BT601_OFFSET = 16.0
CHANNELS = ("y", "rgb")  # grey images have one channel and are scored as they are under either


@dataclass(frozen=True)
class FidelitySettings:
    """How PSNR and SSIM are computed; every field is printed with the table and is part of the protocol."""

    channel: str = "y"  # "y": BT.601 luma of RGB (the image itself when grey); "rgb": every channel
    shave: int = 2  # pixels dropped from each border before comparing (the upscaling factor, by convention)
    data_range: float = 255.0  # 8-bit images

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel '{self.channel}' is not one of {', '.join(CHANNELS)}")
        if self.shave < 0:
            raise ValueError(f"shave {self.shave} is negative")

    def describe(self) -> str:
        channel = "Y of ITU-R BT.601 (grey images as they are)" if self.channel == "y" else "RGB"
        return f"{channel}, {self.shave}-pixel border shaved, 8-bit images (data range {self.data_range:g})"


SR_VALUES = register_values(
    "super_resolution",
    ("upscaled test images", "their ground-truth images"),
    Value("sr_psnr", True, "PSNR of upscaled test images against the originals, dB (channel and shave stated)", 2),
    Value("sr_ssim", True, "SSIM of upscaled test images against the originals (channel and shave stated)", 4),
)


def luma(images: torch.Tensor) -> torch.Tensor:
    """uint8 or float N×3×H×W in [0, 255] -> float64 N×1×H×W of BT.601's Y in [16, 235]."""
    weights = torch.tensor(BT601_Y, dtype=torch.float64).view(1, 3, 1, 1)
    return BT601_OFFSET + (images.double() * weights).sum(1, keepdim=True) / 255.0


def scored_channels(images: torch.Tensor, settings: FidelitySettings) -> torch.Tensor:
    """The float64 channels PSNR and SSIM compare: Y (or RGB) with the border shaved."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise BenchboxError(f"images of shape {tuple(images.shape)}", "pass N×C×H×W images with 1 or 3 channels")
    x = luma(images) if settings.channel == "y" and images.shape[1] == 3 else images.double()
    s = settings.shave
    if s and min(x.shape[2:]) <= 2 * s:
        raise BenchboxError(f"a {s}-pixel shave of {x.shape[2]}×{x.shape[3]} images", "use a smaller shave")
    return x[..., s : x.shape[2] - s, s : x.shape[3] - s] if s else x


def sr_fidelity(pred: torch.Tensor, target: torch.Tensor, settings: FidelitySettings) -> dict[str, float]:
    """PSNR (mean over images of 10 log10(R²/MSE)) and SSIM (Wang et al.'s Gaussian 11×11, σ 1.5) of uint8
    N×C×H×W predictions against their targets, on the settings' channel and shave; SSIM only when the shaved
    images are 11×11 or more."""
    if pred.dtype != torch.uint8 or target.dtype != torch.uint8:
        raise BenchboxError(
            f"upscaled images of dtype {pred.dtype} and targets of {target.dtype}",
            "pass both as uint8 (the engine converts model output with to_uint8)",
        )
    a, b = scored_channels(pred, settings), scored_channels(target, settings)
    out = {"sr_psnr": psnr(a, b, settings.data_range)}
    if min(a.shape[2:]) >= SSIM_WINDOW:
        out["sr_ssim"] = ssim(a, b, settings.data_range)
    return out

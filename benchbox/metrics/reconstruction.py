"""Paired-image fidelity for reconstructions and super-resolution, through torchmetrics' functional API: PSNR and
SSIM (Wang et al. 2004, "Image quality assessment: from error visibility to structural similarity").

Both take N×C×H×W images with the data range R stated, never guessed from the images: float images of range R, or
uint8 images (R must then be 255), computed in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbox.errors import BenchboxError

SSIM_WINDOW = 11  # Wang et al.'s 11×11 Gaussian window, σ = 1.5 (torchmetrics' defaults)


def paired_images(
    pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two N×C×H×W batches of the same shape and dtype kind, finite, with R > 0; return them in float64."""
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.ndim != 4 or pred.shape != target.shape:
        raise BenchboxError(
            f"images of shapes {tuple(pred.shape)} and {tuple(target.shape)}",
            "pass two N×C×H×W batches of the same shape, each prediction paired with its target",
        )
    if not np.isfinite(data_range) or data_range <= 0:
        raise BenchboxError(f"data range {data_range}", "state the images' range: 1.0 for [0, 1], 2.0 for [-1, 1]")
    kinds = {pred.dtype == torch.uint8, target.dtype == torch.uint8}
    if kinds == {True, False} or not all(x.dtype == torch.uint8 or x.is_floating_point() for x in (pred, target)):
        raise BenchboxError(f"images of dtypes {pred.dtype} and {target.dtype}", "pass both as uint8 or both as floats")
    if kinds == {True} and data_range != 255:
        raise BenchboxError(f"uint8 images with data range {data_range}", "uint8 images have data range 255")
    pred, target = pred.double(), target.double()
    if not (torch.isfinite(pred).all() and torch.isfinite(target).all()):
        raise BenchboxError("images contain NaN or Inf", "the model diverged or the input is corrupt")
    return pred, target


def psnr(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, data_range: float) -> float:
    """Mean over images of 10 log10(R² / MSE_image); +inf when some image is reproduced exactly.

    The squared errors are summed in float64, but torchmetrics takes log R in float32: good to ~1e-7 relative.
    """
    pred, target = paired_images(pred, target, data_range)
    from torchmetrics.functional.image import peak_signal_noise_ratio  # 2 s to import: only when used

    return float(peak_signal_noise_ratio(pred, target, data_range=float(data_range), dim=(1, 2, 3)))


def ssim(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray, data_range: float) -> float:
    """Mean over images and pixels of (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), C_i = (k_i R)².

    Local statistics are Gaussian-weighted (11×11, σ = 1.5, k1 = 0.01, k2 = 0.03). torchmetrics reflect-pads the
    images so border pixels count too, where Wang et al.'s code and scikit-image drop the borders.
    """
    pred, target = paired_images(pred, target, data_range)
    if min(pred.shape[2:]) < SSIM_WINDOW:
        raise BenchboxError(
            f"SSIM of {pred.shape[2]}×{pred.shape[3]} images",
            f"SSIM's window needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW}",
        )
    from torchmetrics.functional.image import structural_similarity_index_measure

    return float(structural_similarity_index_measure(pred, target, data_range=float(data_range)))

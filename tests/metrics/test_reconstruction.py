"""PSNR and SSIM against closed forms: a constant offset, an image with itself, two constant images.

torchmetrics takes log R in float32 (it makes a default-dtype tensor of the range), so PSNR agrees to ~1e-7 only.
"""

import math

import numpy as np
import pytest
import torch

from benchbox.errors import BenchboxError
from benchbox.metrics.reconstruction import psnr, ssim

PSNR_REL = 1e-6


def _images(seed, shape=(3, 3, 16, 16)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_psnr_of_a_constant_offset():
    target = _images(0)
    assert psnr(target + 0.05, target, data_range=1.0) == pytest.approx(10 * math.log10(1.0 / 0.05**2), rel=PSNR_REL)
    assert psnr(target * 2 - 1 + 0.1, target * 2 - 1, data_range=2.0) == pytest.approx(
        10 * math.log10(4.0 / 0.01), rel=PSNR_REL
    )


def test_psnr_is_the_mean_over_images():
    target = _images(1, (2, 1, 12, 12))
    offsets = torch.tensor([0.1, 0.02], dtype=torch.float64).view(2, 1, 1, 1)
    expected = np.mean([10 * math.log10(1 / 0.1**2), 10 * math.log10(1 / 0.02**2)])
    assert psnr(target + offsets, target, data_range=1.0) == pytest.approx(expected, rel=PSNR_REL)


def test_psnr_of_uint8_images():
    target = (torch.arange(2 * 3 * 12 * 12) % 200).to(torch.uint8).view(2, 3, 12, 12)
    pred = target + 3
    assert psnr(pred, target, data_range=255) == pytest.approx(10 * math.log10(255**2 / 9), rel=PSNR_REL)


def test_ssim_of_an_image_with_itself_is_one():
    x = _images(2)
    assert ssim(x, x, data_range=1.0) == pytest.approx(1.0, abs=1e-12)
    assert ssim(x, _images(3), data_range=1.0) < 0.2


@pytest.mark.parametrize("mu_x, mu_y, data_range", [(0.2, 0.7, 1.0), (0.5, 0.5, 1.0), (30.0, 200.0, 255.0)])
def test_ssim_of_constant_images(mu_x, mu_y, data_range):
    x, y = torch.full((2, 3, 16, 20), mu_x, dtype=torch.float64), torch.full((2, 3, 16, 20), mu_y, dtype=torch.float64)
    c1 = (0.01 * data_range) ** 2  # no variance: the contrast-structure term is C2/C2 = 1
    expected = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    assert ssim(x, y, data_range=data_range) == pytest.approx(expected, rel=1e-10)


def test_mismatched_shapes_are_refused():
    with pytest.raises(BenchboxError, match="same shape"):
        psnr(_images(0), _images(0, (3, 3, 16, 15)), data_range=1.0)
    with pytest.raises(BenchboxError, match="N×C×H×W"):
        ssim(_images(0)[0], _images(0)[0], data_range=1.0)


def test_nan_is_refused():
    x = _images(0)
    y = x.clone()
    y[1, 2, 3, 4] = float("nan")
    with pytest.raises(BenchboxError, match="NaN"):
        psnr(x, y, data_range=1.0)
    with pytest.raises(BenchboxError, match="NaN"):
        ssim(y, x, data_range=1.0)


def test_bad_ranges_and_dtypes_are_refused():
    x = _images(0)
    with pytest.raises(BenchboxError, match="state the images' range"):
        psnr(x, x, data_range=0)
    u = (x * 255).to(torch.uint8)
    with pytest.raises(BenchboxError, match="data range 255"):
        psnr(u, u, data_range=1.0)
    with pytest.raises(BenchboxError, match="both as uint8"):
        psnr(u, x, data_range=255)
    with pytest.raises(BenchboxError, match="at least 11"):
        ssim(x[..., :8, :8], x[..., :8, :8], data_range=1.0)

"""PSNR and SSIM as SR papers compute them: Y of BT.601 by hand, a known offset's PSNR, the shaved border, and SSIM
equal to torchmetrics' on the hand-computed channel."""

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from benchbox.errors import BenchboxError
from benchbox.metrics.super_resolution import FidelitySettings, luma, sr_fidelity


def rgb(r, g, b, side=20):
    return torch.tensor([r, g, b], dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, side, side).clone()


@pytest.mark.parametrize(
    "colour, y",
    [((0, 0, 0), 16.0), ((255, 255, 255), 235.0), ((255, 0, 0), 81.481), ((0, 255, 0), 144.553), ((0, 0, 255), 40.966)],
)
def test_luma_is_bt601(colour, y):
    """MATLAB's rgb2ycbcr: Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1]."""
    assert float(luma(rgb(*colour))[0, 0, 0, 0]) == pytest.approx(y, abs=1e-9)


def test_psnr_on_y_of_a_known_offset():
    """Adding 10 to the green channel moves Y by 128.553·10/255 everywhere: PSNR = 20 log10(255 / ΔY)."""
    target = rgb(100, 100, 100)
    pred = rgb(100, 110, 100)
    delta = 128.553 * 10 / 255
    got = sr_fidelity(pred, target, FidelitySettings(channel="y", shave=2))
    assert got["sr_psnr"] == pytest.approx(20 * math.log10(255 / delta), rel=1e-6)
    # on RGB the same offset is a mean squared error of 100/3 over the channels
    rgb_psnr = sr_fidelity(pred, target, FidelitySettings(channel="rgb", shave=2))["sr_psnr"]
    assert rgb_psnr == pytest.approx(10 * math.log10(255**2 / (100 / 3)), rel=1e-6)


def test_grey_images_are_scored_as_they_are():
    target = torch.full((2, 1, 16, 16), 50, dtype=torch.uint8)
    pred = target + torch.tensor([4, 8], dtype=torch.uint8).view(2, 1, 1, 1)
    expected = np.mean([20 * math.log10(255 / 4), 20 * math.log10(255 / 8)])  # the mean of the images' PSNRs
    assert sr_fidelity(pred, target, FidelitySettings(shave=0))["sr_psnr"] == pytest.approx(expected, rel=1e-6)


def test_the_border_is_shaved():
    target = torch.full((1, 1, 24, 24), 90, dtype=torch.uint8)
    pred = target.clone()
    pred[..., :3, :] = 0  # a wrong 3-pixel band at the top
    assert math.isinf(sr_fidelity(pred, target, FidelitySettings(shave=3))["sr_psnr"])
    unshaved = sr_fidelity(pred, target, FidelitySettings(shave=2))["sr_psnr"]
    mse = 90**2 * 20 / (20 * 20)  # one wrong row of the 20×20 kept
    assert unshaved == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-6)


def test_ssim_is_torchmetrics_on_the_shaved_y():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 256, (2, 3, 32, 32), generator=g, dtype=torch.uint8)
    pred = (target.int() + torch.randint(-20, 21, target.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    weights = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64).view(1, 3, 1, 1)

    def y(x):
        return (16 + (x.double() * weights).sum(1, keepdim=True) / 255)[..., 4:-4, 4:-4]

    expected = structural_similarity_index_measure(y(pred), y(target), data_range=255.0)
    got = sr_fidelity(pred, target, FidelitySettings(channel="y", shave=4))["sr_ssim"]
    assert got == pytest.approx(float(expected), rel=1e-12)
    assert sr_fidelity(target, target, FidelitySettings())["sr_ssim"] == pytest.approx(1.0)


def test_small_images_get_psnr_only_and_floats_are_refused():
    x = torch.zeros(1, 1, 14, 14, dtype=torch.uint8)
    assert set(sr_fidelity(x + 1, x, FidelitySettings(shave=2))) == {"sr_psnr"}  # 10×10 left: below SSIM's 11×11
    with pytest.raises(BenchboxError, match="uint8"):
        sr_fidelity(x.float(), x, FidelitySettings())
    with pytest.raises(ValueError, match="channel"):
        FidelitySettings(channel="ycbcr")

"""The degradation and the bicubic baseline against PIL's BICUBIC resize (Keys' a = −0.5, antialiased when
shrinking: MATLAB's imresize kernel), computed on float images, and against closed forms."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from benchbox.errors import BenchboxError
from benchbox.sr.degrade import downsample, resize_bicubic, to_unit, upsample


def smooth_images(n, side, seed):
    """uint8 grey images with edges and gradients, where kernels differ."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, side // 4, side // 4, generator=g) * 255
    ramp = torch.linspace(0, 60, side).view(1, 1, 1, side)
    return (coarse.repeat_interleave(4, 2).repeat_interleave(4, 3) * 0.75 + ramp).round().clamp(0, 255).to(torch.uint8)


def pil_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One float32 H×W image resized by PIL (mode "F", BICUBIC), size given as (h, w)."""
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(size[::-1], Image.BICUBIC))


@pytest.mark.parametrize("side, factor", [(28, 2), (32, 4), (32, 2)])
def test_downsampling_is_pils_bicubic(side, factor):
    hr = smooth_images(3, side, 0)
    ours = resize_bicubic(hr.float(), (side // factor, side // factor))
    for i in range(3):
        pil = pil_resize(hr[i, 0].numpy(), (side // factor, side // factor))
        np.testing.assert_allclose(ours[i, 0].numpy(), pil, atol=2e-3)  # PIL sums in float32, in another order
    # the 8-bit inputs are those values rounded (a value within 2e-3 of a .5 could round either way: none here)
    rounded = np.stack([pil_resize(hr[i, 0].numpy(), (side // factor,) * 2) for i in range(3)])
    np.testing.assert_array_equal(downsample(hr, factor)[:, 0].numpy(), np.clip(np.round(rounded), 0, 255))


def test_upsampling_is_pils_bicubic():
    lr = to_unit(smooth_images(2, 16, 1))
    ours = upsample(lr, 2)
    for i in range(2):
        np.testing.assert_allclose(ours[i, 0].numpy(), pil_resize(lr[i, 0].numpy(), (32, 32)), atol=1e-5)


def test_the_kernel_is_torchs_antialiased_bicubic_not_its_default():
    """torch's default bicubic (a = −0.75, no widening) gives other low-resolution images: the protocol names which."""
    hr = smooth_images(2, 28, 2).float()
    antialiased = F.interpolate(hr, size=(14, 14), mode="bicubic", align_corners=False, antialias=True)
    assert torch.equal(resize_bicubic(hr, (14, 14)), antialiased)
    plain = F.interpolate(hr, size=(14, 14), mode="bicubic", align_corners=False)
    assert (plain - antialiased).abs().max() > 1


def test_a_constant_image_stays_constant():
    hr = torch.full((1, 3, 32, 32), 77, dtype=torch.uint8)
    assert torch.equal(downsample(hr, 4), torch.full((1, 3, 8, 8), 77, dtype=torch.uint8))
    assert torch.allclose(upsample(to_unit(downsample(hr, 4)), 4), to_unit(hr), atol=1e-6)


@pytest.mark.parametrize("factor", [1, 3])
def test_a_factor_that_does_not_divide_the_sides_is_refused(factor):
    with pytest.raises(BenchboxError, match=f"×{factor}"):
        downsample(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), factor)

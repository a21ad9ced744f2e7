"""PPL through torch-fidelity with locally made LPIPS files (random VGG16 and heads, in the release formats)."""

import numpy as np
import pytest
import torch
import torchvision
from torch_fidelity.sample_similarity_lpips import NetLinLayer

from benchbox.errors import BenchboxError
from benchbox.metrics.ppl import discard_tails, perceptual_path_length


@pytest.fixture(scope="module")
def lpips_files(tmp_path_factory):
    """torchvision's VGG16 state dict (in float16 to halve the 550 MB) and the five LPIPS heads, randomly drawn."""
    folder = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    vgg = torchvision.models.vgg16()
    torch.save({k: v.half() for k, v in vgg.state_dict().items()}, folder / "vgg16.pth")
    heads = {}
    for i, channels in enumerate((64, 128, 256, 512, 512)):
        layer = NetLinLayer(channels, use_dropout=True)
        torch.nn.init.uniform_(layer.model[1].weight, 0, 1)  # LPIPS heads are non-negative
        heads.update({f"lin{i}.{k}": v for k, v in layer.state_dict().items()})
    torch.save(heads, folder / "heads.pth")
    return folder / "heads.pth", folder / "vgg16.pth"


class Linear(torch.nn.Module):
    """G(z) = tanh(scale · reshape(A z)): 3×16×16 images."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.a = torch.randn(3 * 16 * 16, 8, generator=torch.Generator().manual_seed(0))

    def forward(self, z):
        return torch.tanh(self.scale * (z @ self.a.T)).view(-1, 3, 16, 16)


def ppl(generator, files, **kw):
    heads, vgg = files
    return perceptual_path_length(
        generator, 8, num_samples=16, batch_size=8, lpips_weights=heads, vgg16_weights=vgg, **kw
    )


@pytest.mark.slow
def test_ppl_is_zero_for_a_constant_generator_and_grows_with_the_slope(lpips_files, offline_cache):
    torch.set_num_threads(2)
    constant, *_ = ppl(Linear(0.0), lpips_files, allow_custom_weights=True)
    assert constant == 0.0  # G(z0) = G(z1): every LPIPS distance is exactly 0
    gentle, *_ = ppl(Linear(0.01), lpips_files, allow_custom_weights=True)
    steep, _, digests = ppl(Linear(0.1), lpips_files, allow_custom_weights=True)
    assert 0 < gentle < steep  # a steeper map moves images further per latent step
    assert len(digests["vgg16_sha256"]) == 64


def test_custom_vgg_weights_are_refused_without_the_flag(lpips_files, offline_cache):
    with pytest.raises(BenchboxError, match="397923af"):
        ppl(Linear(0.0), lpips_files)


def test_missing_weights_offline(offline_cache):
    with pytest.raises(BenchboxError, match="BENCHBOX_LPIPS_WEIGHTS"):
        perceptual_path_length(Linear(0.0), 8, num_samples=4)


def test_discard_tails_matches_stylegan_rule():
    d = np.arange(1.0, 201.0)  # percentiles 1 and 99 of 1..200 are 2.99 and 198.01: keep 2..199
    kept = discard_tails(d)
    assert kept.min() == np.percentile(d, 1, method="lower") == 2.0
    assert kept.max() == np.percentile(d, 99, method="higher") == 199.0

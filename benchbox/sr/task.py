"""A super-resolution task: a registered image dataset, its images shrunk by the protocol's degradation.

The low-resolution training images are made once per stream (bicubic, antialiased, 8-bit; benchbox.sr.degrade) and
cut into batches by the same seeded shuffle as the image suites' (benchbox.data.image_task), so a resumed run sees
the batches the uninterrupted one would have. The test pairs are a fixed prefix of the test split.

The perceptual network for SRGAN's content loss is benchbox's own classifier of the dataset (the one whose "pool"
layer the distribution metric reads), cut after its second convolution's ReLU: the analogue of Ledig et al.'s VGG54
(a late conv layer's activations). The content loss and the metric therefore share a network (not a layer); the
report's protocol says so. Where VGG19's weights are on disk, a model may ask for VGG54 itself ("vgg54").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from benchbox.data.image_task import ImageStream, ImageTask
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.domain_classifier import build_domain_extractor
from benchbox.features.vgg import vgg54
from benchbox.sr.degrade import KERNEL, check_factor, downsample, to_unit

PERCEPTUAL_LAYERS = 5  # conv, ReLU, max-pool, conv, ReLU of the classifier's body
PERCEPTUAL = ("domain", "vgg54")


@dataclass(frozen=True)
class SRTask:
    """Upscale `images`' images by `factor` from their degraded versions."""

    name: str
    images: ImageTask
    factor: int
    description: str = ""
    num_classes: int = 0  # the models learn from pairs, not labels

    def __post_init__(self) -> None:
        check_factor(self.images.sample_shape, self.factor)

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return self.images.sample_shape

    @property
    def lr_shape(self) -> tuple[int, int, int]:
        c, h, w = self.sample_shape
        return c, h // self.factor, w // self.factor

    @property
    def dataset(self) -> str:
        return self.images.dataset

    @property
    def reference_split(self) -> str:
        return self.images.reference_split

    def reference_images(self) -> torch.Tensor:
        return self.images.reference_images()

    def test_pairs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self.reference_images()[:n]
        return downsample(hr, self.factor), hr

    def data_hash(self) -> str:
        """The dataset's hash with the degradation that makes the inputs."""
        return hashlib.sha256(f"{self.images.data_hash()}:x{self.factor}:{KERNEL}".encode()).hexdigest()

    def stream(self, seed: int, device: torch.device) -> PairStream:
        return PairStream(self.images.stream(seed, device), self.factor)

    def perceptual_features(self, device: torch.device, network: str = "domain") -> nn.Module:
        """A frozen feature network for a content loss: "domain" (the classifier's trunk) or "vgg54" (VGG19's
        conv5_4, when its weights are on disk)."""
        if network == "vgg54":
            return vgg54(device)
        if network != "domain":
            raise BenchboxError(f"unknown perceptual network '{network}'", f"use one of {', '.join(PERCEPTUAL)}")
        extractor = build_domain_extractor(self.dataset, ExtractorOptions(device=torch.device("cpu")))
        trunk = nn.Sequential(*list(extractor.net.body)[:PERCEPTUAL_LAYERS])
        return trunk.to(device).eval().requires_grad_(False)


class PairStream:
    """(lr, hr) batches in [−1, 1]: the image stream's shuffle, with every training image degraded once up front."""

    def __init__(self, images: ImageStream, factor: int) -> None:
        self.base = images
        self.low = downsample(images.images.cpu(), factor).to(images.device)

    def next(self, n: int, labels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.base.indices(n)
        return to_unit(self.low[idx]), to_unit(self.base.images[idx])

    def state(self) -> dict[str, Any]:
        return self.base.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.base.load_state(state)

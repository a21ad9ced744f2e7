"""VGG19's conv5_4 feature maps (Simonyan & Zisserman 2015, torchvision's ImageNet weights): the "VGG54" of Ledig et
al. 2017's perceptual content loss, which SRGAN rows of online suites train on (benchbox.sr.task).

The weights are found as every weights file is (benchbox.features.weights): $BENCHBOX_VGG_WEIGHTS (`benchbox run
--vgg-weights PATH` sets it), then benchbox's cache folder. A run never downloads: the error names the URL and where
to put the file. torchvision publishes the first 8 hex digits of the file's SHA-256 in its name, and that prefix is
what is checked. The file is read with `weights_only=True`: a file that would run code on load is refused.
"""

from __future__ import annotations

import pickle
import zipfile

import torch
from torch import nn

from benchbox.errors import BenchboxError
from benchbox.features.weights import WeightsSpec, resolve_weights

VGG19 = WeightsSpec(
    "VGG19 (torchvision, ImageNet)",
    "vgg19-dcbb9e9d.pth",
    "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "dcbb9e9d",
    "BENCHBOX_VGG_WEIGHTS",
    "--vgg-weights",
)
VGG54_LAYERS = 36  # torchvision's vgg19.features up to conv5_4's ReLU, before the fifth max-pool
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG54(nn.Module):
    """Images in [−1, 1] (grey ones repeated to RGB) -> VGG19's conv5_4 activations, ImageNet-normalised input."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return self.features(((x + 1) / 2 - self.mean) / self.std)


def vgg54(device: torch.device, allow_custom: bool = False) -> VGG54:
    """The frozen VGG54 network on `device`; a one-line error when the weights are not on disk or not VGG19's."""
    from torchvision.models import vgg19  # torchvision is slow to import: only when a VGG loss is asked for

    found = resolve_weights(VGG19, allow_custom=allow_custom, allow_download=False)
    net = vgg19()
    try:
        net.load_state_dict(torch.load(found.path, map_location="cpu", weights_only=True))
    except (RuntimeError, KeyError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise BenchboxError(
            f"'{found.path}' is not a torchvision VGG19 state dict ({type(exc).__name__})",
            f"use the published file ({VGG19.url})",
        ) from exc
    trunk = nn.Sequential(*list(net.features)[:VGG54_LAYERS])
    return VGG54(trunk).to(device).eval().requires_grad_(False)

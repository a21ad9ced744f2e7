"""Inception-v3 features exactly as torch-fidelity computes them (`inception-v3-compat`: the TF1 FID network, its
TF1-style bilinear resize to 299, (x − 128)/128): pool3 for FID/KID/PR, bias-free logits for IS.

benchbox builds on torch-fidelity's network and adds weights resolution, channels_last execution (about 1.5× faster
on CPUs, same features to float32 round-off) and the engine's validation and caching around it.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from benchbox.data.images import check_images
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.weights import WeightsSpec, load_tensors, resolve_weights, why_unreadable
from benchbox.registry import register_extractor

if TYPE_CHECKING:  # torch-fidelity (and the torchvision it imports) is loaded when a network is built, not at start-up
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

# torch-fidelity's URL_INCEPTION_V3 (a test checks they agree)
URL_INCEPTION_V3 = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)

INCEPTION_WEIGHTS = WeightsSpec(
    name="Inception-v3 (torch-fidelity)",
    filename=URL_INCEPTION_V3.rsplit("/", 1)[1],
    url=URL_INCEPTION_V3,
    sha256="6726825d",  # published as the SHA-256 prefix in the release file name (torch.hub's convention)
    env_var="BENCHBOX_INCEPTION_WEIGHTS",
    option="--inception-weights",
)
POOL_LAYERS = ("64", "192", "768", "2048")  # pytorch-fid's --dims; FID is defined on 2048


@dataclass
class InceptionExtractor:
    """torch-fidelity's Inception-v3 as a benchbox Extractor; `pool` is the variant's layer (2048 unless asked)."""

    net: FeatureExtractorInceptionV3
    weights_sha256: str
    canonical: bool
    device: torch.device
    pool_layer: str = "2048"
    channels_last: bool = True
    version: str = "1"
    outputs: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.outputs = {"pool": int(self.pool_layer), "logits": 1008}
        self.net.to(self.device)
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)

    @property
    def name(self) -> str:
        return "inception" if self.pool_layer == "2048" else f"inception:{self.pool_layer}"

    @property
    def preprocessing(self) -> str:
        return "uint8 NCHW, gray repeated to RGB -> torch-fidelity TF1 bilinear 299x299 -> (x-128)/128, float32"

    @property
    def metric_tag(self) -> str:
        """FID is the Fréchet distance of canonical pool3 features; anything else is named for what it is."""
        tag = "" if self.pool_layer == "2048" else f"inception{self.pool_layer}"
        if not self.canonical:
            tag = f"inception{'' if self.pool_layer == '2048' else self.pool_layer}_custom"
        return tag

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        images = check_images(images).to(self.device)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        pool, logits = self.net(images)
        return {"pool": pool, "logits": logits}


@register_extractor("inception")
def build_inception(variant: str | None, options: ExtractorOptions) -> InceptionExtractor:
    """Variant: the pool layer, one of 64, 192, 768, 2048 (default, the FID layer)."""
    layer = variant or "2048"
    if layer not in POOL_LAYERS:
        raise BenchboxError(f"unknown Inception layer '{layer}'", f"choose one of {', '.join(POOL_LAYERS)}")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = resolve_weights(INCEPTION_WEIGHTS, options.weights, options.allow_custom_weights, options.download)
    hint = "use the file from torch-fidelity's release, or one saved from FeatureExtractorInceptionV3.state_dict()"
    # torch-fidelity reads the file with weights_only=False, which runs whatever code a pickle holds: it gets the
    # tensors read here with weights_only=True, saved again, never the file itself
    tensors = io.BytesIO()
    torch.save(load_tensors(weights.path, "a torch-fidelity Inception-v3 weights file", hint), tensors)
    tensors.seek(0)
    try:
        net = FeatureExtractorInceptionV3(
            "inception-v3-compat", [layer, "logits_unbiased"], feature_extractor_weights_path=tensors
        )
    except (
        RuntimeError,
        KeyError,
        EOFError,
        ValueError,
        TypeError,
        pickle.UnpicklingError,
    ) as exc:  # a file that is not an Inception state dict
        raise BenchboxError(
            f"'{weights.path}' is not a torch-fidelity Inception-v3 weights file ({type(exc).__name__}: "
            f"{why_unreadable(exc)})",
            hint,
        ) from exc
    return InceptionExtractor(net, weights.sha256, weights.canonical, options.device, pool_layer=layer)

"""Feature spaces: networks that map uint8 images to features, with their weights resolved and checked.

An extractor is built by the builder registered under its name (`register_extractor`), from a variant (e.g. the
CLIP model) and `ExtractorOptions`. Every extractor gives an embedding under the output name "pool"; classifiers
also give class scores under "logits". The engine caches features under a key made of the images' content hash and
`Extractor.cache_identity()`, so any change to the network, weights or preprocessing gives a new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch


@dataclass(frozen=True)
class ExtractorOptions:
    """How to build an extractor. `weights` is a local file that overrides the extractor's default search."""

    device: torch.device = torch.device("cpu")
    weights: Path | None = None
    allow_custom_weights: bool = False  # accept weights whose hash is not the published one (metrics get renamed)
    download: bool = True  # fetch missing published weights; runs pass False, so nothing is downloaded mid-run


@runtime_checkable
class Extractor(Protocol):
    name: str  # the feature space as the user names it: "inception", "clip:ViT-B-32:openai", "digits"
    version: str  # bump when the network code or the preprocessing changes
    weights_sha256: str
    canonical: bool  # the published weights (or, for a domain classifier, the protocol's own training)
    preprocessing: str  # written into the cache key and the provenance
    outputs: dict[str, int]  # output name -> feature dimension
    device: torch.device

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """uint8 N×C×H×W images (C = 1 or 3) on `device` -> {output name: float N×D}, for every output."""
        ...

    @property
    def metric_tag(self) -> str:
        """Suffix of metric names in this space: "" only for canonical Inception (whose FD is FID)."""
        ...


def cache_identity(extractor: Extractor) -> str:
    """Everything about an extractor that its features depend on, as one string for the cache key."""
    outputs = ",".join(f"{k}:{v}" for k, v in sorted(extractor.outputs.items()))
    return "|".join((extractor.name, extractor.version, extractor.weights_sha256, extractor.preprocessing, outputs))

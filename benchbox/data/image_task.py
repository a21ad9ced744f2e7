"""A labelled image dataset as a suite task: train on its training split, score against its test split.

The training split is held as one uint8 tensor on the training device (Fashion-MNIST is 47 MB, CIFAR-10 150 MB),
and batches are cut from a fixed shuffle: epoch e visits the images in the order of a permutation drawn from a
generator seeded with (data seed, e). A stream's position is its count of examples drawn, so a resumed run draws
exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from benchbox.data import LabeledImages, data_dir_option
from benchbox.registry import DATASETS

EPOCH_SEED_STRIDE = 1_000_003  # the permutation of epoch e uses seed data_seed · stride + e


@dataclass(frozen=True)
class ImageTask:
    """A Task of the image suites: one registered labelled dataset."""

    name: str
    dataset: str  # a name registered with register_dataset
    sample_shape: tuple[int, int, int]  # C, H, W of the dataset's images
    num_classes: int
    train_split: str = "train"
    reference_split: str = "test"  # the real set the metrics compare samples with
    description: str = ""

    def load(self, split: str, data_dir: str | Path | None = None) -> LabeledImages:
        return DATASETS.get_or_fail(self.dataset)(split, data_dir=data_dir or data_dir_option())

    def reference_images(self) -> torch.Tensor:
        return self.load(self.reference_split).images

    def data_hash(self) -> str:
        """SHA-256 over the hashes of the training and reference splits."""
        train, ref = self.load(self.train_split), self.load(self.reference_split)
        return hashlib.sha256(f"{train.data_hash}:{ref.data_hash}".encode()).hexdigest()

    def stream(self, seed: int, device: torch.device) -> ImageStream:
        return ImageStream(self.load(self.train_split), seed, device)


class ImageStream:
    """Batches in [-1, 1] (float32 on the device) from a fixed, seeded shuffle of a uint8 training split."""

    def __init__(self, data: LabeledImages, seed: int, device: torch.device) -> None:
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.seed = seed
        self.device = device
        self.drawn = 0  # examples handed out so far: the whole of the stream's state
        self._epoch_order: tuple[int, torch.Tensor] | None = None  # the current epoch's permutation, memoised

    @cached_property
    def size(self) -> int:
        return len(self.images)

    def _order(self, epoch: int) -> torch.Tensor:
        if self._epoch_order is None or self._epoch_order[0] != epoch:
            generator = torch.Generator().manual_seed(self.seed * EPOCH_SEED_STRIDE + epoch)
            self._epoch_order = (epoch, torch.randperm(self.size, generator=generator).to(self.device))
        return self._epoch_order[1]

    def indices(self, n: int) -> torch.Tensor:
        """The next n positions of the shuffle, crossing into the next epoch's permutation where needed."""
        parts, start, end = [], self.drawn, self.drawn + n
        while start < end:
            epoch, offset = divmod(start, self.size)
            take = min(end - start, self.size - offset)
            parts.append(self._order(epoch)[offset : offset + take])
            start += take
        self.drawn = end
        return torch.cat(parts)

    def next(self, n: int, labels: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        idx = self.indices(n)
        images = self.images[idx].float().div_(127.5).sub_(1.0)
        return (images, self.labels[idx]) if labels else images

    def state(self) -> dict[str, Any]:
        return {"drawn": self.drawn}

    def load_state(self, state: dict[str, Any]) -> None:
        self.drawn = int(state["drawn"])

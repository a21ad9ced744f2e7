"""The contract between the runner and a model (see docs/architecture.md, "The contracts")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@dataclass(frozen=True)
class ModelContext:
    """What a model builder is told about the task it will be trained on."""

    sample_shape: tuple[int, ...]  # shape of one example, e.g. (2,) for toy2d or (1, 28, 28)
    device: torch.device
    num_classes: int = 0  # classes of a labelled dataset; conditional models need them
    # Super-resolution tasks (benchbox.sr.task): the factor from the low-resolution input's side to sample_shape's,
    # and a function giving a frozen feature network by name for perceptual losses (SRGAN's content loss): "domain"
    # (the task's own classifier) or "vgg54"; images in [−1, 1] -> feature maps. 0 and None for every other task.
    upscale_factor: int = 0
    perceptual: Callable[[str], nn.Module] | None = None


@runtime_checkable
class Model(Protocol):
    """A trainable generative model; user models passed as `module:factory` implement this too."""

    examples_per_step: int  # real examples one train_step consumes

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch of real examples; returns losses for the log."""

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n samples (in [-1, 1] for images, raw coordinates for points), deterministic given generator."""

    # Optional, for class-conditional models: `uses_labels = True` makes the runner pass (images, labels) batches
    # to train_step, and `sample_labeled(n, generator) -> (samples, labels)` lets it score class accuracy.
    # Super-resolution models (a suite of benchbox.sr) instead train on (lr, hr) batches and implement
    # `upscale(lr, generator) -> hr`, floats in [−1, 1]; their `sample` is not called.

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...

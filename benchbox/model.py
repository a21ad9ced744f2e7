"""The contract between the runner and a model (see docs/architecture.md, "The contracts")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch


@dataclass(frozen=True)
class ModelContext:
    """What a model builder is told about the task it will be trained on."""

    sample_shape: tuple[int, ...]  # shape of one example, e.g. (2,) for toy2d or (1, 28, 28)
    device: torch.device
    num_classes: int = 0  # classes of a labelled dataset; conditional models need them


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

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...

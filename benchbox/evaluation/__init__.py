"""How a suite scores a trained model: the one Evaluation protocol every suite has.

`points.PointsEvaluation` scores toy2d's samples with points metrics; `features.FeatureEvaluation` scores images in a
feature space. The runner calls the same methods on either and never asks which it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from benchbox.tasks import Task


@dataclass(frozen=True)
class ScoredValue:
    name: str  # a recorded value's name (benchbox.catalogue)
    value: float
    extractor_hash: str  # weights hash of the feature space the value was measured in; "" for none


class Evaluation(Protocol):
    """A suite's scoring protocol. Every field of an implementation is part of the suite's version."""

    def values(self, task: Task) -> list[str]:
        """Every value it can record on the task, in table column order (names of benchbox.catalogue values)."""
        ...

    def required(self, task: Task) -> list[str]:
        """The values every run records on the task."""
        ...

    def hash_parts(self) -> tuple[Any, ...]:
        """What of this protocol defines a cell's numbers: it goes into every cell's protocol hash."""
        ...

    def prepare(self, task: Task, n: int) -> None:
        """Before any training: build what scoring needs once (e.g. train a feature space) and refuse an n it cannot
        score."""
        ...

    def check_model(self, model: Any, task: Task, wanted: Sequence[str], name: str) -> None:
        """Before training: refuse a model that cannot give a value the suite requires of it."""
        ...

    def evaluate(
        self,
        model: Any,
        task: Task,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        budget: str,
        weights_values: bool = True,
    ) -> list[ScoredValue]:
        """Sample n from the model and score them; with `weights_values`, also what the weights give of themselves
        (a sampling variant of an already scored model leaves those out)."""
        ...

    def preview(self, model: Any, task: Task, generator: torch.Generator) -> bytes:
        """A small PNG of samples drawn with `generator` (benchbox.preview): what the report shows of the run."""
        ...

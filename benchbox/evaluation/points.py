"""The points suites' scoring (toy2d): points metrics (`register_metric`) on n samples against n fixed real points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from benchbox.errors import BenchboxError
from benchbox.evaluation import ScoredValue
from benchbox.metrics import MetricInputs
from benchbox.preview import POINTS, points_png
from benchbox.registry import METRICS
from benchbox.tasks import PointsTask, Task


@dataclass(frozen=True)
class PointsEvaluation:
    """Score raw samples of a points task with the named points metrics; the values are those metrics' own."""

    metrics: tuple[str, ...]

    def values(self, task: Task) -> list[str]:
        return list(self.metrics)

    def required(self, task: Task) -> list[str]:
        return list(self.metrics)

    def hash_parts(self) -> tuple[Any, ...]:
        # Nothing: each metric reads the same samples whichever others are computed, and toy2d's cells were hashed
        # before suites had an evaluation (their committed hashes stay valid).
        return ()

    def prepare(self, task: Task, n: int) -> None:
        if not isinstance(task, PointsTask):
            raise BenchboxError(f"task '{task.name}' has no modes to score points against", "use a toy2d-style task")

    def check_model(self, model: Any, task: Task, wanted: Sequence[str], name: str) -> None:
        """Every model that samples points can give every points metric."""

    def evaluate(
        self,
        model: Any,
        task: PointsTask,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        budget: str,
        weights_values: bool = True,
    ) -> list[ScoredValue]:
        fake = model.sample(n, generator).detach().cpu().double().numpy()
        real = task.reference(n).double().numpy()
        inputs = MetricInputs(fake=fake.reshape(len(fake), -1), real=real.reshape(len(real), -1), task=task)
        return [ScoredValue(name, METRICS[name].fn(inputs), "") for name in self.metrics]

    def preview(self, model: Any, task: PointsTask, generator: torch.Generator) -> bytes:
        """1,000 samples scattered over the task's modes."""
        points = model.sample(POINTS, generator).detach().cpu().double().numpy().reshape(POINTS, -1)
        return points_png(points, task.means_tensor().double().numpy(), task.std)

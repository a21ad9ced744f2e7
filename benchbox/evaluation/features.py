"""The image suites' scoring: samples in a feature space, through the one scoring pipeline.

`FeatureEvaluation` samples n images (uint8 at the engine boundary), measures them in the space of the classifier
benchbox trains on the suite's own dataset (`benchbox.pipeline.measure`), with the class accuracy of conditional
samples, and adds the model's own values (likelihood, reconstructions, sampling cost). Inception's FID/KID/IS are added
where the budget asks for them and the Inception weights are already on disk: nothing is downloaded mid-run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from benchbox.catalogue import value_name
from benchbox.data.images import looks_like_unit_range, to_uint8
from benchbox.errors import BenchboxError
from benchbox.evaluation import ScoredValue
from benchbox.features import ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.model_metrics import MODEL_VALUES, check_supported, model_values
from benchbox.pipeline import (
    CLASS_ACCURACY,
    ScoreSettings,
    build_extractor,
    check_request,
    kid_subset_size_for,
    measure,
)
from benchbox.preview import GRID_SIDE, image_grid, png_bytes
from benchbox.registry import SCORES
from benchbox.tasks import ImagesTask

log = logging.getLogger(__name__)

SAMPLE_BATCH = 500  # generated images per batch on their way to the extractor


@dataclass(frozen=True)
class FeatureEvaluation:
    """The image suites' scoring protocol; every field is part of the suite's version (and its repr of every cell's
    protocol hash, so fields are never renamed or reordered)."""

    families: tuple[str, ...] = ("fid", "kid", "pr", "dc", "classes", "ndb")
    settings: ScoreSettings = field(default_factory=ScoreSettings)
    inception_families: tuple[str, ...] = ("fid", "kid", "is")
    inception_budgets: tuple[str, ...] = ("full",)  # on a CPU, Inception on 10k samples takes half an hour a run

    def tag(self, task: ImagesTask) -> str:
        return task.dataset.replace("-", "_")

    def values(self, task: ImagesTask) -> list[str]:
        """Every value this protocol can record for the task: domain space, class accuracy, the model's own values,
        then Inception's."""
        tag = self.tag(task)
        own = [v.name() for v in MODEL_VALUES]
        return [
            *family_values(self.families, tag),
            CLASS_ACCURACY.name(tag),
            *own,
            *family_values(self.inception_families),
        ]

    def required(self, task: ImagesTask) -> list[str]:
        """The values every run records (class accuracy, the model's own values and Inception's are extra)."""
        return family_values(self.families, self.tag(task))

    def hash_parts(self) -> tuple[Any, ...]:
        return (self,)

    def prepare(self, task: ImagesTask, n: int) -> None:
        """Before any training: train (or find cached) the domain classifier once, before worker processes need
        it, and refuse a sample count the metric families cannot use (e.g. FD needs more samples than dimensions)."""
        if not isinstance(task, ImagesTask):
            raise BenchboxError(f"task '{task.name}' has no images to score", "use an image task (ImageTask)")
        extractor = build_extractor(task.dataset, ExtractorOptions(device=torch.device("cpu")))
        n_real = len(task.reference_images())
        check_request(self.families, extractor, n, n_real, self._settings(n, n_real))

    def check_model(self, model: Any, task: ImagesTask, wanted: Sequence[str], name: str) -> None:
        check_supported(model, wanted, name, task)

    def _settings(self, n_fake: int, n_real: int) -> ScoreSettings:
        # KID's subsets cannot outnumber either set (smoke budgets score a few hundred samples)
        return replace(
            self.settings, kid_subset_size=kid_subset_size_for(self.settings.kid_subset_size, n_fake, n_real)
        )

    def evaluate(
        self,
        model: Any,
        task: ImagesTask,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        budget: str,
        weights_values: bool = True,
    ) -> list[ScoredValue]:
        """Sample n images and score them; with `weights_values`, also the model's likelihood and reconstructions
        (a sampling variant of an already scored model leaves them out: they belong to the weights)."""
        t0 = time.perf_counter()
        samples, labels = sample_images(model, n, generator)
        seconds = (time.perf_counter() - t0) / n
        real = task.reference_images()
        out = self._measure(task.dataset, samples, real, self.families, labels, device)
        out += [ScoredValue(k, v, "") for k, v in model_values(model, task, seconds, weights_values).items()]
        if budget in self.inception_budgets:
            try:
                out += self._measure("inception", samples, real, self.inception_families, None, device)
            except BenchboxError as exc:
                log.warning("Inception metrics skipped: %s", exc)
        return out

    def preview(self, model: Any, task: ImagesTask, generator: torch.Generator) -> bytes:
        return preview_grid(model, generator)

    def _measure(
        self,
        feature: str,
        samples: torch.Tensor,
        real: torch.Tensor,
        families: tuple[str, ...],
        labels: torch.Tensor | None,
        device: torch.device,
    ) -> list[ScoredValue]:
        extractor = build_extractor(feature, ExtractorOptions(device=device, download=False))
        measured = measure(
            extractor,
            iter(samples.split(SAMPLE_BATCH)),
            real,
            families,
            self._settings(len(samples), len(real)),
            n_fake=len(samples),
            cache=FeatureCache(),
            labels=labels,
        )
        return [ScoredValue(k, v, extractor.weights_sha256) for k, v in measured.values.items()]


def preview_grid(model: Any, generator: torch.Generator) -> bytes:
    """An 8×8 grid of 64 samples as PNG (for a conditional model, the labels its sample_labeled draws)."""
    images, _ = sample_images(model, GRID_SIDE * GRID_SIDE, generator)
    return png_bytes(image_grid(images))


def family_values(families: Sequence[str], tag: str = "") -> list[str]:
    """The recorded names of the families' values in the feature space `tag` ("" for canonical Inception)."""
    return [value_name(base, tag) for family in families for base in SCORES.get_or_fail(family).values]


@torch.no_grad()
def sample_images(model: Any, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n uint8 samples and, for a conditional model, the labels they were generated for. Samples must be floats in
    [-1, 1] (beyond it only for a model that declares `clamps_samples`); a set that never goes below 0 is warned of."""
    if hasattr(model, "sample_labeled"):
        samples, labels = model.sample_labeled(n, generator)
    else:
        samples, labels = model.sample(n, generator), None
    if samples.shape[0] != n:
        raise BenchboxError(f"the model returned {samples.shape[0]} samples for {n} asked", "fix the model's sample()")
    images = to_uint8(samples.detach().cpu(), clamps=bool(getattr(model, "clamps_samples", False)))
    if samples.is_floating_point() and looks_like_unit_range(float(samples.min())):
        log.warning("generated samples never go below 0: were they made in [0, 1]? sample() must return [-1, 1]")
    return images, labels

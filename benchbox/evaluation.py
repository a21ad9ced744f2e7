"""How a suite scores a trained model: points metrics (toy2d) or the feature engine on images.

`FeatureEvaluation` samples n images (uint8 at the engine boundary), extracts features in the space of the classifier
benchbox trains on the suite's own dataset, and computes the metric families there; conditional models also get the
class accuracy of their samples under that classifier. Inception's FID/KID/IS are added where the Inception weights are
already on disk and the budget asks for them: nothing is downloaded in the middle of a run.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from benchbox.data.images import to_uint8
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions, metric_name
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import cached_features, extract_batches
from benchbox.model_metrics import MODEL_VALUES, model_values
from benchbox.registry import SCORES, load_builtins
from benchbox.scoring import ScoreSettings, build_extractor, check_request, metric_values

log = logging.getLogger(__name__)

SAMPLE_BATCH = 500  # generated images per batch on their way to the extractor
DECIMALS = {"fd": 2, "kid": 4, "kid_std": 4, "classes_covered": 0, "ndb": 0, "is": 2, "is_std": 2}


@dataclass(frozen=True)
class MetricInfo:
    name: str
    higher_is_better: bool
    description: str
    decimals: int = 3


@dataclass(frozen=True)
class ScoredValue:
    name: str
    value: float
    extractor_hash: str  # weights hash of the feature space the value was measured in


def class_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of conditional samples the classifier assigns to the class they were generated for."""
    return float((np.asarray(logits).argmax(1) == np.asarray(labels)).mean())


@dataclass(frozen=True)
class FeatureEvaluation:
    """The image suites' scoring protocol; every field is part of the suite's version."""

    families: tuple[str, ...] = ("fid", "kid", "pr", "dc", "classes", "ndb")
    settings: ScoreSettings = field(default_factory=ScoreSettings)
    inception_families: tuple[str, ...] = ("fid", "kid", "is")
    inception_budgets: tuple[str, ...] = ("full",)  # on a CPU, Inception on 10k samples takes half an hour a run

    def tag(self, task: Any) -> str:
        return task.dataset.replace("-", "_")

    def metric_infos(self, task: Any) -> list[MetricInfo]:
        """Every value this protocol can record for the task: domain space, class accuracy, then Inception's."""
        tag = self.tag(task)
        accuracy = MetricInfo(
            f"class_accuracy_{tag}",
            True,
            "conditional models: fraction of samples the domain classifier assigns to their conditioning class",
        )
        own = [MetricInfo(v.name, v.higher_is_better, v.description, v.decimals) for v in MODEL_VALUES]
        return [*family_infos(self.families, tag), accuracy, *own, *family_infos(self.inception_families, "")]

    def required(self, task: Any) -> list[str]:
        """The values every run records (class accuracy and Inception's are extra)."""
        return [m.name for m in family_infos(self.families, self.tag(task))]

    def prepare(self, task: Any, n: int) -> None:
        """Before any training: train (or find cached) the domain classifier once, before worker processes need
        it, and refuse a sample count the metric families cannot use (e.g. FD needs more samples than dimensions)."""
        extractor = build_extractor(task.dataset, ExtractorOptions(device=torch.device("cpu")))
        n_real = len(task.reference_images())
        check_request(self.families, extractor, n, n_real, self._settings(n, n_real))

    def _settings(self, n_fake: int, n_real: int) -> ScoreSettings:
        # KID's subsets cannot outnumber either set (smoke budgets score a few hundred samples)
        return replace(self.settings, kid_subset_size=min(self.settings.kid_subset_size, n_fake, n_real))

    def evaluate(
        self,
        model: Any,
        task: Any,
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
        out = self._score(task.dataset, samples, real, self.families, labels, device)
        out += [ScoredValue(k, v, "") for k, v in model_values(model, task, seconds, weights_values).items()]
        if budget in self.inception_budgets:
            out += self._inception(samples, real, device)
        return out

    def _score(
        self,
        feature: str,
        samples: torch.Tensor,
        real: torch.Tensor,
        families: tuple[str, ...],
        labels: torch.Tensor | None,
        device: torch.device,
    ) -> list[ScoredValue]:
        extractor = build_extractor(feature, ExtractorOptions(device=device))
        fake_features = extract_batches(extractor, iter(samples.split(SAMPLE_BATCH)), total=len(samples))
        real_features, _, _ = cached_features(extractor, real, FeatureCache())
        settings = self._settings(len(samples), len(real))
        values = metric_values(families, fake_features, real_features, extractor.metric_tag, settings)
        if labels is not None and "logits" in fake_features:
            values[f"class_accuracy_{extractor.metric_tag}"] = class_accuracy(fake_features["logits"], labels.numpy())
        return [ScoredValue(k, v, extractor.weights_sha256) for k, v in values.items()]

    def _inception(self, samples: torch.Tensor, real: torch.Tensor, device: torch.device) -> list[ScoredValue]:
        offline = os.environ.get("BENCHBOX_OFFLINE")
        os.environ["BENCHBOX_OFFLINE"] = "1"  # use weights already on disk; never download mid-run
        try:
            return self._score("inception", samples, real, self.inception_families, None, device)
        except BenchboxError as exc:
            log.warning("Inception metrics skipped: %s", exc)
            return []
        finally:
            if offline is None:
                os.environ.pop("BENCHBOX_OFFLINE", None)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def family_infos(families: tuple[str, ...], tag: str) -> list[MetricInfo]:
    """The values metric families give in the feature space named by `tag` ("" for canonical Inception)."""
    load_builtins()
    infos = []
    for family in families:
        spec = SCORES.get_or_fail(family)
        for base, up in spec.values.items():
            infos.append(MetricInfo(metric_name(base, tag), up, spec.description, DECIMALS.get(base, 3)))
    return infos


@torch.no_grad()
def sample_images(model: Any, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n uint8 samples and, for a conditional model, the labels they were generated for."""
    if hasattr(model, "sample_labeled"):
        samples, labels = model.sample_labeled(n, generator)
    else:
        samples, labels = model.sample(n, generator), None
    if samples.shape[0] != n:
        raise BenchboxError(f"the model returned {samples.shape[0]} samples for {n} asked", "fix the model's sample()")
    return to_uint8(samples.detach().cpu()), labels

"""The metric engine's front door: images (or a sampler) in, named metric values with provenance out.

`score` and `score_sampler` load and check the inputs, then run the one scoring pipeline (`benchbox.pipeline.measure`):
extraction through the on-disk cache, the registered metric families, values named for the feature space (FID only
in canonical Inception space). FD∞/IS∞, bootstrap intervals and the CLIP score are added from the same features.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import benchbox.builtins  # noqa: F401  (registers the built-in families, feature spaces, datasets and suites)
from benchbox import provenance
from benchbox.data.image_file import ImageFile
from benchbox.data.image_task import ImageTask
from benchbox.data.images import check_images, looks_like_unit_range, open_images, to_uint8
from benchbox.errors import BenchboxError
from benchbox.features import Extractor, ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import default_batch_size
from benchbox.metrics.clip_score import CLIP_SCORE, clip_score_of_images
from benchbox.pipeline import Measured, ScoreSettings, build_extractor, check_request, kid_subset_size_for, measure
from benchbox.registry import DATASETS, SUITES
from benchbox.uncertainty import (
    check_infinite,
    check_intervals,
    infinite_n_values,
    interval_provenance,
    metric_intervals,
)

log = logging.getLogger(__name__)

__all__ = ["ScoreSettings", "Scored", "build_extractor", "check_request", "load_input", "score", "score_sampler"]

DEFAULT_METRICS = ("fid", "kid", "is")
KID_SUBSET_SIZE = 1000  # torch-fidelity's default, used when both sets have that many samples
INTERVAL_LEVEL = 0.95


@dataclass
class Scored:
    values: dict[str, float]
    provenance: dict[str, Any]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.values)
        if self.intervals:
            out["ci95"] = {k: list(v) for k, v in self.intervals.items()}
        out["provenance"] = self.provenance
        return out


def load_input(source: str | Path | torch.Tensor, what: str) -> tuple[torch.Tensor | ImageFile, str]:
    """Images and a description: a tensor, a folder, a .npy/.npz file, or "DATASET[:SPLIT]" (default train). A uint8
    .npy file stays on disk and is read a batch at a time (`benchbox.data.image_file`)."""
    if isinstance(source, torch.Tensor | np.ndarray):
        return check_images(source, what), "array"
    text = str(source)
    name, _, split = text.partition(":")
    if name in DATASETS and not Path(text).exists():
        data = DATASETS[name](split or "train")
        return check_images(data.images, what), f"dataset {data.name}:{data.split} ({data.data_hash[:12]})"
    if name in SUITES and not Path(text).exists():
        task = next((t for t in SUITES[name].tasks if isinstance(t, ImageTask)), None)
        if task is None:
            raise BenchboxError(
                f"suite '{name}' has no image data to score against",
                f"score images against a folder, an array or a dataset ({', '.join(sorted(DATASETS))})",
            )
        return load_input(f"{task.dataset}:{split or task.reference_split}", what)  # the split the suite scores on
    return open_images(text), text


def check_captions(extractor: Extractor, captions: Sequence[str], n_fake: int) -> None:
    if not hasattr(extractor, "text_features"):
        raise BenchboxError(
            f"the CLIP score needs a text encoder, which feature space '{extractor.name}' does not have",
            "pass --feature clip (or clip:MODEL:TAG) with --captions",
        )
    if len(captions) != n_fake:
        raise BenchboxError(f"{n_fake} generated images but {len(captions)} captions", "give one caption per image")


def score(
    real: str | Path | torch.Tensor | None,
    fake: str | Path | torch.Tensor,
    metrics: Sequence[str] = DEFAULT_METRICS,
    feature: str = "inception",
    options: ExtractorOptions | None = None,
    settings: ScoreSettings | None = None,
    batch_size: int | None = None,
    cache: FeatureCache | None = None,
    progress: bool = False,
    bootstrap: int = 0,
    infinite: bool = False,
    captions: Sequence[str] | None = None,
    auto_kid_subset_size: bool | None = None,
) -> Scored:
    """Score FAKE images against REAL ones. Pass `cache=FeatureCache()` to reuse features across calls,
    `bootstrap=N` for 95% intervals of FD and KID from a jackknife over N groups of the generated samples
    (`benchbox.uncertainty.metric_intervals`), `infinite=True` for FID∞/IS∞, and `captions` (one per generated
    image) for the CLIP score in a CLIP feature space.

    KID's subset size is min(1000, n_real, n_fake) when `settings` is None or `auto_kid_subset_size` is True;
    otherwise `settings.kid_subset_size` is used as given (and refused if larger than a set)."""
    t0 = time.perf_counter()
    options = options or ExtractorOptions()
    auto_kid = settings is None if auto_kid_subset_size is None else auto_kid_subset_size
    settings = settings or ScoreSettings()
    metrics = list(dict.fromkeys(metrics))
    fake_images, fake_source = load_input(fake, "generated images")
    real_images, real_source = load_input(real, "real images") if real is not None else (None, None)
    if auto_kid:
        n_real = None if real_images is None else len(real_images)
        settings = replace(settings, kid_subset_size=default_kid_subset_size(len(fake_images), n_real))
    extractor = build_extractor(feature, options)
    extras: list[Callable[[Measured], None]] = []
    if bootstrap:
        check_intervals(metrics, len(fake_images), extractor.outputs.get("pool"), bootstrap)
    if infinite:
        check_infinite(metrics, len(fake_images), extractor.outputs["pool"])
        extras.append(lambda m: m.values.update(infinite_n_values(metrics, m.fake.features, _real(m), m.tag)))
    if captions is not None:
        check_captions(extractor, captions, len(fake_images))
        clip_batch = batch_size or default_batch_size(options.device)
        extras.append(
            lambda m: m.values.update(
                {
                    CLIP_SCORE.name(m.tag.removeprefix("clip_")): clip_score_of_images(
                        extractor, fake_images, captions, batch_size=clip_batch
                    )
                }
            )
        )
    if bootstrap:
        extras.append(
            lambda m: m.intervals.update(
                metric_intervals(
                    metrics, m.fake.features, _real(m), m.tag, settings, m.values, bootstrap, INTERVAL_LEVEL
                )
            )
        )
    measured = measure(
        extractor,
        fake_images,
        real_images,
        metrics,
        settings,
        n_fake=len(fake_images),
        cache=cache,
        batch_size=batch_size,
        progress=progress,
        extras=extras,
    )
    record = score_provenance(extractor, settings, options.device, t0)
    record["fake"] = {"source": fake_source, "n": len(fake_images), **_hashes(measured.fake)}
    if measured.real is not None:
        record["real"] = {"source": real_source, "n": len(real_images), **_hashes(measured.real)}
    if auto_kid and "kid" in metrics:
        record["kid_subset_size"] = kid_subset_record(settings)
    if bootstrap:
        record["bootstrap"] = interval_provenance(
            measured.values, measured.intervals, len(fake_images), bootstrap, INTERVAL_LEVEL
        )
    return Scored(measured.values, record, measured.intervals)


def kid_subset_record(settings: ScoreSettings) -> dict[str, Any]:
    return {"used": settings.kid_subset_size, "rule": f"min({KID_SUBSET_SIZE}, n_real, n_fake)"}


def default_kid_subset_size(n_fake: int, n_real: int | None) -> int:
    """min(1000, n_real, n_fake), at least 2 (the unbiased MMD² needs two rows; smaller sets are then refused)."""
    return kid_subset_size_for(KID_SUBSET_SIZE, n_fake, n_real)


def _real(measured: Measured) -> dict[str, np.ndarray] | None:
    return None if measured.real is None else measured.real.features


def _hashes(features: Any) -> dict[str, Any]:
    return {"sha256": features.sha256, "cached": features.cached}


def score_sampler(
    sample: Callable[[int, torch.Generator], torch.Tensor],
    n: int,
    real: str | Path | torch.Tensor,
    metrics: Sequence[str] = DEFAULT_METRICS,
    feature: str = "inception",
    options: ExtractorOptions | None = None,
    settings: ScoreSettings | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    cache: FeatureCache | None = None,
    clamps: bool = False,
) -> Scored:
    """Score a model's sampler directly: batches in [-1, 1] stream into the extractor, no images on disk.

    `sample(k, generator)` is the Model protocol's sampler; its output beyond [-1, 1] is refused unless `clamps`
    (a model whose protocol clamps its samples, e.g. a diffusion model's x_0). Real features go through the cache.
    KID's subset size is min(1000, n_real, n) unless `settings` is given.
    """
    t0 = time.perf_counter()
    options = options or ExtractorOptions()
    batch_size = default_batch_size(options.device) if batch_size is None else batch_size
    if batch_size < 1 or n < 1:
        raise BenchboxError(f"{n} samples in batches of {batch_size}", "pass positive numbers for both")
    auto_kid = settings is None
    settings = settings or ScoreSettings()
    metrics = list(dict.fromkeys(metrics))
    real_images, real_source = load_input(real, "real images")
    if auto_kid:
        settings = replace(settings, kid_subset_size=default_kid_subset_size(n, len(real_images)))
    extractor = build_extractor(feature, options)
    generator = torch.Generator().manual_seed(seed)

    lowest = [np.inf]

    def batches():
        for start in range(0, n, batch_size):
            with torch.no_grad():
                batch = sample(min(batch_size, n - start), generator)
            yield to_uint8(batch, clamps)
            lowest[0] = min(lowest[0], float(batch.min()))

    measured = measure(extractor, batches(), real_images, metrics, settings, n_fake=n, cache=cache)
    if looks_like_unit_range(lowest[0]):
        log.warning("generated samples never go below 0: were they made in [0, 1]? the sampler must return [-1, 1]")
    record = score_provenance(extractor, settings, options.device, t0)
    record["fake"] = {"source": "sampler", "n": n, "seed": seed}
    record["real"] = {"source": real_source, "n": len(real_images), **_hashes(measured.real)}
    if auto_kid and "kid" in metrics:
        record["kid_subset_size"] = kid_subset_record(settings)
    return Scored(measured.values, record)


def score_provenance(extractor: Extractor, settings: ScoreSettings, device: torch.device, t0: float) -> dict[str, Any]:
    env = provenance.environment(device)
    return {
        "feature_space": extractor.name,
        "extractor_version": extractor.version,
        "weights_sha256": extractor.weights_sha256,
        "weights_canonical": extractor.canonical,
        "preprocessing": extractor.preprocessing,
        "settings": asdict(settings),
        "benchbox_version": env.benchbox_version,
        "git_commit": env.git_commit,
        "torch_version": env.torch_version,
        "device": env.device,
        "machine": env.machine,
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }

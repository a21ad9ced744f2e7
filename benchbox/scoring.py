"""The metric engine's front door: images (or a sampler) in, named metric values with provenance out.

`score` validates everything it can before the expensive part (names, feature outputs, sample counts), extracts
features through the on-disk cache, and calls the registered metric families (`register_score`) on them. Values are
named for the feature space (`metric_name`): FID only in canonical Inception space.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchbox import provenance
from benchbox.data.images import check_images, load_images, to_uint8
from benchbox.errors import BenchboxError, UnknownNameError
from benchbox.features import Extractor, ExtractorOptions, metric_name
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import cached_features, default_batch_size, extract_batches
from benchbox.registry import DATASETS, EXTRACTORS, SCORES, SUITES, load_builtins

DEFAULT_METRICS = ("fid", "kid", "is")


@dataclass(frozen=True)
class ScoreSettings:
    """Settings of the metric families; defaults are torch-fidelity's, so the same features give its numbers."""

    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    pr_k: int = 3  # Kynkäänniemi et al.
    dc_k: int = 5  # Naeem et al.
    ndb_bins: int = 50
    ndb_alpha: float = 0.05
    seed: int = 2020  # torch-fidelity's rng_seed: KID subsets and the IS shuffle


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


def build_extractor(feature: str, options: ExtractorOptions) -> Extractor:
    """A feature space by name: "inception[:LAYER]", "clip[:MODEL:TAG]", "dinov2[:VARIANT]", or a dataset name for
    the classifier benchbox trains on it."""
    load_builtins()
    name, _, variant = feature.partition(":")
    if name in EXTRACTORS and name != "domain":
        return EXTRACTORS[name](variant or None, options)
    if name in DATASETS and "domain" in EXTRACTORS:
        return EXTRACTORS["domain"](name, options)
    known = [n for n in EXTRACTORS if n != "domain"] + list(DATASETS)
    raise UnknownNameError("feature space", feature, known)


def load_input(source: str | Path | torch.Tensor, what: str) -> tuple[torch.Tensor, str]:
    """Images and a description: a tensor, a folder, a .npy/.npz file, or "DATASET[:SPLIT]" (default train)."""
    if isinstance(source, torch.Tensor | np.ndarray):
        return check_images(source, what), "array"
    text = str(source)
    name, _, split = text.partition(":")
    load_builtins()
    if name in DATASETS and not Path(text).exists():
        data = DATASETS[name](split or "train")
        return check_images(data.images, what), f"dataset {data.name}:{data.split} ({data.data_hash[:12]})"
    if name in SUITES and not Path(text).exists():
        task = next((t for t in SUITES[name].tasks if hasattr(t, "dataset")), None)
        if task is None:
            raise BenchboxError(
                f"suite '{name}' has no image data to score against",
                f"score images against a folder, an array or a dataset ({', '.join(sorted(DATASETS))})",
            )
        return load_input(f"{task.dataset}:{split or task.reference_split}", what)  # the split the suite scores on
    return load_images(text), text


def check_request(
    metrics: Sequence[str], extractor: Extractor, n_fake: int, n_real: int | None, settings: ScoreSettings
) -> None:
    """Refuse, before any features are computed, what the metric families cannot do with these inputs."""
    load_builtins()
    for name in metrics:
        if name not in SCORES:
            raise UnknownNameError("metric family", name, list(SCORES))
        spec = SCORES[name]
        if spec.output not in extractor.outputs:
            raise BenchboxError(
                f"metric '{name}' needs class logits, which feature space '{extractor.name}' does not give",
                "use --feature inception or a labelled dataset's classifier (e.g. --feature digits)",
            )
        if spec.needs_real and n_real is None:
            raise BenchboxError(f"metric '{name}' compares with real data", "pass REAL images")
        if spec.min_samples is None:
            continue
        need = spec.min_samples(extractor.outputs[spec.output], **asdict(settings))
        for which, n in (("generated", n_fake), ("real", n_real if spec.needs_real else None)):
            if n is not None and n < need:
                extra = ", or pass a smaller --kid-subset-size" if name == "kid" else ""
                raise BenchboxError(
                    f"metric '{name}' needs at least {need} {which} samples in '{extractor.name}' space, got {n}",
                    f"use at least {need} {which} images{extra}",
                )


def check_captions(extractor: Extractor, captions: Sequence[str], n_fake: int) -> None:
    if not hasattr(extractor, "text_features"):
        raise BenchboxError(
            f"the CLIP score needs a text encoder, which feature space '{extractor.name}' does not have",
            "pass --feature clip (or clip:MODEL:TAG) with --captions",
        )
    if len(captions) != n_fake:
        raise BenchboxError(f"{n_fake} generated images but {len(captions)} captions", "give one caption per image")


def metric_values(
    metrics: Sequence[str],
    fake: dict[str, np.ndarray],
    real: dict[str, np.ndarray] | None,
    tag: str,
    settings: ScoreSettings,
) -> dict[str, float]:
    """Every family's values on these features, named for the feature space (`tag`)."""
    values: dict[str, float] = {}
    for name in metrics:
        spec = SCORES[name]
        reference = real[spec.output] if spec.needs_real and real is not None else None
        for base, value in spec.fn(fake[spec.output], reference, **asdict(settings)).items():
            values[metric_name(base, tag)] = float(value)
    return values


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
) -> Scored:
    """Score FAKE images against REAL ones. Pass `cache=FeatureCache()` to reuse features across calls,
    `bootstrap=N` for 95% intervals from N resamples, `infinite=True` for FID∞/IS∞, and `captions` (one per
    generated image) for the CLIP score in a CLIP feature space."""
    t0 = time.perf_counter()
    options = options or ExtractorOptions()
    settings = settings or ScoreSettings()
    metrics = list(dict.fromkeys(metrics))
    fake_images, fake_source = load_input(fake, "generated images")
    real_images, real_source = load_input(real, "real images") if real is not None else (None, None)
    extractor = build_extractor(feature, options)
    check_request(metrics, extractor, len(fake_images), None if real_images is None else len(real_images), settings)
    if infinite:
        from benchbox.uncertainty import check_infinite

        check_infinite(metrics, len(fake_images), extractor.outputs["pool"])
    if captions is not None:
        check_captions(extractor, captions, len(fake_images))
    pending: list = []  # cache entries, written only when every metric has been computed
    fake_features, fake_hash, fake_hit = cached_features(extractor, fake_images, cache, batch_size, progress, pending)
    real_features, real_hash, real_hit = None, None, None
    if real_images is not None:
        real_features, real_hash, real_hit = cached_features(
            extractor, real_images, cache, batch_size, progress, pending
        )
    tag = extractor.metric_tag
    values = metric_values(metrics, fake_features, real_features, tag, settings)
    if captions is not None:
        from benchbox.metrics.clip_score import clip_score_of_images

        score_name = metric_name("clip_score", tag.removeprefix("clip_"))
        values[score_name] = clip_score_of_images(
            extractor, fake_images, captions, batch_size=batch_size or default_batch_size(options.device)
        )
    intervals = {}
    if infinite:
        from benchbox.uncertainty import infinite_n_values

        values.update(infinite_n_values(metrics, fake_features, real_features, tag))
    if bootstrap:
        from benchbox.uncertainty import bootstrap_metric_intervals

        intervals = bootstrap_metric_intervals(metrics, fake_features, real_features, tag, settings, bootstrap)
    record = score_provenance(extractor, settings, options.device, t0)
    record["fake"] = {"source": fake_source, "n": len(fake_images), "sha256": fake_hash, "cached": fake_hit}
    if real_images is not None:
        record["real"] = {"source": real_source, "n": len(real_images), "sha256": real_hash, "cached": real_hit}
    if bootstrap:
        record["bootstrap"] = {"resamples": bootstrap, "level": 0.95, "resampled": "generated samples"}
    for key, features in pending if cache is not None else ():
        cache.put(key, features)
    return Scored(values, record, intervals)


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
) -> Scored:
    """Score a model's sampler directly: batches in [-1, 1] stream into the extractor, no images on disk.

    `sample(k, generator)` is the Model protocol's sampler. Real features go through the cache as usual.
    """
    t0 = time.perf_counter()
    options = options or ExtractorOptions()
    batch_size = default_batch_size(options.device) if batch_size is None else batch_size
    if batch_size < 1 or n < 1:
        raise BenchboxError(f"{n} samples in batches of {batch_size}", "pass positive numbers for both")
    options = options or ExtractorOptions()
    settings = settings or ScoreSettings()
    metrics = list(dict.fromkeys(metrics))
    real_images, real_source = load_input(real, "real images")
    extractor = build_extractor(feature, options)
    check_request(metrics, extractor, n, len(real_images), settings)
    generator = torch.Generator().manual_seed(seed)

    def batches():
        for start in range(0, n, batch_size):
            with torch.no_grad():
                yield to_uint8(sample(min(batch_size, n - start), generator))

    fake_features = extract_batches(extractor, batches(), total=n)
    pending: list = []
    real_features, real_hash, real_hit = cached_features(extractor, real_images, cache, None, False, pending)
    values = metric_values(metrics, fake_features, real_features, extractor.metric_tag, settings)
    for key, features in pending if cache is not None else ():
        cache.put(key, features)
    record = score_provenance(extractor, settings, options.device, t0)
    record["fake"] = {"source": "sampler", "n": n, "seed": seed}
    record["real"] = {"source": real_source, "n": len(real_images), "sha256": real_hash, "cached": real_hit}
    return Scored(values, record)


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
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }

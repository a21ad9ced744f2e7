"""The one scoring pipeline of the feature engine: images in, named values out.

`measure` checks the request before anything expensive (families, feature outputs, sample counts), extracts features
of the generated and the real images (through the on-disk cache where the images are a tensor; a sampler's stream of
batches is extracted in order), computes every requested family (`register_score`) on them, adds the class accuracy of
labelled samples, and writes new cache entries only once every value has been computed. `benchbox score`,
`score_sampler` and the suites' feature evaluation all go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from benchbox.catalogue import Value, register_values, value_name
from benchbox.data.image_file import ImageFile
from benchbox.errors import BenchboxError, UnknownNameError
from benchbox.features import Extractor, ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.features.extract import cached_features, extract_batches
from benchbox.registry import DATASETS, EXTRACTORS, SCORES


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


def kid_subset_size_for(cap: int, n_fake: int, n_real: int | None) -> int:
    """min(cap, n_fake, n_real), at least 2: KID's subsets cannot outnumber either set, and the unbiased MMD² needs
    two rows (a smaller set is then refused by the family's own check)."""
    return max(2, min(cap, n_fake, cap if n_real is None else n_real))


(CLASS_ACCURACY,) = register_values(
    "class_accuracy",
    ("labels the samples were generated for", "features:logits"),
    Value(
        "class_accuracy",
        True,
        "conditional models: fraction of samples the feature space's classifier assigns to their conditioning class",
        in_feature_space=True,
        tradeoff=True,
    ),
)


def class_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of conditional samples the classifier assigns to the class they were generated for."""
    return float((np.asarray(logits).argmax(1) == np.asarray(labels)).mean())


def build_extractor(feature: str, options: ExtractorOptions) -> Extractor:
    """A feature space by name: "inception[:LAYER]", "clip[:MODEL:TAG]", "dinov2[:VARIANT]", or a dataset name for
    the classifier benchbox trains on it."""
    name, _, variant = feature.partition(":")
    if name in EXTRACTORS and name != "domain":
        return EXTRACTORS[name](variant or None, options)
    if name in DATASETS and "domain" in EXTRACTORS:
        return EXTRACTORS["domain"](name, options)
    known = [n for n in EXTRACTORS if n != "domain"] + list(DATASETS)
    raise UnknownNameError("feature space", feature, known)


def check_request(
    metrics: Sequence[str], extractor: Extractor, n_fake: int, n_real: int | None, settings: ScoreSettings
) -> None:
    """Refuse, before any features are computed, what the metric families cannot do with these inputs."""
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
            values[value_name(base, tag)] = float(value)
    return values


@dataclass
class FeatureSet:
    """Features of one image set, with the images' content hash (None for a sampler's stream) and cache hit."""

    features: dict[str, np.ndarray]
    sha256: str | None
    cached: bool


@dataclass
class Measured:
    """What the pipeline measured: values by recorded name, 95% intervals where asked, and the feature sets."""

    values: dict[str, float]
    fake: FeatureSet
    real: FeatureSet | None
    tag: str
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)


# a uint8 tensor, a .npy file read by batches, or a stream of uint8 batches from a sampler
Images = torch.Tensor | ImageFile | Iterable[torch.Tensor]


def measure(
    extractor: Extractor,
    fake: Images,
    real: torch.Tensor | ImageFile | None,
    families: Sequence[str],
    settings: ScoreSettings,
    *,
    n_fake: int,
    cache: FeatureCache | None = None,
    batch_size: int | None = None,  # images per extractor batch for tensors (a stream brings its own batches)
    progress: bool = False,
    labels: torch.Tensor | None = None,
    extras: Sequence[Callable[[Measured], None]] = (),
) -> Measured:
    """Score generated images against real ones in the extractor's space. `extras` add values or intervals from
    the features (FD∞, bootstrap intervals, the CLIP score) before new cache entries are written."""
    check_request(families, extractor, n_fake, None if real is None else len(real), settings)
    pending: list[tuple[str, dict[str, np.ndarray]]] = []
    fake_set = _features(extractor, fake, n_fake, cache, batch_size, progress, pending)
    real_set = None if real is None else _features(extractor, real, len(real), cache, batch_size, progress, pending)
    tag = extractor.metric_tag
    values = metric_values(families, fake_set.features, None if real_set is None else real_set.features, tag, settings)
    if labels is not None and "logits" in fake_set.features:
        values[CLASS_ACCURACY.name(tag)] = class_accuracy(fake_set.features["logits"], labels.numpy())
    measured = Measured(values, fake_set, real_set, tag)
    for extra in extras:
        extra(measured)
    for key, features in pending if cache is not None else ():
        cache.put(key, features)
    return measured


def _features(
    extractor: Extractor,
    images: Images,
    n: int,
    cache: FeatureCache | None,
    batch_size: int | None,
    progress: bool,
    pending: list[tuple[str, dict[str, np.ndarray]]],
) -> FeatureSet:
    if isinstance(images, torch.Tensor | ImageFile):
        features, sha256, hit = cached_features(extractor, images, cache, batch_size, progress, pending)
        return FeatureSet(features, sha256, hit)
    return FeatureSet(extract_batches(extractor, images, total=n, progress=progress), None, False)

"""Scoring a text-to-image model on the protocol: FID against the caption list's real images and the CLIP score of
each image against its caption, through the engine's extractors and families; and the store's records of it.

Both image sets are streamed in batches (30,000 images at 256×256 are 5.9 GB as one tensor, which is what
`pipeline.measure` would hold): the engine's `check_request`, `extract_batches` and `metric_values` do the rest, so
values are named by the extractor's tag as everywhere else (FID only with the canonical Inception weights; otherwise
`fd_inception_custom`). The real set's features are cached under the caption list's hash, the protocol's transform,
the image files' sizes and times and the extractor's identity, so a second model is scored without reading COCO
again. The generated images go to CLIP and Inception in the same pass.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from benchbox import provenance
from benchbox.errors import BenchboxError
from benchbox.features import Extractor, ExtractorOptions, cache_identity
from benchbox.features.cache import FeatureCache, feature_key
from benchbox.features.extract import default_batch_size, extract_batches
from benchbox.metrics.clip_score import CLIP_SCORE, clip_score
from benchbox.pipeline import ScoreSettings, build_extractor, check_request, metric_values
from benchbox.store import ResultRecord, ResultStore, RunRecord
from benchbox.suite import protocol_hash
from benchbox.t2i.captions import CaptionList, truncated_count
from benchbox.t2i.coco import ImageSource
from benchbox.t2i.protocol import (
    CAPTIONS_TRUNCATED,
    CLIP_VARIANT,
    CLIP_W,
    FD_ZERO_SHOT,
    PROTOCOL_VERSION,
    RESIZE,
    SCORED_BUDGET,
    SUITE_NAME,
    TASK_NAME,
)


@dataclass(frozen=True)
class T2ISettings:
    """What the user chooses; everything else is the protocol's."""

    clip: str = CLIP_VARIANT  # open_clip MODEL:TAG
    inception_layer: str = "2048"  # pool3, FID's; 64/192/768 are for trials on few images, named fd_inception64...
    zero_shot: bool = False  # the model never trained on COCO: its FID goes to the zero-shot column
    batch_size: int | None = None  # images per extractor batch (default: 16 on a CPU, 64 on a GPU)


@dataclass
class T2IScored:
    values: dict[str, float]
    extractor_hashes: dict[str, str]  # value name -> weights SHA-256 it was measured with ("" for none)
    provenance: dict[str, Any] = field(default_factory=dict)


def build_extractors(inception: ExtractorOptions, clip: ExtractorOptions, settings: T2ISettings):
    layer = "" if settings.inception_layer == "2048" else f":{settings.inception_layer}"
    return build_extractor(f"inception{layer}", inception), build_extractor(f"clip:{settings.clip}", clip)


def reference_features(
    extractor: Extractor, captions: CaptionList, images: ImageSource, batch_size: int, cache: FeatureCache | None
) -> tuple[np.ndarray, bool]:
    """Inception pool features of the caption list's real images (from the cache where they are), and a cache hit."""
    names = [r.file_name for r in captions.rows]
    source = f"{SUITE_NAME}-reference|{captions.list_sha256}|{RESIZE}|{images.fingerprint(names)}"
    key = feature_key(hashlib.sha256(source.encode()).hexdigest(), cache_identity(extractor))
    hit = cache.get(key) if cache is not None else None
    if hit is not None and "pool" in hit and len(hit["pool"]) == captions.n:
        return hit["pool"], True
    features = extract_batches(extractor, images.batches(names, batch_size), total=captions.n)
    if cache is not None:
        cache.put(key, features)
    return features["pool"], False


def score_t2i(
    captions: CaptionList,
    samples: Iterator[torch.Tensor],
    images: ImageSource,
    inception: Extractor,
    clip: Any,
    settings: T2ISettings = T2ISettings(),
    cache: FeatureCache | None = None,
) -> T2IScored:
    """FID (or the zero-shot FID) of the samples against the caption list's real images, and their CLIP score.

    `samples` yields uint8 N×3×S×S batches in caption order (benchbox.t2i.samples); their count must be the list's.
    """
    import open_clip  # slow to import; only this function needs its tokenizer

    t0 = time.perf_counter()
    n = captions.n
    check_request(["fid"], inception, n, n, ScoreSettings())
    batch = settings.batch_size or default_batch_size(torch.device(inception.device))
    texts = captions.captions
    truncated = truncated_count(texts, open_clip.get_tokenizer(clip.model))
    real, real_cached = reference_features(inception, captions, images, batch, cache)

    pixels = hashlib.sha256()
    image_parts: list[torch.Tensor] = []
    text_parts: list[torch.Tensor] = []
    seen = [0]

    def generated() -> Iterator[torch.Tensor]:
        """The samples on their way to Inception, through CLIP with their captions on the way."""
        for images_batch in samples:
            start = seen[0]
            if start + len(images_batch) > n:
                raise BenchboxError(f"more generated images than the {n} captions", "give one image per caption")
            pixels.update(images_batch.numpy().tobytes())
            image_parts.append(clip.features(images_batch)["pool"].double().cpu())
            text_parts.append(clip.text_features(texts[start : start + len(images_batch)]).double().cpu())
            seen[0] += len(images_batch)
            yield images_batch

    fake = extract_batches(inception, generated(), total=n)
    if seen[0] != n:
        raise BenchboxError(f"{seen[0]} generated images for {n} captions", "give one image per caption")
    fd = metric_values(["fid"], {"pool": fake["pool"]}, {"pool": real}, inception.metric_tag, ScoreSettings())
    fd_name, fd_value = next(iter(fd.items()))
    if settings.zero_shot:
        fd_name = FD_ZERO_SHOT.name(inception.metric_tag)
    clip_name = CLIP_SCORE.name(clip.metric_tag.removeprefix("clip_"))
    values = {
        fd_name: fd_value,
        clip_name: clip_score(torch.cat(image_parts), torch.cat(text_parts), CLIP_W),
        CAPTIONS_TRUNCATED.name(): float(truncated),
    }
    hashes = {fd_name: inception.weights_sha256, clip_name: clip.weights_sha256, CAPTIONS_TRUNCATED.name(): ""}
    env = provenance.environment(torch.device(inception.device))
    record = {
        "protocol": f"{SUITE_NAME} v{PROTOCOL_VERSION}",
        "caption_list": {
            "sha256": captions.list_sha256,
            "n": n,
            "seed": captions.seed,
            "annotations": captions.annotations,
            "annotations_sha256": captions.annotations_sha256,
        },
        "zero_shot": settings.zero_shot,
        "resize": RESIZE,
        "real_images": {"source": images.describe(), "features_cached": real_cached},
        "generated_sha256": pixels.hexdigest(),
        "inception": _extractor_record(inception),
        "clip": {**_extractor_record(clip), "variant": settings.clip},
        "clip_score": f"{CLIP_W:g}·max(cos(image, caption), 0), mean over the {n} pairs (torchmetrics' scale)",
        "captions_truncated": {
            "count": truncated,
            "rule": "captions over the tokenizer's 77 tokens (start and end included) are truncated to 77",
        },
        "benchbox_version": env.benchbox_version,
        "git_commit": env.git_commit,
        "torch_version": env.torch_version,
        "device": env.device,
        "machine": env.machine,
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    return T2IScored(values, hashes, record)


def _extractor_record(extractor: Extractor) -> dict[str, Any]:
    return {
        "feature_space": extractor.name,
        "version": extractor.version,
        "weights_sha256": extractor.weights_sha256,
        "weights_canonical": extractor.canonical,
        "preprocessing": extractor.preprocessing,
    }


def t2i_protocol_hash(scored: T2IScored) -> str:
    """Everything that defines the row's numbers besides the weights (the records' extractor hashes)."""
    p = scored.provenance
    parts = [SUITE_NAME, PROTOCOL_VERSION, TASK_NAME, p["caption_list"]["sha256"], RESIZE, CLIP_W, p["zero_shot"]]
    parts += [(e["feature_space"], e["version"], e["preprocessing"]) for e in (p["inception"], p["clip"])]
    return protocol_hash(*parts)


def t2i_records(scored: T2IScored, model: str, suite_version: int) -> tuple[list[ResultRecord], RunRecord]:
    """The store's records of one scored model: one ResultRecord per value and a done RunRecord, on seed 0 of the
    `scored` budget, the caption list's hash as the data hash."""
    p = scored.provenance
    common = {
        "suite": SUITE_NAME,
        "suite_version": suite_version,
        "task": TASK_NAME,
        "model": model,
        "seed": 0,
        "budget": SCORED_BUDGET,
        "protocol_hash": t2i_protocol_hash(scored),
        "data_hash": p["caption_list"]["sha256"],
        "benchbox_version": p["benchbox_version"],
        "git_commit": p["git_commit"],
        "torch_version": p["torch_version"],
        "cuda_version": torch.version.cuda or "",
        "device": p["device"],
        "machine": p.get("machine", ""),
        "train_steps": 0,
        "wall_time_s": p["wall_time_s"],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    n = p["caption_list"]["n"]
    records = [
        ResultRecord(**common, metric=name, value=value, n_samples=n, extractor_hash=scored.extractor_hashes[name])
        for name, value in scored.values.items()
    ]
    return records, RunRecord(**common, status="done", step=0, detail="")


def store_t2i(store: ResultStore, scored: T2IScored, model: str, suite_version: int) -> None:
    """Record a scored model, replacing its earlier row of the same protocol; a row of another protocol (another
    caption list, CLIP network or zero-shot flag) under the same name is refused with the way out."""
    records, run = t2i_records(scored, model, suite_version)
    other = [
        r
        for r in store.runs(suite=SUITE_NAME, suite_version=suite_version, task=TASK_NAME, model=model)
        if r.protocol_hash != run.protocol_hash
    ]
    if other:
        raise BenchboxError(
            f"the store already holds a '{model}' row of {SUITE_NAME} under another protocol (caption list "
            f"{other[0].data_hash[:12]}, or another CLIP network or zero-shot flag)",
            "name this row differently with --model, or pass --store with another path",
        )
    store.put(records, [run], replace_runs=True)

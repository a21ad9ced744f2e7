"""Batched feature extraction: uint8 images stay uint8 until the extractor's own resize; features come back as
float32 numpy arrays; results do not depend on the batch size beyond float round-off.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from tqdm import tqdm

from benchbox.data.image_file import ImageFile
from benchbox.data.images import check_images, content_hash
from benchbox.errors import BenchboxError
from benchbox.features import Extractor, cache_identity
from benchbox.features.cache import FeatureCache, feature_key


def default_batch_size(device: torch.device) -> int:
    """64 on a GPU; 16 on a CPU, where Inception-v3 at batch 16 runs ~1.2× faster than at 64 (its activations
    stay in cache; see benchmarks/perf/score_vs_torch_fidelity.py). Features do not depend on it."""
    return 64 if device.type == "cuda" else 16


def extract_batches(
    extractor: Extractor, batches: Iterable[torch.Tensor], total: int | None = None, progress: bool = False
) -> dict[str, np.ndarray]:
    """Features of a stream of uint8 N×C×H×W batches (e.g. straight from a sampler), concatenated in order.

    Each batch's features are copied into arrays allocated once for `total` rows (grown if the stream brings more),
    so nothing of a batch outlives it: keeping every batch's output instead held its tensors' memory and fragmented
    the heap, about ten times the features' size at 100,000 images (benchmarks/perf/load.py).
    An error about a batch's shape names the whole set's (`total` rows), not the internal batch size."""
    arrays: dict[str, np.ndarray] = {}
    filled = dict.fromkeys(extractor.outputs, 0)
    with tqdm(total=total, unit="img", desc=f"features ({extractor.name})", disable=not progress) as bar:
        for batch in batches:
            try:
                out = extractor.features(check_images(batch))
            except BenchboxError as exc:
                raise set_shape_error(exc, batch, total) from exc
            for name in filled:
                values = out[name].detach().float().cpu().numpy()
                if not np.isfinite(values).all():
                    raise BenchboxError(
                        f"the {extractor.name} extractor gave NaN or Inf features",
                        "check the weights file; the images are valid uint8",
                    )
                arrays[name] = write_rows(arrays.get(name), filled[name], values, total or 0)
                filled[name] += len(values)
            bar.update(len(batch))
    if not filled or not arrays:
        raise BenchboxError("no images to extract features from", "pass at least one image")
    return {name: arrays[name][:n] if len(arrays[name]) == n else arrays[name][:n].copy() for name, n in filled.items()}


def write_rows(array: np.ndarray | None, at: int, rows: np.ndarray, expected: int) -> np.ndarray:
    """`array` with `rows` copied in at row `at`: allocated for `expected` rows at first, doubled when full."""
    end = at + len(rows)
    if array is None or end > len(array):
        grown = np.empty((max(expected, 2 * end if array is not None else end), *rows.shape[1:]), rows.dtype)
        if array is not None:
            grown[:at] = array[:at]
        array = grown
    array[at:end] = rows
    return array


def set_shape_error(error: BenchboxError, batch: torch.Tensor, total: int | None) -> BenchboxError:
    """The same error with the batch's shape (B, C, H, W) written as the set's (N, C, H, W), N = total."""
    shape = tuple(getattr(batch, "shape", ()))
    if total is None or not shape or shape[0] == total:
        return error
    whole = (total, *shape[1:])
    return BenchboxError(error.problem.replace(str(shape), str(whole)), error.hint.replace(str(shape), str(whole)))


def extract(
    extractor: Extractor, images: torch.Tensor | ImageFile, batch_size: int | None = None, progress: bool = False
) -> dict[str, np.ndarray]:
    images = check_images(images)
    batch_size = default_batch_size(torch.device(extractor.device)) if batch_size is None else batch_size
    if batch_size < 1:
        raise BenchboxError(f"batch size {batch_size} is not positive", "pass --batch-size 1 or more")
    batches = (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    return extract_batches(extractor, batches, total=len(images), progress=progress)


def cached_features(
    extractor: Extractor,
    images: torch.Tensor | ImageFile,
    cache: FeatureCache | None,
    batch_size: int | None = None,
    progress: bool = False,
    pending: list[tuple[str, dict[str, np.ndarray]]] | None = None,
) -> tuple[dict[str, np.ndarray], str, bool]:
    """(features, images content hash, whether they came from the cache). Only complete results are cached; with
    `pending`, new entries are appended there instead, for the caller to write once the whole run has succeeded."""
    images = check_images(images)
    images_hash = content_hash(images)
    key = feature_key(images_hash, cache_identity(extractor))
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and set(hit) == set(extractor.outputs) and all(len(v) == len(images) for v in hit.values()):
            return hit, images_hash, True
    features = extract(extractor, images, batch_size, progress)
    if cache is not None and pending is not None:
        pending.append((key, features))
    elif cache is not None:
        cache.put(key, features)
    return features, images_hash, False

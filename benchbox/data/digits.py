"""scikit-learn's bundled 8×8 handwritten digits (the UCI optdigits test set, 1,797 images, 10 classes) as uint8
1×8×8 images, with a fixed train/test split. Bundled with scikit-learn, so it needs no download: the offline suites'
smallest labelled dataset.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import torch

from benchbox.data import LabeledImages
from benchbox.data.images import content_hash
from benchbox.errors import BenchboxError
from benchbox.registry import register_dataset

SPLITS = ("train", "test")
NUM_CLASSES = 10
MAX_VALUE = 16  # the dataset's pixels are counts of on-pixels in 4×4 blocks: integers 0..16
TEST_EVERY = 5  # within each class, in file order, every fifth image (positions 4, 9, 14, …) is a test image


def labeled_data_hash(images: torch.Tensor, labels: torch.Tensor) -> str:
    """SHA-256 over the images' content hash (pixels and shape) and the labels as little-endian int64."""
    digest = hashlib.sha256(b"images:" + content_hash(images).encode())
    digest.update(b"labels:" + labels.detach().cpu().to(torch.int64).numpy().astype("<i8").tobytes())
    return digest.hexdigest()


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Integers 0..16 -> uint8 0..255 as round(v·255/16), halves rounded up, in exact integer arithmetic."""
    v = values.astype(np.int64)
    if v.min() < 0 or v.max() > MAX_VALUE:
        raise BenchboxError(f"digits pixels span [{v.min()}, {v.max()}], not [0, 16]", "reinstall scikit-learn")
    return ((v * 255 + MAX_VALUE // 2) // MAX_VALUE).astype(np.uint8)


def in_test_split(labels: np.ndarray) -> np.ndarray:
    """The fixed split: within each class, in file order, every fifth image is a test image (1,442 / 355)."""
    position = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        position[members] = np.arange(len(members))
    return position % TEST_EVERY == TEST_EVERY - 1


@lru_cache(maxsize=2)
def _split(split: str) -> LabeledImages:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    images = to_uint8(np.asarray(bunch.data)).reshape(-1, 1, 8, 8)
    keep = in_test_split(labels) if split == "test" else ~in_test_split(labels)
    x = torch.from_numpy(np.ascontiguousarray(images[keep]))
    y = torch.from_numpy(np.ascontiguousarray(labels[keep]))
    return LabeledImages("digits", split, x, y, NUM_CLASSES, labeled_data_hash(x, y))


@register_dataset("digits")
def load(split: str, data_dir: object = None) -> LabeledImages:
    """One split ("train" or "test") of the 8×8 digits: uint8 N×1×8×8 images in 0..255, int64 labels 0..9.

    The result is cached per process; treat its tensors as read-only. `data_dir` is ignored: scikit-learn bundles
    the data.
    """
    if split not in SPLITS:
        raise BenchboxError(f"digits has no split '{split}'", f"choose one of: {', '.join(SPLITS)}")
    return _split(split)

"""Data sources, one module each. Labelled image datasets register a loader with `register_dataset`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

_data_dir: Path | None = None


def set_data_dir(path: str | Path | None) -> None:
    """The folder `--data-dir` names: loaders look there first. Set once per process (the CLI and run workers)."""
    global _data_dir
    _data_dir = Path(path).expanduser() if path else None


def data_dir_option() -> Path | None:
    return _data_dir


@dataclass(frozen=True)
class LabeledImages:
    """One split of a labelled image dataset: uint8 N×C×H×W images, int64 labels, and what they are."""

    name: str  # dataset name as registered, e.g. "digits"
    split: str  # "train" or "test"
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    data_hash: str  # SHA-256 of images and labels, for cache keys and provenance

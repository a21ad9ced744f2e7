"""Metrics, one module per family; each registers its metrics where they are defined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchbox.errors import BenchboxError


@dataclass(frozen=True)
class MetricInputs:
    """What a metric may read: generated samples (or their features), the real set, and the task."""

    fake: np.ndarray
    real: np.ndarray
    task: Any = None


EXACT_IN_FLOAT64 = (np.float16, np.float32, np.float64)  # dtypes whose every value (and finiteness) float64 keeps


def check_points(x: np.ndarray, what: str, dim: int | None = None, as_float64: bool = True) -> np.ndarray:
    """Validate an N×D array of finite floats (at least 2 rows) and return it as float64. With `as_float64=False` a
    float16/32/64 array is returned as it is, for a caller that converts only the rows it reads (no full copy)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 2 or (dim is not None and x.shape[1] != dim):
        want = f"N×{dim}" if dim else "N×D"
        raise BenchboxError(f"{what} has shape {x.shape}", f"pass an {want} array with N >= 2")
    if not np.issubdtype(x.dtype, np.number):
        raise BenchboxError(f"{what} has dtype {x.dtype}", "pass a numeric array")
    if as_float64 or x.dtype not in EXACT_IN_FLOAT64:
        x = x.astype(np.float64)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=1).sum())
        raise BenchboxError(f"{what} has {bad} rows with NaN or Inf", "the model diverged or the input is corrupt")
    return x

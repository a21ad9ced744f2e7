"""Percentile bootstrap intervals (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchbox.errors import BenchboxError


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float],
    samples: np.ndarray,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """The (1−level)/2 and (1+level)/2 quantiles of statistic(samples[idx]) over n_boot row resamplings with replacement.

    Rows are drawn by numpy's Generator(PCG64(seed)), one resample at a time; `statistic` sees an array shaped
    like `samples`. A percentile interval needs many resamples: 200 is a quick look, 2000 steadies the ends.
    """
    samples = np.asarray(samples)
    if samples.ndim == 0 or len(samples) < 2:
        raise BenchboxError(f"bootstrap of {samples.size} sample(s)", "pass at least 2 samples (rows)")
    if not 0 < level < 1:
        raise BenchboxError(f"confidence level {level}", "use a level in (0, 1), e.g. 0.95")
    if n_boot < 2:
        raise BenchboxError(f"{n_boot} bootstrap resamples", "use at least 2 (hundreds for a stable interval)")
    rng = np.random.default_rng(seed)
    n = len(samples)
    values = np.array([statistic(samples[rng.integers(0, n, size=n)]) for _ in range(n_boot)], dtype=np.float64)
    if not np.isfinite(values).all():
        raise BenchboxError(
            "the statistic gave NaN or Inf on a bootstrap resample", "check the statistic and the samples"
        )
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def bootstrap_intervals(
    statistics: Callable[[np.ndarray], dict[str, float]],
    n: int,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of several statistics from one set of resamples: `statistics(rows)` gets the resampled
    row indices (drawn as in `bootstrap_interval`) and returns named values."""
    if not 0 < level < 1:
        raise BenchboxError(f"confidence level {level}", "use a level in (0, 1), e.g. 0.95")
    if n_boot < 2 or n < 2:
        raise BenchboxError(f"{n_boot} bootstrap resamples of {n} samples", "use at least 2 of each")
    rng = np.random.default_rng(seed)
    draws = [statistics(rng.integers(0, n, size=n)) for _ in range(n_boot)]
    intervals = {}
    for name in draws[0]:
        values = np.array([d[name] for d in draws], dtype=np.float64)
        low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])  # inf-safe: quantiles of ordered values
        intervals[name] = (float(low), float(high))
    return intervals

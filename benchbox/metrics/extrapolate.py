"""Extrapolation of a biased metric to infinitely many samples: FID∞ and IS∞ (Chong & Forsyth 2020,
"Effectively unbiased FID and Inception Score and where to find them").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchbox.errors import BenchboxError

POINTS = 15  # Chong & Forsyth fit 15 sample sizes
MIN_FRACTION = 0.2  # smallest size as a share of the set; they use 5k of 50k (0.1), larger steadies the 1/n fit


def default_sizes(n: int, points: int = POINTS, min_fraction: float = MIN_FRACTION) -> np.ndarray:
    """`points` distinct sizes from ⌈min_fraction·n⌉ to n, evenly spaced in 1/size, where the fit is linear."""
    smallest = max(2, int(np.ceil(min_fraction * n)))
    inverse = np.linspace(1 / smallest, 1 / n, points)
    return np.unique(np.round(1 / inverse).astype(np.int64))


def fit_inverse_size(sizes: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Least-squares (a, b) of value ≈ a + b/n; a is the value extrapolated to n = ∞."""
    design = np.stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, np.float64)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, np.asarray(values, np.float64), rcond=None)
    return float(a), float(b)


def extrapolate_to_infinite_n(
    metric: Callable[[np.ndarray], float],
    fake: np.ndarray,
    sizes: Sequence[int] | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """(a, b) of the fit metric(random n rows of fake) ≈ a + b/n over `sizes`; a is FID∞ (or IS∞) for metric = FID.

    Each size draws its own subset without replacement with numpy's Generator(PCG64(seed)); the default sizes are
    `default_sizes(len(fake))`. `metric` closes over everything else (the real statistics, the splits).
    """
    fake = np.asarray(fake)
    n = len(fake)
    sizes = default_sizes(n) if sizes is None else np.asarray(sizes, dtype=np.int64)
    if sizes.ndim != 1 or len(np.unique(sizes)) < 2 or sizes.min() < 2 or sizes.max() > n:
        raise BenchboxError(
            f"sample sizes {sizes.tolist()} for extrapolating over {n} samples",
            f"give at least 2 distinct sizes between 2 and {n}",
        )
    rng = np.random.default_rng(seed)
    values = [float(metric(fake[rng.choice(n, size=int(size), replace=False)])) for size in sizes]
    if not np.isfinite(values).all():
        raise BenchboxError("the metric gave NaN or Inf on a subset", "use larger subset sizes")
    return fit_inverse_size(sizes, np.array(values))

"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"): the unbiased MMD² with the
cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random subsets drawn as torch-fidelity draws them.
"""

from __future__ import annotations

import numpy as np

from benchbox.catalogue import Value
from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.registry import register_score


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """(x·y / d + coef0)^degree for every pair of rows."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Σ_{i≠j} k(x_i, x_j)/(m(m−1)) + Σ_{i≠j} k(y_i, y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i, y_j)/m²."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kernel_distance(
    fake: np.ndarray, real: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 2020
) -> tuple[float, float]:
    """Mean and std of the unbiased MMD² over `subsets` random subsets of `subset_size` rows of each set.

    Subsets are drawn with numpy's RandomState(seed), fake then real, as torch-fidelity does (its
    rng_seed defaults to 2020), so the same features give torch-fidelity's KID.
    """
    fake = check_points(fake, "generated features", as_float64=False)  # rows become float64 subset by subset
    real = check_points(real, "real features", dim=fake.shape[1], as_float64=False)
    if subset_size > min(len(fake), len(real)):
        raise BenchboxError(
            f"KID subset size {subset_size} is larger than the sample count ({len(fake)} generated, {len(real)} real)",
            f"use a subset size of at most {min(len(fake), len(real))}, or more samples",
        )
    values = np.empty(subsets)
    for i, (a, b) in enumerate(subset_indices(len(fake), len(real), subsets, subset_size, seed)):
        x, y = fake[a].astype(np.float64), real[b].astype(np.float64)
        values[i] = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y))
    return float(values.mean()), float(values.std())


def subset_indices(
    n_fake: int, n_real: int, subsets: int, subset_size: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """KID's subsets: rows drawn without replacement by numpy's RandomState(seed), fake then real, per subset."""
    rng = np.random.RandomState(seed)
    return [
        (_draw(rng, n_fake, subset_size), _draw(rng, n_real, subset_size))  # fake first, as torch-fidelity
        for _ in range(subsets)
    ]


def _draw(rng: np.random.RandomState, n: int, size: int) -> np.ndarray:
    """`size` of range(n) without replacement, as RandomState.choice draws them, in an array of their own: choice
    returns a view of a whole permutation of n, so 100 subsets kept 200 permutations (1.6 GB at n = 1,000,000)."""
    return rng.choice(n, size, replace=False).copy()


@register_score(
    "kid",
    output="pool",
    needs_real=True,
    values=(
        Value("kid", False, "kernel distance: mean unbiased MMD² over subsets", decimals=4),
        Value("kid_std", False, "std of the MMD² over subsets", decimals=4),
    ),
    description="Kernel distance: unbiased MMD² with the cubic polynomial kernel over random subsets",
    min_samples=lambda dim, *, kid_subset_size=1000, **_: kid_subset_size,
)
def kid_family(
    fake: np.ndarray, real: np.ndarray, *, kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 2020, **_
) -> dict[str, float]:
    mean, std = kernel_distance(fake, real, kid_subsets, kid_subset_size, seed)
    return {"kid": mean, "kid_std": std}

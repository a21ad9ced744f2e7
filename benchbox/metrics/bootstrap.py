"""Intervals over the generated samples by the delete-a-group jackknife (Quenouille 1956, Tukey 1958; the grouped
form as in Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 11), not by resampling with replacement.

Why not the bootstrap: a resample with replacement repeats rows, and FD (through the sample covariance), KID's
U-statistic and the neighbour-based values read repeated rows as a narrower, closer set, so the bootstrap values sit
above the estimate (digits, n = 355: FD 2.27, percentile interval [4.5, 6.6]). The jackknife leaves rows out and
never repeats one.

The rows are split at random into K groups; θ_(g) is the statistic without group g. The interval is
θ̂ ± t_{K−1} · SE_jack, centred on the estimate θ̂ (so it always contains it), and it is an interval for
E[θ̂_n], the metric's expected value at this number n of generated samples against the same real set: a
sample-size bias (FD's ≈ b/n) belongs to that target, and `--infinite` gives FD∞ instead.

Coverage of E[θ̂_n] measured on Gaussian features (d = 8, n = 300, 1000 real rows; tests/test_uncertainty.py runs
400 trials, the figures are 1000–2000 trials per real set): FD 94.5–96.2%, KID 94.0–94.3% when the generated and
real distributions differ; at the digits scale (128-d, n = 355, Gaussians with the digits features' covariance)
FD 96.7%, KID 94.2%. Limits: the jackknife variance is biased upward by the statistic's second-order part (Efron
& Stein 1981), which matters when the two distributions nearly coincide relative to the sampling noise, the more
so as d/n grows: there the intervals are conservative (FD 98%, KID 96–97% at d = 8; FD 98–99%, KID 97.5% at the
digits scale), never too narrow. The interval says nothing of the real set's own sampling noise. Non-smooth
values (k-NN precision, recall, density, coverage; class counts) get no interval here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import t as student_t

from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.metrics.frechet import frechet_distance
from benchbox.metrics.kid import mmd2_unbiased, polynomial_kernel, subset_indices


def check_groups(groups: int, n: int, level: float = 0.95) -> None:
    """Refuse a group count the jackknife cannot use (2 <= K <= n) and a level outside (0, 1)."""
    if not 0 < level < 1:
        raise BenchboxError(f"confidence level {level}", "use a level in (0, 1), e.g. 0.95")
    if n < 2 or not 2 <= groups <= n:
        raise BenchboxError(f"{groups} jackknife groups of {n} samples", f"use between 2 and {max(n, 2)} groups")


def group_labels(n: int, groups: int, seed: int = 0) -> np.ndarray:
    """Row i's group: a Generator(PCG64(seed)) permutation of (0, 1, ..., K−1, 0, 1, ...), sizes within 1 of n/K."""
    check_groups(groups, n)
    return np.random.default_rng(seed).permutation(np.arange(n) % groups)


def jackknife_standard_error(replicates: np.ndarray) -> float:
    """SE_jack = sqrt((K−1)/K · Σ_g (θ_(g) − θ̄)²) over the K leave-group-out values (Efron & Tibshirani 1993, 11.5)."""
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.ndim != 1 or len(replicates) < 2 or not np.isfinite(replicates).all():
        raise BenchboxError(
            "the statistic gave NaN or Inf with a group left out, or fewer than 2 groups", "check the samples"
        )
    k = len(replicates)
    return float(np.sqrt((k - 1) / k * ((replicates - replicates.mean()) ** 2).sum()))


def t_interval(estimate: float, standard_error: float, groups: int, level: float = 0.95) -> tuple[float, float]:
    """θ̂ ± t_{K−1, (1+level)/2} · SE: the grouped jackknife's interval, with K − 1 degrees of freedom."""
    half = float(student_t.ppf((1 + level) / 2, groups - 1)) * standard_error
    return estimate - half, estimate + half


def jackknife_interval(
    statistic: Callable[[np.ndarray], float],
    samples: np.ndarray,
    groups: int = 20,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """θ̂ ± t_{K−1} · SE_jack for θ̂ = statistic(samples), θ_(g) = statistic(samples without the rows of group g).

    An interval for E[statistic of n rows]; `statistic` sees an array shaped like `samples` with fewer rows.
    """
    samples = np.asarray(samples)
    n = 0 if samples.ndim == 0 else len(samples)
    check_groups(groups, n, level)
    labels = group_labels(n, groups, seed)
    replicates = np.array([statistic(samples[labels != g]) for g in range(groups)], dtype=np.float64)
    return t_interval(float(statistic(samples)), jackknife_standard_error(replicates), groups, level)


def frechet_replicates(fake: np.ndarray, mu_real: np.ndarray, sigma_real: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """FD of the generated rows outside group g against (μ_r, Σ_r), for every g, from per-group sums and scatter
    matrices: Σ_(g) = (S − S_g − m μ_(g) μ_(g)ᵀ)/(m − 1) with m the rows kept (one pass over the features)."""
    fake = check_points(fake, "generated features")
    groups = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=groups)
    n, d = fake.shape
    if n - counts.max() <= d:
        raise BenchboxError(
            f"leaving out a jackknife group keeps {n - counts.max()} of {n} samples, too few for {d}-d features",
            f"use more groups (N in --bootstrap N) or at least {d + 1 + -(-n // groups)} generated images",
        )
    offset = fake.mean(axis=0)
    centred = fake - offset  # the scatter matrices of centred rows lose nothing to cancellation
    total_sum, total_scatter = centred.sum(axis=0), centred.T @ centred
    values = np.empty(groups)
    for g in range(groups):  # one d×d scatter matrix at a time: K of them need not fit in memory
        rows = centred[labels == g]
        m = n - len(rows)
        mu = (total_sum - rows.sum(axis=0)) / m
        sigma = (total_scatter - rows.T @ rows - m * np.outer(mu, mu)) / (m - 1)
        values[g] = frechet_distance(mu + offset, sigma, mu_real, sigma_real)
    return values


def kid_replicates(
    fake: np.ndarray, real: np.ndarray, labels: np.ndarray, subsets: int, subset_size: int, seed: int
) -> tuple[float, np.ndarray]:
    """KID over its subsets, and for every group g the same subsets with the generated rows of group g left out:
    unbiased MMD² = Σ_{a≠b} k(x_a, x_b)/(m(m−1)) + Σ_{i≠j} k(y_i, y_j)/(s(s−1)) − 2 Σ k(x_a, y_j)/(m s), m rows kept."""
    fake = check_points(fake, "generated features")
    real = check_points(real, "real features", dim=fake.shape[1])
    groups = int(labels.max()) + 1
    full, left_out = np.empty(subsets), np.empty((subsets, groups))
    for i, (a, b) in enumerate(subset_indices(len(fake), len(real), subsets, subset_size, seed)):
        x, y = fake[a], real[b]
        k_xx, k_xy, k_yy = polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y)
        group = labels[a]
        counts = np.bincount(group, minlength=groups)
        same = group[:, None] == group[None, :]
        within = np.bincount(np.broadcast_to(group[:, None], same.shape)[same], k_xx[same], minlength=groups)
        rows = np.bincount(group, k_xx.sum(axis=1), minlength=groups)  # Σ_b k(x_a, x_b) over a in group g
        diagonal = np.bincount(group, np.diag(k_xx), minlength=groups)
        cross = np.bincount(group, k_xy.sum(axis=1), minlength=groups)
        s = subset_size
        within_y = (k_yy.sum() - np.trace(k_yy)) / (s * (s - 1))
        full[i] = mmd2_unbiased(k_xx, k_xy, k_yy)
        m = s - counts
        if m.min() < 2:
            raise BenchboxError(
                f"leaving out a jackknife group leaves {int(m.min())} of a KID subset's {s} rows",
                "use more groups (N in --bootstrap N) or a larger --kid-subset-size",
            )
        kept_xx = k_xx.sum() - 2 * rows + within - (np.trace(k_xx) - diagonal)
        left_out[i] = kept_xx / (m * (m - 1)) + within_y - 2 * (k_xy.sum() - cross) / (m * s)
    return float(full.mean()), left_out.mean(axis=0)

"""How much to trust a score: bootstrap intervals over the generated samples, and the values extrapolated to
infinitely many samples (FID∞, IS∞; Chong & Forsyth 2020), which remove FID's and IS's sample-size bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchbox.catalogue import Value, register_values
from benchbox.errors import BenchboxError
from benchbox.metrics.bootstrap import bootstrap_intervals
from benchbox.metrics.extrapolate import default_sizes, extrapolate_to_infinite_n
from benchbox.metrics.frechet import frechet_distance, gaussian_statistics
from benchbox.metrics.inception_score import split_inception_score
from benchbox.pipeline import ScoreSettings, metric_values

EXTRAPOLATED = ("fid", "is")  # the families Chong & Forsyth extrapolate
(FD_INF,) = register_values(
    "fid",
    ("features:pool", "real features:pool", "--infinite"),
    Value("fd_inf", False, "FD extrapolated to infinitely many samples (Chong & Forsyth 2020)", in_feature_space=True),
)
(IS_INF,) = register_values(
    "is",
    ("features:logits", "--infinite"),
    Value("is_inf", True, "IS extrapolated to infinitely many samples (Chong & Forsyth 2020)", in_feature_space=True),
)


def bootstrap_metric_intervals(
    metrics: Sequence[str],
    fake: dict[str, np.ndarray],
    real: dict[str, np.ndarray] | None,
    tag: str,
    settings: ScoreSettings,
    n_boot: int,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of every value, resampling the generated samples (the real set stays fixed).

    Resampling repeats rows; neighbour-based values (precision, recall, density, coverage) see duplicates as
    zero-radius neighbours, so their intervals are rougher than those of FD and KID.
    """
    n = len(next(iter(fake.values())))

    def values(rows: np.ndarray) -> dict[str, float]:
        return metric_values(metrics, {k: v[rows] for k, v in fake.items()}, real, tag, settings)

    return bootstrap_intervals(values, n, n_boot=n_boot, seed=seed)


def check_infinite(metrics: Sequence[str], n_fake: int, pool_dim: int) -> None:
    """Refuse FD∞ before any features are computed when its smallest subset would give a singular covariance."""
    smallest = int(default_sizes(n_fake)[0])
    if "fid" in metrics and smallest <= pool_dim:
        raise BenchboxError(
            f"FD∞ fits FD on subsets down to {smallest} of the {n_fake} samples, too few for {pool_dim}-d features",
            f"use at least {5 * pool_dim + 1} generated images, or drop --infinite",
        )


def infinite_n_values(
    metrics: Sequence[str],
    fake: dict[str, np.ndarray],
    real: dict[str, np.ndarray] | None,
    tag: str,
    seed: int = 0,
) -> dict[str, float]:
    """FID∞ and IS∞ for whichever of the fid and is families were asked for: the intercept of value ≈ a + b/n."""
    out: dict[str, float] = {}
    if "fid" in metrics and real is not None:
        pool = fake["pool"]
        check_infinite(metrics, len(pool), pool.shape[1])
        mu, sigma = gaussian_statistics(real["pool"])
        value, _ = extrapolate_to_infinite_n(
            lambda x: frechet_distance(*gaussian_statistics(x), mu, sigma), pool, seed=seed
        )
        out[FD_INF.name(tag)] = value
    if "is" in metrics:
        value, _ = extrapolate_to_infinite_n(split_inception_score, fake["logits"], seed=seed)
        out[IS_INF.name(tag)] = value
    return out

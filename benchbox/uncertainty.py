"""How much to trust a score: intervals of FD and KID over the generated samples (the delete-a-group jackknife,
`benchbox.metrics.bootstrap`, for E[value at this n] against the fixed real set), and the values extrapolated to
infinitely many samples (FID∞, IS∞; Chong & Forsyth 2020), which remove FID's and IS's sample-size bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchbox.catalogue import Value, register_values, value_name
from benchbox.errors import BenchboxError
from benchbox.metrics.bootstrap import (
    frechet_replicates,
    group_labels,
    jackknife_standard_error,
    kid_replicates,
    t_interval,
)
from benchbox.metrics.extrapolate import default_sizes, extrapolate_to_infinite_n
from benchbox.metrics.frechet import frechet_distance, gaussian_statistics
from benchbox.metrics.inception_score import split_inception_score
from benchbox.pipeline import ScoreSettings

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


def interval_groups(requested: int, n_fake: int) -> int:
    """K = min(N, n): the jackknife groups for `--bootstrap N` (one row per group once N reaches n)."""
    return min(requested, n_fake)


def check_intervals(metrics: Sequence[str], n_fake: int, pool_dim: int | None, requested: int) -> None:
    """Refuse intervals before any features are computed: at least 2 groups, and FD's leave-group-out covariance
    must stay non-singular (n − ⌈n/K⌉ > d)."""
    if requested < 2 or n_fake < 2:
        raise BenchboxError(
            f"--bootstrap {requested} on {n_fake} generated samples: the jackknife needs 2 groups or more",
            "pass --bootstrap 2 or more (20 or more steadies the interval) and at least 2 generated images",
        )
    groups = interval_groups(requested, n_fake)
    kept = n_fake - -(-n_fake // groups)
    if "fid" in metrics and pool_dim is not None and kept <= pool_dim:
        fix = (
            f"pass --bootstrap {-(-n_fake // (n_fake - pool_dim - 1))} or more"
            if n_fake > pool_dim + 1
            else f"use at least {pool_dim + 2} generated images"
        )
        raise BenchboxError(
            f"FD's jackknife keeps {kept} of the {n_fake} samples with a group left out, "
            f"too few for {pool_dim}-d features",
            fix,
        )


def metric_intervals(
    metrics: Sequence[str],
    fake: dict[str, np.ndarray],
    real: dict[str, np.ndarray] | None,
    tag: str,
    settings: ScoreSettings,
    values: dict[str, float],
    requested: int,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """θ̂ ± t_{K−1} · SE_jack around the recorded FD and KID, for E[value at this n] against the fixed real set.

    The generated rows are split into K = min(requested, n) groups (`benchbox.metrics.bootstrap`); the real set
    stays fixed. Only FD and KID get an interval: their coverage is measured (tests/test_uncertainty.py); the
    other values (KID's std, IS, the k-NN and class values) get none.
    """
    if real is None:
        return {}
    pool, real_pool = fake["pool"], real["pool"]
    groups = interval_groups(requested, len(pool))
    labels = group_labels(len(pool), groups, seed)
    out: dict[str, tuple[float, float]] = {}
    if "fid" in metrics:
        name = value_name("fd", tag)
        replicates = frechet_replicates(pool, *gaussian_statistics(real_pool), labels)
        out[name] = t_interval(values[name], jackknife_standard_error(replicates), groups, level)
    if "kid" in metrics:
        name = value_name("kid", tag)
        _, replicates = kid_replicates(
            pool, real_pool, labels, settings.kid_subsets, settings.kid_subset_size, settings.seed
        )
        out[name] = t_interval(values[name], jackknife_standard_error(replicates), groups, level)
    return out


def interval_provenance(
    values: dict[str, float], intervals: dict[str, tuple[float, float]], n_fake: int, requested: int, level: float
) -> dict[str, Any]:
    """What the intervals are: method, target, level, groups, and which values have none."""
    groups = interval_groups(requested, n_fake)
    return {
        "method": f"delete-a-group jackknife: {groups} random groups of the generated samples, "
        f"interval = value ± t({(1 + level) / 2:g}, {groups - 1} df) · SE_jack",
        "target": f"E[value at n={n_fake} generated samples] against this real set (the real set is fixed)",
        "level": level,
        "groups": groups,
        "requested": requested,
        "resampled": "generated samples (left out by groups, never repeated)",
        "values": list(intervals),
        "no_interval": [name for name in values if name not in intervals],
        "no_interval_why": "coverage of an interval for these values was not checked",
    }


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

"""Mode diagnostics from a classifier and from clusters: classes covered and the KL of the predicted class
histogram to the data's, and the number of statistically different bins (Richardson & Weiss 2018, "On GANs and
GMMs").
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from benchbox.catalogue import Value
from benchbox.errors import BenchboxError
from benchbox.metrics import check_points
from benchbox.registry import register_score

KMEANS_RESTARTS = 10  # fixed so that a seed fixes the bins


def class_histogram(logits: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Counts of argmax_y logits[i, y] over the first `num_classes` columns (default: all of them)."""
    logits = check_points(logits, "classifier logits")
    num_classes = logits.shape[1] if num_classes is None else num_classes
    if not 1 <= num_classes <= logits.shape[1]:
        raise BenchboxError(
            f"num_classes = {num_classes} for logits with {logits.shape[1]} columns",
            f"use 1 <= num_classes <= {logits.shape[1]}",
        )
    return np.bincount(logits[:, :num_classes].argmax(axis=1), minlength=num_classes)


def classes_covered(fake_logits: np.ndarray, num_classes: int | None = None, min_count: int = 1) -> int:
    """#{y : #{i : argmax logits_i = y} >= min_count}; `num_classes` keeps the first columns (Inception's 1008 → 1000)."""
    if min_count < 1:
        raise BenchboxError(f"min_count = {min_count}", "count a class as covered from at least 1 sample")
    return int((class_histogram(fake_logits, num_classes) >= min_count).sum())


def class_kl(fake_logits: np.ndarray, prior: np.ndarray) -> float:
    """KL(p̂ ‖ π) = Σ_y p̂_y log(p̂_y / π_y) for the histogram p̂ of argmax predictions; 0·log 0 = 0, +inf if π_y = 0 < p̂_y."""
    prior = np.asarray(prior, dtype=np.float64)
    if prior.ndim != 1 or not np.isfinite(prior).all() or (prior < 0).any() or abs(prior.sum() - 1) > 1e-6:
        raise BenchboxError("the class prior is not a probability vector", "pass non-negative weights that sum to 1")
    counts = class_histogram(fake_logits)
    if len(counts) != len(prior):
        raise BenchboxError(
            f"logits have {len(counts)} classes but the prior has {len(prior)}", "use the same classifier for both"
        )
    p = counts / counts.sum()
    seen = p > 0
    if (prior[seen] == 0).any():
        return math.inf
    return float(np.sum(p[seen] * np.log(p[seen] / prior[seen])))


def two_proportion_p_values(count_a: np.ndarray, n_a: int, count_b: np.ndarray, n_b: int) -> np.ndarray:
    """Two-sided p = 2Φ(−|z|), z = (p_a − p_b)/sqrt(p̄(1 − p̄)(1/n_a + 1/n_b)), p̄ the pooled proportion; 1 when p̄ ∈ {0, 1}."""
    count_a, count_b = np.asarray(count_a, np.float64), np.asarray(count_b, np.float64)
    pooled = (count_a + count_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    diff = count_a / n_a - count_b / n_b
    z = np.divide(diff, se, out=np.zeros_like(diff), where=se > 0)
    return 2 * norm.sf(np.abs(z))


def ndb(
    fake_features: np.ndarray, real_features: np.ndarray, bins: int = 50, alpha: float = 0.05, seed: int = 0
) -> tuple[int, float]:
    """(NDB, NDB/K): bins where the generated share differs from the real share by a two-proportion z-test at level α.

    The K = `bins` cells are the k-means clusters of the real features (sklearn KMeans, 10 restarts, random_state
    = seed); generated samples go to the nearest centroid. Features are not whitened.
    """
    from sklearn.cluster import KMeans  # imported here: only NDB needs scikit-learn

    fake = check_points(fake_features, "generated features")
    real = check_points(real_features, "real features", dim=fake.shape[1])
    if not 2 <= bins <= len(real):
        raise BenchboxError(f"NDB with {bins} bins of {len(real)} real samples", f"use 2 <= bins <= {len(real)}")
    if not 0 < alpha < 1:
        raise BenchboxError(f"NDB significance level {alpha}", "use a level in (0, 1), usually 0.05")
    kmeans = KMeans(n_clusters=bins, n_init=KMEANS_RESTARTS, random_state=seed).fit(real)
    real_counts = np.bincount(kmeans.labels_, minlength=bins)
    fake_counts = np.bincount(kmeans.predict(fake), minlength=bins)
    different = int((two_proportion_p_values(fake_counts, len(fake), real_counts, len(real)) < alpha).sum())
    return different, different / bins


@register_score(
    "classes",
    output="logits",
    needs_real=True,
    values=(
        Value(
            "classes_covered",
            True,
            "classes predicted for at least one generated sample",
            decimals=0,
            topic="diversity",
        ),
        Value("class_kl", False, "KL(generated ‖ real) of the argmax class histograms", topic="diversity"),
    ),
    description="classes predicted for ≥1 sample, and KL(fake ‖ real) of the argmax class histograms",
)
def classes_family(fake: np.ndarray, real: np.ndarray, **_: object) -> dict[str, float]:
    """The prior is the histogram of argmax predictions on the real set, so class_kl is +inf when some generated
    sample is predicted in a class that no real sample is predicted in."""
    real_counts = class_histogram(real)
    return {"classes_covered": classes_covered(fake), "class_kl": class_kl(fake, real_counts / real_counts.sum())}


@register_score(
    "ndb",
    output="pool",
    needs_real=True,
    values=(
        Value(
            "ndb",
            False,
            "k-means bins whose generated share differs from the real one (z-test)",
            decimals=0,
            topic="diversity",
        ),
        Value("ndb_frac", False, "NDB / K", topic="diversity"),
    ),
    description="number of statistically different k-means bins, and its fraction NDB/K (Richardson & Weiss 2018)",
    min_samples=lambda dim, *, ndb_bins=50, **_: ndb_bins,  # a real sample per bin at least
)
def ndb_family(
    fake: np.ndarray, real: np.ndarray, *, ndb_bins: int = 50, ndb_alpha: float = 0.05, seed: int = 0, **_: object
) -> dict[str, float]:
    different, fraction = ndb(fake, real, bins=ndb_bins, alpha=ndb_alpha, seed=seed)
    return {"ndb": float(different), "ndb_frac": fraction}

"""Mode-collapse diagnostics on mixtures with known modes (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

A sample is high quality when it lies within `threshold` standard deviations of its nearest mode;
a mode is covered when it is the nearest mode of at least one high-quality sample; the reverse KL is
KL(p̂ ‖ uniform) of the histogram of high-quality samples over modes (PacGAN's released code counts
only high-quality samples in that histogram).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist

from benchbox.metrics import MetricInputs, check_points
from benchbox.registry import register_metric

HQ_THRESHOLD_STD = 3.0  # VEEGAN: "within three standard deviations of the nearest mode"


def mode_histogram(
    points: np.ndarray, means: np.ndarray, std: float, threshold: float = HQ_THRESHOLD_STD
) -> np.ndarray:
    """Counts of high-quality points per mode: point i counts for argmin_k ‖x_i − μ_k‖ if that distance < threshold·std."""
    points = check_points(points, "generated points", dim=means.shape[1])
    dist = cdist(points, means)
    nearest = dist.argmin(axis=1)
    high_quality = dist[np.arange(len(points)), nearest] < threshold * std
    return np.bincount(nearest[high_quality], minlength=len(means))


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p̂ ‖ U) = Σ_k p̂_k log(K p̂_k) for the normalized histogram p̂; +inf when the histogram is empty."""
    total = counts.sum()
    if total == 0:
        return math.inf
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


def _histogram(inputs: MetricInputs) -> tuple[np.ndarray, int]:
    task = inputs.task
    return mode_histogram(inputs.fake, task.means_tensor().numpy(), task.std), len(inputs.fake)


@register_metric(
    "modes_covered",
    higher_is_better=True,
    decimals=1,
    description="modes with ≥1 sample within 3 std",
    family="modes",
    topic="diversity",
)
def modes_covered(inputs: MetricInputs) -> float:
    counts, _ = _histogram(inputs)
    return float((counts > 0).sum())


@register_metric(
    "high_quality_pct",
    higher_is_better=True,
    decimals=1,
    description="% of samples within 3 std of a mode",
    family="modes",
)
def high_quality_pct(inputs: MetricInputs) -> float:
    counts, n = _histogram(inputs)
    return 100.0 * counts.sum() / n


@register_metric(
    "reverse_kl",
    higher_is_better=False,
    decimals=2,
    description="KL(mode histogram ‖ uniform)",
    family="modes",
    topic="diversity",
)
def reverse_kl(inputs: MetricInputs) -> float:
    counts, _ = _histogram(inputs)
    return reverse_kl_to_uniform(counts)

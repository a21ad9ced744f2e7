"""Two-sample distances between point sets."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist

from benchbox.metrics import MetricInputs, check_points
from benchbox.registry import register_metric


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """sqrt(2E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖) over the empirical distributions (Székely & Rizzo 2013), as scipy's 1-D energy_distance."""
    x = check_points(x, "first point set")
    y = check_points(y, "second point set", dim=x.shape[1])
    squared = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    return math.sqrt(max(squared, 0.0))


@register_metric("energy_distance", higher_is_better=False, decimals=3, description="energy distance to the real set")
def energy_distance_metric(inputs: MetricInputs) -> float:
    return energy_distance(inputs.fake, inputs.real)

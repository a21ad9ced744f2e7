"""Energy distance against scipy's (1-D) implementation."""

import numpy as np
import pytest
from scipy import stats

from benchbox.errors import BenchboxError
from benchbox.metrics.distances import energy_distance


def test_matches_scipy_on_one_dimensional_data_embedded_in_2d():
    rng = np.random.default_rng(0)
    u, v = rng.normal(0, 1, 300), rng.normal(0.5, 2, 200)
    embed = lambda a: np.stack([a, np.zeros_like(a)], axis=1)  # noqa: E731
    assert energy_distance(embed(u), embed(v)) == pytest.approx(stats.energy_distance(u, v), rel=1e-10)


def test_rotation_invariant_and_zero_on_identical_sets():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 2)), rng.normal(1, 1, size=(150, 2))
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert energy_distance(x @ rot, y @ rot) == pytest.approx(energy_distance(x, y), rel=1e-10)
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-7)


def test_rejects_mismatched_dimensions_and_inf():
    with pytest.raises(BenchboxError, match="shape"):
        energy_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(BenchboxError, match="Inf"):
        energy_distance(np.array([[np.inf, 0.0], [0.0, 0.0]]), np.zeros((4, 2)))

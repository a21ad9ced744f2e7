"""The mixtures against the constants of PacGAN's released configuration (Lin et al. 2018)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import cdist

from benchbox.data.toy2d import grid, ring


def test_ring_means_are_eight_points_on_the_unit_circle():
    means = np.array(ring().means)
    assert means.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.0, atol=1e-12)
    angles = np.sort(np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * math.pi))
    np.testing.assert_allclose(angles, np.arange(8) * 2 * math.pi / 8, atol=1e-12)
    assert ring().std == 0.01


def test_grid_means_are_the_5x5_lattice_from_minus_4_to_4():
    means = {tuple(m) for m in grid().means}
    assert means == {(float(x), float(y)) for x in range(-4, 5, 2) for y in range(-4, 5, 2)}
    assert grid().std == 0.05


@pytest.mark.parametrize("task", [ring(), grid()], ids=lambda t: t.name)
def test_samples_match_component_means_stds_and_equal_weights(task):
    n = 100_000
    x = task.sample(n, torch.Generator().manual_seed(0)).double().numpy()
    means = np.array(task.means)
    nearest = cdist(x, means).argmin(axis=1)  # modes are > 20 std apart, so nearest = true component
    counts = np.bincount(nearest, minlength=len(means))
    assert stats.chisquare(counts).pvalue > 1e-3  # equal weights
    for k, mu in enumerate(means):
        pts = x[nearest == k]
        # the sample mean is within 5 standard errors of μ_k, the sample std within 5% of σ
        assert np.all(np.abs(pts.mean(axis=0) - mu) < 5 * task.std / math.sqrt(len(pts)))
        np.testing.assert_allclose(pts.std(axis=0, ddof=1), task.std, rtol=0.05)


def test_reference_set_is_fixed_and_hash_tracks_constants():
    a, b = ring().reference(100), ring().reference(100)
    assert torch.equal(a, b)
    assert ring().data_hash() == ring().data_hash()
    assert ring().data_hash() != ring(std=0.02).data_hash()

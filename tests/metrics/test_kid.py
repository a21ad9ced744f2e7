"""KID against torch-fidelity's implementation on the same features."""

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from benchbox.errors import BenchboxError
from benchbox.metrics.kid import kernel_distance


def test_matches_torch_fidelity_subsets_and_values():
    rng = np.random.default_rng(0)
    fake, real = rng.normal(size=(300, 16)), rng.normal(0.2, 1.1, size=(250, 16))
    tf = kid_features_to_metric(
        torch.from_numpy(fake),
        torch.from_numpy(real),
        kid_subsets=20,
        kid_subset_size=100,
        verbose=False,
        rng_seed=2020,
        kid_kernel="poly",
        kid_kernel_poly_degree=3,
        kid_kernel_poly_gamma=None,
        kid_kernel_poly_coef0=1,
    )
    mean, std = kernel_distance(fake, real, subsets=20, subset_size=100, seed=2020)
    assert mean == pytest.approx(tf["kernel_inception_distance_mean"], rel=1e-10)
    assert std == pytest.approx(tf["kernel_inception_distance_std"], rel=1e-10)


def test_unbiased_estimate_is_near_zero_for_one_distribution():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    mean, std = kernel_distance(x, y, subsets=10, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3  # unbiased: centred on 0, may be negative


def test_subset_larger_than_samples_is_refused():
    with pytest.raises(BenchboxError, match="at most 50"):
        kernel_distance(np.zeros((50, 4)), np.zeros((80, 4)), subset_size=100)


def test_subsets_are_random_state_choice_draws_in_arrays_of_their_own():
    """choice returns a view of a permutation of all n rows; the subsets keep only their own rows."""
    from benchbox.metrics.kid import subset_indices

    rng = np.random.RandomState(2020)
    subsets = subset_indices(5000, 4000, 5, 100, 2020)
    for a, b in subsets:
        np.testing.assert_array_equal(a, rng.choice(5000, 100, replace=False))
        np.testing.assert_array_equal(b, rng.choice(4000, 100, replace=False))
        assert a.base is None and b.base is None and a.nbytes == b.nbytes == 800


def test_float32_features_give_the_kid_of_their_float64_copy_and_are_left_unchanged():
    rng = np.random.default_rng(2)
    fake, real = rng.normal(size=(300, 16)).astype(np.float32), rng.normal(0.1, 1, size=(250, 16)).astype(np.float32)
    before = fake.copy()
    assert kernel_distance(fake, real, 10, 100) == kernel_distance(
        fake.astype(np.float64), real.astype(np.float64), 10, 100
    )
    np.testing.assert_array_equal(fake, before)

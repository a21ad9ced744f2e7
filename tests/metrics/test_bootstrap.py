"""The delete-a-group jackknife: the interval of a mean against the t interval, leave-group-out FD and KID against
the metrics recomputed on the rows kept, and the interval's centre (its own estimate) on statistics that the
bootstrap's repeated rows push upward."""

import numpy as np
import pytest
from scipy.stats import t as student_t

from benchbox.errors import BenchboxError
from benchbox.metrics.bootstrap import (
    frechet_replicates,
    group_labels,
    jackknife_interval,
    jackknife_standard_error,
    kid_replicates,
    t_interval,
)
from benchbox.metrics.frechet import frechet_distance_of_features, gaussian_statistics
from benchbox.metrics.kid import kernel_distance, mmd2_unbiased, polynomial_kernel, subset_indices


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_delete_one_jackknife_of_a_mean_is_the_t_interval(level):
    x = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    half = student_t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))  # mean ± t s/√n
    low, high = jackknife_interval(np.mean, x, groups=len(x), level=level)
    assert low == pytest.approx(x.mean() - half, rel=1e-9) and high == pytest.approx(x.mean() + half, rel=1e-9)


def test_grouped_jackknife_of_a_mean_is_close_to_the_t_interval():
    x = np.random.default_rng(1).exponential(size=1000)
    low, high = jackknife_interval(np.mean, x, groups=50)
    assert (high - low) / 2 == pytest.approx(1.96 * x.std(ddof=1) / np.sqrt(len(x)), rel=0.25)


def test_groups_are_balanced_and_seeded():
    labels = group_labels(103, 10, seed=3)
    assert sorted(np.bincount(labels)) == [10] * 7 + [11] * 3
    assert (group_labels(103, 10, seed=3) == labels).all() and (group_labels(103, 10, seed=4) != labels).any()


def test_standard_error_and_t_interval_formulas():
    replicates = np.array([1.0, 2.0, 4.0])
    se = np.sqrt(2 / 3 * ((replicates - 7 / 3) ** 2).sum())
    assert jackknife_standard_error(replicates) == pytest.approx(se)
    low, high = t_interval(10.0, se, 3, 0.95)
    assert (low + high) / 2 == pytest.approx(10.0) and high - 10 == pytest.approx(student_t.ppf(0.975, 2) * se)


def test_frechet_replicates_equal_fd_of_the_rows_kept():
    rng = np.random.default_rng(2)
    fake, real = rng.normal(size=(103, 4)) * 50 + 1000, rng.normal(size=(200, 4))  # far from 0: no cancellation
    labels = group_labels(len(fake), 10)
    replicates = frechet_replicates(fake, *gaussian_statistics(real), labels)
    expected = [frechet_distance_of_features(fake[labels != g], real) for g in range(10)]
    np.testing.assert_allclose(replicates, expected, rtol=1e-9)


def test_kid_replicates_equal_kid_of_the_rows_kept_in_the_same_subsets():
    rng = np.random.default_rng(3)
    fake, real = rng.normal(size=(103, 4)), rng.normal(0.3, 1.0, size=(200, 4))
    labels = group_labels(len(fake), 10)
    full, replicates = kid_replicates(fake, real, labels, subsets=7, subset_size=50, seed=2020)
    assert full == pytest.approx(kernel_distance(fake, real, 7, 50, 2020)[0], rel=1e-12)
    subsets = subset_indices(len(fake), len(real), 7, 50, 2020)
    for g in range(10):
        values = []
        for a, b in subsets:
            x, y = fake[a[labels[a] != g]], real[b]
            m, s = len(x), len(y)
            k_xx, k_yy = polynomial_kernel(x, x), polynomial_kernel(y, y)
            within = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (s * (s - 1))
            values.append(within - 2 * polynomial_kernel(x, y).sum() / (m * s))
        assert replicates[g] == pytest.approx(np.mean(values), rel=1e-9)
    a, b = subsets[0]
    x, y = fake[a], real[b]
    assert mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y)) == pytest.approx(
        kid_replicates(fake, real, labels, 1, 50, 2020)[0]
    )


def test_interval_of_fd_holds_its_estimate_where_the_bootstrap_did_not():
    """n = 60 rows in 8-d: resampling with replacement moves FD far up (duplicates shrink the covariance's spread
    into fewer points); the jackknife's interval is centred on the estimate."""
    rng = np.random.default_rng(4)
    fake, real = rng.normal(size=(60, 8)), rng.normal(size=(2000, 8))

    def fd(rows):
        return frechet_distance_of_features(rows, real)

    resampled = [fd(fake[rng.integers(0, 60, 60)]) for _ in range(200)]
    assert np.quantile(resampled, 0.025) > fd(fake)  # the percentile bootstrap misses its own estimate
    low, high = jackknife_interval(fd, fake, groups=20)
    assert low < fd(fake) < high and (low + high) / 2 == pytest.approx(fd(fake))


def test_rows_are_left_out_together():
    x = np.random.default_rng(5).normal(size=(300, 2))
    x[:, 1] = x[:, 0]  # a statistic of rows sees both columns of the same row
    low, high = jackknife_interval(lambda rows: float(np.abs(rows[:, 0] - rows[:, 1]).max()), x, groups=20)
    assert low == high == 0.0


def test_deterministic_for_a_seed():
    x = np.random.default_rng(6).exponential(size=100)
    first = jackknife_interval(np.median, x, groups=10, seed=7)
    assert jackknife_interval(np.median, x, groups=10, seed=7) == first
    assert jackknife_interval(np.median, x, groups=10, seed=8) != first


@pytest.mark.parametrize("level", [0.0, 1.0, 95.0, -0.5])
def test_level_outside_the_unit_interval_is_refused(level):
    with pytest.raises(BenchboxError, match="in \\(0, 1\\)"):
        jackknife_interval(np.mean, np.arange(10.0), level=level, groups=5)


@pytest.mark.parametrize("n, groups", [(1, 2), (10, 1), (10, 11)])
def test_group_counts_the_rows_cannot_give_are_refused(n, groups):
    with pytest.raises(BenchboxError, match="between 2 and"):
        jackknife_interval(np.mean, np.arange(float(n)), groups=groups)


def test_fd_replicates_refuse_groups_that_leave_a_singular_covariance():
    fake, real = np.random.default_rng(7).normal(size=(20, 16)), np.random.default_rng(8).normal(size=(50, 16))
    with pytest.raises(BenchboxError, match="too few for 16-d features"):
        frechet_replicates(fake, *gaussian_statistics(real), group_labels(20, 2))

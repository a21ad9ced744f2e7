"""Bootstrap interval of a mean against the normal-theory interval."""

import numpy as np
import pytest
from scipy.stats import norm

from benchbox.errors import BenchboxError
from benchbox.metrics.bootstrap import bootstrap_interval


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_interval_of_a_mean_is_close_to_the_normal_interval(level):
    x = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    half = norm.ppf((1 + level) / 2) * x.std(ddof=1) / np.sqrt(len(x))  # mean ± z s/√n
    low, high = bootstrap_interval(np.mean, x, n_boot=2000, level=level, seed=1)
    assert low == pytest.approx(x.mean() - half, abs=0.15 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.15 * half)
    assert high - low == pytest.approx(2 * half, rel=0.1)


def test_rows_are_resampled_together():
    x = np.random.default_rng(2).normal(size=(300, 2))
    x[:, 1] = x[:, 0]  # a statistic of rows sees both columns of the same row
    low, high = bootstrap_interval(lambda rows: float(np.abs(rows[:, 0] - rows[:, 1]).max()), x, n_boot=50)
    assert low == high == 0.0


def test_deterministic_for_a_seed():
    x = np.random.default_rng(3).exponential(size=100)
    first = bootstrap_interval(np.median, x, seed=7)
    assert bootstrap_interval(np.median, x, seed=7) == first
    assert bootstrap_interval(np.median, x, seed=8) != first


@pytest.mark.parametrize("level", [0.0, 1.0, 95.0, -0.5])
def test_level_outside_the_unit_interval_is_refused(level):
    with pytest.raises(BenchboxError, match="in \\(0, 1\\)"):
        bootstrap_interval(np.mean, np.arange(10.0), level=level)


def test_too_few_samples_are_refused():
    with pytest.raises(BenchboxError, match="at least 2"):
        bootstrap_interval(np.mean, np.array([1.0]))

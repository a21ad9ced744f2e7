"""The check's tolerance: closed forms, the false-alarm rate it promises, and the rule for non-finite values."""

import math

import numpy as np
import pytest
from scipy import stats

from benchbox.check.tolerance import (
    BETTER,
    OK,
    REGRESSED,
    SeedStats,
    Tolerance,
    allowed_drift,
    judge,
    seed_stats,
    share_std,
)

TOL = Tolerance()  # k = 3, rel_floor = 0.01, abs_floor = 1e-6


def test_seed_stats_are_the_mean_and_sample_std_of_the_finite_values():
    s = seed_stats([1.0, 2.0, 3.0], higher_is_better=False)
    assert (s.n, s.n_finite, s.mean, s.std, s.worse, s.better) == (3, 3, 2.0, 1.0, 0, 0)
    s = seed_stats([1.0, math.inf, 3.0, math.nan], higher_is_better=False)  # +inf is the worse way for lower-better
    assert (s.n, s.n_finite, s.mean, s.std, s.worse, s.better) == (4, 2, 2.0, math.sqrt(2.0), 2, 0)
    s = seed_stats([5.0, math.inf], higher_is_better=True)  # +inf is the better way for higher-better
    assert (s.worse, s.better, s.std) == (0, 1, 0.0)
    assert seed_stats([0.72, 0.72, 0.72], True).std == 0.0  # equal values: exactly 0, not round-off


def test_allowed_drift_closed_form():
    # values 1, 2, 3: mean 2, std 1; a fresh mean of 3 seeds: 3 · 1 · sqrt(1/3 + 1/3) = sqrt(6)
    assert allowed_drift(TOL, 1.0, 2.0, 3, 3) == pytest.approx(math.sqrt(6.0), rel=1e-15)
    assert allowed_drift(TOL, 1.0, 2.0, 3, 1) == pytest.approx(3 * math.sqrt(4 / 3), rel=1e-15)  # one fresh seed
    assert allowed_drift(TOL, 0.0, 250.0, 3, 3) == 2.5  # std 0: the relative floor, 1% of |mean|
    assert allowed_drift(TOL, 0.0, -250.0, 3, 3) == 2.5
    assert allowed_drift(TOL, 0.0, 0.0, 3, 3) == 1e-6  # and near 0, the absolute floor
    assert allowed_drift(Tolerance(k=2, rel_floor=0.5, abs_floor=0), 1.0, 1.0, 2, 2) == 2.0  # k·std·1 = 2 > 0.5


def test_verdicts_are_one_sided_and_better_means_beyond_noise():
    base = seed_stats([1.0, 2.0, 3.0], higher_is_better=False)  # allowed drift sqrt(6) ≈ 2.449
    up = seed_stats([4.5, 4.4, 4.4], higher_is_better=False)  # mean 4.433: worse by 2.433 < 2.449
    assert judge(base, up, False, TOL).status == OK
    worse = seed_stats([4.5, 4.5, 4.5], higher_is_better=False)  # worse by 2.5 > 2.449
    j = judge(base, worse, False, TOL)
    assert (j.status, j.drift, j.allowed) == (REGRESSED, 2.5, pytest.approx(math.sqrt(6.0)))
    assert judge(base, seed_stats([-0.5] * 3, False), False, TOL).status == BETTER  # better by 2.5
    assert judge(base, seed_stats([0.0] * 3, False), False, TOL).status == OK  # better by 2, within noise
    # higher is better: the same numbers the other way round
    assert judge(seed_stats([1.0, 2.0, 3.0], True), seed_stats([-0.5] * 3, True), True, TOL).status == REGRESSED
    assert judge(base, None, False, TOL).status == REGRESSED  # no longer recorded


def test_false_alarm_rate_is_the_student_t_tail():
    """Under the null (the fresh run is n other seeds of the same model), the statistic
    (fresh mean − baseline mean) / (s · sqrt(1/n + 1/n)) is Student-t with n − 1 degrees of freedom (s from the
    baseline's n seeds), so a value fails with probability P(t_{n−1} > k): 4.8% for n = 3, 2.0% for n = 5."""
    rng = np.random.default_rng(0)
    no_floor = Tolerance(k=3, rel_floor=0, abs_floor=0)
    for n in (3, 5):
        draws = 10_000
        fails = 0
        for base, fresh in zip(rng.normal(10, 2, (draws, n)), rng.normal(10, 2, (draws, n)), strict=True):
            fails += judge(seed_stats(base, False), seed_stats(fresh, False), False, no_floor).status == REGRESSED
        expected = stats.t.sf(3, n - 1)
        assert abs(fails / draws - expected) < 4 * math.sqrt(expected * (1 - expected) / draws), (n, fails / draws)


def test_share_std_is_the_sample_std_of_indicators():
    for count, n in ((0, 3), (1, 3), (2, 5), (5, 5)):
        assert share_std(count, n) == pytest.approx(float(np.std([1] * count + [0] * (n - count), ddof=1)))


def test_non_finite_seeds_are_judged_as_a_share_by_the_same_rule():
    inf, nan = math.inf, math.nan
    # equal infinities pass
    assert judge(seed_stats([inf] * 3, False), seed_stats([inf] * 3, False), False, TOL).status == OK
    # a baseline without non-finite seeds has std 0 for their share: one new one fails (a run that diverged: NaN)
    j = judge(seed_stats([1.0, 1.1, 1.2], False), seed_stats([1.0, nan, 1.2], False), False, TOL)
    assert j.status == REGRESSED and "1 of 3 seeds (baseline 0 of 3)" in j.note
    # a baseline with one of three: share 1/3, std sqrt(1/3), allowed 3·sqrt(1/3)·sqrt(2/3) = sqrt(2) > 1/3 more
    base = seed_stats([2.08, 0.69, inf], False)
    assert judge(base, seed_stats([2.08, inf, inf], False), False, TOL).status == OK
    # everything finite again is better than a baseline that was all infinite
    assert judge(seed_stats([inf] * 3, False), seed_stats([1.0, 2.0, 3.0], False), False, TOL).status == BETTER
    # a good infinity lost is a regression (higher is better, +inf is best)
    j = judge(seed_stats([inf, inf, inf], True), seed_stats([1.0, inf, inf], True), True, TOL)
    assert j.status == REGRESSED and "infinite the better way" in j.note


def test_judgement_of_a_hand_built_summary():
    base = SeedStats(n=3, n_finite=3, mean=100.0, std=0.0, worse=0, better=0)  # allowed: 1% of 100 = 1
    assert judge(base, SeedStats(3, 3, 100.9, 0.0, 0, 0), False, TOL).status == OK
    assert judge(base, SeedStats(3, 3, 101.1, 0.0, 0, 0), False, TOL).status == REGRESSED

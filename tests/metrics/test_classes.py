"""Class coverage and class KL on hand-made logits; NDB's z-test against scipy's chi-square test of the 2×2 table."""

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from benchbox.errors import BenchboxError
from benchbox.metrics.classes import class_kl, classes_covered, ndb, two_proportion_p_values
from benchbox.registry import SCORES


def _logits(labels, classes):
    return 5.0 * np.eye(classes)[labels] + np.random.default_rng(0).normal(scale=0.1, size=(len(labels), classes))


def test_classes_covered_by_hand():
    logits = _logits([0, 0, 0, 2, 2, 4], classes=6)
    assert classes_covered(logits) == 3
    assert classes_covered(logits, min_count=2) == 2
    assert classes_covered(logits, min_count=4) == 0
    assert classes_covered(logits, num_classes=3) == 2  # columns 3.. dropped: the sample of class 4 goes elsewhere


def test_class_kl_by_hand():
    logits = _logits([0, 0, 0, 1], classes=3)  # p̂ = (3/4, 1/4, 0)
    prior = np.array([0.5, 0.25, 0.25])
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.25)
    assert class_kl(logits, prior) == pytest.approx(expected, rel=1e-12)
    assert class_kl(_logits([0, 1, 2, 2], 3), np.array([0.25, 0.25, 0.5])) == pytest.approx(0.0, abs=1e-15)
    assert class_kl(logits, np.array([0.5, 0.0, 0.5])) == math.inf


def test_class_kl_refuses_a_bad_prior():
    with pytest.raises(BenchboxError, match="probability vector"):
        class_kl(_logits([0, 1], 2), np.array([0.7, 0.7]))
    with pytest.raises(BenchboxError, match="same classifier"):
        class_kl(_logits([0, 1], 2), np.array([0.5, 0.25, 0.25]))


def test_classes_family_uses_the_real_argmax_histogram_as_prior():
    fake, real = _logits([0, 0, 1, 1, 1, 1], 4), _logits([0, 1, 1, 2], 4)  # prior (1/4, 1/2, 1/4, 0)
    values = SCORES["classes"].fn(fake, real)
    assert values["classes_covered"] == 2
    assert values["class_kl"] == pytest.approx((1 / 3) * math.log(4 / 3) + (2 / 3) * math.log(4 / 3), rel=1e-12)


@pytest.mark.parametrize("a, n_a, b, n_b", [(30, 200, 45, 250), (5, 100, 1, 80), (120, 1000, 95, 1000)])
def test_z_test_equals_uncorrected_chi_square_of_the_table(a, n_a, b, n_b):
    table = np.array([[a, n_a - a], [b, n_b - b]])
    expected = chi2_contingency(table, correction=False).pvalue
    assert two_proportion_p_values(np.array([a]), n_a, np.array([b]), n_b)[0] == pytest.approx(expected, rel=1e-9)


def test_equal_proportions_are_not_significant():
    assert two_proportion_p_values(np.array([0, 20]), 100, np.array([0, 10]), 50).tolist() == [1.0, 1.0]


def _mixture(rng, n, modes):
    centres = np.array([[np.cos(t), np.sin(t)] for t in 2 * np.pi * np.arange(10) / 10]) * 10
    return centres[rng.choice(modes, size=n)] + rng.normal(size=(n, 2))


def test_same_distribution_gives_few_different_bins():
    rng = np.random.default_rng(1)
    real, fake = _mixture(rng, 2000, np.arange(10)), _mixture(rng, 2000, np.arange(10))
    different, fraction = ndb(fake, real, bins=20, alpha=0.05)
    assert different <= 4  # ≈ α·K = 1 expected
    assert fraction == different / 20


def test_missing_half_the_modes_gives_many_different_bins():
    rng = np.random.default_rng(2)
    real, fake = _mixture(rng, 2000, np.arange(10)), _mixture(rng, 2000, np.arange(5))
    different, _ = ndb(fake, real, bins=20, alpha=0.05)
    assert different >= 16  # every bin is emptied or doubled


def test_ndb_is_deterministic_and_checks_its_settings():
    rng = np.random.default_rng(3)
    real, fake = _mixture(rng, 300, np.arange(10)), _mixture(rng, 300, np.arange(7))
    assert ndb(fake, real, bins=10, seed=4) == ndb(fake, real, bins=10, seed=4)
    values = SCORES["ndb"].fn(fake, real, ndb_bins=10, ndb_alpha=0.01, seed=4, pr_k=3)
    assert (values["ndb"], values["ndb_frac"]) == (ndb(fake, real, bins=10, alpha=0.01, seed=4)[0], values["ndb"] / 10)
    assert SCORES["ndb"].min_samples(2048, ndb_bins=50, pr_k=3) == 50
    with pytest.raises(BenchboxError, match="bins <= 300"):
        ndb(fake, real, bins=500)
    with pytest.raises(BenchboxError, match=r"\(0, 1\)"):
        ndb(fake, real, bins=10, alpha=5)

"""Precision/recall against torch-fidelity; density/coverage against a double loop written from Naeem et al.'s
definitions; limiting cases (a set against itself, a collapsed generator)."""

import math

import numpy as np
import pytest
import torch
from torch_fidelity.metric_prc import calculate_precision_recall_full, calculate_precision_recall_part

from benchbox.errors import BenchboxError
from benchbox.metrics.prdc import density_coverage, precision_recall
from benchbox.registry import SCORES


def _sets(seed, n_fake=200, n_real=150, dim=16):
    rng = np.random.default_rng(seed)
    return rng.normal(0.3, 1.2, size=(n_fake, dim)), rng.normal(size=(n_real, dim))


@pytest.mark.parametrize("k", [1, 3, 7])
def test_precision_recall_match_torch_fidelity(k):
    fake, real = _sets(k)
    f, r = torch.from_numpy(fake), torch.from_numpy(real)
    tf_full = calculate_precision_recall_full(f, r, neighborhood=k, batch_size=10000)  # input1 is generated
    tf_part = calculate_precision_recall_part(f, r, neighborhood=k, batch_size=64)
    # torch-fidelity averages in float32 (.float().mean()): recover its counts, then compare fractions exactly.
    expected = (round(tf_full[0] * len(fake)) / len(fake), round(tf_full[1] * len(real)) / len(real))
    assert tf_full == pytest.approx(expected, abs=1e-7) and tf_part == pytest.approx(expected, abs=1e-7)
    precision, recall = precision_recall(fake, real, k=k)
    assert (precision, recall) == expected
    assert 0 < precision < 1 and 0 < recall < 1  # the comparison is not trivial
    assert precision_recall(f, r, k=k, block=17) == expected  # torch tensors in, small blocks


def _density_coverage_by_loops(fake, real, k):
    """Naeem et al.'s definitions, one pair at a time with math.dist."""
    radii = []
    for x in real:
        others = sorted(math.dist(x, z) for z in real)  # includes x itself at distance 0
        radii.append(others[k])
    inside = [[math.dist(x, y) <= r for x, r in zip(real, radii, strict=True)] for y in fake]
    density = sum(sum(row) for row in inside) / (k * len(fake))
    coverage = sum(any(inside[j][i] for j in range(len(fake))) for i in range(len(real))) / len(real)
    return density, coverage


@pytest.mark.parametrize("k", [2, 5])
def test_density_coverage_match_double_loop(k):
    fake, real = _sets(10 + k, n_fake=60, n_real=55, dim=4)
    density, coverage = density_coverage(fake, real, k=k, block=8)
    assert (density, coverage) == pytest.approx(_density_coverage_by_loops(fake, real, k), abs=1e-12)
    assert 0 < coverage < 1


def test_a_set_against_itself_is_perfect():
    _, real = _sets(0)
    assert precision_recall(real, real) == (1.0, 1.0)
    density, coverage = density_coverage(real, real)
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=0.2)  # each real ball holds k other real points; ≈ 1 on average


def _mixture(rng, n, modes):
    centres = 8.0 * np.stack([np.cos(2 * np.pi * np.arange(5) / 5), np.sin(2 * np.pi * np.arange(5) / 5)], axis=1)
    return centres[rng.choice(modes, size=n)] + rng.normal(scale=0.5, size=(n, 2))


def test_collapsed_generator_has_low_recall_and_coverage():
    rng = np.random.default_rng(5)
    real, fake = _mixture(rng, 500, [0, 1, 2, 3, 4]), _mixture(rng, 500, [0])
    precision, recall = precision_recall(fake, real)
    density, coverage = density_coverage(fake, real)
    assert precision > 0.9 and recall < 0.35
    assert coverage < 0.35
    full_precision, full_recall = precision_recall(_mixture(rng, 500, [0, 1, 2, 3, 4]), real)
    assert full_recall > 0.9 and full_precision > 0.9


def test_k_larger_than_the_set_allows_is_refused():
    fake, real = _sets(1, n_fake=10, n_real=4)
    with pytest.raises(BenchboxError, match="k <= 3"):
        precision_recall(fake, real, k=4)
    with pytest.raises(BenchboxError, match="k <= 3"):
        density_coverage(fake, real, k=5)
    with pytest.raises(BenchboxError, match="k <= 9"):
        precision_recall(fake[:10], fake, k=10)


def test_registered_families_take_their_own_k():
    fake, real = _sets(2, n_fake=40, n_real=40, dim=3)
    settings = {"pr_k": 2, "dc_k": 4, "is_splits": 10}
    pr, dc = SCORES["pr"].fn(fake, real, **settings), SCORES["dc"].fn(fake, real, **settings)
    assert (pr["precision"], pr["recall"]) == precision_recall(fake, real, k=2)
    assert (dc["density"], dc["coverage"]) == density_coverage(fake, real, k=4)


def test_registered_sample_minimum_follows_k():
    assert SCORES["pr"].min_samples(2048, pr_k=3, dc_k=9) == 4
    assert SCORES["dc"].min_samples(2048, pr_k=3, dc_k=9) == 10

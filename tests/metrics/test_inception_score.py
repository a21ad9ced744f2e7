"""Inception Score against torch-fidelity's implementation and against the closed form for one-hot predictions."""

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from benchbox.errors import BenchboxError
from benchbox.metrics.inception_score import inception_score
from benchbox.registry import SCORES


@pytest.mark.parametrize("n, splits", [(500, 10), (503, 7), (40, 1)])
def test_matches_torch_fidelity(n, splits):
    logits = np.random.default_rng(n).normal(scale=3.0, size=(n, 20))
    tf = isc_features_to_metric(torch.from_numpy(logits).float(), splits=splits, shuffle=True, rng_seed=2020)
    mean, std = inception_score(logits.astype(np.float32), splits=splits, seed=2020)
    assert mean == pytest.approx(tf["inception_score_mean"], rel=1e-10)
    assert std == pytest.approx(tf["inception_score_std"], rel=1e-10, abs=1e-12)


def test_unshuffled_matches_torch_fidelity():
    logits = np.random.default_rng(3).normal(size=(100, 5))
    tf = isc_features_to_metric(torch.from_numpy(logits), splits=4, shuffle=False)
    mean, std = inception_score(logits, splits=4, shuffle=False)
    assert (mean, std) == pytest.approx((tf["inception_score_mean"], tf["inception_score_std"]), rel=1e-10)


@pytest.mark.parametrize("scale", [50.0, 1000.0])  # 1000: probabilities of the other classes underflow to exactly 0
def test_confident_predictions_spread_over_k_classes_score_k(scale):
    k, classes, splits = 4, 10, 5
    labels = np.tile(np.arange(k), splits * 6)  # every split holds each of the k classes equally often
    logits = scale * np.eye(classes)[labels]
    # One-hot p(y|x) and uniform p(y) over k classes: KL = log k for every sample, so IS = k exactly.
    mean, std = inception_score(logits, splits=splits, shuffle=False)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0, abs=1e-12)
    assert inception_score(logits, splits=1)[0] == pytest.approx(k, rel=1e-12)


def test_one_class_scores_one():
    logits = np.tile([[9.0, 0.0, -2.0]], (30, 1))
    assert inception_score(logits, splits=3)[0] == pytest.approx(1.0, rel=1e-12)


def test_nan_is_refused():
    logits = np.zeros((20, 4))
    logits[3, 1] = np.nan
    with pytest.raises(BenchboxError, match="NaN"):
        inception_score(logits, splits=2)


def test_more_splits_than_samples_is_refused():
    with pytest.raises(BenchboxError, match="between 1 and 8"):
        inception_score(np.zeros((8, 3)), splits=10)


def test_registered_family():
    score = SCORES["is"]
    assert score.output == "logits" and not score.needs_real
    logits = np.random.default_rng(4).normal(size=(60, 6))
    values = score.fn(logits, None, is_splits=3, seed=1, dc_k=5)
    assert (values["is"], values["is_std"]) == inception_score(logits, splits=3, seed=1)
    assert score.min_samples(1008, is_splits=10, seed=2020) == 10

"""FeatureEvaluation: metric names and directions, class accuracy by hand, and real test images scored as samples."""

import os

import numpy as np
import pytest
import torch

from benchbox.catalogue import value
from benchbox.evaluation.features import FeatureEvaluation, family_values
from benchbox.features import ExtractorOptions
from benchbox.features import domain_classifier as dc
from benchbox.pipeline import class_accuracy
from benchbox.registry import DATASETS, SCORES
from benchmarks.digits import SUITE, TASK

EVALUATION = SUITE.evaluation

CPU = torch.device("cpu")

# Written out from the papers, not read from the code: True where a higher value is better.
DIGITS_VALUES = {
    "fd_digits": False,  # Fréchet distance
    "kid_digits": False,  # MMD²
    "kid_std_digits": False,
    "precision_digits": True,
    "recall_digits": True,
    "density_digits": True,
    "coverage_digits": True,
    "classes_covered_digits": True,
    "class_kl_digits": False,
    "ndb_digits": False,  # number of statistically different bins
    "ndb_frac_digits": False,
}
INCEPTION_VALUES = {"fid": False, "kid": False, "kid_std": False, "is": True, "is_std": False}
MODEL_VALUES = {  # benchbox.model_metrics: lower bits/dim, NFE and time are better; higher PSNR and SSIM
    "nll_bits_per_dim": False,
    "elbo_bits_per_dim": False,
    "psnr": True,
    "ssim": True,
    "nfe_per_sample": False,
    "seconds_per_sample": False,
}


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    """benchbox's digits classifier, trained once into a temporary cache (no downloads) for the module's tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("BENCHBOX_OFFLINE", "1")
        for var in ("BENCHBOX_INCEPTION_WEIGHTS", "BENCHBOX_CLIP_WEIGHTS", "BENCHBOX_DINOV2_WEIGHTS"):
            mp.delenv(var, raising=False)
        yield dc.build_domain_extractor("digits", ExtractorOptions())


class RealImages:
    """A stand-in conditional model whose 'samples' are the digits test images (in [-1, 1]) with their labels."""

    def __init__(self):
        self.test = DATASETS["digits"]("test")
        self.asked = []

    def sample_labeled(self, n, generator):
        self.asked.append(n)
        pick = torch.randperm(len(self.test.labels), generator=generator)[:n]
        return self.test.images[pick].double() / 127.5 - 1.0, self.test.labels[pick]


class Noise:
    """An unconditional stand-in model: uniform noise in [-1, 1]."""

    def sample(self, n, generator):
        return torch.rand(n, 1, 8, 8, generator=generator, dtype=torch.float64) * 2 - 1


# -- class_accuracy ----------------------------------------------------------------------------------------------


def test_class_accuracy_counts_argmax_hits():
    logits = np.array(
        [
            [0.1, 0.9, 0.0],  # argmax 1, label 1: hit
            [2.0, 1.0, 0.0],  # argmax 0, label 2: miss
            [0.0, 0.0, 5.0],  # argmax 2, label 2: hit
            [-1.0, -3.0, -2.0],  # argmax 0, label 0: hit
            [0.3, 0.2, 0.4],  # argmax 2, label 1: miss
        ]
    )
    labels = np.array([1, 2, 2, 0, 1])
    assert class_accuracy(logits, labels) == pytest.approx(3 / 5, abs=0)


def test_class_accuracy_extremes_and_torch_inputs():
    logits = torch.eye(4) * 3
    assert class_accuracy(logits, torch.arange(4)) == 1.0
    assert class_accuracy(logits, torch.tensor([1, 2, 3, 0])) == 0.0


# -- names and directions ----------------------------------------------------------------------------------------


def test_required_values_are_the_domain_families_only():
    assert sorted(EVALUATION.required(TASK)) == sorted(DIGITS_VALUES)
    assert sorted(SUITE.metrics) == sorted(DIGITS_VALUES)


def test_values_name_every_recordable_value_and_the_catalogue_gives_its_direction():
    names = EVALUATION.values(TASK)
    assert len(names) == len(set(names))
    expected = {**DIGITS_VALUES, "class_accuracy_digits": True, **MODEL_VALUES, **INCEPTION_VALUES}
    assert {m: value(m).higher_is_better for m in names} == expected
    # the order of the table: domain values, class accuracy, the model's own values, then Inception's
    assert names.index("class_accuracy_digits") == len(DIGITS_VALUES)
    assert set(names[len(DIGITS_VALUES) + 1 : -len(INCEPTION_VALUES)]) == set(MODEL_VALUES)
    assert set(names[-len(INCEPTION_VALUES) :]) == set(INCEPTION_VALUES)


def test_directions_agree_with_the_registered_families():
    registered = {}
    for family in FeatureEvaluation().families:
        for base in SCORES[family].values:
            registered[f"{base}_digits"] = value(f"{base}_digits").higher_is_better
    assert registered == DIGITS_VALUES
    assert {m: value(m).higher_is_better for m in family_values(("fid", "kid", "is"), "")} == INCEPTION_VALUES


def test_the_tag_follows_the_dataset_name():
    class Task:
        dataset = "fashion-mnist"

    assert EVALUATION.tag(Task()) == "fashion_mnist"
    assert "fd_fashion_mnist" in EVALUATION.required(Task())


# -- evaluate() ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_scored(digits_classifier):
    model = RealImages()
    n = len(model.test.labels)  # all 355 test images
    values = EVALUATION.evaluate(model, TASK, n, torch.Generator().manual_seed(0), CPU, "smoke")
    return model, {v.name: v for v in values}


@pytest.fixture(scope="module")
def noise_scored(digits_classifier):
    values = EVALUATION.evaluate(Noise(), TASK, 355, torch.Generator().manual_seed(0), CPU, "smoke")
    return {v.name: v.value for v in values}


def test_real_images_score_the_classifiers_own_test_accuracy(digits_classifier, real_scored):
    model, scored = real_scored
    assert model.asked == [355]
    test = DATASETS["digits"]("test")
    with torch.inference_mode():  # by hand: the network's arg-max on the test set against its labels
        _, logits = digits_classifier.net(test.images.double().div(127.5).sub(1).float())
    by_hand = (logits.argmax(1) == test.labels).double().mean().item()
    assert by_hand == pytest.approx(dc.accuracy(digits_classifier.net, test), abs=1e-12)
    assert by_hand == pytest.approx(digits_classifier.test_accuracy, abs=1e-12)
    assert scored["class_accuracy_digits"].value == pytest.approx(by_hand, abs=1e-12)
    assert by_hand > 0.9  # the suite's docstring: 98.6%


def test_real_images_score_as_the_real_set(real_scored, noise_scored):
    _, scored = real_scored
    values = {k: v.value for k, v in scored.items()}
    assert set(values) == {*DIGITS_VALUES, "class_accuracy_digits", "seconds_per_sample"}
    assert noise_scored["fd_digits"] > 1.0
    assert abs(values["fd_digits"]) < 1e-6 * noise_scored["fd_digits"]  # the same set: distance 0
    # KID draws fake and real subsets of 300 apart, so they share most images: near 0, not exactly 0
    assert abs(values["kid_digits"]) < 0.05 * noise_scored["kid_digits"]
    # identical sets: every sample lies on a real point and every real point is a sample
    assert values["precision_digits"] == 1.0 and values["recall_digits"] == 1.0
    assert values["coverage_digits"] == 1.0
    assert values["class_kl_digits"] == pytest.approx(0.0, abs=1e-12)  # the same predicted-class histogram
    assert values["ndb_digits"] == 0.0
    assert values["classes_covered_digits"] == 10.0


def test_values_carry_the_classifiers_weights_hash(digits_classifier, real_scored):
    _, scored = real_scored
    in_feature_space = {v.extractor_hash for k, v in scored.items() if k != "seconds_per_sample"}
    assert in_feature_space == {digits_classifier.weights_sha256}
    assert scored["seconds_per_sample"].extractor_hash == ""  # measured on the model, in no feature space


def test_an_unconditional_model_gets_no_class_accuracy(noise_scored):
    assert set(noise_scored) == {*DIGITS_VALUES, "seconds_per_sample"}  # nothing of its own to report


def test_no_inception_values_on_the_smoke_budget(real_scored, noise_scored):
    _, scored = real_scored
    for names in (set(scored), set(noise_scored)):
        assert not names & set(INCEPTION_VALUES)


def test_inception_missing_is_skipped_without_a_download_or_a_change_to_the_environment(digits_classifier, monkeypatch):
    """On the `full` budget Inception is tried with weights on disk only; none in a fresh cache: skipped, no error,
    and no download is even attempted although downloads are allowed in this process."""
    monkeypatch.delenv("BENCHBOX_OFFLINE")
    environment = dict(os.environ)

    def no_download(*args, **kwargs):
        raise AssertionError("a run must not download weights")

    monkeypatch.setattr("benchbox.features.weights.download_atomic", no_download)
    values = EVALUATION.evaluate(Noise(), TASK, 355, torch.Generator().manual_seed(0), CPU, "full")
    assert {v.name for v in values} == {*DIGITS_VALUES, "seconds_per_sample"}
    assert dict(os.environ) == environment  # switched off by an argument, not through the environment


def test_a_model_that_returns_too_few_samples_is_refused(digits_classifier):
    from benchbox.errors import BenchboxError

    class Short(Noise):
        def sample(self, n, generator):
            return super().sample(n - 1, generator)

    with pytest.raises(BenchboxError, match="returned 9 samples for 10 asked"):
        EVALUATION.evaluate(Short(), TASK, 10, torch.Generator().manual_seed(0), CPU, "smoke")

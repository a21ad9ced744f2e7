"""The digits domain classifier: accuracy against a scikit-learn baseline, determinism, the cache, and its checks."""

import logging
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from benchbox.catalogue import value_name as metric_name
from benchbox.checkpoint import save_atomic
from benchbox.data import LabeledImages
from benchbox.data.digits import labeled_data_hash
from benchbox.errors import BenchboxError
from benchbox.features import Extractor, ExtractorOptions
from benchbox.features import domain_classifier as dc
from benchbox.registry import DATASETS, EXTRACTORS

SHORT = replace(dc.default_config("digits"), epochs=3)  # for tests that train again: determinism needs no accuracy


@pytest.fixture(scope="module")
def digits_extractor(tmp_path_factory):
    """benchbox's own digits classifier, trained once into a temporary cache that the module's tests share."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield dc.build_domain_extractor("digits", ExtractorOptions())


def test_is_an_extractor_with_pool_and_logits(digits_extractor):
    ext = digits_extractor
    assert isinstance(ext, Extractor)
    assert (ext.name, ext.canonical, ext.metric_tag) == ("digits", True, "digits")
    assert ext.outputs == {"pool": 128, "logits": 10}
    assert metric_name("fd", ext.metric_tag) == "fd_digits" and metric_name("kid", ext.metric_tag) == "kid_digits"
    assert "x/127.5-1" in ext.preprocessing and "1×8×8" in ext.preprocessing
    out = ext.features(DATASETS["digits"]("test").images[:5])
    assert out["pool"].shape == (5, 128) and out["logits"].shape == (5, 10)
    assert out["pool"].dtype == torch.float32 and bool((out["pool"] >= 0).all())  # after ReLU


def test_reaches_90_percent_and_a_logistic_regression_baseline(digits_extractor):
    train, test = DATASETS["digits"]("train"), DATASETS["digits"]("test")
    logits = digits_extractor.features(test.images)["logits"]
    acc = float((logits.argmax(1) == test.labels).double().mean())
    assert acc == pytest.approx(digits_extractor.test_accuracy, abs=1e-12)
    baseline = LogisticRegression(max_iter=2000).fit(train.images.flatten(1).numpy() / 255.0, train.labels.numpy())
    base_acc = baseline.score(test.images.flatten(1).numpy() / 255.0, test.labels.numpy())
    assert acc >= 0.90 and acc >= base_acc - 0.02, (acc, base_acc)


def test_training_twice_gives_bit_identical_weights_and_leaves_the_global_rng_alone():
    train = DATASETS["digits"]("train")
    rng_before = torch.get_rng_state()
    a, b = dc.train_network(train, SHORT).state_dict(), dc.train_network(train, SHORT).state_dict()
    assert torch.equal(rng_before, torch.get_rng_state())
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = dc.train_network(train, replace(SHORT, seed=1)).state_dict()
    assert not torch.equal(a["head.weight"], c["head.weight"])


def test_second_build_loads_from_the_cache_without_training(digits_extractor, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(dc, "train_network", no_training)
    again = dc.build_domain_extractor("digits", ExtractorOptions())
    assert again.weights_sha256 == digits_extractor.weights_sha256
    assert again.test_accuracy == digits_extractor.test_accuracy
    images = DATASETS["digits"]("test").images[:20]
    assert torch.equal(again.features(images)["pool"], digits_extractor.features(images)["pool"])
    assert list((dc.cache_root() / "domain_classifier").glob("digits-*.pt"))


def test_cache_key_tracks_one_training_image_the_config_and_torch_version(monkeypatch):
    train = DATASETS["digits"]("train")
    key = dc.cache_key(train, SHORT)
    images = train.images.clone()
    images[100, 0, 4, 4] ^= 1
    changed = LabeledImages("digits", "train", images, train.labels, 10, labeled_data_hash(images, train.labels))
    assert dc.cache_key(changed, SHORT) != key
    assert dc.cache_key(train, replace(SHORT, seed=1)) != key
    assert dc.cache_key(train, replace(SHORT, hidden=64)) != key
    monkeypatch.setattr(dc, "torch_minor", lambda: "1.0")
    assert dc.cache_key(train, SHORT) != key


def test_features_do_not_depend_on_the_batch_size(digits_extractor):
    images = DATASETS["digits"]("test").images[:50]
    whole = digits_extractor.features(images)
    parts = [digits_extractor.features(chunk) for chunk in images.split(7)]
    for name in ("pool", "logits"):  # 1e-5 relative to the features' scale: a batch of 1 takes another float32 kernel
        joined, expected = torch.cat([p[name] for p in parts]).numpy(), whole[name].numpy()
        np.testing.assert_allclose(joined, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 3, 8, 8)], ids=["size", "channels"])
def test_images_of_another_shape_are_refused_not_resized(digits_extractor, shape):
    with pytest.raises(BenchboxError, match="1×8×8"):
        digits_extractor.features(torch.zeros(shape, dtype=torch.uint8))


def test_corrupt_cache_file_is_retrained_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BENCHBOX_CACHE", str(tmp_path))
    first = dc.build_domain_extractor("digits", config=SHORT)
    assert not first.canonical and first.metric_tag == "digits_custom"  # not the protocol's config
    (path,) = (tmp_path / "domain_classifier").glob("digits-*.pt")
    path.write_bytes(b"not a torch file")
    with caplog.at_level(logging.WARNING, logger=dc.__name__):
        second = dc.build_domain_extractor("digits", config=SHORT)
    assert "retraining" in caplog.text
    assert second.weights_sha256 == first.weights_sha256 == dc.sha256_of_file(path)


def test_weights_option_is_canonical_only_for_the_cached_file(digits_extractor, tmp_path):
    (own,) = (dc.cache_root() / "domain_classifier").glob("digits-*.pt")
    assert dc.build_domain_extractor("digits", ExtractorOptions(weights=own)).canonical
    state = torch.load(own, weights_only=True)
    state["state_dict"]["head.bias"] = state["state_dict"]["head.bias"] + 0.5
    custom = tmp_path / "custom.pt"
    save_atomic(state, custom)
    with pytest.raises(BenchboxError, match="--custom-weights"):
        dc.build_domain_extractor("digits", ExtractorOptions(weights=custom))
    ext = dc.build_domain_extractor("digits", ExtractorOptions(weights=custom, allow_custom_weights=True))
    assert (ext.canonical, ext.metric_tag) == (False, "digits_custom")
    state["dataset"] = "fashion-mnist"
    save_atomic(state, tmp_path / "other.pt")
    with pytest.raises(BenchboxError, match="not 'digits'"):
        dc.build_domain_extractor("digits", ExtractorOptions(weights=tmp_path / "other.pt", allow_custom_weights=True))


def test_registered_builder_takes_the_dataset_as_variant(digits_extractor):
    ext = EXTRACTORS["domain"]("digits", ExtractorOptions())
    assert ext.weights_sha256 == digits_extractor.weights_sha256
    with pytest.raises(BenchboxError, match="digits"):
        EXTRACTORS["domain"](None, ExtractorOptions())


def test_metric_tag_replaces_dashes():
    net = dc.new_network((1, 28, 28), 10, dc.default_config("fashion-mnist"))
    state = {"input_shape": [1, 28, 28], "test_accuracy": 0.0, "config": {}, "data_hash": ""}
    ext = dc.DomainClassifier("fashion-mnist", net, state, "0" * 64, True, torch.device("cpu"))
    assert ext.metric_tag == "fashion_mnist" and metric_name("fd", ext.metric_tag) == "fd_fashion_mnist"

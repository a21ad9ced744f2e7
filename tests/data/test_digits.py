"""The 8×8 digits against scikit-learn's own copy: scaling, the fixed split, and the data hash."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from benchbox.data.digits import labeled_data_hash, load
from benchbox.errors import BenchboxError
from benchbox.registry import DATASETS


def _reference_split():
    """The split rule written out independently: per class, file order, positions 4, 9, 14, … are test images."""
    raw = load_digits()
    test = np.zeros(len(raw.target), dtype=bool)
    for c in range(10):
        test[np.flatnonzero(raw.target == c)[4::5]] = True
    return raw, test


def test_splits_have_fixed_sizes_all_classes_and_uint8_1x8x8_images():
    train, test = load("train"), load("test")
    assert (len(train.labels), len(test.labels)) == (1442, 355)
    for split in (train, test):
        assert split.images.dtype == torch.uint8 and split.images.shape[1:] == (1, 8, 8)
        assert split.labels.dtype == torch.int64 and split.num_classes == 10
        assert set(split.labels.tolist()) == set(range(10))
    assert (train.name, train.split, test.split) == ("digits", "train", "test")


def test_pixels_are_round_v_times_255_over_16_with_halves_up():
    raw, is_test = _reference_split()
    expected = np.floor(raw.data * 255 / 16 + 0.5).astype(np.uint8).reshape(-1, 1, 8, 8)
    np.testing.assert_array_equal(load("train").images.numpy(), expected[~is_test])
    np.testing.assert_array_equal(load("test").images.numpy(), expected[is_test])
    np.testing.assert_array_equal(load("train").labels.numpy(), raw.target[~is_test])
    np.testing.assert_array_equal(load("test").labels.numpy(), raw.target[is_test])
    assert int(load("train").images.max()) == 255 and 128 in load("train").images  # 16 -> 255, 8 -> 127.5 -> 128


def test_split_is_stratified_about_one_fifth_per_class():
    train, test = load("train"), load("test")
    counts_train = torch.bincount(train.labels, minlength=10)
    counts_test = torch.bincount(test.labels, minlength=10)
    fraction = counts_test.double() / (counts_train + counts_test).double()
    assert torch.all((fraction > 0.19) & (fraction < 0.21))


def test_hash_is_stable_and_tracks_one_pixel_and_one_label():
    train = load("train")
    assert train.data_hash == labeled_data_hash(train.images.clone(), train.labels.clone())
    assert train.data_hash != load("test").data_hash
    images, labels = train.images.clone(), train.labels.clone()
    images[17, 0, 3, 4] ^= 1
    assert labeled_data_hash(images, train.labels) != train.data_hash
    labels[17] = (labels[17] + 1) % 10
    assert labeled_data_hash(train.images, labels) != train.data_hash


def test_unknown_split_names_the_choices():
    with pytest.raises(BenchboxError, match="train, test"):
        load("validation")


def test_registered_as_digits():
    assert DATASETS["digits"] is load

"""The catalogue of recorded values: names in feature spaces, look-ups from recorded names, one definition each."""

import pytest

from benchbox.catalogue import VALUES, Value, lookup, register_values, value, value_name
from benchbox.errors import UnknownNameError


@pytest.mark.parametrize(
    ("name", "base", "tag"),
    [
        ("fid", "fd", ""),  # FD is FID only in canonical Inception space
        ("fd_digits", "fd", "digits"),
        ("fd_inception_custom", "fd", "inception_custom"),  # Inception with weights that are not the published ones
        ("fid_inf", "fd_inf", ""),
        ("fd_inf_fashion_mnist", "fd_inf", "fashion_mnist"),  # the longest base wins: fd_inf's, not fd's
        ("kid", "kid", ""),
        ("kid_std_digits", "kid_std", "digits"),
        ("is_std", "is_std", ""),
        ("class_kl_cifar10", "class_kl", "cifar10"),
        ("classes_covered_digits", "classes_covered", "digits"),
        ("class_accuracy_fashion_mnist", "class_accuracy", "fashion_mnist"),
        ("clip_score_vit_b_32_openai", "clip_score", "vit_b_32_openai"),
        ("nll_bits_per_dim", "nll_bits_per_dim", ""),
        ("modes_covered", "modes_covered", ""),
    ],
)
def test_a_recorded_name_finds_its_definition_and_space(name, base, tag):
    found = lookup(name)
    assert found is not None and (found[0].base, found[1]) == (base, tag)
    assert found[0].name(tag) == name


@pytest.mark.parametrize(
    ("name", "higher_is_better"),
    # directions written out from the papers, not read from the code
    [
        ("fid", False),
        ("kid_digits", False),
        ("is", True),
        ("precision_x", True),
        ("recall_x", True),
        ("coverage_x", True),
        ("ndb_x", False),
        ("reverse_kl", False),
        ("psnr", True),
        ("nfe_per_sample", False),
    ],
)
def test_directions(name, higher_is_better):
    assert value(name).higher_is_better is higher_is_better


def test_fd_is_named_fid_only_without_a_space():
    assert value_name("fd", "") == "fid" and value_name("fd", "digits") == "fd_digits"
    assert value_name("kid", "") == "kid" and value_name("kid", "clip") == "kid_clip"


def test_a_name_is_defined_once_and_an_unknown_one_lists_the_known_patterns():
    taken = next(iter(VALUES.values()))
    with pytest.raises(ValueError, match="defined twice"):
        register_values("another_family", (), Value(taken.base, not taken.higher_is_better, "a clash"))
    assert VALUES[taken.base] == taken  # the first definition stands
    with pytest.raises(UnknownNameError, match=r"unknown recorded value 'no_such_value'.*fd_<space> \(fid in"):
        value("no_such_value")


def test_the_values_a_variant_shares_and_the_trade_off_points_are_marked():
    assert {v.base for v in VALUES.values() if v.of_weights} == {
        "nll_bits_per_dim",
        "elbo_bits_per_dim",
        "psnr",
        "ssim",
    }
    assert {v.base for v in VALUES.values() if v.tradeoff} == {
        "fd",
        "precision",
        "recall",
        "class_accuracy",
        "nfe_per_sample",
        "seconds_per_sample",
    }

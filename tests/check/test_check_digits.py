"""`benchbox check` on an image suite (digits, smoke budget, one model): values in the space of benchbox's digits
classifier, whose weights hash the baseline records; other weights are refused."""

import json

import pytest

from benchbox.cli import main
from benchbox.testing import fails_with

RUN = ["--suite", "digits", "--models", "dcgan", "--jobs", "1"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory, classifier_cache):
    """A dcgan baseline over seeds 0, 1, 2 and the store its runs went to."""
    folder = tmp_path_factory.mktemp("digits")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCHBOX_CACHE", str(classifier_cache))
        patch.setenv("BENCHBOX_OFFLINE", "1")
        baseline, store = folder / "digits-smoke.json", folder / "results.db"
        args = ["--baseline", str(baseline), "--store", str(store), "--update-baseline", "--seeds", "0,1,2"]
        assert main(["-q", "check", *RUN, *args]) == 0
        yield baseline, store


def test_the_baseline_records_the_classifier_weights_and_every_value(digits):
    data = json.loads(digits[0].read_text())
    (cell,) = data["cells"]
    assert cell["model"] == "dcgan" and len(cell["extractor_weights"]) == 1 and len(cell["extractor_weights"][0]) == 64
    assert {"fd_digits", "kid_digits", "precision_digits", "ndb_digits", "nfe_per_sample"} <= set(cell["values"])
    assert "seconds_per_sample" not in cell["values"]  # wall-clock time is left out


@pytest.mark.slow
def test_an_unchanged_image_model_passes(digits, shared_cache, capsys):
    code = main(["-q", "check", *RUN, "--baseline", str(digits[0])])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "digits  dcgan  fd_digits ↓" in out and "REGRESSED" not in out.replace("0 REGRESSED", "")


def test_values_of_other_extractor_weights_are_refused(digits, shared_cache, capsys, tmp_path):
    data = json.loads(digits[0].read_text())
    data["cells"][0]["extractor_weights"] = ["f" * 64]
    path = tmp_path / "other-weights.json"
    path.write_text(json.dumps(data))
    args = ["check", *RUN, "--baseline", str(path), "--store", str(digits[1])]  # the store's runs: nothing is rerun
    fails_with(capsys, args, "feature extractor's weights differ", "ffffffffffff in the baseline")

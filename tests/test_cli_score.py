"""`benchbox score` in process with the cheap "pixels" feature space: JSON and text output against the library's
`score` on the same files, content hashes of the images written here, the feature cache across runs, and one
error line with exit code 2 (and nothing cached) for every bad input."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from benchbox.cli import main
from benchbox.data.images import content_hash
from benchbox.registry import DATASETS
from benchbox.scoring import ScoreSettings, score
from benchbox.testing import PixelExtractor, blocky_images, fails_with


def run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def strict_json(text):
    """json.loads that refuses NaN and Infinity, which RFC 8259 (and jq, JavaScript) do not accept."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def cache_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def save_nhwc(path, images: torch.Tensor):
    np.save(path, images.permute(0, 2, 3, 1).numpy())
    return str(path)


def save_pngs(folder, images: torch.Tensor):
    folder.mkdir()
    for i, im in enumerate(images.permute(0, 2, 3, 1).numpy()):
        Image.fromarray(im).save(folder / f"{i:04d}.png")
    return str(folder)


@pytest.fixture()
def real_images():
    return blocky_images(60, seed=1)


@pytest.fixture()
def fake_images():
    return blocky_images(50, seed=2, tint=30)


@pytest.fixture()
def files(tmp_path, offline_cache, real_images, fake_images):
    return save_pngs(tmp_path / "real", real_images), save_nhwc(tmp_path / "fake.npy", fake_images)


JSON_RUN = ["--feature", "pixels", "--metrics", "fid,kid", "--kid-subset-size", "20", "--json"]


def test_json_output_equals_library_score_and_has_provenance(capsys, files, real_images, fake_images):
    real, fake = files
    code, out, err = run(capsys, "score", real, fake, *JSON_RUN)
    assert code == 0, err
    result = strict_json(out)
    expected = score(real, fake, ["fid", "kid"], "pixels", settings=ScoreSettings(kid_subset_size=20))
    values = {k: v for k, v in result.items() if k != "provenance"}
    assert values == expected.values
    assert set(values) == {"fd_pixels", "kid_pixels", "kid_std_pixels"}
    p = result["provenance"]
    assert p["fake"]["sha256"] == content_hash(fake_images) and p["fake"]["n"] == 50
    assert p["real"]["sha256"] == content_hash(real_images) and p["real"]["n"] == 60
    assert (p["fake"]["source"], p["real"]["source"]) == (fake, real)
    assert p["feature_space"] == "pixels" and p["weights_canonical"] is False
    assert p["settings"]["kid_subset_size"] == 20 and p["settings"]["kid_subsets"] == 100


def test_text_output_lists_the_same_names_and_values(capsys, files):
    real, fake = files
    code, out, _ = run(capsys, "score", real, fake, *JSON_RUN)
    values = {k: v for k, v in strict_json(out).items() if k != "provenance"}
    code, text, err = run(capsys, "score", real, fake, *JSON_RUN[:-1])
    assert code == 0, err
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    assert [row[0] for row in rows] == list(values)
    for name, shown in rows:
        assert float(shown) == pytest.approx(values[name], rel=1e-5)
    assert "# feature space pixels v1" in text and "NOT the" in text  # not the published (canonical) weights
    assert "# 50 generated vs 60 real" in text


def test_second_run_reads_both_sets_from_the_cache(capsys, files, offline_cache):
    real, fake = files
    first = strict_json(run(capsys, "score", real, fake, *JSON_RUN)[1])
    entries = cache_files(offline_cache)
    assert len(entries) == 2  # one per image set
    second = strict_json(run(capsys, "score", real, fake, *JSON_RUN)[1])
    assert (first["provenance"]["fake"]["cached"], first["provenance"]["real"]["cached"]) == (False, False)
    assert (second["provenance"]["fake"]["cached"], second["provenance"]["real"]["cached"]) == (True, True)
    assert {k: v for k, v in second.items() if k != "provenance"} == {
        k: v for k, v in first.items() if k != "provenance"
    }
    assert cache_files(offline_cache) == entries


def test_no_cache_writes_nothing(capsys, files, offline_cache):
    code, out, _ = run(capsys, "score", *files, *JSON_RUN, "--no-cache")
    assert code == 0 and strict_json(out)["provenance"]["fake"]["cached"] is False
    assert cache_files(offline_cache) == []


def test_is_only_without_real_images(capsys, files):
    _, fake = files
    code, out, err = run(capsys, "score", "-", fake, "--feature", "pixels", "--metrics", "is")
    assert code == 0, err
    assert out.splitlines()[0].startswith("is_pixels") and "# 50 generated vs 0 real" in out


def test_real_may_be_a_dataset_name(capsys, tmp_path, offline_cache):
    fake = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (40, 1, 8, 8), dtype=np.uint8))
    path = save_nhwc(tmp_path / "fake.npy", fake)
    code, out, err = run(capsys, "score", "digits:test", path, "--feature", "pixels", "--metrics", "fid", "--json")
    assert code == 0, err
    result = strict_json(out)
    test_images = DATASETS["digits"]("test").images
    assert result["fd_pixels"] == score(test_images, fake, ["fid"], "pixels").values["fd_pixels"]
    assert result["provenance"]["real"]["source"].startswith("dataset digits:test")
    assert result["provenance"]["real"]["sha256"] == content_hash(test_images)
    assert result["provenance"]["real"]["n"] == 355


# one line on stderr, exit code 2, nothing cached


def write_bad_input(kind, tmp_path):
    """A path to an input that must be refused, and a fragment the error line must contain."""
    if kind == "missing":
        return str(tmp_path / "absent"), "does not exist"
    if kind == "empty folder":
        (tmp_path / "empty").mkdir()
        return str(tmp_path / "empty"), "no PNG or JPEG"
    if kind == "corrupt image":
        folder = save_pngs(tmp_path / "corrupt", blocky_images(3, seed=0))
        (tmp_path / "corrupt" / "0001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
        return folder, "0001.png"
    if kind == "float in [0, 1]":
        np.save(tmp_path / "f.npy", np.random.default_rng(0).random((20, 8, 8, 3)).astype(np.float32))
        return str(tmp_path / "f.npy"), "* 255"
    if kind == "NCHW array":
        np.save(tmp_path / "nchw.npy", blocky_images(20, seed=0).numpy())
        return str(tmp_path / "nchw.npy"), "transpose(0, 2, 3, 1)"
    if kind == "4-channel array":
        np.save(tmp_path / "rgba.npy", np.zeros((20, 8, 8, 4), np.uint8))
        return str(tmp_path / "rgba.npy"), "4 channels"
    if kind == "RGBA PNGs":
        (tmp_path / "rgba").mkdir()
        Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA").save(tmp_path / "rgba" / "a.png")
        return str(tmp_path / "rgba"), "RGBA"
    raise AssertionError(kind)


BAD_INPUTS = [
    "missing",
    "empty folder",
    "corrupt image",
    "float in [0, 1]",
    "NCHW array",
    "4-channel array",
    "RGBA PNGs",
]


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("side", ["real", "fake"])
def test_bad_input_is_one_error_line(capsys, files, tmp_path, offline_cache, kind, side):
    bad, fragment = write_bad_input(kind, tmp_path)
    real, fake = (bad, files[1]) if side == "real" else (files[0], bad)
    fails_with(capsys, ["score", real, fake, "--feature", "pixels", "--metrics", "fid"], fragment)
    assert cache_files(offline_cache) == []


@pytest.mark.parametrize(
    "options, fragments",
    [
        (["--feature", "pixel"], ["unknown feature space 'pixel'", "pixels"]),
        (["--metrics", "fid,fidd"], ["unknown metric 'fidd'", "kid"]),
        (["--metrics", ","], ["--metrics is empty"]),
        (["--batch-size", "0"], ["--batch-size", "'0'"]),
        (["--kid-subset-size", "-3"], ["--kid-subset-size"]),
        (["--device", "tpu"], ["--device"]),
    ],
)
def test_bad_option_is_one_error_line(capsys, files, offline_cache, options, fragments):
    fails_with(capsys, ["score", *files, "--feature", "pixels", "--metrics", "fid", *options], *fragments)
    assert cache_files(offline_cache) == []


def test_too_few_samples_for_fd_says_how_many(capsys, tmp_path, files, offline_cache):
    few = save_nhwc(tmp_path / "few.npy", blocky_images(16, seed=3))
    fails_with(capsys, ["score", files[0], few, "--feature", "pixels", "--metrics", "fid"], "at least 17", "got 16")
    assert cache_files(offline_cache) == []


def test_kid_subset_larger_than_sample_count(capsys, files, offline_cache):
    for size, fragments in (("1000", ["at least 1000 generated samples"]), ("51", ["at least 51 generated", "got 50"])):
        fails_with(
            capsys,
            ["score", *files, "--feature", "pixels", "--metrics", "kid", "--kid-subset-size", size],
            *fragments,
            "--kid-subset-size",
        )
    assert cache_files(offline_cache) == []


def test_kid_subset_size_defaults_to_the_smaller_set(capsys, files):
    code, out, err = run(capsys, "score", *files, "--feature", "pixels", "--metrics", "kid")
    assert code == 0, err
    assert "# KID subsets of 50 (the smaller set; min(1000, n_real, n_fake))" in out.splitlines()
    code, out, err = run(capsys, "score", *files, "--feature", "pixels", "--metrics", "kid", "--json")
    assert strict_json(out)["provenance"]["settings"]["kid_subset_size"] == 50
    assert strict_json(out)["provenance"]["kid_subset_size"] == {"used": 50, "rule": "min(1000, n_real, n_fake)"}
    code, out, err = run(capsys, "score", *files, "--feature", "pixels", "--metrics", "kid", "--kid-subset-size", "30")
    assert code == 0 and "KID subsets" not in out


def test_readme_example_against_digits_test_with_default_settings(capsys, tmp_path, offline_cache):
    """`benchbox score digits:test samples.npy` with the default families (fid, kid, is): digits:test has 355
    images, fewer than KID's former fixed subset size of 1000."""
    fake = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (400, 1, 8, 8), dtype=np.uint8))
    code, out, err = run(capsys, "score", "digits:test", save_nhwc(tmp_path / "s.npy", fake), "--feature", "pixels")
    assert code == 0, err
    assert out.splitlines()[1].startswith("kid_pixels") and "# KID subsets of 355 (the smaller set" in out


def test_bootstrap_output_says_what_the_interval_is(capsys, files):
    code, out, err = run(capsys, "score", *files, *JSON_RUN, "--bootstrap", "20")
    assert code == 0, err
    result = strict_json(out)
    record = result["provenance"]["bootstrap"]
    assert "jackknife" in record["method"] and record["level"] == 0.95 and record["groups"] == 20
    assert record["target"].startswith("E[value at n=50 generated samples] against this real set")
    assert set(result["ci95"]) == {"fd_pixels", "kid_pixels"} and record["no_interval"] == ["kid_std_pixels"]
    for name, (low, high) in result["ci95"].items():
        assert low <= result[name] <= high
    code, text, err = run(capsys, "score", *files, *JSON_RUN[:-1], "--bootstrap", "20")
    lines = text.splitlines()
    assert re.match(r"fd_pixels +[0-9.]+  \(95% CI [0-9.]+ \.\. [0-9.]+\)$", lines[0]), lines[0]
    assert re.match(r"kid_std_pixels +[0-9.e-]+$", lines[2]), lines[2]
    assert f"# 95% CI: {record['method']}" in lines and f"# 95% CI target: {record['target']}" in lines
    assert "# no CI for kid_std_pixels: coverage of an interval for these values was not checked" in lines


def test_shape_error_names_the_set_not_the_batch(capsys, tmp_path, offline_cache):
    """40 colour images for the digits classifier (1×8×8), extracted in batches of 16: the error gives N = 40."""
    colour = save_nhwc(tmp_path / "rgb.npy", blocky_images(40, seed=0)[:, :, :8, :8])
    line = fails_with(
        capsys,
        ["score", "digits:test", colour, "--feature", "digits", "--metrics", "is", "--batch-size", "16"],
        "(40, 3, 8, 8)",
    )
    assert "(16," not in line


def test_infinite_with_too_few_samples(capsys, files, offline_cache):
    fails_with(capsys, ["score", *files, "--feature", "pixels", "--metrics", "fid", "--infinite"], "--infinite")
    assert cache_files(offline_cache) == []


def class_split_files(tmp_path):
    """Real images all predicted in one class, generated ones in others: class_kl is +inf by definition."""
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (400, 1, 4, 4), dtype=np.uint8))
    predicted = PixelExtractor().features(x)["logits"].argmax(1)
    majority = int(torch.bincount(predicted).argmax())
    real, fake = x[predicted == majority][:40], x[predicted != majority][:20]
    assert len(real) == 40 and len(fake) >= 10
    return save_nhwc(tmp_path / "real.npy", real), save_nhwc(tmp_path / "fake.npy", fake)


def test_infinite_value_is_printed_as_inf(capsys, tmp_path, offline_cache):
    code, out, err = run(capsys, "score", *class_split_files(tmp_path), "--feature", "pixels", "--metrics", "classes")
    assert code == 0, err
    assert re.search(r"^class_kl_pixels +inf$", out, re.MULTILINE), out


def test_json_with_an_infinite_value_is_still_valid_json(capsys, tmp_path, offline_cache):
    code, out, err = run(
        capsys, "score", *class_split_files(tmp_path), "--feature", "pixels", "--metrics", "classes", "--json"
    )
    assert code == 0, err
    strict_json(out)

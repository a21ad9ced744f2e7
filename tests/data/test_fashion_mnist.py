"""The IDX reader against files written by hand with struct, and Fashion-MNIST from the Debian package if present."""

import gzip
import struct

import numpy as np
import pytest
import torch

from benchbox.data import fashion_mnist
from benchbox.data.fashion_mnist import DEBIAN_FOLDER, ENV_VAR, parse_idx, read_idx
from benchbox.errors import BenchboxError
from benchbox.registry import DATASETS


def idx_bytes(type_code: int, fmt: str, dims: tuple[int, ...], values: list) -> bytes:
    """An IDX file from its definition: 0x0000, type byte, ndim byte, big-endian uint32 dims, big-endian values."""
    header = struct.pack(">HBB", 0, type_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    return header + struct.pack(f">{len(values)}{fmt}", *values)


def write_split(folder, prefix, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    pairs = ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels))
    for name, array in pairs:
        data = idx_bytes(0x08, "B", array.shape, array.ravel().tolist())
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def test_parses_uint8_images_in_row_major_order():
    values = list(range(2 * 3 * 4))
    array = parse_idx(idx_bytes(0x08, "B", (2, 3, 4), values))
    assert array.dtype == np.uint8 and array.shape == (2, 3, 4)
    assert array[1, 2, 3] == 23 and array[0, 1, 0] == 4


def test_parses_big_endian_int32_and_float32():
    ints = parse_idx(idx_bytes(0x0C, "i", (3,), [0x01020304, -2, 7]))
    assert ints.tolist() == [0x01020304, -2, 7]
    floats = parse_idx(idx_bytes(0x0D, "f", (2,), [1.5, -0.25]))
    assert floats.tolist() == [1.5, -0.25]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "shorter than an IDX header"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "magic number 0x00000701"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number"),
        (b"\x00\x00\x08\x00", "magic number"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "ends inside its header"),
        (idx_bytes(0x08, "B", (2, 2), [1, 2, 3, 4])[:-1], "header .* says"),
        (idx_bytes(0x08, "B", (2, 2), [1, 2, 3, 4]) + b"\x00", "header .* says"),
    ],
    ids=["short", "bad-type", "nonzero", "zero-dims", "short-header", "truncated", "trailing"],
)
def test_corrupt_idx_is_refused(data, message):
    with pytest.raises(BenchboxError, match=message):
        parse_idx(data, "test file")


def test_reads_gzip_and_refuses_corrupt_gzip(tmp_path):
    data = idx_bytes(0x08, "B", (3,), [7, 8, 9])
    (tmp_path / "a.gz").write_bytes(gzip.compress(data))
    assert read_idx(tmp_path / "a.gz").tolist() == [7, 8, 9]
    (tmp_path / "b.gz").write_bytes(gzip.compress(data)[:-6])
    with pytest.raises(BenchboxError, match="cannot read"):
        read_idx(tmp_path / "b.gz")


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_loads_a_folder_from_the_env_var(tmp_path, monkeypatch, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    write_split(tmp_path, "t10k", images, labels, gz)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    test = DATASETS["fashion-mnist"]("test")
    assert test.images.shape == (20, 1, 28, 28) and test.images.dtype == torch.uint8
    np.testing.assert_array_equal(test.images[:, 0].numpy(), images)
    assert test.labels.tolist() == labels.tolist() and test.num_classes == 10
    assert (test.name, test.split) == ("fashion-mnist", "test")


def test_mismatched_or_out_of_range_labels_are_refused(tmp_path, monkeypatch):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    write_split(tmp_path, "t10k", images, np.array([0, 1, 2], dtype=np.uint8), gz=False)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(BenchboxError, match="do not belong together"):
        fashion_mnist.load("test")
    other = tmp_path / "other"
    other.mkdir()
    write_split(other, "t10k", images, np.array([0, 1, 2, 10], dtype=np.uint8), gz=False)
    monkeypatch.setenv(ENV_VAR, str(other))
    with pytest.raises(BenchboxError, match="outside 0..9"):
        fashion_mnist.load("test")


def test_missing_files_name_the_package_and_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(BenchboxError, match=r"apt-get install dataset-fashion-mnist.*BENCHBOX_FASHION_MNIST"):
        fashion_mnist.load("train")
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "absent")
    with pytest.raises(BenchboxError, match="apt-get install dataset-fashion-mnist") as info:
        fashion_mnist.load("train")
    assert "\n" not in str(info.value)


def test_unknown_split_names_the_choices():
    with pytest.raises(BenchboxError, match="train, test"):
        fashion_mnist.load("val")


@pytest.mark.skipif(
    not (DEBIAN_FOLDER / "train-images-idx3-ubyte.gz").is_file(), reason="dataset-fashion-mnist is not installed"
)
def test_debian_package_has_60000_balanced_train_images_and_matches_a_plain_reader(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    train = fashion_mnist.load("train")
    assert train.images.shape == (60_000, 1, 28, 28)
    assert torch.bincount(train.labels, minlength=10).tolist() == [6000] * 10
    test = fashion_mnist.load("test")
    with gzip.open(DEBIAN_FOLDER / "t10k-images-idx3-ubyte.gz") as f:  # the layout, read with fixed offsets
        plain = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(10_000, 1, 28, 28)
    with gzip.open(DEBIAN_FOLDER / "t10k-labels-idx1-ubyte.gz") as f:
        plain_labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    np.testing.assert_array_equal(test.images.numpy(), plain)
    np.testing.assert_array_equal(test.labels.numpy(), plain_labels)

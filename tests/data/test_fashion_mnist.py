"""The IDX reader against files written by hand with struct, the search order and the published-data checks against
small folders written here, and Fashion-MNIST from the Debian package if present."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

from benchbox.data import fashion_mnist
from benchbox.data.fashion_mnist import DEBIAN_FOLDER, GZ_MD5, IDX_SHA256, find_folder, parse_idx, read_idx, read_split
from benchbox.errors import BenchboxError
from benchbox.registry import DATASETS

N = 20  # images in a small test split


def idx_bytes(type_code: int, fmt: str, dims: tuple[int, ...], values: list) -> bytes:
    """An IDX file from its definition: 0x0000, type byte, ndim byte, big-endian uint32 dims, big-endian values."""
    header = struct.pack(">HBB", 0, type_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    return header + struct.pack(f">{len(values)}{fmt}", *values)


def small_split(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return images, np.arange(n, dtype=np.uint8) % 10


def write_split(folder, prefix="t10k", images=None, labels=None, gz=True) -> dict[str, bytes]:
    """The split's two IDX files in `folder`; returns their decompressed bytes by name."""
    if images is None:
        images, labels = small_split()
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        data = written[name] = idx_bytes(0x08, "B", array.shape, array.ravel().tolist())
        (folder / (f"{name}.gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return written


def accept_as_published(monkeypatch, written: dict[str, bytes], split="test", n=N) -> None:
    monkeypatch.setattr(fashion_mnist, "SPLIT_SIZES", {"train": n, "test": n} | {split: n})
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in written.items()}
    monkeypatch.setattr(fashion_mnist, "IDX_SHA256", IDX_SHA256 | digests)


@pytest.fixture(autouse=True)
def _env(offline_cache, monkeypatch, tmp_path):
    monkeypatch.delenv("BENCHBOX_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "no-debian-package")


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
def test_read_split_gives_uint8_nchw_images_and_int64_labels(tmp_path, gz):
    images, labels = small_split()
    write_split(tmp_path, "t10k", images, labels, gz)
    test = read_split(tmp_path, "test")
    assert test.images.shape == (N, 1, 28, 28) and test.images.dtype == torch.uint8
    np.testing.assert_array_equal(test.images[:, 0].numpy(), images)
    assert test.labels.dtype == torch.int64 and test.labels.tolist() == labels.tolist()
    assert (test.name, test.split, test.num_classes) == ("fashion-mnist", "test", 10)


def test_mismatched_or_out_of_range_labels_are_refused(tmp_path):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    write_split(tmp_path / "a", "t10k", images, np.array([0, 1, 2], dtype=np.uint8))
    with pytest.raises(BenchboxError, match="do not belong together"):
        read_split(tmp_path / "a", "test")
    write_split(tmp_path / "b", "t10k", images, np.array([0, 1, 2, 10], dtype=np.uint8))
    with pytest.raises(BenchboxError, match="outside 0..9"):
        read_split(tmp_path / "b", "test")


def test_search_order_is_data_dir_then_env_var_then_debian_then_cache(tmp_path, monkeypatch, offline_cache):
    for folder in ("explicit", "env/fashion-mnist", "env", "debian", "bare"):
        write_split(tmp_path / folder)
    cache = offline_cache / "data" / "fashion-mnist"
    write_split(cache)
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "debian")
    assert find_folder("test", tmp_path / "explicit") == tmp_path / "explicit"
    assert find_folder("test", tmp_path / "env") == tmp_path / "env" / "fashion-mnist"  # the subfolder wins
    assert find_folder("test") == tmp_path / "env" / "fashion-mnist"
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "bare"))  # the files straight in $BENCHBOX_DATA
    assert find_folder("test") == tmp_path / "bare"
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "nothing-here"))  # shared by datasets: passed over
    assert find_folder("test") == tmp_path / "debian"
    monkeypatch.delenv("BENCHBOX_DATA")
    assert find_folder("test") == tmp_path / "debian"
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", tmp_path / "absent")
    assert find_folder("test") == cache
    (tmp_path / "explicit" / "t10k-labels-idx1-ubyte.gz").unlink()  # a split needs both its files
    with pytest.raises(
        BenchboxError, match=r"test is not in .*explicit' \(--data-dir\).*t10k-labels-idx1-ubyte\[\.gz\]"
    ):
        find_folder("test", tmp_path / "explicit")  # no fall-back from --data-dir
    with pytest.raises(BenchboxError, match="not in"):
        find_folder("train", tmp_path / "env")  # only the test split was written


def test_offline_with_nothing_found_names_the_three_ways(tmp_path, monkeypatch, offline_cache):
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "empty"))
    with pytest.raises(BenchboxError, match="BENCHBOX_OFFLINE is set") as info:
        DATASETS["fashion-mnist"]("train")
    message = str(info.value)
    cache = offline_cache / "data" / "fashion-mnist"
    for way in (
        "--data-dir DIR",
        "BENCHBOX_DATA=DIR",
        "apt-get install dataset-fashion-mnist",
        str(cache),
        fashion_mnist.URL,
    ):
        assert way in message
    assert "\n" not in message and not cache.exists()


def test_the_public_loader_checks_counts_then_the_published_digests(tmp_path, monkeypatch):
    written = write_split(tmp_path / "d")
    with pytest.raises(BenchboxError, match=f"has {N} images, not 10000"):
        fashion_mnist.load("test", data_dir=tmp_path / "d")
    monkeypatch.setattr(fashion_mnist, "SPLIT_SIZES", {"train": 60_000, "test": N})
    published = IDX_SHA256["t10k-images-idx3-ubyte"]
    with pytest.raises(
        BenchboxError, match=f"t10k-images-idx3-ubyte.gz' decompresses to SHA-256 .* published {published}"
    ):
        fashion_mnist.load("test", data_dir=tmp_path / "d")
    accept_as_published(monkeypatch, written)
    test = fashion_mnist.load("test", data_dir=tmp_path / "d")
    assert test.labels.tolist() == small_split()[1].tolist()
    assert test is fashion_mnist.load("test", data_dir=tmp_path / "d")  # cached per process
    with pytest.raises(BenchboxError, match="no split 'val'.*train, test"):
        fashion_mnist.load("val")


@pytest.mark.parametrize("damage", ["truncated", "flipped-byte"])
def test_a_damaged_gzip_is_refused_in_one_line(tmp_path, monkeypatch, damage):
    accept_as_published(monkeypatch, write_split(tmp_path))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        del data[len(data) // 2 :]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BenchboxError, match="cannot read|decompresses to SHA-256|header .* says") as info:
        fashion_mnist.load("test", data_dir=tmp_path)
    assert "\n" not in str(info.value)


def test_download_is_md5_checked_and_atomic(tmp_path, monkeypatch, offline_cache):
    server = tmp_path / "server"
    written = write_split(server)
    monkeypatch.setattr(fashion_mnist, "URL", server.as_uri() + "/")
    monkeypatch.delenv("BENCHBOX_OFFLINE")
    cache = offline_cache / "data" / "fashion-mnist"
    with pytest.raises(
        BenchboxError, match=r"t10k-images-idx3-ubyte.gz downloaded from file:.* not the published bef4"
    ):
        fashion_mnist.load("test")
    assert list(cache.iterdir()) == []  # neither the file nor a partial one
    md5s = {p.name.removesuffix(".gz"): hashlib.md5(p.read_bytes()).hexdigest() for p in server.iterdir()}
    monkeypatch.setattr(fashion_mnist, "GZ_MD5", GZ_MD5 | md5s)
    accept_as_published(monkeypatch, written)
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes((server / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (server / "t10k-labels-idx1-ubyte.gz").unlink()  # what the cache holds is not fetched again
    assert fashion_mnist.load("test").images.shape == (N, 1, 28, 28)
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert (cache / "t10k-images-idx3-ubyte.gz").read_bytes() == (server / "t10k-images-idx3-ubyte.gz").read_bytes()


needs_debian = pytest.mark.skipif(
    not all((DEBIAN_FOLDER / f"{name}.gz").is_file() for name in GZ_MD5),
    reason="dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


@needs_debian
@pytest.mark.parametrize("name", list(GZ_MD5))
def test_debian_files_are_the_published_ones_with_a_stripped_gzip_header(name):
    """Debian's build drops the file name from the gzip header and resets its mtime; putting the original header back
    (FNAME flag, upstream mtime, the name) over the same deflate stream gives the README's MD5."""
    data = (DEBIAN_FOLDER / f"{name}.gz").read_bytes()
    assert data[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no optional fields: the stream starts at byte 10
    mtime = 0x59A7E9DE if name.startswith("train") else 0x59A7E9F3  # 2017-08-31, as in the upstream repository
    header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + name.encode() + b"\x00"
    assert hashlib.md5(header + data[10:]).hexdigest() == GZ_MD5[name]
    assert hashlib.sha256(gzip.decompress(data)).hexdigest() == IDX_SHA256[name]


@needs_debian
def test_debian_package_passes_the_published_digests_and_matches_a_plain_reader(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", DEBIAN_FOLDER)
    assert find_folder("train") == DEBIAN_FOLDER
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

"""CIFAR-10 against small archives written here in the dataset's own format: Python 2 protocol-2 pickles (byte
strings as BINSTRING, numpy's globals by their numpy 1 names, as the originals were written), emitted opcode by
opcode so that the reader is checked against the format, not against this Python's pickler."""

import io
import os
import pickle
import struct
import tarfile
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from benchbox.data import cifar10
from benchbox.data.cifar10 import ARCHIVE, FOLDER, URL, find_source, md5_of_file, read_split
from benchbox.errors import BenchboxError
from benchbox.registry import DATASETS

N = 3  # images per batch file


class Global(NamedTuple):
    module: str
    name: str


class Reduce(NamedTuple):
    func: Global
    args: tuple
    state: object = None


def array_reduce(a: np.ndarray) -> Reduce:
    """How numpy 1 under Python 2 reduced a uint8 array: _reconstruct(ndarray, (0,), 'b'), then its state."""
    dtype = Reduce(Global("numpy", "dtype"), (b"u1", 0, 1), (3, b"|", None, None, None, -1, -1, 0))
    args = (Global("numpy", "ndarray"), (0,), b"b")
    return Reduce(Global("numpy.core.multiarray", "_reconstruct"), args, (1, a.shape, dtype, False, a.tobytes()))


def py2_pickle(obj: object) -> bytes:
    out = bytearray(b"\x80\x02")  # PROTO 2

    def put(o: object) -> None:
        if isinstance(o, np.ndarray):
            put(array_reduce(o))
        elif isinstance(o, Global):
            out.extend(b"c" + f"{o.module}\n{o.name}\n".encode())  # GLOBAL
        elif isinstance(o, Reduce):
            put(o.func), put(o.args), out.extend(b"R")  # REDUCE
            if o.state is not None:
                put(o.state), out.extend(b"b")  # BUILD
        elif o is None or isinstance(o, bool):
            out.extend({None: b"N", True: b"\x88", False: b"\x89"}[o])
        elif isinstance(o, int):
            out.extend(b"K" + bytes([o]) if 0 <= o < 256 else b"J" + struct.pack("<i", o))  # BININT1 / BININT
        elif isinstance(o, bytes):  # a Python 2 str: SHORT_BINSTRING / BINSTRING
            out.extend((b"U" + bytes([len(o)]) if len(o) < 256 else b"T" + struct.pack("<I", len(o))) + o)
        elif isinstance(o, tuple):
            out.extend(b"("), [put(x) for x in o], out.extend(b"t")  # MARK items TUPLE
        elif isinstance(o, list):
            out.extend(b"]("), [put(x) for x in o], out.extend(b"e")  # EMPTY_LIST MARK items APPENDS
        elif isinstance(o, dict):
            out.extend(b"}(")  # EMPTY_DICT MARK key value ... SETITEMS
            for k, v in o.items():
                put(k), put(v)
            out.extend(b"u")
        else:
            raise TypeError(type(o))

    put(obj)
    return bytes(out + b".")


def planes(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One CIFAR row: the red, green and blue 32×32 planes, each flattened row-major, one after another."""
    return np.concatenate([r.ravel(), g.ravel(), b.ravel()]).astype(np.uint8)


H, W = np.mgrid[0:32, 0:32]
FLAT = planes(np.full((32, 32), 10), np.full((32, 32), 20), np.full((32, 32), 30))
GRADIENT = planes(8 * H, 8 * W, 255 - 4 * (H + W))


def batch(index: int, n: int = N) -> dict:
    rows = np.random.default_rng(index).integers(0, 256, size=(n, 3072), dtype=np.uint8)
    rows[0], rows[1] = FLAT, GRADIENT
    return {
        b"batch_label": f"batch {index}".encode(),
        b"labels": [(index + j) % 10 for j in range(n)],
        b"data": rows,
        b"filenames": [f"img_{index}_{j}.png".encode() for j in range(n)],
    }


def batch_files(dump=py2_pickle, **replace: bytes) -> dict[str, bytes]:
    files = {f"data_batch_{i}": dump(batch(i)) for i in range(1, 6)} | {"test_batch": dump(batch(0))}
    meta = {b"num_cases_per_batch": N, b"label_names": [b"airplane", b"automobile"], b"num_vis": 3072}
    return files | {"batches.meta": dump(meta)} | replace


def write_archive(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / ARCHIVE, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return folder / ARCHIVE


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    (folder / FOLDER).mkdir(parents=True)
    for name, data in files.items():
        (folder / FOLDER / name).write_bytes(data)
    return folder / FOLDER


@pytest.fixture(autouse=True)
def _env(offline_cache, monkeypatch):
    monkeypatch.delenv("BENCHBOX_DATA", raising=False)


def test_the_hand_written_stream_is_what_the_standard_unpickler_reads():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 keeps numpy.core only as a shim
        plain = pickle.loads(py2_pickle(batch(2)), encoding="bytes")
    np.testing.assert_array_equal(plain[b"data"], batch(2)[b"data"])
    assert plain[b"labels"] == [2, 3, 4] and plain[b"filenames"][0] == b"img_2_0.png"


@pytest.mark.parametrize("write", [write_archive, write_folder], ids=["archive", "folder"])
def test_rows_decode_to_rgb_planes_and_labels_in_batch_order(tmp_path, write):
    source = write(tmp_path, batch_files())
    test = read_split(source, "test")
    assert test.images.shape == (N, 3, 32, 32) and test.images.dtype == torch.uint8
    assert test.labels.dtype == torch.int64 and test.labels.tolist() == [0, 1, 2]
    assert [int(test.images[0, c].unique()) for c in range(3)] == [10, 20, 30]
    gradient = test.images[1].numpy().astype(int)
    np.testing.assert_array_equal(gradient[0], 8 * H)  # red varies down the rows,
    np.testing.assert_array_equal(gradient[1], 8 * W)  # green along them,
    np.testing.assert_array_equal(gradient[2], 255 - 4 * (H + W))  # blue along both
    train = read_split(source, "train")
    assert train.images.shape == (5 * N, 3, 32, 32) and (train.name, train.split, train.num_classes) == (
        "cifar10",
        "train",
        10,
    )
    assert train.labels.tolist() == [(i + j) % 10 for i in range(1, 6) for j in range(N)]
    np.testing.assert_array_equal(train.images[N + 2].numpy().reshape(-1), batch(2)[b"data"][2])
    assert train.data_hash == read_split(source, "train").data_hash != test.data_hash


def test_a_protocol_2_pickle_written_by_python_3_is_read(tmp_path):
    source = write_archive(tmp_path, batch_files(dump=lambda obj: pickle.dumps(obj, protocol=2)))
    assert read_split(source, "test").labels.tolist() == [0, 1, 2]


class RunsCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_pickle_that_would_run_a_command_is_refused_unexecuted(tmp_path, protocol):
    marker = tmp_path / "ran"
    evil = batch(0) | {b"data": RunsCommand(marker)}
    source = write_archive(tmp_path, batch_files(test_batch=pickle.dumps(evil, protocol=protocol)))
    with pytest.raises(BenchboxError, match=r"asks to call global (posix|os)\.system.*may be malicious"):
        read_split(source, "test")
    assert not marker.exists()


@pytest.mark.parametrize(
    "evil",
    [{b"x": (eval, ("1",))}, {b"x": (np.load, ("x",))}, {b"x": (__import__("codecs").encode, ("x", "rot13"))}],
    ids=["builtins.eval", "numpy.load", "rot13"],
)
def test_only_numpy_array_globals_and_latin1_bytes_are_allowed(tmp_path, evil):
    class Call:
        def __reduce__(self):
            return evil[b"x"]

    source = write_archive(tmp_path, batch_files(test_batch=pickle.dumps({b"data": Call()}, protocol=2)))
    with pytest.raises(BenchboxError, match="asks to call"):
        read_split(source, "test")


@pytest.mark.parametrize(
    "content, message",
    [
        (py2_pickle(batch(0))[:-40], "not a readable pickle"),
        (py2_pickle(batch(0) | {b"labels": [0, 1, 10]}), r"labels in \[0, 10\]"),
        (py2_pickle(batch(0) | {b"labels": [0, 1]}), "3 images but b'labels'"),
        (py2_pickle(batch(0) | {b"data": np.zeros((3, 3071), np.uint8)}), "not a uint8 N×3072"),
        (py2_pickle([1, 2]), "b'data' NoneType"),
    ],
    ids=["truncated-pickle", "label-range", "label-count", "row-width", "not-a-dict"],
)
def test_malformed_batches_are_refused(tmp_path, content, message):
    source = write_archive(tmp_path, batch_files(test_batch=content))
    with pytest.raises(BenchboxError, match=message):
        read_split(source, "test")


@pytest.mark.parametrize("keep", [0.5, 0.97, 30], ids=["half", "most", "30-bytes"])
def test_a_truncated_archive_is_refused_in_one_line(tmp_path, keep):
    path = write_archive(tmp_path, batch_files())
    data = path.read_bytes()
    path.write_bytes(data[: int(keep * len(data)) if keep < 1 else keep])
    with pytest.raises(BenchboxError, match="cannot read|has no batch file") as info:
        read_split(path, "train")
    assert "\n" not in str(info.value)


def test_search_order_is_data_dir_then_env_var_then_cache(tmp_path, monkeypatch, offline_cache):
    files = {"test_batch": b""}
    explicit = write_archive(tmp_path / "explicit", files)
    env = write_folder(tmp_path / "env", files)
    cached = write_archive(offline_cache / "data", files)
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "env"))
    assert find_source(tmp_path / "explicit") == explicit
    assert find_source() == env
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "nothing-here"))  # shared by datasets: passed over
    assert find_source() == cached
    monkeypatch.delenv("BENCHBOX_DATA")
    assert find_source() == cached
    write_folder(offline_cache / "data", files)
    assert find_source() == cached  # the archive, which has a published MD5, wins over the folder
    with pytest.raises(BenchboxError, match=r"not in .*nothing-here' \(--data-dir\)"):  # no fall-back from it
        find_source(tmp_path / "nothing-here")


def test_offline_with_nothing_found_names_the_three_ways(tmp_path, monkeypatch, offline_cache):
    monkeypatch.setenv("BENCHBOX_DATA", str(tmp_path / "empty"))
    with pytest.raises(BenchboxError, match="BENCHBOX_OFFLINE is set") as info:
        DATASETS["cifar10"]("test")
    message = str(info.value)
    for way in ("--data-dir", "BENCHBOX_DATA=", str(offline_cache / "data" / ARCHIVE), URL):
        assert way in message
    assert "\n" not in message and not (offline_cache / "data").exists()


def test_the_public_loader_checks_the_published_md5_and_counts(tmp_path, monkeypatch):
    archive = write_archive(tmp_path / "a", batch_files())
    with pytest.raises(BenchboxError, match=r"has MD5 \w+, not the published c58f30108f718f92721af3b95e74349a"):
        cifar10.load("test", data_dir=tmp_path / "a")
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", md5_of_file(archive))
    with pytest.raises(BenchboxError, match="has 3 images, not 10000"):
        cifar10.load("test", data_dir=tmp_path / "a")
    write_folder(tmp_path / "f", batch_files())
    with pytest.raises(BenchboxError, match="batch test_batch .* not the published 40351d587109b95175f43aff81a1287e"):
        cifar10.load("test", data_dir=tmp_path / "f")
    monkeypatch.setattr(cifar10, "SPLIT_SIZES", {"train": 5 * N, "test": N})
    assert cifar10.load("test", data_dir=tmp_path / "a").labels.tolist() == [0, 1, 2]
    with pytest.raises(BenchboxError, match="no split 'valid'.*train, test"):
        cifar10.load("valid")


def test_download_is_md5_checked_and_atomic(tmp_path, monkeypatch, offline_cache):
    archive = write_archive(tmp_path / "server", batch_files())
    monkeypatch.setattr(cifar10, "URL", archive.as_uri())
    monkeypatch.delenv("BENCHBOX_OFFLINE")
    with pytest.raises(BenchboxError, match="downloaded from file:.* has MD5 .* not the published c58f"):
        cifar10.load("test")
    assert list((offline_cache / "data").iterdir()) == []  # neither the archive nor a partial file
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", md5_of_file(archive))
    monkeypatch.setattr(cifar10, "SPLIT_SIZES", {"train": 5 * N, "test": N})
    assert cifar10.load("train").images.shape == (5 * N, 3, 32, 32)
    assert [p.name for p in (offline_cache / "data").iterdir()] == [ARCHIVE]
    assert (offline_cache / "data" / ARCHIVE).read_bytes() == archive.read_bytes()

"""Fashion-MNIST (Xiao et al. 2017) from its IDX files: 60,000 train and 10,000 test uint8 1×28×28 images, 10 classes.

The files are looked for in $BENCHBOX_FASHION_MNIST (a folder), else in the Debian package's folder
(`apt-get install dataset-fashion-mnist`). Each file may be plain or gzip'd (`name` or `name.gz`). The IDX format
(LeCun's MNIST page): two zero bytes, a type byte, a byte with the number of dimensions, then each dimension as a
big-endian uint32, then the values in row-major order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from benchbox.data import LabeledImages
from benchbox.data.digits import labeled_data_hash
from benchbox.errors import BenchboxError
from benchbox.registry import register_dataset

ENV_VAR = "BENCHBOX_FASHION_MNIST"
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
NUM_CLASSES = 10
FILES = {  # split -> (images file, labels file), as the dataset publishes them
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_TYPES = {  # type byte -> numpy dtype (big-endian)
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
INSTALL_HINT = f"run `apt-get install dataset-fashion-mnist`, or set {ENV_VAR} to a folder with the IDX files"


def parse_idx(data: bytes, what: str = "IDX data") -> np.ndarray:
    """Decode an IDX file's bytes into an array of its type and dimensions (native byte order)."""
    if len(data) < 4:
        raise BenchboxError(f"{what} is {len(data)} bytes long, shorter than an IDX header", "the file is truncated")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in IDX_TYPES or ndim == 0:
        raise BenchboxError(
            f"{what} has magic number 0x{data[:4].hex()}, not an IDX header",
            "the file is corrupt or not an IDX file; fetch the dataset again",
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise BenchboxError(f"{what} ends inside its header", "the file is truncated; fetch the dataset again")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise BenchboxError(
            f"{what} is {len(data)} bytes, but its header {dims} says {expected}",
            "the file is truncated or corrupt; fetch the dataset again",
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    """Read a plain or gzip'd (by the .gz suffix) IDX file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchboxError(f"cannot read '{path}' ({exc})", "the file is corrupt; fetch the dataset again") from exc
    return parse_idx(data, f"'{path}'")


def data_folder() -> Path:
    """$BENCHBOX_FASHION_MNIST if set (and then only it), else the Debian package's folder."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    return DEBIAN_FOLDER


def find_file(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    origin = f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the Debian package's folder"
    raise BenchboxError(f"Fashion-MNIST file {name}[.gz] is not in '{folder}' ({origin})", INSTALL_HINT)


def check_pair(images: np.ndarray, labels: np.ndarray, what: str) -> None:
    """Images uint8 N×28×28 and labels uint8 N in 0..9, as the dataset publishes them."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BenchboxError(f"{what} images are {images.dtype} {images.shape}, not uint8 N×28×28", INSTALL_HINT)
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise BenchboxError(
            f"{what} has {len(images)} images but labels {labels.dtype} {labels.shape}",
            "the files do not belong together",
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise BenchboxError(f"{what} has label {labels.max()}, outside 0..9", "the labels file is corrupt")


@lru_cache(maxsize=2)
def _split(folder: Path, split: str) -> LabeledImages:
    images_name, labels_name = FILES[split]
    images = read_idx(find_file(folder, images_name))
    labels = read_idx(find_file(folder, labels_name))
    check_pair(images, labels, f"Fashion-MNIST {split} in '{folder}'")
    x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return LabeledImages("fashion-mnist", split, x, y, NUM_CLASSES, labeled_data_hash(x, y))


@register_dataset("fashion-mnist")
def load(split: str) -> LabeledImages:
    """One split ("train" or "test"): uint8 N×1×28×28 images, int64 labels 0..9. Cached per process; read-only."""
    if split not in FILES:
        raise BenchboxError(f"fashion-mnist has no split '{split}'", f"choose one of: {', '.join(FILES)}")
    return _split(data_folder(), split)

"""Fashion-MNIST (Xiao et al. 2017) from its IDX files: 60,000 train and 10,000 test uint8 1×28×28 images, 10 classes.

A split's two files (images, labels) are looked for, in order: in the folder passed as `data_dir` (the CLI's
--data-dir; it must hold them), in $BENCHBOX_DATA, in the Debian package's folder (`apt-get install
dataset-fashion-mnist`), in benchbox's cache folder `cache_root()/data/fashion-mnist`. `data_dir` and $BENCHBOX_DATA
may hold the files themselves or in a `fashion-mnist/` subfolder (the subfolder wins); a $BENCHBOX_DATA without them
is passed over, as it is shared by datasets. Each file may be plain or gzip'd (`name` or `name.gz`; plain wins).
Found nowhere, the split's .gz files are downloaded from the canonical source into the cache folder (atomically, MD5
checked) unless BENCHBOX_OFFLINE is set. The public loader insists on the published data: each decompressed file's
SHA-256 and the split's image count; `read_split` leaves both unchecked so tests can read small files.

The IDX format (LeCun's MNIST page): two zero bytes, a type byte, a byte with the number of dimensions, then each
dimension as a big-endian uint32, then the values in row-major order, big-endian.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from benchbox.data import LabeledImages, data_dir_option
from benchbox.data.digits import labeled_data_hash
from benchbox.errors import BenchboxError
from benchbox.features.weights import cache_root
from benchbox.io import download_atomic, file_digest
from benchbox.registry import register_dataset

log = logging.getLogger(__name__)

ENV_VAR = "BENCHBOX_DATA"
SUBFOLDER = "fashion-mnist"  # under $BENCHBOX_DATA, --data-dir and the cache folder
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # the README's download links: URL + name.gz
NUM_CLASSES = 10
FILES = {  # split -> (images file, labels file), as the dataset publishes them
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
GZ_MD5 = {  # the .gz files' MD5s, published in the Fashion-MNIST README
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
# SHA-256 of the decompressed files (a .gz's digest changes with its header, these do not). Computed from Debian's
# dataset-fashion-mnist 0.0~git20200523.55506a9-1, whose .gz files differ from the published ones only in the gzip
# header (file name dropped, mtime reset at build time); restoring the header (name; mtime 0x59a7e9de train, 0x59a7e9f3
# t10k) gives exactly the MD5s above, and the labels .gz in the upstream repository's data/fashion/ have them as is.
IDX_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
IDX_TYPES = {  # type byte -> numpy dtype (big-endian)
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_IDX_BYTES = 1 << 26  # the largest file (train images) is 47 MB decompressed; refuse to read a gzip bomb
REFETCH_HINT = f"the file is truncated or corrupt; delete it and fetch the dataset again ({URL})"


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


def read_idx_bytes(path: Path) -> bytes:
    """A plain or gzip'd (by the .gz suffix) file's decompressed bytes; gzip's CRC is checked, bombs refused."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            data = f.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchboxError(f"cannot read '{path}' ({type(exc).__name__}: {exc})", REFETCH_HINT) from None
    if len(data) > MAX_IDX_BYTES:
        raise BenchboxError(
            f"'{path}' holds over {MAX_IDX_BYTES} bytes, more than any Fashion-MNIST file", REFETCH_HINT
        )
    return data


def read_idx(path: Path) -> np.ndarray:
    """Read a plain or gzip'd (by the .gz suffix) IDX file."""
    return parse_idx(read_idx_bytes(path), f"'{path}'")


def check_pair(images: np.ndarray, labels: np.ndarray, what: str) -> None:
    """Images uint8 N×28×28 and labels uint8 N in 0..9, as the dataset publishes them."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BenchboxError(f"{what} images are {images.dtype} {images.shape}, not uint8 N×28×28", REFETCH_HINT)
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise BenchboxError(
            f"{what} has {len(images)} images but labels {labels.dtype} {labels.shape}",
            "the files do not belong together",
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise BenchboxError(f"{what} has label {labels.max()}, outside 0..9", "the labels file is corrupt")


def file_in(folder: Path, name: str) -> Path | None:
    """`folder/name` or `folder/name.gz`, whichever is there first, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def holding(folders: tuple[Path, ...], split: str) -> Path | None:
    """The first of `folders` that holds both of the split's files."""
    return next((f for f in folders if all(file_in(f, name) for name in FILES[split])), None)


def read_split(folder: Path, split: str, verify: bool = False) -> LabeledImages:
    """One split from the IDX files in `folder`. `verify` insists on the published files: the split's image count and
    each decompressed file's SHA-256; without it any well-formed pair is read (small test files)."""
    what = f"Fashion-MNIST {split} in '{folder}'"
    found = []
    for name in FILES[split]:
        path = file_in(folder, name)
        if path is None:
            raise BenchboxError(f"{what}: file {name}[.gz] is missing", f"put it there, from {URL}{name}.gz")
        found.append((name, path, read_idx_bytes(path)))
    images, labels = (parse_idx(data, f"'{path}'") for _, path, data in found)
    check_pair(images, labels, what)
    if verify and len(images) != SPLIT_SIZES[split]:
        raise BenchboxError(
            f"{what} has {len(images)} images, not {SPLIT_SIZES[split]}",
            f"these are not the published files; fetch them from {URL}",
        )
    for name, path, data in found if verify else ():
        if (digest := hashlib.sha256(data).hexdigest()) != IDX_SHA256[name]:
            raise BenchboxError(
                f"'{path}' decompresses to SHA-256 {digest}, not the published {IDX_SHA256[name]}",
                f"the file is corrupt or another version; delete it and fetch {URL}{name}.gz again",
            )
    x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return LabeledImages("fashion-mnist", split, x, y, NUM_CLASSES, labeled_data_hash(x, y))


def cache_folder() -> Path:
    return cache_root() / "data" / SUBFOLDER


def ways_hint(cache: Path) -> str:
    return (
        f"pass --data-dir DIR or set {ENV_VAR}=DIR for a folder holding the IDX files (plain or .gz, there or under "
        f"{SUBFOLDER}/), or run `apt-get install dataset-fashion-mnist`, or put the .gz files in {cache} (from {URL})"
    )


def find_folder(split: str, data_dir: str | Path | None = None) -> Path:
    """The folder to read `split` from: `data_dir` (which must hold it), then $BENCHBOX_DATA, then the Debian folder,
    then the cache folder, then a download into the cache folder (not when BENCHBOX_OFFLINE is set)."""
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        folder = holding((base / SUBFOLDER, base), split)
        if folder is None:
            names = " and ".join(f"{name}[.gz]" for name in FILES[split])
            raise BenchboxError(
                f"Fashion-MNIST {split} is not in '{base}' (--data-dir)", f"put {names} there or in {SUBFOLDER}/"
            )
        return folder
    env = Path(os.environ[ENV_VAR]).expanduser() if os.environ.get(ENV_VAR) else None
    cache = cache_folder()
    folders = ((env / SUBFOLDER, env) if env else ()) + (DEBIAN_FOLDER, cache)
    folder = holding(folders, split)
    if folder is not None:
        if env is not None and folder not in (env, env / SUBFOLDER):
            log.info("Fashion-MNIST %s is not in $%s (%s); using %s", split, ENV_VAR, env, folder)
        return folder
    if os.environ.get("BENCHBOX_OFFLINE"):
        searched = f"${ENV_VAR} ('{env}'), " if env else ""
        raise BenchboxError(
            f"Fashion-MNIST {split} is not in {searched}the Debian folder '{DEBIAN_FOLDER}' or the cache folder "
            f"'{cache}', and BENCHBOX_OFFLINE is set",
            ways_hint(cache),
        )
    for name in FILES[split]:
        if file_in(cache, name) is None:
            download(name, cache / f"{name}.gz")
    return cache


def md5_of_file(path: Path) -> str:
    return file_digest(path, "md5")


def download(name: str, dest: Path) -> None:
    """Fetch `name`.gz from the canonical source into `dest` atomically; an MD5 mismatch leaves nothing behind."""
    url = f"{URL}{name}.gz"
    log.info("downloading Fashion-MNIST %s.gz from %s to %s", name, url, dest)

    def verify(path: Path) -> None:
        digest = md5_of_file(path)
        if digest != GZ_MD5[name]:
            raise BenchboxError(
                f"{name}.gz downloaded from {url} has MD5 {digest}, not the published {GZ_MD5[name]}",
                "the download is corrupt or the file changed; retry, or " + ways_hint(dest.parent),
            )

    download_atomic(url, dest, f"Fashion-MNIST {name}.gz", ways_hint(dest.parent), verify)


@lru_cache(maxsize=2)
def _published_split(folder: Path, split: str) -> LabeledImages:
    return read_split(folder, split, verify=True)


@register_dataset("fashion-mnist")
def load(split: str, data_dir: str | Path | None = None) -> LabeledImages:
    """One split ("train" or "test"): uint8 N×1×28×28 images, int64 labels 0..9, checked against the published
    files. `data_dir` is a folder holding the IDX files. Cached per process; read-only."""
    if split not in FILES:
        raise BenchboxError(f"fashion-mnist has no split '{split}'", f"choose one of: {', '.join(FILES)}")
    return _published_split(find_folder(split, data_dir or data_dir_option()).resolve(), split)

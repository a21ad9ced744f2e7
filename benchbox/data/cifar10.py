"""CIFAR-10 (Krizhevsky 2009) from the canonical python archive: 50,000 train and 10,000 test uint8 3×32×32 images,
10 classes.

Looked for, in order: the folder passed as `data_dir` (the CLI's --data-dir; it must hold the data), the folder in
$BENCHBOX_DATA, benchbox's cache folder `cache_root()/data`. Each may hold the archive `cifar-10-python.tar.gz`
(read in place, never extracted) or its extracted folder `cifar-10-batches-py/`; the archive wins where both are.
Found nowhere, the archive is downloaded into the cache folder (atomically, MD5 checked) unless BENCHBOX_OFFLINE is
set. The public loader insists on the published data: the archive's MD5 (or each extracted batch file's MD5) and the
split's image count; `read_split` leaves both unchecked so tests can read small archives of the same format.

The format (Krizhevsky's CIFAR page): each batch file is a Python 2 pickle (protocol 2) of a dict with byte-string
keys; b"data" is a uint8 N×3072 numpy array whose rows hold an image's red, green and blue 32×32 planes, each in
row-major order, and b"labels" a list of N ints in 0..9. Train is data_batch_1..5 (10,000 images each), test is
test_batch. Loading a pickle can run code, so `BatchUnpickler` resolves only the globals that a numpy array needs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import tarfile
import zlib
from collections.abc import Mapping, Sequence
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

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"  # the archive's one top-level folder
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR page
BATCH_MD5 = {  # the extracted files' MD5s, as torchvision checks them (the CIFAR page publishes only the archive's)
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
ENV_VAR = "BENCHBOX_DATA"
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
SPLIT_SIZES = {"train": 50_000, "test": 10_000}
NUM_CLASSES = 10
PIXELS = 3 * 32 * 32
MAX_BATCH_BYTES = 1 << 26  # a batch of 10,000 images is about 31 MB; refuse to read a bomb into memory
REFETCH_HINT = f"the file is truncated or corrupt; delete it and fetch {URL} again"


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a callable outside the few a CIFAR batch needs."""


def _latin1_encode(text: object, encoding: object = "utf-8") -> bytes:
    """`_codecs.encode(text, "latin1")`, the way Python 3 writes bytes at protocol 2; no other codec."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise RefusedGlobal(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin-1")


_RECONSTRUCT = np.zeros(0).__reduce__()[0]  # numpy's array rebuilder, wherever this numpy version keeps it
ALLOWED_GLOBALS = {  # (module, name) as written in the pickle -> what it may resolve to
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 1 (and the Python 2 originals)
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # numpy 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,  # bytes in a protocol-2 pickle written by Python 3
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds dicts, lists, numbers, byte strings and numpy arrays, and calls nothing else."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"global {module}.{name}") from None


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_of_file(path: Path) -> str:
    return file_digest(path, "md5")


def decode_batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch file's bytes -> (uint8 N×3×32×32 images, int64 N labels in 0..9); anything else is refused."""
    try:
        batch = BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except RefusedGlobal as exc:
        raise BenchboxError(
            f"{what} asks to call {exc} while unpickling, which a CIFAR batch never does",
            f"the file is not a CIFAR-10 batch and may be malicious; delete it and fetch {URL} again",
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise BenchboxError(f"{what} is not a readable pickle ({type(exc).__name__}: {exc})", REFETCH_HINT) from None
    images = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS:
        found = f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray) else type(images).__name__
        raise BenchboxError(f"{what} has b'data' {found}, not a uint8 N×{PIXELS} array", REFETCH_HINT)
    try:
        labels = np.asarray(labels)
    except (ValueError, TypeError, OverflowError):  # ragged or unconvertible: refused just below
        labels = np.asarray(None)
    if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
        raise BenchboxError(
            f"{what} has {len(images)} images but b'labels' {labels.dtype} {labels.shape}", REFETCH_HINT
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise BenchboxError(f"{what} has labels in [{labels.min()}, {labels.max()}], not 0..9", REFETCH_HINT)
    return images.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def unsafe_member(member: tarfile.TarInfo) -> str:
    """What would let a member land outside the folder an archive is extracted to (an absolute name, a '..' part, a
    link) or make it something other than a file or folder; '' for a plain member."""
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute name"
    if ".." in name.split("/"):
        return "a '..' in its name"
    if member.issym() or member.islnk():
        return f"a link to {member.linkname!r}"
    if not (member.isfile() or member.isdir()):
        return "a device or other special file"
    return ""


def read_files(source: Path, names: Sequence[str]) -> dict[str, bytes]:
    """The named batch files' bytes, from the archive (read in place, never extracted) or from the extracted folder.
    An archive with a member that could be written outside a folder is refused, before any batch is decoded."""
    found: dict[str, bytes] = {}
    try:
        if source.is_dir():
            for name in names:
                path = source / name
                if path.is_file() and path.stat().st_size <= MAX_BATCH_BYTES:
                    found[name] = path.read_bytes()
        else:
            wanted = {f"{FOLDER}/{name}": name for name in names}
            with tarfile.open(source, "r:gz") as tar:
                for member in tar:
                    if why := unsafe_member(member):
                        raise BenchboxError(
                            f"'{source}' has a member {member.name!r} with {why}, which the CIFAR-10 archive never has",
                            f"it is not the published archive and may be malicious; delete it and fetch {URL} again",
                        )
                    name = wanted.get(member.name.removeprefix("./"))
                    if name is not None and member.isfile() and member.size <= MAX_BATCH_BYTES:
                        found[name] = tar.extractfile(member).read()  # type: ignore[union-attr]
                while tar.fileobj.read(1 << 20):  # type: ignore[union-attr]
                    pass  # to the gzip trailer: a truncated archive is refused whichever split is asked for
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BenchboxError(f"cannot read '{source}' ({type(exc).__name__}: {exc})", REFETCH_HINT) from None
    missing = [name for name in names if name not in found]
    if missing:
        where = f"'{source}'" if source.is_dir() else f"'{source}' (under {FOLDER}/)"
        raise BenchboxError(
            f"{where} has no batch file {', '.join(missing)} (or one over {MAX_BATCH_BYTES} bytes)", REFETCH_HINT
        )
    return found


def read_split(
    source: Path, split: str, expected: int | None = None, batch_md5: Mapping[str, str] | None = None
) -> LabeledImages:
    """One split from an archive or extracted folder `source`, in batch order. `expected` is the image count to
    insist on and `batch_md5` the digests the batch files must have; None checks neither (small test archives)."""
    names = BATCHES[split]
    files = read_files(source, names)
    images, labels = [], []
    for name in names:
        data = files.pop(name)
        what = f"CIFAR-10 batch {name} in '{source}'"
        if batch_md5 is not None and (digest := md5_hex(data)) != batch_md5[name]:
            raise BenchboxError(f"{what} has MD5 {digest}, not the published {batch_md5[name]}", REFETCH_HINT)
        x, y = decode_batch(data, what)
        images.append(x)
        labels.append(y)
    x = torch.from_numpy(np.ascontiguousarray(np.concatenate(images)))
    y = torch.from_numpy(np.concatenate(labels))
    if expected is not None and len(x) != expected:
        raise BenchboxError(
            f"CIFAR-10 {split} in '{source}' has {len(x)} images, not {expected}",
            f"these are not the published files; fetch {URL} again",
        )
    return LabeledImages("cifar10", split, x, y, NUM_CLASSES, labeled_data_hash(x, y))


def in_folder(folder: Path) -> Path | None:
    """The archive in `folder` if it is there, else the extracted folder if that is, else None."""
    if (folder / ARCHIVE).is_file():
        return folder / ARCHIVE
    if (folder / FOLDER).is_dir():
        return folder / FOLDER
    return None


def ways_hint(cache: Path) -> str:
    return (
        f"pass --data-dir DIR or set {ENV_VAR}=DIR for a folder holding {ARCHIVE} or {FOLDER}/, "
        f"or put the archive at {cache / ARCHIVE} (download: {URL})"
    )


def find_source(data_dir: str | Path | None = None) -> Path:
    """The archive or folder to read: `data_dir` (which must hold it), then $BENCHBOX_DATA, then the cache folder,
    then a download into the cache folder. A $BENCHBOX_DATA without CIFAR-10 is passed over: it is shared by
    datasets, and whatever is found later is checked against the same published digests."""
    cache = cache_root() / "data"
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        source = in_folder(folder)
        if source is None:
            raise BenchboxError(f"CIFAR-10 is not in '{folder}' (--data-dir)", f"put {ARCHIVE} or {FOLDER}/ there")
        return source
    if os.environ.get(ENV_VAR):
        source = in_folder(Path(os.environ[ENV_VAR]).expanduser())
        if source is not None:
            return source
        log.info("CIFAR-10 is not in $%s (%s); looking in %s", ENV_VAR, os.environ[ENV_VAR], cache)
    source = in_folder(cache)
    if source is not None:
        return source
    if os.environ.get("BENCHBOX_OFFLINE"):
        searched = f"${ENV_VAR} ('{os.environ[ENV_VAR]}') or " if os.environ.get(ENV_VAR) else ""
        raise BenchboxError(
            f"CIFAR-10 is not in {searched}the cache folder '{cache}' and BENCHBOX_OFFLINE is set", ways_hint(cache)
        )
    download(URL, cache / ARCHIVE, ARCHIVE_MD5, ways_hint(cache))
    return cache / ARCHIVE


def download(url: str, dest: Path, md5: str, hint: str) -> None:
    """Fetch `url` into `dest` atomically; a failed transfer or an MD5 mismatch leaves nothing behind."""
    log.info("downloading CIFAR-10 from %s to %s", url, dest)

    def verify(path: Path) -> None:
        digest = md5_of_file(path)
        if digest != md5:
            raise BenchboxError(
                f"the CIFAR-10 archive downloaded from {url} has MD5 {digest}, not the published {md5}",
                "the download is corrupt or the file changed; retry, or " + hint,
            )

    download_atomic(url, dest, "CIFAR-10", hint, verify)


@lru_cache(maxsize=2)
def _published_split(source: Path, split: str) -> LabeledImages:
    if source.is_file():
        digest = md5_of_file(source)
        if digest != ARCHIVE_MD5:
            raise BenchboxError(
                f"'{source}' has MD5 {digest}, not the published {ARCHIVE_MD5}",
                f"the archive is truncated, corrupt or another file; delete it and fetch {URL} again",
            )
        return read_split(source, split, SPLIT_SIZES[split])
    return read_split(source, split, SPLIT_SIZES[split], BATCH_MD5)


@register_dataset("cifar10")
def load(split: str, data_dir: str | Path | None = None) -> LabeledImages:
    """One split ("train" or "test"): uint8 N×3×32×32 images (RGB), int64 labels 0..9, checked against the published
    files. `data_dir` is a folder holding the archive or its extracted folder. Cached per process; read-only."""
    if split not in BATCHES:
        raise BenchboxError(f"cifar10 has no split '{split}'", f"choose one of: {', '.join(BATCHES)}")
    return _published_split(find_source(data_dir or data_dir_option()).resolve(), split)

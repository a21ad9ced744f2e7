"""COCO 2014 (Lin et al. 2014) for the protocol: the caption annotations of the validation split and its images.

Looked for, in order: the folder `--coco-dir` names (it must hold what is asked for), the folder in $BENCHBOX_COCO,
benchbox's cache folder `cache_root()/coco`. A folder may hold the annotations as `annotations/captions_val2014.json`,
`captions_val2014.json` or the zip `annotations_trainval2014.zip`, and the images as `val2014/` or the zip
`val2014.zip` (read in place, never extracted). Found nowhere, the zip is downloaded into the cache folder (atomically,
SHA-256 checked, a mismatch leaves nothing behind) unless BENCHBOX_OFFLINE is set.

The checksums are those tensorflow_datasets publishes for these URLs (its url_checksums/coco.txt): the same bytes
everyone downloads from cocodataset.org. The annotations zip is checked whenever it is read (253 MB); the 6.6 GB
image zip when it is downloaded, and by its byte size when it is read.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from benchbox.errors import BenchboxError
from benchbox.features.weights import cache_root
from benchbox.io import download_atomic, file_digest
from benchbox.t2i.protocol import to_protocol_batch

log = logging.getLogger(__name__)

ENV_VAR = "BENCHBOX_COCO"
ANNOTATIONS_JSON = "captions_val2014.json"
ANNOTATIONS_MEMBER = f"annotations/{ANNOTATIONS_JSON}"
IMAGES_FOLDER = "val2014"


@dataclass(frozen=True)
class Published:
    """A file COCO publishes: its URL, byte size and SHA-256 (tensorflow_datasets' url_checksums/coco.txt)."""

    name: str
    url: str
    size: int
    sha256: str


ANNOTATIONS_ZIP = Published(
    "annotations_trainval2014.zip",
    "http://images.cocodataset.org/annotations/annotations_trainval2014.zip",
    252_872_794,
    "031296bbc80c45a1d1f76bf9a90ead27e94e99ec629208449507a4917a3bf009",
)
IMAGES_ZIP = Published(
    "val2014.zip",
    "http://images.cocodataset.org/zips/val2014.zip",
    6_645_013_297,
    "fe9be816052049c34717e077d9e34aa60814a55679f804cd043e3cbee3b9fde0",
)


def folders(coco_dir: Path | None) -> list[tuple[Path, str]]:
    """(folder, where it was named) in the order they are searched."""
    out = []
    if coco_dir is not None:
        out.append((Path(coco_dir).expanduser(), "--coco-dir"))
    elif os.environ.get(ENV_VAR):
        out.append((Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"))
    out.append((cache_root() / "coco", "the cache folder"))
    return out


def ways_hint(what: str, file: Published) -> str:
    return (
        f"pass --coco-dir DIR or set {ENV_VAR}=DIR for a folder holding {what}, or put {file.name} in "
        f"{cache_root() / 'coco'} (download: {file.url})"
    )


def fetch(file: Published, what: str, hint: str) -> Path:
    """The published zip in the cache folder, downloaded and checked unless it is there or BENCHBOX_OFFLINE is set."""
    dest = cache_root() / "coco" / file.name
    if dest.is_file():
        return dest
    if os.environ.get("BENCHBOX_OFFLINE"):
        raise BenchboxError(f"COCO 2014 {what} are not on disk and BENCHBOX_OFFLINE is set", hint)
    log.info("downloading %s (%.1f GB) to %s", file.url, file.size / 1e9, dest)

    def verify(path: Path) -> None:
        digest = file_digest(path)
        if digest != file.sha256:
            raise BenchboxError(
                f"{file.name} downloaded from {file.url} has SHA-256 {digest[:16]}…, not the published "
                f"{file.sha256[:16]}…",
                "the download is corrupt or the file changed; retry, or " + hint,
            )

    download_atomic(file.url, dest, f"COCO {file.name}", hint, verify)
    return dest


def read_annotations(explicit: Path | None = None, coco_dir: Path | None = None) -> tuple[bytes, str]:
    """The bytes of captions_val2014.json and where they came from: `explicit` (the JSON or the annotations zip),
    else the folders in order, else a download of the annotations zip."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BenchboxError(f"annotation file '{path}' does not exist", f"pass {ANNOTATIONS_JSON} or its zip")
        return _annotations_from(path)
    for folder, named in folders(coco_dir):
        for candidate in (folder / ANNOTATIONS_MEMBER, folder / ANNOTATIONS_JSON, folder / ANNOTATIONS_ZIP.name):
            if candidate.is_file():
                return _annotations_from(candidate)
        if named == "--coco-dir":
            raise BenchboxError(
                f"COCO's {ANNOTATIONS_JSON} is not in '{folder}' (--coco-dir)",
                f"put {ANNOTATIONS_MEMBER} or {ANNOTATIONS_ZIP.name} there",
            )
    hint = ways_hint(f"{ANNOTATIONS_MEMBER} or {ANNOTATIONS_ZIP.name}", ANNOTATIONS_ZIP)
    return _annotations_from(fetch(ANNOTATIONS_ZIP, "caption annotations", hint))


def _annotations_from(path: Path) -> tuple[bytes, str]:
    if path.suffix.lower() != ".zip":
        return path.read_bytes(), str(path)
    if path.name == ANNOTATIONS_ZIP.name and (digest := file_digest(path)) != ANNOTATIONS_ZIP.sha256:
        raise BenchboxError(
            f"'{path}' has SHA-256 {digest[:16]}…, not the published {ANNOTATIONS_ZIP.sha256[:16]}…",
            f"the zip is truncated or another file; delete it and fetch {ANNOTATIONS_ZIP.url} again",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(ANNOTATIONS_MEMBER), f"{path}:{ANNOTATIONS_MEMBER}"
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise BenchboxError(
            f"cannot read {ANNOTATIONS_MEMBER} from '{path}' ({exc})", "pass the annotations zip"
        ) from exc


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_name(name: str) -> str:
    """`name` if it is a plain file name (what COCO's file_name fields are), else a one-line error: a caption file's
    file names are not covered by its hash, and "../x" or "/x" would read a file outside the images' folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise BenchboxError(
            f"COCO image name {name!r} is not a file name", "write the caption file again with `benchbox t2i-captions`"
        )
    return name


@dataclass(frozen=True)
class ImageSource:
    """COCO's val2014 images: a folder of JPEG files or the zip, read in place."""

    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.is_file()

    def describe(self) -> str:
        if not self.is_zip:
            return f"folder {self.path}"
        size = self.path.stat().st_size
        known = " (the published size)" if size == IMAGES_ZIP.size else ""
        return f"{self.path} ({size:,} bytes{known})"

    def fingerprint(self, names: Sequence[str]) -> str:
        """What identifies these images on disk without decoding them: path, sizes and modification times."""
        digest = hashlib.sha256(str(self.path.resolve()).encode())
        if self.is_zip:
            st = self.path.stat()
            digest.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            for name in names:
                st = (self.path / image_name(name)).stat()
                digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        return digest.hexdigest()

    def batches(self, names: Sequence[str], batch_size: int) -> Iterator[torch.Tensor]:
        """The named images, resized and cropped by the protocol, as uint8 N×3×S×S batches in order."""
        archive = zipfile.ZipFile(self.path) if self.is_zip else None
        try:
            for start in range(0, len(names), batch_size):
                yield to_protocol_batch([self._open(archive, n) for n in names[start : start + batch_size]])
        finally:
            if archive is not None:
                archive.close()

    def _open(self, archive: zipfile.ZipFile | None, name: str) -> Image.Image:
        where = f"{self.path}:{IMAGES_FOLDER}/{name}" if archive else str(self.path / image_name(name))
        try:
            data = archive.read(f"{IMAGES_FOLDER}/{name}") if archive else (self.path / name).read_bytes()
            image = Image.open(io.BytesIO(data))
            image.load()
            return image
        except (KeyError, FileNotFoundError) as exc:
            raise BenchboxError(
                f"COCO image '{where}' is missing", "the images must be COCO 2014 val's (val2014.zip or its folder)"
            ) from exc
        except (UnidentifiedImageError, OSError, zipfile.BadZipFile) as exc:
            raise BenchboxError(f"cannot decode COCO image '{where}' ({exc})", "fetch val2014 again") from exc


def find_images(coco_dir: Path | None = None) -> ImageSource:
    """The val2014 images: in the folders in order (a folder before a zip), else a download of val2014.zip."""
    for folder, named in folders(coco_dir):
        if (folder / IMAGES_FOLDER).is_dir():
            return ImageSource(folder / IMAGES_FOLDER)
        if (folder / IMAGES_ZIP.name).is_file():
            return ImageSource(folder / IMAGES_ZIP.name)
        if named == "--coco-dir":
            raise BenchboxError(
                f"COCO's val2014 images are not in '{folder}' (--coco-dir)",
                f"put {IMAGES_FOLDER}/ or {IMAGES_ZIP.name} there",
            )
    hint = ways_hint(f"{IMAGES_FOLDER}/ or {IMAGES_ZIP.name}", IMAGES_ZIP)
    return ImageSource(fetch(IMAGES_ZIP, "val images", hint))

"""Atomic file writes: nothing half-written is ever read."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from benchbox.errors import BenchboxError


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


DISK_HINT = "free disk space (or pass --store on another disk), then rerun with --resume"  # for a run's own files


def write_bytes_atomic(path: Path, data: bytes, hint: str = "pass --out with a writable path", what: str = "") -> None:
    """Write to a temporary file beside `path`, flushed to disk, then rename it over `path`: a reader, or a process
    killed at any point, sees the previous whole file or the new one. A failure is one line: `what` names the file's
    kind ("checkpoint "), `hint` the fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; reports and previews are for reading
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise BenchboxError(f"cannot write {what}'{path}': {exc.strerror or exc}", hint) from exc


DOWNLOAD_TIMEOUT_S = 60


def download_atomic(url: str, dest: Path, what: str, hint: str, verify: Callable[[Path], None]) -> None:
    """Fetch `url` into `dest` atomically. `verify(path)` checks the finished file (a digest) and raises a
    BenchboxError to reject it; a failed transfer or a rejected file leaves nothing behind. `hint` goes with
    transfer errors: how to provide the file by hand."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            size = int(getattr(response, "headers", {}).get("Content-Length") or 0) or None
            received = 0
            with tqdm(total=size, unit="B", unit_scale=True, desc=what, disable=None) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        if size is not None and received != size:  # http.client ends read(n) quietly when the connection drops
            raise BenchboxError(
                f"cannot download {what} from {url} (the transfer stopped after {received:,} of {size:,} bytes)", hint
            )
        verify(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; downloads here are public files
        os.replace(tmp, dest)
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
        raise BenchboxError(f"cannot download {what} from {url} ({exc})", hint) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks ("md5" for the checksums datasets publish)."""
    digest = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

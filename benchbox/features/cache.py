"""On-disk feature cache: one .npz per (images, extractor) key, written atomically, read only when whole.

The key is the SHA-256 of the images' content hash and the extractor's cache identity (name, version, weights hash,
preprocessing, outputs), so a changed image, network, weights file or preprocessing never hits a stale entry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from benchbox.features.weights import cache_root

log = logging.getLogger(__name__)


def feature_key(images_hash: str, identity: str) -> str:
    return hashlib.sha256(f"{images_hash}\n{identity}".encode()).hexdigest()


class FeatureCache:
    """Features by key under `root` (default: <benchbox cache>/features)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_root() / "features"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            log.warning("feature cache entry %s is unreadable; recomputing it", path)
            return None

    def put(self, key: str, features: dict[str, np.ndarray]) -> None:
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **features)
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a shared cache should be readable
            os.replace(tmp, path)
        except OSError as exc:  # a cache that cannot be written costs time, never a result
            log.warning("cannot write feature cache entry %s: %s", path, exc)
            if "tmp" in locals() and os.path.exists(tmp):
                os.unlink(tmp)

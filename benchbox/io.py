"""Atomic file writes: nothing half-written is ever read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchbox.errors import BenchboxError


def write_text_atomic(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise BenchboxError(f"cannot write '{path}': {exc.strerror or exc}", "pass --out with a writable path") from exc

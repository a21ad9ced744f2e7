"""Finding network weights: an explicit path, then an environment variable, then benchbox's cache folder, then a
download from the canonical release checked by SHA-256. Never a silent fall-back to other weights.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchbox.errors import BenchboxError
from benchbox.io import download_atomic, file_digest


@dataclass(frozen=True)
class WeightsSpec:
    """Where a weights file comes from and how to recognise it.

    `sha256` is the published file's SHA-256, or its leading hex digits where only those are published (torch.hub's
    filename convention, e.g. "-6726825d.pth"); a file matches when its digest starts with it.
    """

    name: str  # what the user reads in errors: "Inception-v3 (torch-fidelity)"
    filename: str  # name in the cache folder
    url: str | None  # canonical release; None where there is no single download (user checkpoints)
    sha256: str | None
    env_var: str  # e.g. BENCHBOX_INCEPTION_WEIGHTS
    option: str  # the CLI option, e.g. --inception-weights


@dataclass(frozen=True)
class ResolvedWeights:
    path: Path
    sha256: str
    canonical: bool  # the digest matches the published one


def cache_root() -> Path:
    """benchbox's cache folder: $BENCHBOX_CACHE, else $XDG_CACHE_HOME/benchbox, else ~/.cache/benchbox."""
    if os.environ.get("BENCHBOX_CACHE"):
        return Path(os.environ["BENCHBOX_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "benchbox"


def sha256_of_file(path: Path) -> str:
    return file_digest(path)


def why_unreadable(exc: BaseException, limit: int = 160) -> str:
    """An error's message as one short line: for torch's weights-only refusal, the object it would not build (its
    message is many lines of advice with terminal colour codes)."""
    lines = [" ".join(line.split()) for line in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).splitlines()]
    refused = [line for line in lines if "GLOBAL" in line] + [line for line in lines if line]
    line = refused[0].split("WeightsUnpickler error: ")[-1].split(". ")[0] if refused else ""
    return line[:limit]


def load_tensors(path: Path, what: str, hint: str) -> Any:
    """The tensors of a torch file (in dicts, lists, numbers and strings), read with `weights_only=True`, so that a
    file holding any other object, which unpickling would build by running its code, is refused in one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise BenchboxError(
            f"'{path}' is not {what}: torch's weights-only load, which builds tensors and runs no code from the "
            f"file, refused it ({type(exc).__name__}: {why_unreadable(exc)})",
            hint,
        ) from None


def _matches(spec: WeightsSpec, digest: str) -> bool:
    return spec.sha256 is None or digest.startswith(spec.sha256.lower())


def _checked(spec: WeightsSpec, path: Path, origin: str, allow_custom: bool) -> ResolvedWeights:
    if not path.is_file():
        raise BenchboxError(f"{spec.name} weights file '{path}' ({origin}) does not exist", f"fix the path in {origin}")
    digest = sha256_of_file(path)
    canonical = _matches(spec, digest)
    if not canonical and not allow_custom:
        raise BenchboxError(
            f"{spec.name} weights '{path}' have SHA-256 {digest[:16]}…, not the published {spec.sha256}…",
            "use the published file, or pass --custom-weights to score with these (metrics are then renamed, not FID)",
        )
    return ResolvedWeights(path, digest, canonical)


def resolve_weights(
    spec: WeightsSpec, path: Path | str | None = None, allow_custom: bool = False, allow_download: bool = True
) -> ResolvedWeights:
    """The weights file to use, found in the documented order; raises a BenchboxError saying where to put it.
    With `allow_download=False` (a run scoring mid-way), weights not already on disk are an error, not a download."""
    if path is not None:
        return _checked(spec, Path(path).expanduser(), spec.option, allow_custom)
    if os.environ.get(spec.env_var):
        return _checked(spec, Path(os.environ[spec.env_var]).expanduser(), f"${spec.env_var}", allow_custom)
    cached = cache_root() / "weights" / spec.filename
    if cached.is_file():
        digest = sha256_of_file(cached)
        if not _matches(spec, digest):
            raise BenchboxError(
                f"cached {spec.name} weights '{cached}' have SHA-256 {digest[:16]}…, not the published {spec.sha256}…",
                f"delete the file (it is downloaded again) or replace it with the published one ({spec.url})",
            )
        return ResolvedWeights(cached, digest, True)
    if spec.url is None:
        raise BenchboxError(
            f"no {spec.name} weights given",
            f"pass {spec.option} PATH or set {spec.env_var}, or put the file at {cached}",
        )
    download(spec, cached, allow_download)
    return _checked(spec, cached, "the download", allow_custom=False)


def download(spec: WeightsSpec, dest: Path, allowed: bool = True) -> None:
    """Fetch the canonical file into `dest` atomically; a digest mismatch leaves nothing behind."""
    offline_hint = f"put the file at {dest}, pass {spec.option} PATH or set {spec.env_var} (source: {spec.url})"
    if os.environ.get("BENCHBOX_OFFLINE"):
        raise BenchboxError(f"{spec.name} weights are not in the cache and BENCHBOX_OFFLINE is set", offline_hint)
    if not allowed:
        raise BenchboxError(f"{spec.name} weights are not in the cache and this caller does not download", offline_hint)
    if spec.sha256 is None:  # nothing to check a download against: the user fetches it and vouches for it
        raise BenchboxError(
            f"{spec.name} weights have no published SHA-256, so benchbox does not download them", offline_hint
        )

    def verify(path: Path) -> None:
        digest = sha256_of_file(path)
        if not _matches(spec, digest):
            raise BenchboxError(
                f"downloaded {spec.name} weights have SHA-256 {digest[:16]}…, not the published {spec.sha256}…",
                "the download is corrupt or the release changed; retry, or fetch the file by hand",
            )

    download_atomic(spec.url, dest, f"{spec.name} weights", offline_hint, verify)

"""Where a number came from: code version, library versions, device."""

from __future__ import annotations

import functools
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import torch

import benchbox


@dataclass(frozen=True)
class Environment:
    benchbox_version: str
    git_commit: str  # "<sha>", "<sha>+dirty" for uncommitted changes, or "unknown" outside a checkout
    torch_version: str
    cuda_version: str  # "" on a CPU-only torch build
    device: str  # e.g. "cpu (x86_64)" or "cuda: NVIDIA H100 80GB HBM3"
    python_version: str


@functools.cache
def git_commit() -> str:
    root = Path(benchbox.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type} ({platform.machine()})"


def environment(device: torch.device) -> Environment:
    return Environment(
        benchbox_version=benchbox.__version__,
        git_commit=git_commit(),
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda or "",
        device=describe_device(device),
        python_version=platform.python_version(),
    )

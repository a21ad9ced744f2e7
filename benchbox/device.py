"""The device a command runs on: `--device auto|cpu|cuda`."""

from __future__ import annotations

import torch

from benchbox.errors import DeviceError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "--device cuda was asked for but no CUDA GPU is available", "use --device cpu or --device auto"
        )
    if name not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device '{name}'", "use auto, cpu or cuda")
    return torch.device(name)

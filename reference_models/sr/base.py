"""What every super-resolution reference model shares: reading (lr, hr) batches and upscaling in batches."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext

UPSCALE_CHUNK = 500  # low-resolution images per forward pass at scoring time


def paired(batch: object, device: torch.device) -> tuple[Tensor, Tensor]:
    """An (lr, hr) batch of a super-resolution task, on the device."""
    if not (isinstance(batch, tuple) and len(batch) == 2):
        raise BenchboxError(
            "a super-resolution model was given unpaired training batches",
            "train it on a super-resolution suite's task (benchbox.sr.task.SRTask), whose batches are (lr, hr)",
        )
    lr, hr = batch
    return lr.to(device), hr.to(device)


def upscale_factor(ctx: ModelContext) -> int:
    if ctx.upscale_factor < 2:
        raise BenchboxError(
            "a super-resolution model was built for a task with no upscaling factor",
            "use it in a super-resolution suite (e.g. `benchbox run --suite sr`)",
        )
    return ctx.upscale_factor


@torch.no_grad()
def in_chunks(fn: Callable[[Tensor], Tensor], lr: Tensor, device: torch.device) -> Tensor:
    """fn over the low-resolution images UPSCALE_CHUNK at a time, on the device; the result on the CPU."""
    return torch.cat([fn(part.to(device)).cpu() for part in lr.split(UPSCALE_CHUNK)])

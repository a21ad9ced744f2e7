"""The bicubic baseline: the protocol's own kernel (benchbox.sr.degrade) run upwards. Nothing to train."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from benchbox.model import ModelContext
from benchbox.registry import register_model
from benchbox.sr.degrade import upsample
from reference_models.sr.base import upscale_factor


@dataclass(frozen=True)
class BicubicConfig:
    """No settings: the kernel is the protocol's (benchbox.sr.degrade.KERNEL)."""


class Bicubic:
    examples_per_step = 1
    clamps_samples = True  # bicubic overshoots at edges; the engine clamps to [−1, 1] as an 8-bit image would

    def __init__(self, config: BicubicConfig, ctx: ModelContext) -> None:
        self.factor = upscale_factor(ctx)

    def train_step(self, batch: Any) -> dict[str, float]:
        return {}

    def upscale(self, lr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return upsample(lr.float(), self.factor)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@register_model("bicubic", BicubicConfig, family="sr")
def build_bicubic(config: BicubicConfig, ctx: ModelContext) -> Bicubic:
    return Bicubic(config, ctx)

"""An exponential moving average of a network's weights, used for sampling: GANs' generators (Yazıcı et al. 2019)
and DDPM's ε-network (Ho et al. 2020).

decay_t = min(decay, (1 + t) / (10 + t)) warms up so that early, poor weights fade fast in short runs. Batch norm
statistics are not averaged: at sampling time the averaged net's statistics are measured afresh on a fixed set
of latents ("standing statistics", as BigGAN does), since the live net's running statistics belong to other weights.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

STANDING_BATCHES = 10  # batches of latents for the averaged generator's batch norm statistics
STANDING_BATCH_SIZE = 256
STANDING_SEED = 0  # fixed: the statistics do not depend on the caller's sampling generator


class EMA:
    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.steps = 0
        self._stale = True  # batch norm statistics not yet measured for the current weights

    @torch.no_grad()
    def update(self, live: nn.Module) -> None:
        """ema ← ema + (1 − decay_t)(live − ema), parameter by parameter."""
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        ema_params = list(self.module.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in live.parameters()], 1.0 - decay)
        self.steps += 1
        self._stale = True

    @torch.no_grad()
    def sampling_module(self, conditioner: Any, device: torch.device) -> nn.Module:
        """The averaged generator in eval mode, with batch norm statistics measured for its own weights."""
        norms = [m for m in self.module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if norms and self._stale:
            generator = torch.Generator().manual_seed(STANDING_SEED)
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the standing batches
            self.module.train()
            for _ in range(STANDING_BATCHES):
                self.module(conditioner.latent(STANDING_BATCH_SIZE, device, generator=generator).z)
        self._stale = False
        return self.module.eval()

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.steps = int(state["steps"])
        self._stale = True

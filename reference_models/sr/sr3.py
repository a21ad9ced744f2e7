"""An SR3-style super-resolver (Saharia et al. 2021, "Image Super-Resolution via Iterative Refinement"): a DDPM whose
U-Net sees the low-resolution input, bicubic-upscaled to the output's size, concatenated to x_t, trained on L_simple
(Ho et al. 2020, Algorithm 1) and sampled by the diffusion package's DDPM or DDIM sampler from an EMA of the weights.

Only the combination is new: the schedule, the U-Net (with `cond_channels`), the samplers and the EMA are those of
reference_models.diffusion. SR3 itself uses T = 2000 with a tuned schedule and conditions on the noise level; this
keeps Ho et al.'s linear schedule and timestep conditioning so that it shares every piece with the DDPM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from benchbox.sr.degrade import upsample
from reference_models.diffusion.samplers import sample
from reference_models.diffusion.schedule import NoiseSchedule, check_steps, cosine_betas, linear_betas, q_sample
from reference_models.diffusion.unet import UNet, UNetConfig, check_unet_config
from reference_models.ema import EMA
from reference_models.sr.base import in_chunks, paired, upscale_factor

SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}


@dataclass(frozen=True)
class SR3Config:
    steps: int = 1000  # T
    schedule: str = "linear"
    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    norm_groups: int = 32
    batch_size: int = 16
    lr: float = 1e-4  # SR3: Adam 1e-4 with 10,000 warm-up steps
    warmup: int = 0
    grad_clip: float = 1.0
    ema_decay: float = 0.9999
    sampler: str = "ddim"  # "ddpm" (ancestral) or "ddim" (η = eta)
    sample_steps: int = 50  # 0: all T
    eta: float = 0.0


def check_config(c: SR3Config) -> None:
    check_steps(c.steps)
    if c.schedule not in SCHEDULES:
        raise BenchboxError(f"unknown noise schedule '{c.schedule}'", f"use one of {', '.join(SCHEDULES)}")
    if c.sampler not in ("ddpm", "ddim") or not 0 <= c.sample_steps <= c.steps:
        raise BenchboxError(
            f"sampler '{c.sampler}' with {c.sample_steps} steps of T = {c.steps}", "use ddpm or ddim, 0..T steps"
        )


class SR3:
    clamps_samples = True  # x_0 may leave [−1, 1]; clamped when turned into pixels, as for the DDPM rows

    def __init__(self, config: SR3Config, ctx: ModelContext) -> None:
        check_config(config)
        self.config = c = config
        self.device = ctx.device
        self.factor = upscale_factor(ctx)
        channels, size, _ = ctx.sample_shape
        unet = UNetConfig(
            image_size=size,
            in_channels=channels,
            base_channels=c.base_channels,
            channel_mults=c.channel_mults,
            num_res_blocks=c.num_res_blocks,
            attention_resolutions=c.attention_resolutions,
            dropout=c.dropout,
            norm_groups=c.norm_groups,
            cond_channels=channels,
        )
        check_unet_config(unet)
        self.schedule = NoiseSchedule.from_betas(SCHEDULES[c.schedule](c.steps))
        self.net = UNet(unet).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=c.lr)
        self.ema = EMA(self.net, c.ema_decay)
        self.examples_per_step = c.batch_size
        self.network_evaluations_per_sample = c.sample_steps or c.steps
        self.step = 0

    def train_step(self, batch: Any) -> dict[str, float]:
        """Algorithm 1 with the condition: ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t | up(lr))‖²."""
        c = self.config
        lr, hr = paired(batch, self.device)
        t = torch.randint(1, c.steps + 1, (hr.shape[0],), device=self.device)
        noise = torch.randn_like(hr)
        self.net.train()
        loss = F.mse_loss(self.net(q_sample(self.schedule, hr, t, noise), t, cond=upsample(lr, self.factor)), noise)
        if c.warmup:
            for group in self.optimizer.param_groups:
                group["lr"] = c.lr * min(1.0, (self.step + 1) / c.warmup)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip)
        self.optimizer.step()
        self.ema.update(self.net)
        self.step += 1
        return {"l_simple": loss.item()}

    def upscale(self, lr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """x_0 from x_T ~ N(0, I) with noise from `generator` (CPU), so outputs do not depend on the device."""
        c = self.config
        generator = generator or torch.Generator().manual_seed(0)
        net = self.ema.module.eval()

        def one_chunk(part: Tensor) -> Tensor:
            cond = upsample(part, self.factor)
            return sample(
                lambda x, t: net(x, t, cond=cond),
                self.schedule,
                tuple(cond.shape),
                generator,
                method=c.sampler,
                steps=c.sample_steps or None,
                eta=c.eta,
                device=self.device,
                clip=True,
            )

        return in_chunks(one_chunk, lr, self.device)

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "ema": self.ema.state_dict(),
            "step": self.step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.ema.load_state_dict(state["ema"])
        self.step = int(state["step"])


@register_model("sr3", SR3Config, check=check_config, family="sr")
def build_sr3(config: SR3Config, ctx: ModelContext) -> SR3:
    return SR3(config, ctx)

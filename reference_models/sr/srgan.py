"""SRResNet and SRGAN (Ledig et al. 2017) as one model kind: the generator of nets.py trained on a content loss, plus,
for SRGAN, an adversarial loss against the discriminator of nets.py.

- SRResNet: `content="pixels"`, `adversarial_weight=0` (MSE of the images: the PSNR-optimal objective).
- SRGAN: `content="features"` (MSE between feature maps of a frozen network, their VGG54 loss; here the task's
  `perceptual` network, which benchbox.sr.task takes from the domain classifier's last conv layer when VGG's weights
  are not at hand) and `adversarial_weight=1e-3` on the non-saturating generator loss −log D(G(x)). Ledig et al.
  start SRGAN from a trained SRResNet; here the first `pretrain_steps` steps of the same run train on MSE alone, so a
  run stands by itself.
Defaults are the paper's (16 blocks of 64 channels, Adam 1e-4 with β1 0.9, batches of 16).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from benchbox.suite import HASHED_WHEN_SET
from reference_models.gan.losses import bce_d_loss, non_saturating_g_loss
from reference_models.sr.base import in_chunks, paired, upscale_factor
from reference_models.sr.nets import SRDiscriminator, SRResNet

CONTENTS = {"pixels": "", "features": "domain", "vgg54": "vgg54"}  # content loss -> the perceptual network


@dataclass(frozen=True)
class SRGANConfig:
    width: int = 64  # generator channels (Ledig: 64)
    blocks: int = 16  # residual blocks (Ledig: 16)
    batch_size: int = 16
    lr: float = 1e-4
    beta1: float = 0.9
    content: str = "pixels"  # "pixels": MSE of images (SRResNet); "features": of the task classifier's feature maps;
    # "vgg54": of VGG19's conv5_4 maps (Ledig et al.'s SRGAN), scaled by feature_scale
    adversarial_weight: float = 0.0  # SRGAN: 1e-3
    pretrain_steps: int = 0  # MSE-only steps before the content and adversarial losses above take over
    d_width: int = 64  # discriminator's first width, doubled per level (Ledig: 64 → 512 over 4 levels)
    d_levels: int = 4
    d_hidden: int = 1024
    feature_scale: float = field(default=1.0, metadata=HASHED_WHEN_SET)  # Ledig: VGG maps × 1/12.75


def check_config(c: SRGANConfig) -> None:
    if c.content not in CONTENTS:
        raise BenchboxError(f"SRGAN content loss '{c.content}'", f"use one of {', '.join(CONTENTS)}")
    if c.adversarial_weight < 0 or c.pretrain_steps < 0:
        raise BenchboxError("a negative adversarial_weight or pretrain_steps", "use 0 or more")


class SRGAN:
    clamps_samples = True  # the generator's last layer is linear; its output is clamped to the 8-bit range

    def __init__(self, config: SRGANConfig, ctx: ModelContext) -> None:
        check_config(config)
        self.config = c = config
        self.device = ctx.device
        channels, h, w = ctx.sample_shape
        factor = upscale_factor(ctx)
        self.generator = SRResNet(channels, c.width, c.blocks, factor).to(self.device)
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=c.lr, betas=(c.beta1, 0.999))
        self.adversarial = c.adversarial_weight > 0
        if self.adversarial:
            self.discriminator = SRDiscriminator(channels, (h, w), c.d_width, c.d_hidden, c.d_levels).to(self.device)
            self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=c.lr, betas=(c.beta1, 0.999))
        self.features = None
        if CONTENTS[c.content]:
            if ctx.perceptual is None:
                raise BenchboxError(
                    "SRGAN's feature content loss needs the task's perceptual network",
                    "use a super-resolution task, or content='pixels'",
                )
            self.features = ctx.perceptual(CONTENTS[c.content]).to(self.device).eval().requires_grad_(False)
        self.examples_per_step = c.batch_size
        self.step = 0

    def _content(self, sr: Tensor, hr: Tensor, pretraining: bool) -> Tensor:
        if self.features is None or pretraining:
            return F.mse_loss(sr, hr)
        s = self.config.feature_scale
        return F.mse_loss(s * self.features(sr), s * self.features(hr))

    def train_step(self, batch: Any) -> dict[str, float]:
        lr, hr = paired(batch, self.device)
        pretraining = self.step < self.config.pretrain_steps
        adversarial = self.adversarial and not pretraining
        self.step += 1
        self.generator.train()
        sr = self.generator(lr)
        logs = {}
        if adversarial:
            d_loss = bce_d_loss(self.discriminator(hr), self.discriminator(sr.detach()))
            self.d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_opt.step()
            logs["d_loss"] = d_loss.item()
        content = self._content(sr, hr, pretraining)
        loss = content
        if adversarial:
            g_adv = non_saturating_g_loss(torch.empty(0), self.discriminator(sr))
            loss = content + self.config.adversarial_weight * g_adv
            logs["g_adv"] = g_adv.item()
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        return {"content": content.item(), **logs}

    def upscale(self, lr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        self.generator.eval()
        return in_chunks(self.generator, lr, self.device)

    def state_dict(self) -> dict[str, Any]:
        state = {"generator": self.generator.state_dict(), "g_opt": self.g_opt.state_dict(), "step": self.step}
        if self.adversarial:
            state |= {"discriminator": self.discriminator.state_dict(), "d_opt": self.d_opt.state_dict()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.g_opt.load_state_dict(state["g_opt"])
        self.step = int(state["step"])
        if self.adversarial:
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_opt.load_state_dict(state["d_opt"])


@register_model("srgan", SRGANConfig, check=check_config, family="sr")
def build_srgan(config: SRGANConfig, ctx: ModelContext) -> SRGAN:
    return SRGAN(config, ctx)

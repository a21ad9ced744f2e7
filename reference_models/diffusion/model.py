"""DDPM (Ho et al. 2020) as a benchbox model: L_simple training (Algorithm 1) or Nichol & Dhariwal 2021's hybrid
loss with learned variances, ancestral (optionally respaced) or DDIM sampling from an EMA of the weights,
classifier-free guidance (Ho & Salimans 2021) and the variational bound in bits/dim (all T terms, or a stratified
estimate).

The schedule (schedule.py), the network (unet.py, or a small MLP for vectors) and the sampler (samplers.py) are
separate pieces that this class only combines.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from reference_models.blocks import sinusoidal_embedding
from reference_models.diffusion.samplers import ddim_timesteps, guided_eps, sample
from reference_models.diffusion.schedule import NoiseSchedule, check_steps, cosine_betas, linear_betas, q_sample
from reference_models.diffusion.unet import UNet, UNetConfig, check_unet_config
from reference_models.diffusion.vlb import estimated_bits, hybrid_vlb_term, total_bits
from reference_models.ema import EMA
from reference_models.likelihood import check_pixel_range

SCHEDULES = {"linear": linear_betas, "cosine": cosine_betas}
SAMPLE_CHUNK = 1000  # samples drawn per batch at sampling time
SAMPLING_FIELDS = (
    "sampler",
    "sample_steps",
    "eta",
    "guidance_scale",
    "vlb_timesteps",
    "clip_denoised",
)  # free in sampling_variant


@dataclass(frozen=True)
class DDPMConfig:
    """A DDPM. Defaults are Ho et al. 2020's CIFAR-10 run (section 4 and appendix B)."""

    steps: int = 1000  # T
    schedule: str = "linear"  # β from 1e-4 to 0.02 (Ho), or "cosine" (Nichol & Dhariwal 2021)
    net: str = "unet"  # "mlp" for vector data (toy tasks)
    base_channels: int = 128  # U-Net widths: Ho's CIFAR-10 net (35.7M parameters)
    channel_mults: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.1
    norm_groups: int = 32
    mlp_hidden: int = 128  # the vector net: time embedding and x into 3 SiLU layers
    mlp_layers: int = 3
    batch_size: int = 128  # Ho: 128
    lr: float = 2e-4  # Ho: Adam 2e-4 with a linear warm-up over 5,000 steps, gradients clipped to norm 1
    warmup: int = 5000
    grad_clip: float = 1.0
    ema_decay: float = 0.9999  # Ho: EMA 0.9999 of the weights, used for sampling
    learn_sigma: bool = False  # Ho: fixed σ_t² = β_t; True: the U-Net also outputs v for Nichol & Dhariwal's σ_t²
    loss: str = "simple"  # "simple": Ho's L_simple; "hybrid": L_simple + λ L_vlb (needs learn_sigma)
    vlb_weight: float = 0.001  # λ: Nichol & Dhariwal's 0.001 keeps L_vlb from swamping L_simple
    sampler: str = "ddpm"  # "ddpm": ancestral steps; "ddim": deterministic at eta = 0
    sample_steps: int = 0  # steps of either sampler, on τ = ddim_timesteps(T, K); 0 means T (ancestral: Ho's)
    eta: float = 0.0  # DDIM's η: 0 deterministic, 1 ancestral-like
    clip_denoised: bool = True  # images: x̂_0 clipped to [−1, 1] in p_θ's mean, as Ho's and Nichol's code do
    vlb_timesteps: int = 0  # bound terms per image in bits_per_dim: 0 all T (Ho); K < T a stratified estimate
    conditional: bool = False  # class-conditional with classifier-free guidance
    p_uncond: float = 0.1  # Ho & Salimans: labels dropped to the null class 10–20% of the time
    guidance_scale: float = 1.0  # w: 0 unconditional, 1 conditional, > 1 guided


class VectorEpsNet(nn.Module):
    """ε-prediction for vectors: [x, sinusoidal(t)] → SiLU MLP → ε (a U-Net needs images)."""

    def __init__(self, dim: int, hidden: int, layers: int, num_classes: int) -> None:
        super().__init__()
        self.temb = hidden
        self.label = nn.Embedding(num_classes + 1, hidden) if num_classes else None
        blocks: list[nn.Module] = []
        width = dim + hidden
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, dim))

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        emb = sinusoidal_embedding(t.float(), self.temb)
        if self.label is not None:
            emb = emb + self.label(labels)
        return self.net(torch.cat([x, emb], 1))


def check_config(c: DDPMConfig) -> None:
    check_steps(c.steps)
    problems = []
    if c.schedule not in SCHEDULES:
        problems.append(f"unknown schedule '{c.schedule}' (use {', '.join(SCHEDULES)})")
    if c.sampler not in ("ddpm", "ddim"):
        problems.append(f"unknown sampler '{c.sampler}' (use ddpm or ddim)")
    if c.net not in ("unet", "mlp"):
        problems.append(f"unknown net '{c.net}' (use unet or mlp)")
    if c.sample_steps > c.steps or c.sample_steps < 0:
        problems.append(f"{c.sample_steps} sampling steps for T = {c.steps} (use 1..T, or 0 for T)")
    if c.vlb_timesteps > c.steps or c.vlb_timesteps < 0:
        problems.append(f"{c.vlb_timesteps} VLB timesteps for T = {c.steps} (use 1..T, or 0 for all T terms)")
    if c.loss not in ("simple", "hybrid"):
        problems.append(f"unknown loss '{c.loss}' (use simple or hybrid)")
    elif c.learn_sigma and c.loss == "simple":
        problems.append("learn_sigma with loss='simple' leaves the variance untrained (use loss='hybrid')")
    elif c.loss == "hybrid" and not c.learn_sigma:
        problems.append("loss='hybrid' needs learn_sigma=True (its L_vlb trains only the variance)")
    if c.learn_sigma and c.net == "mlp":
        problems.append("the MLP net has no variance output (use net='unet' or learn_sigma=False)")
    if not math.isfinite(c.vlb_weight) or c.vlb_weight < 0:
        problems.append(f"vlb_weight {c.vlb_weight} must be a finite number >= 0")
    if not math.isfinite(c.guidance_scale):
        problems.append(f"guidance scale {c.guidance_scale} is not finite")
    if not 0 <= c.p_uncond < 1 or not 0 <= c.ema_decay < 1 or c.batch_size < 1:
        problems.append("p_uncond and ema_decay must lie in [0, 1) and batch_size be at least 1")
    if problems:
        raise BenchboxError(f"DDPM config: {'; '.join(problems)}", "fix the model config")


class DDPM:
    """Model protocol: train_step, sample / sample_labeled, bits_per_dim (the bound, per sample), state_dict."""

    # x_0 may leave [-1, 1] (an untrained net's samples are noise): clamped to the data range when turned into
    # pixels, as Ho et al.'s code does
    clamps_samples = True

    def __init__(self, config: DDPMConfig, ctx: ModelContext) -> None:
        check_config(config)
        self.config = c = config
        self.device = ctx.device
        self.sample_shape = tuple(ctx.sample_shape)
        self.num_classes = ctx.num_classes if c.conditional else 0
        if c.conditional and self.num_classes < 2:
            raise BenchboxError("a class-conditional DDPM needs a labelled dataset", "set conditional=False")
        self.uses_labels = c.conditional
        self.schedule = NoiseSchedule.from_betas(SCHEDULES[c.schedule](c.steps))
        self.net = self._build_net().to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=c.lr)
        self.ema = EMA(self.net, c.ema_decay)
        self.examples_per_step = c.batch_size
        self.step = 0

    def _build_net(self) -> nn.Module:
        c = self.config
        if c.net == "mlp":
            if len(self.sample_shape) != 1:
                raise BenchboxError(f"the MLP net takes vectors, not {self.sample_shape}", "use net='unet' for images")
            return VectorEpsNet(self.sample_shape[0], c.mlp_hidden, c.mlp_layers, self.num_classes)
        if len(self.sample_shape) != 3:
            raise BenchboxError(f"the U-Net takes C×H×W images, not {self.sample_shape}", "use net='mlp' for vectors")
        unet = UNetConfig(
            image_size=self.sample_shape[1],
            in_channels=self.sample_shape[0],
            base_channels=c.base_channels,
            channel_mults=c.channel_mults,
            num_res_blocks=c.num_res_blocks,
            attention_resolutions=c.attention_resolutions,
            dropout=c.dropout,
            num_classes=self.num_classes,
            learn_sigma=c.learn_sigma,
            norm_groups=c.norm_groups,
        )
        check_unet_config(unet)
        return UNet(unet)

    def _call(self, net: nn.Module, x: Tensor, t: Tensor, labels: Tensor | None) -> Tensor:
        return net(x, t, labels) if self.num_classes else net(x, t)

    def train_step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, float]:
        """Algorithm 1: t ~ U{1..T}, ε ~ N(0, I), descend ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖² (L_simple), plus
        λ L_vlb (vlb.hybrid_vlb_term, bits/dim) for the hybrid loss."""
        c = self.config
        x0, labels = batch if isinstance(batch, tuple) else (batch, None)
        x0 = x0.to(self.device)
        t = torch.randint(1, c.steps + 1, (x0.shape[0],), device=self.device)
        noise = torch.randn_like(x0)
        xt = q_sample(self.schedule, x0, t, noise)
        if labels is not None:  # classifier-free guidance: train the unconditional model on dropped labels
            labels = labels.to(self.device)
            drop = torch.rand(labels.shape, device=self.device) < c.p_uncond
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        self.net.train()
        out = self._call(self.net, xt, t, labels)
        logs = {"l_simple": F.mse_loss(out.chunk(2, 1)[0] if c.learn_sigma else out, noise)}
        if c.loss == "hybrid":
            logs["l_vlb"] = hybrid_vlb_term(self.schedule, x0, xt, t, out).mean()
        loss = logs["l_simple"] + c.vlb_weight * logs.get("l_vlb", 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip:
            nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip)
        for group in self.optimizer.param_groups:
            group["lr"] = c.lr * min(1.0, (self.step + 1) / max(c.warmup, 1))
        self.optimizer.step()
        self.ema.update(self.net)
        self.step += 1
        return {"loss": loss.item(), **({k: v.item() for k, v in logs.items()} if c.loss == "hybrid" else {})}

    def eps_model(self, labels: Tensor | None) -> Any:
        """ε(x_t, t) of the EMA net (then v, with learn_sigma); with labels, classifier-free guidance at scale w: w = 0
        calls only the unconditional net, w = 1 only the conditional one; else ε is mixed and v is the conditional's."""
        net = self.ema.sampling_module(None, self.device)
        w = self.config.guidance_scale
        if labels is None:
            return lambda x, t: self._call(net, x, t, None)
        null = torch.full_like(labels, self.num_classes)
        if w in (0.0, 1.0):
            return lambda x, t: self._call(net, x, t, labels if w else null)

        def guided(x: Tensor, t: Tensor) -> Tensor:
            uncond, cond = self._call(net, x, t, null), self._call(net, x, t, labels)
            if not self.config.learn_sigma:
                return guided_eps(uncond, cond, w)
            (eps_u, _), (eps_c, v) = uncond.chunk(2, 1), cond.chunk(2, 1)
            return torch.cat([guided_eps(eps_u, eps_c, w), v], 1)

        return guided

    @property
    def clips(self) -> bool:
        """Whether x̂_0 is clipped: images only, whose range is [−1, 1]; vectors (toy tasks) have no range."""
        return self.config.clip_denoised and self.config.net == "unet"

    @property
    def network_evaluations_per_sample(self) -> int:
        """Sampling cost: one network call per step (K = sample_steps, or T), two with guidance at w ∉ {0, 1}."""
        c = self.config
        calls = len(ddim_timesteps(c.steps, c.sample_steps or c.steps))
        return calls * (2 if self.num_classes and c.guidance_scale not in (0.0, 1.0) else 1)

    def sampling_variant(self, config: DDPMConfig) -> DDPM:
        """This trained model (the same net, EMA and schedule objects, no copies) sampled and scored by `config`,
        which may differ only in SAMPLING_FIELDS. Training the original moves the variant's weights too."""
        check_config(config)
        for f in fields(DDPMConfig):
            old, new = getattr(self.config, f.name), getattr(config, f.name)
            if f.name not in SAMPLING_FIELDS and old != new:
                raise BenchboxError(
                    f"a sampling variant cannot change '{f.name}' ({old!r} → {new!r})",
                    f"change only {', '.join(SAMPLING_FIELDS)}; train another model for the rest",
                )
        variant = copy.copy(self)
        variant.config = config
        return variant

    @torch.no_grad()
    def sample_labeled(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        c = self.config
        labels = torch.arange(n) % self.num_classes if self.num_classes else None
        chunks = []
        for start in range(0, n, SAMPLE_CHUNK):
            k = min(SAMPLE_CHUNK, n - start)
            chunk_labels = labels[start : start + k].to(self.device) if labels is not None else None
            x = sample(
                self.eps_model(chunk_labels),
                self.schedule,
                (k, *self.sample_shape),
                generator,
                c.sampler,
                c.sample_steps or None,
                c.eta,
                self.device,
                "learned" if c.learn_sigma else "beta",
                self.clips,
            )
            chunks.append(x.float().cpu())
        return torch.cat(chunks), labels

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.sample_labeled(n, generator)[0]

    def check_likelihood_data(self, x: Tensor) -> None:
        """Images in [−1, 1] on the 256-level grid, the data the discretized decoder's bound is a probability of."""
        if len(self.sample_shape) != 3:
            raise BenchboxError("this DDPM models vectors, which have no discrete likelihood", "score its samples")
        check_pixel_range(x)

    @torch.no_grad()
    def bits_per_dim(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """The variational bound on −log p(x) in bits/dim per sample, for images in [−1, 1] on the 256-level grid:
        all T terms, or with vlb_timesteps = K an unbiased stratified estimate (K network calls per batch)."""
        self.check_likelihood_data(x)
        net = self.ema.sampling_module(None, self.device)
        c = self.config
        null = torch.full((x.shape[0],), self.num_classes, device=self.device) if self.num_classes else None
        args = (lambda xt, t: self._call(net, xt, t, null), self.schedule, x.to(self.device).float(), generator)
        variance = "learned" if c.learn_sigma else "beta"
        if c.vlb_timesteps:
            return estimated_bits(*args, c.vlb_timesteps, variance, self.clips)
        return total_bits(*args, variance, self.clips)

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


@register_model("ddpm", DDPMConfig, check=check_config, family="diffusion")
def build_ddpm(config: DDPMConfig, ctx: ModelContext) -> DDPM:
    return DDPM(config, ctx)

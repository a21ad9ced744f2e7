"""One GAN trainer for every loss, net and conditioning of the zoo: a variant is settings, not a new class.

A step is n_critic discriminator updates (each on its own slice of the real batch) and one generator update, as
in Arjovsky et al.'s and Gulrajani et al.'s Algorithm 1; with n_critic = 1 it is Goodfellow et al.'s Algorithm 1.
The discriminator may return logits (B,) or (logits, aux) where aux feeds ACGAN's or InfoGAN's extra head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from benchbox.errors import BenchboxError
from reference_models.ema import EMA
from reference_models.gan.conditional import Conditioner
from reference_models.gan.losses import get_loss, gradient_penalty, penalty_pair

SAMPLE_CHUNK = 10_000  # generator forward passes at sampling time take at most this many latents


@dataclass(frozen=True)
class TrainSettings:
    """The loop's knobs, shared by every GAN: loss, optimiser, critic steps, regularisers, generator EMA."""

    loss: str  # a row of reference_models.gan.losses.LOSSES
    batch_size: int  # (packed) examples per discriminator step
    lr_g: float
    lr_d: float
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"  # or "rmsprop" (WGAN with weight clipping, Arjovsky et al. 2017, Algorithm 1)
    n_critic: int = 1
    gradient_penalty: float = 0.0  # WGAN-GP's λ
    weight_clip: float = 0.0  # WGAN's c: discriminator weights clamped to [-c, c] after each update
    pack: int = 1
    ema_decay: float = 0.0  # 0: sample from the trained generator itself
    began_gamma: float = 0.5  # BEGAN's diversity ratio γ
    began_lambda_k: float = 1e-3  # BEGAN's proportional gain λ_k
    # (generator step, factor) pairs in increasing step order: from that step on, both learning rates are the
    # configured ones times factor (a step decay; () keeps them constant, as every paper of the zoo does)
    lr_milestones: tuple[tuple[int, float], ...] = ()


OPTIMIZERS = {  # name -> builder(params, lr, betas)
    "adam": lambda params, lr, betas: torch.optim.Adam(params, lr=lr, betas=betas),
    "rmsprop": lambda params, lr, betas: torch.optim.RMSprop(params, lr=lr),  # WGAN's: no momentum
}


def make_optimizer(params: Any, settings: TrainSettings, lr: float) -> torch.optim.Optimizer:
    return OPTIMIZERS[settings.optimizer](params, lr, settings.betas)


def lr_factor(step: int, milestones: tuple[tuple[int, float], ...]) -> float:
    """The learning-rate factor at generator step `step` (0-based): that of the last milestone reached, else 1."""
    factor = 1.0
    for at, f in milestones:
        if step >= at:
            factor = f
    return factor


def check_settings(settings: TrainSettings) -> None:
    """Refuse settings the trainer cannot run: unknown loss or optimiser, out-of-range numbers."""
    get_loss(settings.loss)
    if settings.optimizer not in OPTIMIZERS:
        raise BenchboxError(f"unknown optimizer '{settings.optimizer}'", f"use {' or '.join(OPTIMIZERS)}")
    problems = []
    if settings.n_critic < 1 or settings.batch_size < 1 or settings.pack < 1:
        problems.append("n_critic, batch_size and pack must be at least 1")
    if not 0.0 <= settings.ema_decay < 1.0:
        problems.append(f"ema_decay {settings.ema_decay} is not in [0, 1)")
    if settings.weight_clip < 0 or settings.gradient_penalty < 0:
        problems.append("weight_clip and gradient_penalty must be non-negative")
    steps = [at for at, _ in settings.lr_milestones]
    if steps != sorted(set(steps)) or any(at < 1 or not f > 0 for at, f in settings.lr_milestones):
        problems.append(f"lr_milestones {settings.lr_milestones} must be increasing steps ≥ 1 with factors > 0")
    if problems:
        raise BenchboxError(f"GAN settings: {'; '.join(problems)}", "fix the model config")


def split_output(out: Tensor | tuple[Tensor, Tensor | None]) -> tuple[Tensor, Tensor | None]:
    return out if isinstance(out, tuple) else (out, None)


class GANTrainer:
    """Trains (generator, discriminator) with one loss of the table; implements the Model protocol."""

    network_evaluations_per_sample = 1  # one generator pass, the axis on which diffusion models pay

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        settings: TrainSettings,
        conditioner: Conditioner,
        sample_shape: tuple[int, ...],
        device: torch.device,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.loss = get_loss(settings.loss).start(settings)
        self.generator = generator.to(device)
        self.discriminator = discriminator.to(device)
        self.conditioner = conditioner
        self.sample_shape = sample_shape
        self.device = device
        self.opt_g = make_optimizer(self.generator.parameters(), settings, settings.lr_g)
        self.opt_d = make_optimizer(self.discriminator.parameters(), settings, settings.lr_d)
        self.ema = EMA(self.generator, settings.ema_decay) if settings.ema_decay else None
        self.examples_per_step = settings.batch_size * settings.pack * settings.n_critic
        self.uses_labels = conditioner.uses_labels  # the runner then passes (images, labels) batches
        self.num_classes = conditioner.num_classes
        self.step = 0  # generator steps taken, for the learning-rate milestones

    def _set_lr(self) -> None:
        factor = lr_factor(self.step, self.settings.lr_milestones)
        for opt, lr in ((self.opt_g, self.settings.lr_g), (self.opt_d, self.settings.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def _critic(self, x: Tensor, labels: Tensor | None) -> tuple[Tensor, Tensor | None]:
        out = self.discriminator(x, labels) if self.conditioner.labels_to_d else self.discriminator(x)
        return split_output(out)

    def _d_step(self, real: Tensor, real_labels: Tensor | None) -> dict[str, Tensor]:
        s = self.settings
        with torch.no_grad():
            latent = self.conditioner.latent(real.shape[0], self.device)
            fake = self.generator(latent.z)
        real_out, real_aux = self._critic(real, real_labels)
        fake_out, fake_aux = self._critic(fake, latent.labels)
        logs: dict[str, Tensor] = {}
        d_loss = self.loss.d(real_out, fake_out)
        aux = self.conditioner.d_aux_loss(real_aux, real_labels, fake_aux, latent, logs)
        if aux is not None:
            d_loss = d_loss + aux
        if s.gradient_penalty:
            d = self.discriminator  # the penalty is on the packed input the critic sees, one ε per packed input
            ends = penalty_pair(s.loss, d.pack_inputs(real), d.pack_inputs(fake))
            penalty = gradient_penalty(d.packed_critic, *ends)
            logs["gradient_penalty"] = penalty.detach()
            d_loss = d_loss + s.gradient_penalty * penalty
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        if s.weight_clip:
            with torch.no_grad():
                for p in self.discriminator.parameters():
                    p.clamp_(-s.weight_clip, s.weight_clip)
        logs["d_loss"] = d_loss.detach()
        return logs

    def train_step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, float]:
        s = self.settings
        images, labels = batch if isinstance(batch, tuple) else (batch, None)
        images = images.to(self.device)
        labels = labels.to(self.device) if labels is not None else None
        self.generator.train()
        self.discriminator.train()
        if s.lr_milestones:
            self._set_lr()
        real_chunks = images.chunk(s.n_critic)
        label_chunks = labels.chunk(s.n_critic) if labels is not None else (None,) * len(real_chunks)
        for real, real_labels in zip(real_chunks, label_chunks, strict=True):
            logs = self._d_step(real, real_labels)
        real, real_labels = real_chunks[-1], label_chunks[-1]
        logs.update(self._g_step(real, real_labels))
        if self.ema is not None:
            self.ema.update(self.generator)
        self.step += 1
        return {k: float(v) for k, v in logs.items()}

    def _g_step(self, real: Tensor, real_labels: Tensor | None) -> dict[str, Tensor]:
        self.discriminator.requires_grad_(False)  # gradients flow through D to G; D's own are not needed
        try:
            return self._g_update(real, real_labels)
        finally:
            self.discriminator.requires_grad_(True)

    def _g_update(self, real: Tensor, real_labels: Tensor | None) -> dict[str, Tensor]:
        latent = self.conditioner.latent(real.shape[0], self.device)
        fake = self.generator(latent.z)
        fake_out, fake_aux = self._critic(fake, latent.labels)
        real_out = None
        if self.loss.g_reads_real:  # relativistic losses and BEGAN's balance; D is frozen, D(x) a constant to G
            with torch.no_grad():
                real_out = self._critic(real, real_labels)[0]
        g_loss = self.loss.g(real_out, fake_out)
        logs: dict[str, Tensor] = {}
        aux = self.conditioner.g_aux_loss(fake_aux, latent, logs)
        if aux is not None:
            g_loss = g_loss + aux
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {**logs, **self.loss.after_g_step(real_out, fake_out.detach()), "g_loss": g_loss.detach()}

    def _sampling_generator(self) -> nn.Module:
        if self.ema is not None:
            return self.ema.sampling_module(self.conditioner, self.device)
        self.generator.eval()
        return self.generator

    @torch.no_grad()
    def sample_labeled(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """n samples (in eval mode, from the EMA generator when there is one) and their class labels (or None)."""
        net = self._sampling_generator()
        latent = self.conditioner.latent(n, torch.device("cpu"), generator=generator, balanced=True)
        chunks = []
        for start in range(0, n, SAMPLE_CHUNK):
            z = latent.z[start : start + SAMPLE_CHUNK].to(self.device)
            chunks.append(net(z).reshape(-1, *self.sample_shape).cpu())
        return torch.cat(chunks), latent.labels

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self.sample_labeled(n, generator)[0]

    def state_dict(self) -> dict[str, Any]:
        state = {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if loss_state := self.loss.state_dict():  # a loss with state (BEGAN's k_t) under its name; others add no key
            state[self.settings.loss] = loss_state
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state.get("step", 0))  # checkpoints from before the milestones have none and need none
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.loss.load_state_dict(state.get(self.settings.loss, {}))

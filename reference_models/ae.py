"""A convolutional autoencoder, plain or sparse (L1 on the codes, or Ng's KL to a target activation).

An autoencoder has no prior over its codes, so it is not a generative model on its own. To be scored like one,
`sample` decodes codes drawn from a Gaussian fitted to the codes of the training batches (an exponential moving
average of their mean and second moment): a fixed, stated stand-in for a prior, not part of the AE itself.

The conv stacks follow DCGAN's layout (reference_models/gan/dcgan.py) without batch norm, so a sample's code and
reconstruction do not depend on the rest of its batch; vae.py uses the same two builders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from reference_models.blocks import down_block, up_block
from reference_models.gan.dcgan import dcgan_layout

SPARSITY = ("none", "l1", "kl")
SAMPLE_CHUNK = 1000  # codes decoded per batch at sampling time


@dataclass(frozen=True)
class AEConfig:
    """A conv autoencoder with an optional sparsity penalty on its codes."""

    latent_dim: int = 32  # small enough to force compression of 8×8 to 32×32 images, large enough to reconstruct
    base_width: int = 32  # channels of the largest hidden feature map, doubled per halving (as DCGAN's ngf)
    batch_size: int = 64
    lr: float = 1e-3  # Adam's default step; the AE's loss is a plain regression
    sparsity: str = "none"  # "l1": λ·Σ|h_j|; "kl": sigmoid codes and β·Σ KL(ρ ‖ ρ̂_j) (Ng's notes)
    sparsity_weight: float = 1e-3  # λ or β; small next to a per-pixel MSE, raise it for sparser codes
    sparsity_target: float = 0.05  # ρ: the mean activation each sigmoid unit is pushed to (Ng's example value)
    code_stats_decay: float = 0.99  # EMA of code mean and second moment for `sample`: follows codes over ~100 steps


def check_config(c: AEConfig) -> None:
    problems = []
    if c.sparsity not in SPARSITY:
        problems.append(f"unknown sparsity '{c.sparsity}' (use {', '.join(SPARSITY)})")
    if c.latent_dim < 1 or c.base_width < 1 or c.batch_size < 1:
        problems.append("latent_dim, base_width and batch_size must be at least 1")
    if not c.lr > 0 or not math.isfinite(c.lr):
        problems.append(f"lr {c.lr} must be a positive number")
    if not c.sparsity_weight >= 0 or not math.isfinite(c.sparsity_weight):
        problems.append(f"sparsity_weight {c.sparsity_weight} must be a number >= 0")
    if not 0 < c.sparsity_target < 1:
        problems.append(f"sparsity_target {c.sparsity_target} must lie in (0, 1)")
    if not 0 <= c.code_stats_decay < 1:
        problems.append(f"code_stats_decay {c.code_stats_decay} must lie in [0, 1)")
    if problems:
        raise BenchboxError(f"AE config: {'; '.join(problems)}", "fix the model config")


def l1_sparsity(codes: Tensor) -> Tensor:
    """Σ_j |h_j| per sample, the sparse autoencoder's L1 penalty Ω(h) (Goodfellow et al. 2016, sec. 14.2.1)."""
    return codes.abs().reshape(codes.shape[0], -1).sum(dim=1)


def kl_sparsity(rho: float, rho_hat: Tensor) -> Tensor:
    """Σ_j ρ log(ρ/ρ̂_j) + (1 − ρ) log((1 − ρ)/(1 − ρ̂_j)), over the last dim (Ng, CS294A "Sparse autoencoder" notes)."""
    if not 0 < rho < 1:
        raise BenchboxError(f"sparsity target ρ = {rho} is outside (0, 1)", "pass a target activation such as 0.05")
    eps = torch.finfo(rho_hat.dtype).eps  # a saturated unit (ρ̂ = 0 or 1) gives a large, finite penalty
    rho_hat = rho_hat.clamp(eps, 1 - eps)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return kl.sum(dim=-1)


def image_shape(ctx: ModelContext, kind: str) -> tuple[int, int]:
    """(channels, side) of a square image task, refusing anything else."""
    shape = tuple(ctx.sample_shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise BenchboxError(
            f"the {kind} trains on square C×H×W images, not samples of shape {shape}",
            "use an image suite (digits, fashion-mnist, cifar10)",
        )
    return shape[0], shape[1]


def conv_encoder(channels: int, image_size: int, base_width: int, out_dim: int) -> nn.Sequential:
    """(N, C, H, W) → (N, out_dim): strided 4×4 convs with LeakyReLU(0.2) down to DCGAN's first side, then linear."""
    start, widths = dcgan_layout(image_size, base_width)
    widths = widths[::-1]  # the largest feature map first
    layers: list[nn.Module] = []
    for c_in, c_out in zip([channels, *widths], widths, strict=False):
        act = nn.LeakyReLU(0.2)
        layers.append(down_block(c_in, c_out, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=act))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(widths[-1] * start * start, out_dim))


def conv_decoder(latent_dim: int, image_size: int, base_width: int, out_channels: int) -> nn.Sequential:
    """(N, latent_dim) → (N, out_channels, H, W), unbounded: linear to DCGAN's first map, then ×2 transposed convs."""
    start, widths = dcgan_layout(image_size, base_width)
    layers: list[nn.Module] = [
        nn.Linear(latent_dim, widths[0] * start * start),
        nn.ReLU(),
        nn.Unflatten(1, (widths[0], start, start)),
    ]
    for c_in, c_out in zip(widths, widths[1:], strict=False):
        layers.append(up_block(c_in, c_out, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=nn.ReLU()))
    layers.append(
        up_block(widths[-1], out_channels, kernel_size=4, stride=2, padding=1, batch_norm=False, activation=None)
    )
    return nn.Sequential(*layers)


def check_batch(x: Tensor, sample_shape: tuple[int, ...], kind: str) -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != sample_shape:
        raise BenchboxError(
            f"this {kind} takes images of shape (N, {', '.join(map(str, sample_shape))}), got {tuple(x.shape)}",
            "build the model with the image size and channels of the data",
        )


class AutoEncoder:
    """Model protocol: train_step, reconstruct, sample (from a Gaussian fitted to training codes), state_dict."""

    def __init__(self, config: AEConfig, ctx: ModelContext) -> None:
        check_config(config)
        self.config = c = config
        self.device = ctx.device
        channels, size = image_shape(ctx, "autoencoder")
        self.sample_shape = (channels, size, size)
        self.encoder = conv_encoder(channels, size, c.base_width, c.latent_dim).to(self.device)
        decoder = conv_decoder(c.latent_dim, size, c.base_width, channels)
        self.decoder = nn.Sequential(decoder, nn.Tanh()).to(self.device)
        params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=c.lr)
        self.examples_per_step = c.batch_size
        # N(0, I) until the first batch; float64 so E[zzᵀ] − mmᵀ keeps its small eigenvalues through the cancellation
        self.code_mean = torch.zeros(c.latent_dim, dtype=torch.float64, device=self.device)
        self.code_second_moment = torch.eye(c.latent_dim, dtype=torch.float64, device=self.device)
        self.code_batches = 0
        self.step = 0

    def encode(self, x: Tensor) -> Tensor:
        """The code h(x): linear for "none" and "l1", sigmoid units in (0, 1) for "kl"."""
        pre = self.encoder(x)
        return torch.sigmoid(pre) if self.config.sparsity == "kl" else pre

    def sparsity_penalty(self, codes: Tensor) -> Tensor:
        """The batch's penalty: mean of Σ|h_j| (l1), or Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the batch-mean activation (kl)."""
        c = self.config
        if c.sparsity == "l1":
            return l1_sparsity(codes).mean()
        if c.sparsity == "kl":
            return kl_sparsity(c.sparsity_target, codes.mean(dim=0))
        return codes.new_zeros(())

    def train_step(self, batch: Tensor) -> dict[str, float]:
        """Descend MSE(x, dec(enc(x))) + weight · sparsity penalty; update the code statistics used by `sample`."""
        x = batch.to(self.device)
        check_batch(x, self.sample_shape, "autoencoder")
        codes = self.encode(x)
        reconstruction = F.mse_loss(self.decoder(codes), x)
        sparsity = self.sparsity_penalty(codes)
        loss = reconstruction + self.config.sparsity_weight * sparsity
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._update_code_stats(codes.detach())
        self.step += 1
        logs = {"loss": loss.item(), "reconstruction": reconstruction.item(), "sparsity": sparsity.item()}
        if self.config.sparsity == "kl":
            logs["mean_activation"] = codes.detach().mean().item()  # ρ̂ averaged over units; the penalty pulls it to ρ
        else:
            logs["mean_abs_code"] = codes.detach().abs().mean().item()
        return logs

    @torch.no_grad()
    def _update_code_stats(self, codes: Tensor) -> None:
        z = codes.double()
        mean, second = z.mean(dim=0), z.T @ z / z.shape[0]
        decay = self.config.code_stats_decay if self.code_batches else 0.0  # the first batch replaces N(0, I)
        self.code_mean.mul_(decay).add_(mean, alpha=1 - decay)
        self.code_second_moment.mul_(decay).add_(second, alpha=1 - decay)
        self.code_batches += 1

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """dec(enc(x)) in [-1, 1]."""
        x = x.to(self.device)
        check_batch(x, self.sample_shape, "autoencoder")
        return self.decoder(self.encode(x))

    def code_covariance(self) -> Tensor:
        """E[hhᵀ] − E[h]E[h]ᵀ of the averaged training codes (a covariance of a mixture of batches, so PSD)."""
        cov = self.code_second_moment - torch.outer(self.code_mean, self.code_mean)
        return 0.5 * (cov + cov.T)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """dec(h) for h ~ N(m, S) fitted to the training codes (see the module docstring); sigmoid codes are
        clipped to [0, 1], the range the decoder was trained on. Deterministic given generator."""
        eigvals, eigvecs = torch.linalg.eigh(self.code_covariance().cpu())
        root = eigvecs * eigvals.clamp(min=0).sqrt()  # S = root rootᵀ, even where S is singular
        eps = torch.randn(n, self.config.latent_dim, generator=generator, dtype=torch.float64)
        codes = (self.code_mean.cpu() + eps @ root.T).float()
        if self.config.sparsity == "kl":
            codes = codes.clamp(0.0, 1.0)
        return torch.cat([self.decoder(chunk.to(self.device)).float().cpu() for chunk in codes.split(SAMPLE_CHUNK)])

    def state_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.state_dict(),
            "decoder": self.decoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "code_mean": self.code_mean.clone(),
            "code_second_moment": self.code_second_moment.clone(),
            "code_batches": self.code_batches,
            "step": self.step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.decoder.load_state_dict(state["decoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.code_mean.copy_(state["code_mean"])
        self.code_second_moment.copy_(state["code_second_moment"])
        self.code_batches = int(state["code_batches"])
        self.step = int(state["step"])


@register_model("ae", AEConfig, check=check_config, family="ae")
def build_ae(config: AEConfig, ctx: ModelContext) -> AutoEncoder:
    return AutoEncoder(config, ctx)

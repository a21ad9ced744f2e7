"""The variational autoencoder (Kingma & Welling 2014), its β-weighted objective (Higgins et al. 2017) and the
importance-weighted estimate of log p(x) (Burda et al. 2016), for images.

q(z|x) = N(μ(x), diag σ²(x)), p(z) = N(0, I), and p(x|z) factorises over pixels as one of:
  "bernoulli": logits on x01 = (x + 1)/2. A probability only for binary images; on grey levels it is the usual
               cross-entropy objective, not a likelihood, so `log_likelihood` and `bits_per_dim` refuse such data.
  "logistic" / "gaussian": a mean and log-scale per pixel, the density integrated over the pixel's bin of the
               256-level grid on [-1, 1] (reference_models/likelihood.py): a proper probability mass on 8-bit
               data, so bits/dim compare directly with other models' discrete NLLs.
All likelihoods are in nats per sample; `bits_per_dim` converts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from benchbox.errors import BenchboxError
from benchbox.model import ModelContext
from benchbox.registry import register_model
from reference_models import likelihood
from reference_models.ae import check_batch, conv_decoder, conv_encoder, image_shape
from reference_models.likelihood import (
    bernoulli_log_likelihood,
    check_pixel_range,
    discretized_gaussian_log_likelihood,
    discretized_logistic_log_likelihood,
    gaussian_kl_standard,
)

DECODERS = ("bernoulli", "logistic", "gaussian")
LOG_SCALE_MIN = -7.0  # PixelCNN++'s floor on decoder log-scales: e^-7 ≈ 0.0009 is already well inside one bin (2/255)
EVAL_BATCH = 4096  # decoder inputs (rows × importance samples) per forward pass when estimating likelihoods
SAMPLE_CHUNK = 1000  # samples decoded per batch at sampling time
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEConfig:
    """A conv VAE; the defaults suit 8×8 to 32×32 images."""

    latent_dim: int = 32  # Kingma & Welling's MNIST runs used up to 200; 32 keeps IWAE evaluation cheap
    base_width: int = 32  # channels of the largest hidden feature map, doubled per halving (as DCGAN's ngf)
    decoder: str = "logistic"  # a discrete likelihood on 8-bit data; "bernoulli" only for binary data
    beta: float = 1.0  # weight of the KL term; 1 is the ELBO, > 1 the β-VAE (Higgins et al. 2017)
    batch_size: int = 128
    lr: float = 1e-3  # Adam; Kingma & Welling used Adagrad, Burda et al. Adam from 1e-3
    # K for log p(x). Burda et al. report k = 5000; the estimate's downward bias shrinks like 1/K (Nowozin 2018),
    # so 1000 is close to it at a fifth of the decoder passes; 100 would leave a visible bias on a weak encoder
    iw_samples: int = 1000
    sample_pixels: bool = False  # False: decoder means, as VAE papers show; True: draw x ~ p(x|z), pixel noise too


def check_config(c: VAEConfig) -> None:
    problems = []
    if c.decoder not in DECODERS:
        problems.append(f"unknown decoder '{c.decoder}' (use {', '.join(DECODERS)})")
    if not c.beta >= 0 or not math.isfinite(c.beta):
        problems.append(f"beta {c.beta} must be a number >= 0")
    if c.iw_samples < 1:
        problems.append(f"iw_samples {c.iw_samples} must be at least 1 (K importance samples per image)")
    if c.latent_dim < 1 or c.base_width < 1 or c.batch_size < 1:
        problems.append("latent_dim, base_width and batch_size must be at least 1")
    if not c.lr > 0 or not math.isfinite(c.lr):
        problems.append(f"lr {c.lr} must be a positive number")
    if problems:
        raise BenchboxError(f"VAE config: {'; '.join(problems)}", "fix the model config")


def elbo_terms(log_px_given_z: Tensor, mean: Tensor, log_var: Tensor) -> tuple[Tensor, Tensor]:
    """(Σ log p(x|z), KL(N(μ, σ²) ‖ N(0, I))) in nats per sample; ELBO = first − second (Kingma & Welling 2014, eq. 10)."""
    reconstruction = log_px_given_z.reshape(log_px_given_z.shape[0], -1).sum(dim=1)
    return reconstruction, gaussian_kl_standard(mean, log_var)


def iwae_log_likelihood(log_weights: Tensor) -> Tensor:
    """log (1/K) Σ_k w_k = logsumexp_k(log w_k) − log K over the last dim, K = its size (Burda et al. 2016, eq. 8)."""
    k = log_weights.shape[-1] if log_weights.dim() else 0
    if k < 1:
        raise BenchboxError("no importance weights to average", "pass log weights of shape (N, K) with K >= 1")
    return torch.logsumexp(log_weights, dim=-1) - math.log(k)


def diagonal_gaussian_log_density(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """Σ_i log N(z_i; μ_i, σ_i²) = −½ Σ_i ((z_i − μ_i)²/σ_i² + log σ_i² + log 2π), over the last dim."""
    return -0.5 * ((z - mean).square() * torch.exp(-log_var) + log_var + LOG_2PI).sum(dim=-1)


def quantize(x: Tensor) -> Tensor:
    """Round to the nearest level of the 256-level grid on [-1, 1], clamping: the edge bins reach to ∓∞."""
    return ((x + 1.0) * 127.5).round().clamp(0, 255) / 127.5 - 1.0


class VAE:
    """Model protocol: train_step, sample, reconstruct, elbo, log_likelihood (IWAE, nats), bits_per_dim, state_dict."""

    clamps_samples = True  # a discretized decoder's edge bins reach to ∓∞: samples beyond [-1, 1] are the edge levels

    def __init__(self, config: VAEConfig, ctx: ModelContext) -> None:
        check_config(config)
        self.config = c = config
        self.device = ctx.device
        channels, size = image_shape(ctx, "VAE")
        self.sample_shape = (channels, size, size)
        out_channels = channels if c.decoder == "bernoulli" else 2 * channels  # logits, or mean and log-scale
        self.encoder = conv_encoder(channels, size, c.base_width, 2 * c.latent_dim).to(self.device)
        self.decoder = conv_decoder(c.latent_dim, size, c.base_width, out_channels).to(self.device)
        self.optimizer = torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()], lr=c.lr)
        self.examples_per_step = c.batch_size
        self.step = 0

    @property
    def num_dims(self) -> int:
        return math.prod(self.sample_shape)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ(x), log σ²(x)) of q(z|x)."""
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var

    def _split(self, out: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_scale = out.chunk(2, dim=1)
        return mean, log_scale.clamp(min=LOG_SCALE_MIN)

    def log_px_given_z(self, x: Tensor, out: Tensor, *, check: bool = False) -> Tensor:
        """log p(x|z) per pixel from the decoder's output `out` = dec(z)."""
        if self.config.decoder == "bernoulli":
            return bernoulli_log_likelihood((x + 1.0) / 2.0, out, check=check)
        fn = (
            discretized_logistic_log_likelihood
            if self.config.decoder == "logistic"
            else discretized_gaussian_log_likelihood
        )
        return fn(x, *self._split(out), check=check)

    def decoder_mean(self, out: Tensor) -> Tensor:
        """E[x|z] in [-1, 1] (the location for the discretized decoders, clamped to the edge bins)."""
        if self.config.decoder == "bernoulli":
            return 2.0 * torch.sigmoid(out) - 1.0
        return self._split(out)[0].clamp(-1.0, 1.0)

    def train_step(self, batch: Tensor) -> dict[str, float]:
        """Descend −mean(Σ log p(x|z) − β·KL) with z = μ + σ·ε, ε ~ N(0, I) (the reparameterisation trick)."""
        x = batch.to(self.device)
        check_batch(x, self.sample_shape, "VAE")
        mean, log_var = self.encode(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        reconstruction, kl = elbo_terms(self.log_px_given_z(x, self.decoder(z)), mean, log_var)
        loss = -(reconstruction - self.config.beta * kl).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return {
            "loss": loss.item(),
            "reconstruction": -reconstruction.mean().item(),  # −E_q log p(x|z), nats per image
            "kl": kl.mean().item(),  # KL(q(z|x) ‖ p(z)), nats per image
            "elbo": (reconstruction - kl).mean().item(),
        }

    def _check_data(self, x: Tensor, *, discrete: bool) -> None:
        """Pixels in [-1, 1]; where a probability is needed, on the grid the decoder's likelihood is a mass on."""
        check_batch(x, self.sample_shape, "VAE")
        if self.config.decoder != "bernoulli":
            check_pixel_range(x)  # the discretized decoders need the 256-level grid even for the ELBO
            return
        check_pixel_range(x, levels=None)
        if discrete and bool(((x.abs() - 1.0).abs() > 1e-4).any()):
            raise BenchboxError(
                "the Bernoulli decoder's likelihood is a probability only for binary images, and these have grey levels",
                "binarize the data to -1/1, use elbo() for the training objective, or use decoder='logistic'",
            )

    def check_likelihood_data(self, x: Tensor) -> None:
        """Refuse data this model's likelihood is not a probability of (called on test images before training)."""
        self._check_data(x, discrete=True)

    @torch.no_grad()
    def _sampled_terms(self, x: Tensor, generator: torch.Generator, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """For k draws z ~ q(z|x) per image: log p(x|z) and log p(z) − log q(z|x), each (N, k) in float64, and
        KL(q ‖ p) (N,)."""
        x = x.to(self.device)
        rows = max(1, EVAL_BATCH // k)
        log_px, log_ratio, kls = [], [], []
        for xs in x.split(rows):
            mean, log_var = self.encode(xs)
            kls.append(gaussian_kl_standard(mean, log_var).double())
            per_draw = max(1, EVAL_BATCH // xs.shape[0])
            px_parts, ratio_parts = [], []
            for start in range(0, k, per_draw):
                m = min(per_draw, k - start)
                eps = torch.randn(xs.shape[0], m, mean.shape[1], generator=generator).to(self.device, mean.dtype)
                z = mean[:, None] + torch.exp(0.5 * log_var)[:, None] * eps
                out = self.decoder(z.reshape(-1, z.shape[-1]))
                x_rep = xs[:, None].expand(-1, m, *xs.shape[1:]).reshape(-1, *xs.shape[1:])
                px_parts.append(self.log_px_given_z(x_rep, out).reshape(xs.shape[0], m, -1).double().sum(dim=-1))
                log_pz = diagonal_gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
                log_qz = diagonal_gaussian_log_density(z, mean[:, None], log_var[:, None])
                ratio_parts.append((log_pz - log_qz).double())
            log_px.append(torch.cat(px_parts, dim=1))
            log_ratio.append(torch.cat(ratio_parts, dim=1))
        return torch.cat(log_px), torch.cat(log_ratio), torch.cat(kls)

    def elbo(self, x: Tensor, generator: torch.Generator | None = None, samples: int = 1) -> Tensor:
        """E_q[log p(x|z)] − KL(q ‖ p) in nats per image (float64): the expectation over `samples` draws of z, the
        KL in closed form. Without a generator a fresh one seeded 0 is used, so the value is reproducible."""
        if samples < 1:
            raise BenchboxError(f"samples is {samples}", "pass at least 1 draw of z per image")
        self._check_data(x, discrete=False)
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        log_px, _, kl = self._sampled_terms(x, generator, samples)
        return log_px.mean(dim=1) - kl

    def log_importance_weights(self, x: Tensor, generator: torch.Generator, k: int) -> Tensor:
        """log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x), z_k ~ q(z|x): (N, k) in float64."""
        self._check_data(x, discrete=True)
        log_px, log_ratio, _ = self._sampled_terms(x, generator, k)
        return log_px + log_ratio

    def log_likelihood(self, x: Tensor, generator: torch.Generator, k: int | None = None) -> Tensor:
        """The IWAE estimate of log p(x) in nats per image (float64) with k (default iw_samples) importance samples:
        a lower bound in expectation that tightens as k grows (Burda et al. 2016, theorem 1)."""
        k = self.config.iw_samples if k is None else k
        if k < 1:
            raise BenchboxError(f"k is {k}", "pass at least 1 importance sample per image")
        return iwae_log_likelihood(self.log_importance_weights(x, generator, k))

    def bits_per_dim(self, x: Tensor, generator: torch.Generator, k: int | None = None) -> Tensor:
        """−log p(x) / (D ln 2) per image from the IWAE estimate: a discrete NLL on 8-bit (or binary) data."""
        return likelihood.bits_per_dim(-self.log_likelihood(x, generator, k), self.num_dims)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """The decoder mean at the posterior mean, E[x | z = μ(x)], in [-1, 1]."""
        x = x.to(self.device)
        check_batch(x, self.sample_shape, "VAE")
        return self.decoder_mean(self.decoder(self.encode(x)[0]))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """dec(z) for z ~ N(0, I): the decoder mean, or with sample_pixels a draw x ~ p(x|z) on the model's grid."""
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        chunks = []
        for zs in z.split(SAMPLE_CHUNK):
            out = self.decoder(zs.to(self.device)).float().cpu()
            chunks.append(self._draw_pixels(out, generator) if self.config.sample_pixels else self.decoder_mean(out))
        return torch.cat(chunks)

    def _draw_pixels(self, out: Tensor, generator: torch.Generator) -> Tensor:
        if self.config.decoder == "bernoulli":
            return 2.0 * torch.bernoulli(torch.sigmoid(out), generator=generator) - 1.0
        mean, log_scale = self._split(out)
        if self.config.decoder == "gaussian":
            noise = torch.randn(mean.shape, generator=generator)
        else:  # the logistic's inverse CDF, log u − log(1 − u)
            u = torch.rand(mean.shape, generator=generator).clamp(1e-6, 1.0 - 1e-6)
            noise = torch.log(u) - torch.log1p(-u)
        return quantize(mean + torch.exp(log_scale) * noise)

    def state_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.state_dict(),
            "decoder": self.decoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.decoder.load_state_dict(state["decoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])


@register_model("vae", VAEConfig, check=check_config, family="vae")
def build_vae(config: VAEConfig, ctx: ModelContext) -> VAE:
    return VAE(config, ctx)

"""What the generator is fed and what extra heads learn: none, CGAN, ACGAN or InfoGAN.

- CGAN (Mirza & Osindero 2014): a one-hot class label joins z at the generator's input and the image at the
  discriminator's input (as extra constant channels), so both nets see it.
- ACGAN (Odena et al. 2017): the label joins z; the discriminator is unconditional but has an auxiliary classifier
  head, and both nets also minimise its cross-entropy on their samples: L_C = E[log P(C=c|X_real)] + E[log P(C=c|X_fake)].
- InfoGAN (Chen et al. 2016): no labels. z is joined by a categorical code c (one-hot, uniform) and continuous codes
  u ~ U[-1, 1]; a head Q on the discriminator's features predicts them, and both nets maximise the variational lower
  bound L_I = E[log Q(c|x)] + H(c) ≤ I(c; G(z, c)) (weight λ). Q's continuous part is a unit-variance Gaussian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from benchbox.errors import BenchboxError

MODES = ("none", "cgan", "acgan", "infogan")


@dataclass(frozen=True)
class Latent:
    """One batch of generator inputs: the full input z and what it was built from."""

    z: Tensor
    labels: Tensor | None = None  # class labels (CGAN, ACGAN)
    codes: Tensor | None = None  # InfoGAN's categorical code, as indices
    continuous: Tensor | None = None  # InfoGAN's continuous codes in [-1, 1]


def categorical_mi_lower_bound(code_logits: Tensor, codes: Tensor) -> Tensor:
    """E[log Q(c|x)] + H(c) for a uniform categorical c over K values: log K − cross-entropy (Chen et al. 2016, eq. 4)."""
    k = code_logits.shape[1]
    return math.log(k) - F.cross_entropy(code_logits, codes)


def gaussian_log_likelihood(mean: Tensor, value: Tensor) -> Tensor:
    """Mean over the batch of log N(value; mean, I), summed over dimensions."""
    return (-0.5 * (value - mean) ** 2 - 0.5 * math.log(2 * math.pi)).sum(1).mean()


class Conditioner:
    """Builds generator inputs and the auxiliary losses for one conditioning mode."""

    def __init__(
        self,
        mode: str,
        z_dim: int,
        num_classes: int = 0,
        info_categories: int = 10,
        info_continuous: int = 2,
        info_weight: float = 1.0,
        info_continuous_weight: float = 0.1,
    ) -> None:
        if mode not in MODES:
            raise BenchboxError(f"unknown conditioning '{mode}'", f"choose one of: {', '.join(MODES)}")
        if mode in ("cgan", "acgan") and num_classes < 2:
            raise BenchboxError(
                f"{mode} needs a labelled dataset, got {num_classes} classes", "train it on a suite with labels"
            )
        self.mode = mode
        self.z_dim = z_dim
        self.num_classes = num_classes if mode in ("cgan", "acgan") else 0
        self.info_categories = info_categories if mode == "infogan" else 0
        self.info_continuous = info_continuous if mode == "infogan" else 0
        self.info_weight = info_weight
        self.info_continuous_weight = info_continuous_weight
        self.uses_labels = mode in ("cgan", "acgan")
        self.labels_to_d = mode == "cgan"

    @property
    def input_dim(self) -> int:
        """Width of the generator's input."""
        return self.z_dim + self.num_classes + self.info_categories + self.info_continuous

    @property
    def aux_dim(self) -> int:
        """Width of the discriminator's auxiliary head (0: none)."""
        if self.mode == "acgan":
            return self.num_classes
        return self.info_categories + self.info_continuous

    def latent(
        self, n: int, device: torch.device, generator: torch.Generator | None = None, balanced: bool = False
    ) -> Latent:
        """z ~ N(0, I) and, per mode, labels or codes; `balanced` gives labels 0, 1, …, K−1, 0, 1, … (for scoring)."""
        z = torch.randn(n, self.z_dim, generator=generator, device=device if generator is None else None).to(device)
        if self.mode == "none":
            return Latent(z)
        if self.mode in ("cgan", "acgan"):
            k = self.num_classes
            labels = torch.arange(n) % k if balanced else torch.randint(k, (n,), generator=generator)
            labels = labels.to(device)
            return Latent(torch.cat([z, F.one_hot(labels, k).to(z.dtype)], 1), labels=labels)
        codes = torch.randint(self.info_categories, (n,), generator=generator).to(device)
        continuous = (torch.rand(n, self.info_continuous, generator=generator) * 2 - 1).to(device)
        one_hot = F.one_hot(codes, self.info_categories).to(z.dtype)
        return Latent(torch.cat([z, one_hot, continuous], 1), codes=codes, continuous=continuous)

    def _info_loss(self, aux: Tensor, latent: Latent, logs: dict[str, Tensor]) -> Tensor:
        cat_logits, cont_mean = aux[:, : self.info_categories], aux[:, self.info_categories :]
        bound = categorical_mi_lower_bound(cat_logits, latent.codes)
        cont = gaussian_log_likelihood(cont_mean, latent.continuous)
        logs["mi_lower_bound"] = bound.detach()
        return -(self.info_weight * bound + self.info_continuous_weight * cont)

    def d_aux_loss(
        self,
        real_aux: Tensor | None,
        real_labels: Tensor | None,
        fake_aux: Tensor | None,
        latent: Latent,
        logs: dict[str, Tensor],
    ) -> Tensor | None:
        """The discriminator's extra loss: ACGAN's class cross-entropy on real and generated images, or −λ L_I."""
        if self.mode == "acgan":
            logs["aux_real_accuracy"] = (real_aux.argmax(1) == real_labels).float().mean().detach()
            return F.cross_entropy(real_aux, real_labels) + F.cross_entropy(fake_aux, latent.labels)
        if self.mode == "infogan":
            return self._info_loss(fake_aux, latent, logs)
        return None

    def g_aux_loss(self, fake_aux: Tensor | None, latent: Latent, logs: dict[str, Tensor]) -> Tensor | None:
        """The generator's extra loss: ACGAN's cross-entropy of its samples' labels, or −λ L_I."""
        if self.mode == "acgan":
            return F.cross_entropy(fake_aux, latent.labels)
        if self.mode == "infogan":
            return self._info_loss(fake_aux, latent, logs)
        return None

"""Values a model gives about itself, beside the sample-quality metrics: its likelihood (bits/dim) on the test split,
its reconstructions' PSNR/SSIM, and its sampling cost, so that one table holds GANs, VAEs and diffusion models.

Each is recorded only for models that have the method: `bits_per_dim(x, generator)` (a discrete NLL, or an upper
bound on it, per image), `elbo(x, generator)` (nats per image), `reconstruct(x)`, `network_evaluations_per_sample`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from benchbox.catalogue import Value, register_values
from benchbox.errors import BenchboxError
from benchbox.metrics.reconstruction import psnr, ssim

LIKELIHOOD_N = 500  # test images (a fixed prefix of the split) for likelihoods and reconstructions
LIKELIHOOD_SEED = 0  # the generator for their Monte Carlo draws: fixed, so a model's number is reproducible
SSIM_MIN_SIDE = 11  # SSIM's Gaussian window; smaller images (8×8 digits) get PSNR only


TEST_IMAGES = f"the first {LIKELIHOOD_N} test images"
MODEL_VALUES = (  # in table order
    *register_values(
        "likelihood",
        ("model.bits_per_dim", TEST_IMAGES),
        Value(
            "nll_bits_per_dim",
            False,
            "negative log-likelihood (or its bound) on test images, bits/dim",
            of_weights=True,
            topic="likelihood",
        ),
    ),
    *register_values(
        "likelihood",
        ("model.elbo", TEST_IMAGES),
        Value(
            "elbo_bits_per_dim",
            False,
            "negative ELBO on test images, bits/dim (≥ the NLL)",
            of_weights=True,
            topic="likelihood",
        ),
    ),
    *register_values(
        "reconstruction",
        ("model.reconstruct", TEST_IMAGES),
        Value(
            "psnr",
            True,
            "PSNR of reconstructed test images, dB (data range 2 on [−1, 1])",
            2,
            of_weights=True,
            topic="likelihood",
        ),
        Value(
            "ssim",
            True,
            "SSIM of reconstructed test images (images of 11×11 or more)",
            of_weights=True,
            topic="likelihood",
        ),
    ),
    *register_values(
        "cost",
        ("model.network_evaluations_per_sample",),
        Value("nfe_per_sample", False, "network evaluations per generated sample", 0, tradeoff=True, topic="cost"),
    ),
    *register_values(
        "cost",
        ("generated samples",),
        Value(
            "seconds_per_sample",
            False,
            "wall seconds per generated sample on the run's device",
            5,
            tradeoff=True,
            topic="cost",
        ),
    ),
)


def model_method(value: Value) -> str | None:
    """The method a model needs for one of its own values (from the value's inputs), or None."""
    return next((i.removeprefix("model.") for i in value.inputs if i.startswith("model.")), None)


def check_supported(model: Any, wanted: Iterable[str], name: str, task: Any) -> None:
    """Refuse, before training, a suite that requires a value (a likelihood, say) this model cannot give, and test
    images its likelihood is not a probability of (grey levels under a Bernoulli decoder, say)."""
    if hasattr(model, "check_likelihood_data"):  # the test images are read only for a model that checks them
        model.check_likelihood_data(likelihood_images(task))
    methods = {v.base: model_method(v) for v in MODEL_VALUES}
    missing = sorted(v for v in wanted if methods.get(v) and not hasattr(model, methods[v]))
    if missing:
        names = ", ".join(sorted({methods[v] for v in missing}))
        raise BenchboxError(
            f"the suite requires {', '.join(missing)} of every model, but model '{name}' has no {names}",
            "drop those values from the suite's metrics, or leave this model out with --models",
        )


def likelihood_images(task: Any) -> torch.Tensor:
    """The first LIKELIHOOD_N reference images as float32 in [−1, 1], exactly on the 256-level grid."""
    return task.reference_images()[:LIKELIHOOD_N].float() / 127.5 - 1


def model_values(model: Any, task: Any, seconds_per_sample: float, weights: bool = True) -> dict[str, float]:
    """The values of MODEL_VALUES that this model supports, measured on the task's test images; with
    `weights=False` only its sampling cost (a sampling variant shares the likelihood of the weights it samples)."""
    out = {"seconds_per_sample": seconds_per_sample}
    if hasattr(model, "network_evaluations_per_sample"):
        out["nfe_per_sample"] = float(model.network_evaluations_per_sample)
    if not weights or not any(hasattr(model, m) for m in ("bits_per_dim", "elbo", "reconstruct")):
        return out
    x = likelihood_images(task)
    dims = math.prod(x.shape[1:])
    with torch.no_grad():
        if hasattr(model, "bits_per_dim"):
            out["nll_bits_per_dim"] = float(model.bits_per_dim(x, generator()).double().mean())
        if hasattr(model, "elbo"):
            nats = model.elbo(x, generator()).double().mean()
            out["elbo_bits_per_dim"] = float(-nats / (dims * math.log(2)))
        if hasattr(model, "reconstruct"):
            rec = model.reconstruct(x).detach().cpu().float()
            out["psnr"] = psnr(rec, x, data_range=2.0)
            if min(x.shape[2:]) >= SSIM_MIN_SIDE:
                out["ssim"] = ssim(rec, x, data_range=2.0)
    return out


def generator() -> torch.Generator:
    return torch.Generator().manual_seed(LIKELIHOOD_SEED)

"""Perceptual path length (Karras et al. 2019, "A style-based generator architecture"): E[LPIPS(G(z0), G(lerp(z0,
z1, ε))) / ε²] over latent pairs, dropping the lowest and highest 1% as StyleGAN does, through torch-fidelity's PPL.

benchbox adds the weights rule for LPIPS's two files (torch-fidelity's LPIPS heads and torchvision's VGG16), which
torch-fidelity only fetches through torch.hub, and does the percentile discard itself: torch-fidelity 0.4 calls
`np.percentile(..., interpolation=...)`, which numpy 2 no longer accepts.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from benchbox.errors import BenchboxError
from benchbox.features.weights import ResolvedWeights, WeightsSpec, load_tensors, resolve_weights

LPIPS_HEADS = WeightsSpec(
    name="LPIPS-VGG16 heads (torch-fidelity)",
    filename="weights-vgg16-lpips.pth",
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-vgg16-lpips.pth",
    sha256=None,  # torch-fidelity publishes no hash for this file; its digest goes into the provenance
    env_var="BENCHBOX_LPIPS_WEIGHTS",
    option="lpips_weights",
)
VGG16 = WeightsSpec(
    name="VGG16 ImageNet (torchvision)",
    filename="vgg16-397923af.pth",
    url="https://download.pytorch.org/models/vgg16-397923af.pth",
    sha256="397923af",  # the hash prefix in torchvision's file name
    env_var="BENCHBOX_VGG16_WEIGHTS",
    option="vgg16_weights",
)


@contextlib.contextmanager
def hub_with(files: list[ResolvedWeights], specs: list[WeightsSpec]) -> Iterator[None]:
    """A temporary torch.hub folder holding the resolved files' tensors under the names torch.hub looks for.

    torch-fidelity and torchvision read them through torch.hub with weights_only=False, which runs whatever code a
    pickle holds: the folder gets the tensors read here with weights_only=True, saved again, never the files."""
    before = torch.hub.get_dir()
    with tempfile.TemporaryDirectory(prefix="benchbox-hub-") as hub:
        checkpoints = Path(hub) / "checkpoints"
        checkpoints.mkdir()
        for resolved, spec in zip(files, specs, strict=True):
            hint = f"use the published file ({spec.url}), or pass a state dict saved with torch.save"
            torch.save(load_tensors(resolved.path, f"a {spec.name} weights file", hint), checkpoints / spec.filename)
        torch.hub.set_dir(hub)
        try:
            yield
        finally:
            torch.hub.set_dir(before)


def discard_tails(distances: np.ndarray, lower: float = 1, upper: float = 99) -> np.ndarray:
    """Keep distances within the [lower, upper] percentiles (lower percentile rounded down, upper rounded up)."""
    lo = np.percentile(distances, lower, method="lower")
    hi = np.percentile(distances, upper, method="higher")
    return distances[(distances >= lo) & (distances <= hi)]


def perceptual_path_length(
    generator: torch.nn.Module,
    z_size: int,
    num_samples: int = 50_000,
    epsilon: float = 1e-4,
    batch_size: int = 64,
    device: torch.device | None = None,
    lpips_weights: Path | None = None,
    vgg16_weights: Path | None = None,
    allow_custom_weights: bool = False,
    seed: int = 2020,
) -> tuple[float, float, dict[str, str]]:
    """(PPL mean, std, weights digests) for a generator mapping N(0, I) latents of size `z_size` to images in [-1, 1].

    Images are scaled to [0, 255] as float32, not rounded: with ε = 1e-4 rounding to uint8 would zero most steps.
    """
    import torch_fidelity
    from torch_fidelity.generative_model_modulewrapper import GenerativeModelModuleWrapper

    if num_samples < 2:
        raise BenchboxError(f"PPL over {num_samples} latent pairs", "use at least 2 (StyleGAN uses 100,000)")
    heads = resolve_weights(LPIPS_HEADS, lpips_weights, allow_custom_weights)
    vgg = resolve_weights(VGG16, vgg16_weights, allow_custom_weights)
    device = device or torch.device("cpu")

    class To255(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = generator

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return (self.generator(z).clamp(-1, 1) + 1) * 127.5

    wrapped = GenerativeModelModuleWrapper(To255(), z_size, "normal", 0)
    with hub_with([heads, vgg], [LPIPS_HEADS, VGG16]):
        out = torch_fidelity.calculate_metrics(
            input1=wrapped,
            ppl=True,
            input1_model_num_samples=num_samples,
            ppl_epsilon=epsilon,
            ppl_sample_similarity_dtype="float32",
            ppl_reduction="none",
            ppl_discard_percentile_lower=None,
            ppl_discard_percentile_higher=None,
            batch_size=batch_size,
            cuda=device.type == "cuda",
            rng_seed=seed,
            verbose=False,
        )
    distances = discard_tails(np.asarray(out["perceptual_path_length_raw"], dtype=np.float64))
    digests = {"lpips_heads_sha256": heads.sha256, "vgg16_sha256": vgg.sha256}
    return float(distances.mean()), float(distances.std()), digests

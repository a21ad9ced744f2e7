"""The super-resolution suites' scoring: upscale a fixed prefix of the test split from its degraded versions, then
measure distortion (PSNR and SSIM against each image's original, benchbox.metrics.super_resolution) and perception
(the distance between the upscaled and the original images' distributions in the domain classifier's space, through
the one scoring pipeline), so that one table shows the perception–distortion trade-off (Blau & Michaeli 2018).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from benchbox.data.images import to_uint8
from benchbox.errors import BenchboxError
from benchbox.evaluation import ScoredValue
from benchbox.evaluation.features import family_values
from benchbox.features import ExtractorOptions
from benchbox.features.cache import FeatureCache
from benchbox.metrics.reconstruction import SSIM_WINDOW
from benchbox.metrics.super_resolution import FidelitySettings, sr_fidelity
from benchbox.pipeline import ScoreSettings, build_extractor, check_request, kid_subset_size_for, measure
from benchbox.preview import image_grid, png_bytes
from benchbox.sr.degrade import KERNEL, to_unit, upsample
from benchbox.tasks import SuperResolutionTask

PREVIEW_IMAGES = 8  # the first test images, shown as input / bicubic / the model / ground truth


@dataclass(frozen=True)
class SREvaluation:
    """Every field is part of the suite's version and of every cell's protocol hash."""

    fidelity: FidelitySettings = field(default_factory=FidelitySettings)
    families: tuple[str, ...] = ("fid", "kid")
    settings: ScoreSettings = field(default_factory=ScoreSettings)
    kernel: str = KERNEL  # the degradation, stated in the protocol (benchbox.sr.degrade)

    def tag(self, task: SuperResolutionTask) -> str:
        return task.dataset.replace("-", "_")

    def values(self, task: SuperResolutionTask) -> list[str]:
        return [*self._fidelity_values(task), *family_values(self.families, self.tag(task)), "seconds_per_sample"]

    def required(self, task: SuperResolutionTask) -> list[str]:
        return [*self._fidelity_values(task), *family_values(self.families, self.tag(task))]

    def _fidelity_values(self, task: SuperResolutionTask) -> list[str]:
        side = min(task.sample_shape[1:]) - 2 * self.fidelity.shave
        return ["sr_psnr", "sr_ssim"] if side >= SSIM_WINDOW else ["sr_psnr"]

    def describe(self) -> str:
        """The settings the SR literature disagrees on, as the report's provenance prints them."""
        return (
            f"PSNR/SSIM on {self.fidelity.describe()}; SSIM with an 11×11 Gaussian window (σ 1.5); LR inputs by "
            f"{self.kernel}; FD/KID between the upscaled and the original test images"
        )

    def hash_parts(self) -> tuple[Any, ...]:
        return (self,)

    def prepare(self, task: SuperResolutionTask, n: int) -> None:
        """Train (or find) the domain classifier once, and refuse an n the test split or the families cannot take."""
        if not isinstance(task, SuperResolutionTask):
            raise BenchboxError(f"task '{task.name}' has no image pairs to upscale", "use a super-resolution task")
        n_test = len(task.reference_images())
        if n > n_test:
            raise BenchboxError(f"{n} test images asked of a test split of {n_test}", f"score {n_test} or fewer")
        extractor = build_extractor(task.dataset, ExtractorOptions(device=torch.device("cpu")))
        check_request(self.families, extractor, n, n, self._settings(n))

    def check_model(self, model: Any, task: SuperResolutionTask, wanted: Sequence[str], name: str) -> None:
        if not callable(getattr(model, "upscale", None)):
            raise BenchboxError(
                f"model '{name}' has no upscale(lr, generator) method",
                "a super-resolution suite scores upscale(lr, generator) -> images in [-1, 1]; see docs/sr.md",
            )

    def _settings(self, n: int) -> ScoreSettings:
        return replace(self.settings, kid_subset_size=kid_subset_size_for(self.settings.kid_subset_size, n, n))

    def evaluate(
        self,
        model: Any,
        task: SuperResolutionTask,
        n: int,
        generator: torch.Generator,
        device: torch.device,
        budget: str,
        weights_values: bool = True,
    ) -> list[ScoredValue]:
        lr, hr = task.test_pairs(n)
        t0 = time.perf_counter()
        sr = upscaled(model, lr, tuple(hr.shape), generator)
        seconds = (time.perf_counter() - t0) / n
        out = [ScoredValue(k, v, "") for k, v in sr_fidelity(sr, hr, self.fidelity).items()]
        extractor = build_extractor(task.dataset, ExtractorOptions(device=device, download=False))
        measured = measure(
            extractor, sr, hr, self.families, self._settings(n), n_fake=n, cache=FeatureCache(), batch_size=500
        )
        out += [ScoredValue(k, v, extractor.weights_sha256) for k, v in measured.values.items()]
        return [*out, ScoredValue("seconds_per_sample", seconds, "")]

    def preview(self, model: Any, task: SuperResolutionTask, generator: torch.Generator) -> bytes:
        """Four rows of the first test images: the input (pixels repeated), bicubic, the model, the original."""
        lr, hr = task.test_pairs(PREVIEW_IMAGES)
        shape = tuple(hr.shape)
        nearest = lr.repeat_interleave(task.factor, 2).repeat_interleave(task.factor, 3)
        bicubic = to_uint8(upsample(to_unit(lr), task.factor))
        rows = [nearest, bicubic, upscaled(model, lr, shape, generator), hr]
        return png_bytes(image_grid(torch.cat(rows), side=PREVIEW_IMAGES))


@torch.no_grad()
def upscaled(model: Any, lr: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """The model's upscaled images of uint8 `lr` as uint8 (the engine's one conversion, to_uint8)."""
    out = model.upscale(to_unit(lr), generator)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise BenchboxError(f"upscale returned {got} for inputs of {tuple(lr.shape)}", f"return images of {shape}")
    return to_uint8(out.detach().cpu(), clamps=bool(getattr(model, "clamps_samples", False)))

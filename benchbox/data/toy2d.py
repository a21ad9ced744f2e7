"""The 2-D Gaussian mixtures of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018).

Constants follow PacGAN's released configuration (synthetic_data_experiments/*/config.py of
github.com/fjxmlzn/PacGAN), whose paper reports the numbers our suite compares with:
- ring8: 8 components with means (cos 2πi/8, sin 2πi/8), i = 0..7 (radius 1), std 0.01 per axis.
- grid25: 25 components with means {-4, -2, 0, 2, 4}², std 0.05 per axis.
Components have equal weight.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from benchbox.errors import BenchboxError


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2-D Gaussians, a Task of the toy2d suite."""

    name: str
    means: tuple[tuple[float, float], ...]
    std: float
    reference_seed: int = 20180101  # fixes the real set the metrics compare against
    sample_shape: tuple[int, ...] = (2,)
    num_classes: ClassVar[int] = 0  # unlabelled (a ClassVar: not a field, so not in the repr a protocol hash reads)

    @property
    def description(self) -> str:
        return f"{self.n_modes} Gaussians of std {self.std}"

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def means_tensor(self) -> torch.Tensor:
        return torch.tensor(self.means, dtype=torch.float64)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n points: a uniform component index, then that component's mean plus std·N(0, I)."""
        idx = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (self.means_tensor()[idx] + self.std * noise).float()

    def reference(self, n: int) -> torch.Tensor:
        return self.sample(n, torch.Generator().manual_seed(self.reference_seed))

    def stream(self, seed: int, device: torch.device) -> MixtureStream:
        """Training batches: fresh draws from the mixture with a seeded generator (on the CPU, as the reference)."""
        return MixtureStream(self, seed, device)

    def data_hash(self) -> str:
        h = hashlib.sha256(repr((self.means, self.std, self.reference_seed)).encode())
        h.update(self.reference(2500).numpy().tobytes())
        return h.hexdigest()


class MixtureStream:
    """Training data of a mixture: fresh examples from a seeded CPU generator (whose state is the stream's), handed
    out on the run's device like image batches."""

    def __init__(self, task: GaussianMixture2D, seed: int, device: torch.device) -> None:
        self.task = task
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)

    def next(self, n: int, labels: bool = False) -> torch.Tensor:
        if labels:
            raise BenchboxError(f"task '{self.task.name}' has no labels", "use an unconditional model on it")
        return self.task.sample(n, self.generator).to(self.device)

    def state(self) -> Any:
        return self.generator.get_state()

    def load_state(self, state: Any) -> None:
        self.generator.set_state(state)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """Modes evenly spaced on a circle, as PacGAN's 2D-ring (8 modes, radius 1, std 0.01)."""
    means = tuple(
        (radius * math.cos(2 * math.pi * i / n_modes), radius * math.sin(2 * math.pi * i / n_modes))
        for i in range(n_modes)
    )
    return GaussianMixture2D(f"ring{n_modes}", means, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """Modes on a side×side grid centred at 0, as PacGAN's 2D-grid (5×5, spacing 2, std 0.05)."""
    offset = spacing * (side - 1) / 2
    coords = [spacing * i - offset for i in range(side)]
    means = tuple((x, y) for x in coords for y in coords)
    return GaussianMixture2D(f"grid{side * side}", means, std)

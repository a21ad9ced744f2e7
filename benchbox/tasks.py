"""What a suite trains on and scores against: the Task protocol, and the two kinds of task the evaluations read.

A task's capabilities are declared by its type, never probed: every task has a stream of training batches, a class
count (0 when unlabelled), a description and a data hash; a points task adds its mixture's modes and a fixed real set,
an image task its dataset and reference images.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


class TrainingStream(Protocol):
    """Training batches of a task for one run; its state goes into checkpoints, so a resumed run sees the same data."""

    def next(self, n: int, labels: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The next n examples (and their labels, for conditional models)."""
        ...

    def state(self) -> Any: ...

    def load_state(self, state: Any) -> None: ...


@runtime_checkable
class Task(Protocol):
    """One data set a suite trains and scores on (e.g. the 8-Gaussian ring, or Fashion-MNIST)."""

    name: str
    sample_shape: tuple[int, ...]  # one example's shape, e.g. (2,) or (1, 28, 28)
    num_classes: int  # labelled classes; 0 when the data has no labels
    description: str

    def stream(self, seed: int, device: torch.device) -> TrainingStream:
        """The training data of one run, seeded."""
        ...

    def data_hash(self) -> str:
        """SHA-256 of everything that defines the data (constants, the training and the reference set)."""
        ...


@runtime_checkable
class PointsTask(Task, Protocol):
    """A mixture with known modes (toy2d): the points evaluation reads its modes and a fixed real set."""

    std: float

    def means_tensor(self) -> torch.Tensor: ...

    def reference(self, n: int) -> torch.Tensor:
        """The fixed real set that metrics compare samples against."""
        ...


@runtime_checkable
class ImagesTask(Task, Protocol):
    """A labelled image dataset (benchbox.data.image_task.ImageTask): the feature evaluation reads its test images."""

    dataset: str
    reference_split: str

    def reference_images(self) -> torch.Tensor:
        """The uint8 real images that metrics compare samples against."""
        ...


@runtime_checkable
class SuperResolutionTask(ImagesTask, Protocol):
    """An image task whose models learn to upscale (benchbox.sr.task.SRTask): training batches are (lr, hr) pairs,
    the evaluation reads fixed test pairs, and SRGAN-like models may ask for a perceptual feature network."""

    factor: int

    def test_pairs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first n test images, low-resolution and original, uint8."""
        ...

    def perceptual_features(self, device: torch.device, network: str = "domain") -> Any:
        """A frozen feature network (the task's domain classifier's trunk, or "vgg54"): images in [−1, 1] ->
        feature maps (a content loss's)."""
        ...

"""The engine canary's inputs and what the engine makes of them: fixed inputs drawn inside the package (numpy's
default_rng with fixed seeds; nothing is downloaded) through every metric family, FD∞/IS∞, the jackknife intervals,
the toy2d points metrics, PSNR/SSIM and every offline feature space whose data is on disk.

Values come in groups; a group's tolerance class says how exactly it can be reproduced: "float64" for metric values
computed in float64 from fixed float64 inputs (only round-off moves them), "float32" for values that pass through
float32 tensors (a network's features, torchmetrics). A feature space's group also carries its weights' SHA-256: the
values of other weights are not compared (golden.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

import benchbox.builtins  # noqa: F401  (the metric families, points metrics, datasets and feature spaces)
from benchbox.data.toy2d import GaussianMixture2D, grid, ring
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.metrics import MetricInputs
from benchbox.metrics.reconstruction import psnr, ssim
from benchbox.pipeline import ScoreSettings, build_extractor, class_accuracy, measure, metric_values
from benchbox.registry import DATASETS, METRICS, SCORES
from benchbox.uncertainty import infinite_n_values, metric_intervals

SEED = 20240601  # every input is drawn from default_rng(SEED + offset)
FAMILIES = ("fid", "kid", "is", "pr", "dc", "classes", "ndb")  # every built-in family of the feature engine
TAG = "canary"  # the feature-space name of the fixed float64 features: fd_canary, kid_canary, ...
N_REAL, N_FAKE, DIM, CLASSES = 240, 200, 8, 10
N_IMAGES = 200  # per set in a feature space: more than the classifiers' 128 pool dimensions, as FD needs
SETTINGS = ScoreSettings(kid_subset_size=100)  # torch-fidelity's defaults otherwise; subsets fit both sets
JACKKNIFE_GROUPS = 20
SPACES = ("digits", "fashion-mnist")  # the offline feature spaces: classifiers benchbox trains on these datasets
SKIPPED = {
    "inception, clip, dinov2": "their weights are downloaded and the canary never downloads; the families they feed "
    "are the ones checked here on fixed features",
    "cifar10 classifier": "its data is a download and its classifier takes long to train on a CPU",
}


@dataclass
class Group:
    """Values of one part of the engine, with how exactly they reproduce and what they depend on."""

    tolerance: str  # "float64" or "float32"
    values: dict[str, float] = field(default_factory=dict)
    weights_sha256: str = ""  # a feature space's weights: values of other weights are not comparable


@contextmanager
def canary_environment() -> Iterator[None]:
    """One torch thread (so reductions run in one order) and no downloads, for the canary's duration."""
    threads, offline = torch.get_num_threads(), os.environ.get("BENCHBOX_OFFLINE")
    torch.set_num_threads(1)
    os.environ["BENCHBOX_OFFLINE"] = "1"
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if offline is None:
            os.environ.pop("BENCHBOX_OFFLINE", None)
        else:
            os.environ["BENCHBOX_OFFLINE"] = offline


def feature_inputs(seed: int = SEED) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Generated and real float64 "pool" features and "logits" (the generated set shifted, narrower and biased to
    class 0), and the labels the generated set was "conditioned" on."""
    rng = np.random.default_rng(seed)
    real = {"pool": rng.standard_normal((N_REAL, DIM)), "logits": 3.0 * rng.standard_normal((N_REAL, CLASSES))}
    fake_logits = 3.0 * rng.standard_normal((N_FAKE, CLASSES))
    fake_logits[:, 0] += 2.0
    fake = {"pool": 0.3 + 0.9 * rng.standard_normal((N_FAKE, DIM)), "logits": fake_logits}
    return fake, real, rng.integers(0, CLASSES, N_FAKE)


def features_group() -> Group:
    """Every family, FD∞/IS∞, the FD and KID jackknife intervals and class accuracy on fixed float64 features."""
    fake, real, labels = feature_inputs()
    values = metric_values(FAMILIES, fake, real, TAG, SETTINGS)
    values.update(infinite_n_values(("fid", "is"), fake, real, TAG))
    intervals = metric_intervals(("fid", "kid"), fake, real, TAG, SETTINGS, values, JACKKNIFE_GROUPS)
    for name, (low, high) in intervals.items():
        values[f"{name}.ci95_low"], values[f"{name}.ci95_high"] = low, high
    values[f"class_accuracy_{TAG}"] = class_accuracy(fake["logits"], labels)
    return Group("float64", dict(sorted(values.items())))


def mixture_points(task: GaussianMixture2D, n: int, rng: np.random.Generator, spread: float) -> np.ndarray:
    """n points: 80% at a random mode plus spread·std noise, 20% uniform over the mixture's bounding box ± 1."""
    means = np.asarray(task.means, dtype=np.float64)
    near = means[rng.integers(0, len(means), n)] + spread * task.std * rng.standard_normal((n, 2))
    box = rng.uniform(means.min(0) - 1, means.max(0) + 1, (n, 2))
    return np.where((rng.uniform(size=n) < 0.8)[:, None], near, box)


def points_group() -> Group:
    """The toy2d points metrics on fixed points of the ring and the grid, and on a set far from every mode (no
    high-quality sample: reverse KL is +inf)."""
    rng = np.random.default_rng(SEED + 1)
    values = {}
    for task in (ring(), grid()):
        real = mixture_points(task, 500, rng, 1.0)
        sets = {"": mixture_points(task, 400, rng, 2.0), ".far": 10.0 + rng.standard_normal((100, 2))}
        for suffix, fake in sets.items():
            inputs = MetricInputs(fake=fake, real=real, task=task)
            for name in sorted(METRICS):
                values[f"{task.name}{suffix}.{name}"] = float(METRICS[name].fn(inputs))
    return Group("float64", values)


def reconstruction_group() -> Group:
    """PSNR and SSIM (torchmetrics, float32) of fixed images against a noisy copy."""
    rng = np.random.default_rng(SEED + 2)
    x = torch.from_numpy(rng.uniform(-1, 1, (4, 1, 16, 16)).astype(np.float32))
    noisy = (x + torch.from_numpy(0.1 * rng.standard_normal(x.shape).astype(np.float32))).clamp(-1, 1)
    return Group(
        "float32", {"psnr": float(psnr(noisy, x, data_range=2.0)), "ssim": float(ssim(noisy, x, data_range=2.0))}
    )


def blocky(n: int, shape: tuple[int, ...], rng: np.random.Generator, low: int, high: int) -> torch.Tensor:
    """uint8 N×C×H×W images of 4×4 blocks of values in [low, high) plus noise: varied, cheap, fixed."""
    c, h, w = shape
    coarse = rng.integers(low, high, (n, c, -(-h // 4), -(-w // 4)))
    image = coarse.repeat(4, axis=2).repeat(4, axis=3)[:, :, :h, :w] + rng.integers(0, 32, (n, c, h, w))
    return torch.from_numpy(np.clip(image, 0, 255).astype(np.uint8))


def space_available(dataset: str) -> str:
    """ "" when the dataset's files are on disk (its classifier can be trained or read from the cache), else why not."""
    try:
        DATASETS.get_or_fail(dataset)("train")
    except BenchboxError as exc:
        return f"its data is not installed ({exc.problem})"
    return ""


def space_group(dataset: str) -> Group:
    """Every family, class accuracy and the features' summary in the space of benchbox's classifier of `dataset`,
    on fixed images (the classifier is trained once and cached, as a suite's run does)."""
    extractor = build_extractor(dataset, ExtractorOptions(download=False))
    shape = tuple(DATASETS[dataset]("test").images.shape[1:])
    rng = np.random.default_rng(SEED + 3)
    real, fake = blocky(N_IMAGES, shape, rng, 0, 256), blocky(N_IMAGES, shape, rng, 40, 200)
    labels = torch.from_numpy(rng.integers(0, CLASSES, N_IMAGES))
    measured = measure(extractor, fake, real, FAMILIES, SETTINGS, n_fake=N_IMAGES, cache=None, labels=labels)
    values = dict(measured.values)
    for which, features in (("fake", measured.fake), ("real", measured.real)):
        for output, array in sorted(features.features.items() if features is not None else ()):
            a = np.asarray(array, dtype=np.float64)
            values[f"features.{which}.{output}.mean"], values[f"features.{which}.{output}.std"] = a.mean(), a.std()
    return Group("float32", dict(sorted(values.items())), weights_sha256=extractor.weights_sha256)


def uncovered_families() -> list[str]:
    """Families registered (by a plugin, say) that the canary does not score."""
    return sorted(set(SCORES) - set(FAMILIES))

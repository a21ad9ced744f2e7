"""Stand-ins for what cannot be downloaded offline, for tests and speed benchmarks only: cheap varied images and a
random-init Inception-v3 in torch-fidelity's own weights format. Scores computed with these weights are never FID:
the engine names them `fd_inception_custom` etc.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import torch

from benchbox.cli import main
from benchbox.data import LabeledImages
from benchbox.data.images import check_images
from benchbox.features.clip import ClipExtractor
from benchbox.store import ResultRecord, RunRecord


def blocky_images(n: int, seed: int, tint: int = 0) -> torch.Tensor:
    """uint8 3×32×32 images of 4×4 random colour blocks plus noise: varied, cheap, deterministic."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randint(0, 200, (n, 3, 4, 4), generator=g)
    coarse[:, 0] += tint
    image = coarse.repeat_interleave(8, 2).repeat_interleave(8, 3)
    image = image + torch.randint(0, 40, image.shape, generator=g)
    return image.clamp(0, 255).to(torch.uint8)


def fake_labeled_images(n: int, shape: tuple[int, int, int], num_classes: int, seed: int) -> LabeledImages:
    """A labelled dataset of random uint8 images, for speed benchmarks where pixels do not matter."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    return LabeledImages("fake", "train", images, labels, num_classes, f"fake-{seed}")


def make_inception_weights(path: str | Path, seed: int = 0) -> None:
    """A random-init Inception-v3 saved in torch-fidelity's own format (FeatureExtractorInceptionV3.state_dict()).

    Two changes make it a useful stand-in for the published weights, which cannot be downloaded here: batch-norm
    statistics are set from one batch of random images (with plain init the activations vanish with depth), and the
    classifier has the features' common direction removed and is scaled, so that logits differ between images and
    IS is well above 1.
    """
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    torch.manual_seed(seed)
    with (
        mock.patch.object(tfi, "load_state_dict_from_url", return_value=None),
        mock.patch.object(tfi.FeatureExtractorInceptionV3, "load_state_dict"),
    ):
        net = tfi.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    calibration = blocky_images(24, seed=1000, tint=20)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0  # running statistics := this batch's statistics
    net.train()
    with torch.no_grad():
        (features,) = net(calibration)
    net.eval()
    with torch.no_grad():
        (features,) = net(calibration)
        features = features.double()
        common = features.mean(0) / features.mean(0).norm()
        weight = torch.randn(1008, 2048, dtype=torch.float64)
        weight -= (weight @ common)[:, None] * common[None, :]
        spread = ((features - features.mean(0)) @ weight.T).std()
        net.fc.weight.copy_(weight * 3 / spread)
        net.fc.bias.zero_()
    torch.save(net.state_dict(), path)


class PixelExtractor:
    """A cheap deterministic Extractor for tests of the engine: 4×4 average-pooled gray pixels, a fixed random
    projection to 16-d "pool" features and 10 "logits". Not a feature space for reporting anything."""

    name = "pixels"
    version = "1"
    weights_sha256 = "pixels-projection-seed-0"
    canonical = False
    preprocessing = "uint8 -> gray mean -> adaptive avg pool 4x4 -> /255 -> fixed projection"
    outputs = {"pool": 16, "logits": 10}
    metric_tag = "pixels"

    def __init__(self, device: torch.device | None = None) -> None:
        self.device = device or torch.device("cpu")
        g = torch.Generator().manual_seed(0)
        self.projection = torch.randn(16, 16, generator=g, dtype=torch.float64)
        self.classifier = torch.randn(16, 10, generator=g, dtype=torch.float64) * 3

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = check_images(images).double().mean(1, keepdim=True) / 255
        x = torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        pool = x @ self.projection
        return {"pool": pool.float(), "logits": (pool @ self.classifier).float()}


class TensorImages(torch.utils.data.Dataset):
    """uint8 C×H×W images of a tensor as the torch Dataset that torch-fidelity's `calculate_metrics` reads."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def fails_with(capsys: Any, args: list[str], *fragments: str) -> str:
    """For CLI tests: `benchbox args` exits 2 with one error line on stderr that contains each fragment, and no
    traceback. `capsys` is pytest's fixture. Returns the line."""
    try:
        code = main(args)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("benchbox: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def result_record(**changes: Any) -> ResultRecord:
    """For store and report tests: a complete ResultRecord with plain defaults, changed where given."""
    base = ResultRecord(
        suite="toy2d",
        suite_version=1,
        task="ring8",
        model="gan-ns",
        seed=0,
        budget="smoke",
        metric="modes_covered",
        value=3.0,
        n_samples=2500,
        protocol_hash="p1",
        data_hash="d",
        extractor_hash="",
        benchbox_version="0.1.0",
        git_commit="abc",
        torch_version="2",
        cuda_version="",
        device="cpu",
        train_steps=20,
        wall_time_s=1.0,
        created_at="2026-01-01T00:00:00+00:00",
    )
    return dataclasses.replace(base, **changes)


def run_record(**changes: Any) -> RunRecord:
    """For store and report tests: a complete done RunRecord that matches `result_record()`, changed where given."""
    r = result_record()
    base = RunRecord(
        **{f.name: getattr(r, f.name) for f in dataclasses.fields(RunRecord) if hasattr(r, f.name)},
        status="done",
        step=r.train_steps,
        detail="",
    )
    return dataclasses.replace(base, **changes)


def tiny_clip_extractor(folder: Path, name: str) -> Any:
    """For tests: a random-init open_clip model (16-d embeddings, 32 px, one layer each) registered under `name` from
    a config written in `folder`, wrapped as benchbox's CLIP extractor with custom (non-canonical) weights."""
    import json

    import open_clip

    path = Path(folder) / f"{name}.json"
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
    }
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    torch.manual_seed(0)
    net = open_clip.create_model(name).eval()
    return ClipExtractor(net, name, "custom", "0" * 64, False, torch.device("cpu"))


def have_or_install(*commands: str, packages: tuple[str, ...]) -> str:
    """'' when every command is on PATH (installing the Debian packages first where they are absent and this is
    root with apt-get), else why not."""
    if all(shutil.which(c) for c in commands):
        return ""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return f"{', '.join(commands)} not installed and cannot be installed here (no apt-get, or not root)"
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"`{' '.join(step)}` failed: {done.stderr.strip()[-300:]}"
    missing = [c for c in commands if not shutil.which(c)]
    return f"{', '.join(missing)} still missing after installing {', '.join(packages)}" if missing else ""

"""Every setting of the `coco-t2i` protocol in one place, the values it records, and its task.

A number of this protocol is defined by: the caption list (its SHA-256, which covers the annotation file's image and
caption ids, the seed and n), the resize and centre crop applied to real and generated images alike, the canonical
Inception-v3 of the engine (pool3, FID), the CLIP network and the CLIP score's scale. All of them go into the protocol
hash of each stored record; the caption-list hash is also the record's data hash, so the report shows which rows
were measured on the same captions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from benchbox.catalogue import Value, register_values
from benchbox.errors import BenchboxError
from benchbox.metrics.clip_score import TORCHMETRICS_W

SUITE_NAME = "coco-t2i"
PROTOCOL_VERSION = 1  # bump with anything below that changes a number: the caption file says which it was drawn for
TASK_NAME = "coco2014-val"
N_CAPTIONS = 30_000  # FID-30K
SEED = 0  # the caption draw's seed (sha256-ranked, see benchbox.t2i.captions)
IMAGE_SIZE = 256  # real and generated images: shorter side to 256 (PIL bicubic, antialiased), centre 256×256 crop
RESIZE = (
    f"RGB; shorter side resized to {IMAGE_SIZE} with PIL bicubic (antialiased; the longer side to "
    f"int({IMAGE_SIZE}·long/short), as torchvision's Resize); centre {IMAGE_SIZE}×{IMAGE_SIZE} crop (torchvision's "
    "CenterCrop rounding); images already that size are left as they are. Then each extractor's own preprocessing"
)
CLIP_VARIANT = "ViT-B-32:openai"  # open_clip's ViT-B/32 with OpenAI's weights: benchbox's default CLIP space
CLIP_W = TORCHMETRICS_W  # 100·max(cos, 0), torchmetrics' CLIPScore; Hessel et al.'s 2.5·max(cos, 0) is 0.025× it
SCORED_BY = "benchbox score-t2i"
SCORED_BUDGET = "scored"  # the store's budget column for rows of models benchbox does not train

FD_ZERO_SHOT, CAPTIONS_TRUNCATED = register_values(
    "coco-t2i",
    ("generated images", "caption list", "real images", "features:pool"),
    Value(
        "fd_zero_shot",
        False,
        "Fréchet distance of a model that never trained on the benchmark's data (zero-shot); FID only with the "
        "canonical Inception weights",
        decimals=2,
        in_feature_space=True,
    ),
    Value(
        "captions_truncated",
        False,
        "captions longer than the CLIP tokenizer's context (77 tokens with start and end), truncated to it before "
        "the CLIP score",
        decimals=0,
    ),
)


def resize_center_crop(image: Image.Image, size: int = IMAGE_SIZE) -> np.ndarray:
    """The protocol's one image transform, for real and generated images alike: uint8 H×W×3 (see RESIZE)."""
    image = image.convert("RGB")
    w, h = image.size
    if (w, h) != (size, size):
        short, long = min(w, h), max(w, h)
        new_long = int(size * long / short)
        new_w, new_h = (size, new_long) if w <= h else (new_long, size)
        image = image.resize((new_w, new_h), Image.BICUBIC)
        top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
        image = image.crop((left, top, left + size, top + size))
    return np.asarray(image, dtype=np.uint8)


def to_protocol_batch(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> the uint8 N×3×S×S batch the extractors read."""
    return torch.from_numpy(np.stack([resize_center_crop(im) for im in images])).permute(0, 3, 1, 2).contiguous()


@dataclass(frozen=True)
class CocoCaptionsTask:
    """COCO 2014 validation captions with their images, as a Task: nothing is trained on it here, so it has no
    training stream; its data hash is that of the protocol's constants (each run's caption list is its own)."""

    name: str = TASK_NAME
    sample_shape: tuple[int, ...] = (3, IMAGE_SIZE, IMAGE_SIZE)
    num_classes: int = 0
    description: str = (
        f"COCO 2014 val: {N_CAPTIONS:,} captions, one per image, drawn with seed {SEED}; real images of the same "
        f"ids, {IMAGE_SIZE}×{IMAGE_SIZE} centre crops"
    )

    def stream(self, seed: int, device: torch.device):
        raise BenchboxError(f"suite '{SUITE_NAME}' trains nothing", f"score your samples with `{SCORED_BY}`")

    def data_hash(self) -> str:
        text = f"{SUITE_NAME}|{PROTOCOL_VERSION}|{N_CAPTIONS}|{SEED}|{RESIZE}"
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ScoredEvaluation:
    """The Evaluation of a suite whose models benchbox does not train: it lists what `benchbox score-t2i` records
    (for `benchbox list`) and refuses to sample a model itself."""

    values_recorded: tuple[str, ...]

    def values(self, task) -> list[str]:
        return list(self.values_recorded)

    def required(self, task) -> list[str]:
        return []

    def hash_parts(self) -> tuple:
        return (PROTOCOL_VERSION, N_CAPTIONS, SEED, RESIZE, CLIP_VARIANT, CLIP_W)

    def prepare(self, task, n: int) -> None:
        raise BenchboxError(f"suite '{SUITE_NAME}' trains nothing", f"score your samples with `{SCORED_BY}`")

    def check_model(self, model, task, wanted, name: str) -> None:
        self.prepare(task, 0)

    def evaluate(self, model, task, n, generator, device, budget, weights_values=True):
        self.prepare(task, n)

    def preview(self, model, task, generator) -> bytes:
        self.prepare(task, 0)
        return b""

"""CLIP score (Hessel et al. 2021, "CLIPScore: a reference-free evaluation metric for image captioning"): how well
each image matches its caption, w · max(cos(E_image, E_caption), 0), averaged over the pairs.

Hessel et al. use w = 2.5; torchmetrics' CLIPScore (the number most papers on text-to-image models report) uses
w = 100, which is the default here. Both clip negative cosines to 0. The value depends on the CLIP network and its
preprocessing: torchmetrics defaults to OpenAI's ViT-L/14 through Hugging Face, benchbox to open_clip's
ViT-B-32:openai; name the space when comparing numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from benchbox.catalogue import Value, register_values
from benchbox.data.images import check_images
from benchbox.errors import BenchboxError

(CLIP_SCORE,) = register_values(
    "clip_score",
    ("generated images", "captions", "a CLIP feature space"),
    Value(
        "clip_score", True, "100·max(cos(image, caption), 0), mean over pairs (torchmetrics' w)", in_feature_space=True
    ),
)
TORCHMETRICS_W = 100.0  # torchmetrics.multimodal.CLIPScore
HESSEL_W = 2.5  # the paper's rescaling, which spreads the usual cosines over about [0, 1]


def _rows(x: np.ndarray | torch.Tensor, what: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise BenchboxError(f"{what} have shape {x.shape}", "pass an N×D array of embeddings, one row per pair")
    if not np.isfinite(x).all():
        raise BenchboxError(f"{what} contain NaN or Inf", "check the extractor's weights")
    return x


def cosine_of_pairs(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """cos(a_i, b_i) = a_i·b_i / (‖a_i‖ ‖b_i‖) for each row i, in float64."""
    a, b = _rows(a, "image features"), _rows(b, "text features")
    if a.shape != b.shape:
        raise BenchboxError(
            f"image features {a.shape} and text features {b.shape} do not pair up",
            "pass one caption per image, embedded by the same CLIP model",
        )
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if not (norms > 0).all():
        raise BenchboxError("a feature vector is zero, so its cosine is undefined", "check the extractor's weights")
    return np.einsum("nd,nd->n", a, b) / norms


def clip_score(
    image_features: np.ndarray | torch.Tensor, text_features: np.ndarray | torch.Tensor, w: float = TORCHMETRICS_W
) -> float:
    """mean_i w · max(cos(E_I,i, E_C,i), 0) (Hessel et al. 2021): w = 100 is torchmetrics', 2.5 the paper's."""
    return float(w * np.clip(cosine_of_pairs(image_features, text_features), 0, None).mean())


def clip_score_of_images(
    extractor: Any, images: torch.Tensor, captions: Sequence[str], w: float = TORCHMETRICS_W, batch_size: int = 64
) -> float:
    """CLIP score of uint8 N×C×H×W images against their N captions, with a CLIP extractor (`build` of "clip")."""
    if not hasattr(extractor, "text_features"):
        raise BenchboxError(
            f"the {getattr(extractor, 'name', type(extractor).__name__)} feature space has no text encoder",
            "build the 'clip' extractor for CLIP scores",
        )
    images = check_images(images)
    captions = [captions] if isinstance(captions, str) else list(captions)
    if len(captions) != len(images):
        raise BenchboxError(f"{len(images)} images but {len(captions)} captions", "pass exactly one caption per image")
    if batch_size < 1:
        raise BenchboxError(f"batch size {batch_size} is not positive", "pass a batch size of 1 or more")
    image_parts, text_parts = [], []
    for start in range(0, len(images), batch_size):
        image_parts.append(extractor.features(images[start : start + batch_size])["pool"].double().cpu())
        text_parts.append(extractor.text_features(captions[start : start + batch_size]).double().cpu())
    return clip_score(torch.cat(image_parts), torch.cat(text_parts), w)

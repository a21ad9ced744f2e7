"""What a run shows of itself: a small PNG of its samples from a fixed seed, saved beside its checkpoint and kept in
the store (with its SHA-256) for the report's figures.

Images: an 8×8 grid of 64 samples, converted by the engine's one conversion (`to_uint8`), pixels unscaled.
Points (toy2d): 1,000 samples scattered over the true modes, each mode drawn with its 3σ circle.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import torch

PREVIEW_SEED_OFFSET = 7_000  # previews draw from seed + this, apart from training, data and evaluation streams
GRID_SIDE = 8  # 8×8 = 64 samples
POINTS = 1_000
PREVIEW = "preview.png"  # the artifact's name in the store


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_grid(images: torch.Tensor, side: int = GRID_SIDE, pad: int = 1) -> np.ndarray:
    """uint8 N×C×H×W (C = 1 or 3) -> one uint8 H'×W'×C image of side×side tiles on a white 1-pixel border."""
    n, c, h, w = images.shape
    if images.dtype != torch.uint8 or c not in (1, 3):
        raise ValueError(f"expected uint8 N×C×H×W with C in (1, 3), got {images.dtype} {tuple(images.shape)}")
    rows = -(-n // side)
    cols = min(n, side)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i, img in enumerate(images.numpy()):
        r, k = divmod(i, side)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        out[top : top + h, left : left + w] = img.transpose(1, 2, 0)
    return out


def png_bytes(pixels: np.ndarray) -> bytes:
    """A uint8 H×W×C (C = 1 or 3) array as PNG bytes, without metadata, so equal pixels give equal bytes."""
    from PIL import Image  # Pillow comes with matplotlib and torchvision

    mode = "L" if pixels.shape[2] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def points_png(points: np.ndarray, means: np.ndarray, std: float) -> bytes:
    """Samples (N×2) over the true modes (M×2, each with its 3σ circle): a 3-inch square PNG at 100 dpi."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 3), dpi=100)
    ax = fig.add_subplot()
    finite = points[np.isfinite(points).all(axis=1)]
    ax.scatter(finite[:, 0], finite[:, 1], s=2, alpha=0.4, color="tab:blue", linewidths=0)
    for x, y in means:
        ax.add_patch(matplotlib.patches.Circle((x, y), 3 * std, fill=False, color="tab:red", linewidth=0.8))
    span = np.abs(means).max() + 6 * std
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    fig.tight_layout(pad=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()

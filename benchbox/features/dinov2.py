"""DINOv2 embeddings (Oquab et al. 2023), the feature space Stein et al. (2023, "Exposing flaws of generative model
evaluation metrics") found to agree with human judgement better than Inception's; FD in it is FD_DINOv2.

The network is timm's `vit_*_patch14_dinov2`, built for 224×224 inputs; the weights are Meta's release files
(`dinov2_vitX14_pretrain.pth`, the layout torch.hub's `facebookresearch/dinov2` loads) or the same weights in
timm's layout (e.g. `timm/vit_large_patch14_dinov2.lvd142m`, as custom weights since its digest is not Meta's).
Meta's 518-px position embeddings are resampled to the 16×16 grid once, at load, exactly as DINOv2's own forward
does on every call (bicubic, no antialiasing, scale factor (16 + 0.1)/37), so the features are those of the
torch.hub model that torch-fidelity (`dinov2-vit-l-14`) and Stein et al. use.

Preprocessing is torch-fidelity's: gray repeated to RGB, TF1-style bilinear resize to 224×224 (no crop), ImageNet
mean and std on the 0–255 scale. "pool" is the final-norm CLS token (DINOv2's `x_norm_clstoken`).
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from benchbox.data.images import check_images
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.weights import WeightsSpec, resolve_weights, why_unreadable
from benchbox.registry import register_extractor

INPUT_SIZE = 224  # torch-fidelity's and Stein et al.'s input size
PATCH = 14
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POS_EMBED_OFFSET = 0.1  # DINOv2's interpolate_offset: its grid is resampled by the scale (grid + 0.1) / old grid
DEFAULT_VARIANT = "vitl14"  # Stein et al.'s choice
_SWIGLU_KEY = re.compile(r"^(blocks\.\d+\.mlp\.)(w12|w3)(?=\.)")  # ViT-g's fused SwiGLU in Meta's names
_SWIGLU_NAMES = {"w12": "fc1", "w3": "fc2"}


@dataclass(frozen=True)
class Dinov2Arch:
    timm_name: str
    dim: int
    sha256: str  # of Meta's release file


# Meta publishes no digests. These SHA-256s of the files at the release URLs are the ones pinned in
# finegrain-ai/refiners (src/refiners/conversion/models/dinov2.py), and other unrelated projects pin the same ones.
# A wrong digest would refuse the real file (the download fails loudly), never accept another one.
ARCHS = {
    "vits14": Dinov2Arch(
        "vit_small_patch14_dinov2", 384, "b938bf1bc15cd2ec0feacfe3a1bb553fe8ea9ca46a7e1d8d00217f29aef60cd9"
    ),
    "vitb14": Dinov2Arch(
        "vit_base_patch14_dinov2", 768, "0b8b82f85de91b424aded121c7e1dcc2b7bc6d0adeea651bf73a13307fad8c73"
    ),
    "vitl14": Dinov2Arch(
        "vit_large_patch14_dinov2", 1024, "d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428"
    ),
    "vitg14": Dinov2Arch(
        "vit_giant_patch14_dinov2", 1536, "baf8467e50af277596bbbafa06887c177ee899ab46033649c383577d7e9309d3"
    ),
}


def weights_spec(variant: str) -> WeightsSpec:
    filename = f"dinov2_{variant}_pretrain.pth"
    return WeightsSpec(
        name=f"DINOv2 {variant} (Meta)",
        filename=filename,
        url=f"https://dl.fbaipublicfiles.com/dinov2/dinov2_{variant}/{filename}",
        sha256=ARCHS[variant].sha256,
        env_var="BENCHBOX_DINOV2_WEIGHTS",
        option="--dinov2-weights",
    )


def create_network(arch: Dinov2Arch) -> torch.nn.Module:
    """timm's DINOv2 ViT for 224×224 inputs, random weights, returning the final-norm CLS token."""
    import timm

    return timm.create_model(arch.timm_name, pretrained=False, img_size=INPUT_SIZE, num_classes=0)


def resample_pos_embed(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """1×(1+M²)×D position embeddings (class token first) -> 1×(1+grid²)×D the way DINOv2's forward does it."""
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:].float()
    old = round(patches.shape[1] ** 0.5)
    if old * old != patches.shape[1]:
        raise BenchboxError(
            f"position embeddings of {patches.shape[1]} patches are not a square grid", "use a ViT file"
        )
    if old == grid:
        return pos_embed
    scale = (grid + POS_EMBED_OFFSET) / old
    image = patches.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    image = F.interpolate(image, scale_factor=(scale, scale), mode="bicubic", antialias=False)
    patches = image.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
    return torch.cat((cls, patches.to(cls.dtype)), dim=1)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":  # timm's releases on Hugging Face
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except SafetensorError as exc:
            raise ValueError(str(exc)) from exc
    state: Any = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"the file holds a {type(state).__name__}, not a state dict")
    return state


def to_timm_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Meta's DINOv2 keys -> timm's: drop the training-only mask token, ViT-g's fused SwiGLU w12/w3 -> fc1/fc2
    (timm's SwiGLUPacked takes the same gate order). Files already in timm's layout pass through."""
    if "register_tokens" in state:
        raise BenchboxError("DINOv2 with registers is not supported", "use the dinov2_vitX14_pretrain.pth files")
    out = {_SWIGLU_KEY.sub(lambda m: m[1] + _SWIGLU_NAMES[m[2]], k): v for k, v in state.items() if k != "mask_token"}
    if "pos_embed" in out:
        out["pos_embed"] = resample_pos_embed(out["pos_embed"], INPUT_SIZE // PATCH)
    return out


def load_dinov2(variant: str, path: Path, device: torch.device) -> torch.nn.Module:
    net = create_network(ARCHS[variant])
    try:
        net.load_state_dict(to_timm_layout(read_state_dict(path)), strict=True)
    except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise BenchboxError(
            f"'{path}' is not a DINOv2 {variant} weights file ({type(exc).__name__}: {why_unreadable(exc)})",
            f"use Meta's dinov2_{variant}_pretrain.pth, or timm's vit_*_patch14_dinov2 weights of the same size",
        ) from exc
    return net.to(device).eval().requires_grad_(False)


@dataclass
class Dinov2Extractor:
    """DINOv2 as a benchbox Extractor: "pool" is the CLS token after the final norm."""

    net: torch.nn.Module
    variant: str
    weights_sha256: str
    canonical: bool
    device: torch.device
    version: str = "1"

    @property
    def name(self) -> str:
        return f"dinov2:{self.variant}"

    @property
    def outputs(self) -> dict[str, int]:
        return {"pool": ARCHS[self.variant].dim}

    @property
    def preprocessing(self) -> str:
        return (
            f"uint8 NCHW, gray repeated to RGB -> torch-fidelity TF1 bilinear {INPUT_SIZE}x{INPUT_SIZE} -> "
            f"(x - 255*{IMAGENET_MEAN}) / (255*{IMAGENET_STD}), float32; position embeddings resampled to "
            f"{INPUT_SIZE // PATCH}x{INPUT_SIZE // PATCH} as DINOv2 does (bicubic, no antialias, offset "
            f"{POS_EMBED_OFFSET}) -> final-norm CLS token"
        )

    @property
    def metric_tag(self) -> str:
        return f"dinov2_{self.variant}" + ("" if self.canonical else "_custom")

    def pixels(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N×C×H×W -> the float32 N×3×224×224 tensor the network reads, as torch-fidelity makes it."""
        from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

        x = check_images(images).to(self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(INPUT_SIZE, INPUT_SIZE), align_corners=False)
        mean = torch.tensor([255 * m for m in IMAGENET_MEAN], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor([255 * s for s in IMAGENET_STD], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"pool": self.net(self.pixels(images)).float()}


@register_extractor("dinov2")
def build(variant: str | None, options: ExtractorOptions) -> Dinov2Extractor:
    """Variant vits14, vitb14, vitl14 (default) or vitg14. Weights: options.weights, else $BENCHBOX_DINOV2_WEIGHTS,
    else the cache folder, else Meta's release checked against its SHA-256."""
    variant = variant or DEFAULT_VARIANT
    if variant not in ARCHS:
        raise BenchboxError(f"unknown DINOv2 variant '{variant}'", f"choose one of {', '.join(ARCHS)}")
    weights = resolve_weights(weights_spec(variant), options.weights, options.allow_custom_weights, options.download)
    net = load_dinov2(variant, weights.path, options.device)
    return Dinov2Extractor(net, variant, weights.sha256, weights.canonical, options.device)

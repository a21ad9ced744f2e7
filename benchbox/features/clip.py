"""CLIP image and text embeddings through open_clip (Radford et al. 2021), the project's one CLIP implementation.

The variant is "MODEL:PRETRAINED" as open_clip names them (default "ViT-B-32:openai"), or "MODEL:custom" for an
architecture with a user's own weights file. Images go through open_clip's own evaluation transform, done on
tensors on the device: the shorter side resized to the model's input size (bicubic, antialiased, in PIL's two
rounded 8-bit passes, so within a grey level of PIL's), centre crop, /255, the weights' mean and std.

"pool" is the image embedding after the projection and NOT L2-normalised, as torch-fidelity's `clip-vit-b-32`
extractor gives it for FD/KID/PR in CLIP space; the CLIP score normalises (`benchbox.metrics.clip_score`).
Unlike torch-fidelity (TF1 bilinear squash to the input size, no crop), the resize follows open_clip and so the
score of torchmetrics' CLIPScore; FD in this space is therefore not torch-fidelity's FD_CLIP to the last digit.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from benchbox.data.images import check_images
from benchbox.errors import BenchboxError
from benchbox.features import ExtractorOptions
from benchbox.features.weights import WeightsSpec, resolve_weights, why_unreadable
from benchbox.registry import register_extractor

DEFAULT_VARIANT = "ViT-B-32:openai"  # the network of torch-fidelity's clip-vit-b-32 feature space
CUSTOM_TAG = "custom"  # "MODEL:custom": the architecture with a user's file; never canonical
ENV_VAR = "BENCHBOX_CLIP_WEIGHTS"
OPTION = "--clip-weights"
_TORCHSCRIPT_EXTRAS = ("input_resolution", "context_length", "vocab_size", "attn_mask")  # not open_clip parameters
_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")
# what torch.load, load_state_dict and open_clip's checkpoint checks (assertions) raise for a file of another network
# (AttributeError: open_clip's .npz reader looks for the SigLIP towers)
_NOT_A_WEIGHTS_FILE = (
    RuntimeError,
    AttributeError,
    KeyError,
    ValueError,
    AssertionError,
    EOFError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
)


def parse_variant(variant: str | None) -> tuple[str, str]:
    """Split "MODEL:PRETRAINED" into open_clip's model name and pretrained tag, both checked against its registries."""
    import open_clip

    text = variant or DEFAULT_VARIANT
    model, sep, tag = text.partition(":")
    if not sep or not model or not tag:
        raise BenchboxError(f"CLIP variant '{text}' is not MODEL:PRETRAINED", f"e.g. clip:{DEFAULT_VARIANT}")
    if model not in open_clip.list_models():
        raise BenchboxError(f"open_clip has no model '{model}'", "choose one of open_clip.list_models(), e.g. ViT-L-14")
    tag = tag.lower().replace("-", "_")  # open_clip's spelling of tags
    tags = open_clip.list_pretrained_tags_by_model(model)
    if tag != CUSTOM_TAG and tag not in tags:
        raise BenchboxError(
            f"open_clip has no '{tag}' weights for {model}", f"choose one of: {', '.join(tags + [CUSTOM_TAG])}"
        )
    return model, tag


def published_sha256(url: str) -> str | None:
    """The SHA-256 a release URL carries, by open_clip's conventions: OpenAI's folder name (all 64 digits), the
    mlfoundations release file name's last "-" part (leading digits). None where the URL carries none."""
    folder, name = url.rstrip("/").split("/")[-2:]
    if "openaipublic" in url and re.fullmatch(r"[0-9a-f]{64}", folder):
        return folder
    if "mlfoundations" in url:
        found = re.search(r"-([0-9a-f]{8,64})\.[a-z]+$", name)
        return found.group(1) if found else None
    return None


def pretrained_config(model: str, tag: str) -> dict[str, Any]:
    """open_clip's record of the weights (url, hf_hub, quick_gelu, mean, std, ...); empty for "custom"."""
    import open_clip

    return {} if tag == CUSTOM_TAG else dict(open_clip.get_pretrained_cfg(model, tag))


def weights_spec(model: str, tag: str) -> WeightsSpec:
    """Where the weights of MODEL:TAG come from. Only files with a published digest are downloaded (and canonical);
    others (Hugging Face-only releases, URLs without a digest) must be fetched by hand and used as custom weights."""
    cfg = pretrained_config(model, tag)
    url = cfg.get("url") or None
    sha256 = published_sha256(url) if url else None
    source = url or (f"https://huggingface.co/{cfg['hf_hub'].rstrip('/')}" if cfg.get("hf_hub") else "your own file")
    return WeightsSpec(
        name=f"CLIP {model}:{tag} (from {source})",
        filename=url.rsplit("/", 1)[1] if url and sha256 else f"open_clip-{model}-{tag}.pt",
        url=url if sha256 else None,
        sha256=sha256,
        env_var=ENV_VAR,
        option=OPTION,
    )


def _is_torchscript(path: Path) -> bool:
    """OpenAI's releases are TorchScript archives: a zip with a constants.pkl record."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _torchscript_state_dict(path: Path) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, OpenAI's files are not
        state = torch.jit.load(str(path), map_location="cpu").state_dict()
    return {k: v for k, v in state.items() if k not in _TORCHSCRIPT_EXTRAS}


@contextlib.contextmanager
def _quiet_random_init() -> Iterator[None]:
    """open_clip warns on the root logger that a model it creates without weights is random; ours get loaded next."""

    def keep(record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def load_clip(model: str, tag: str, path: Path, device: torch.device, published: bool = False) -> torch.nn.Module:
    """open_clip's MODEL with the weights in `path` (an OpenAI TorchScript archive or an open_clip state dict), with
    the tag's activation (QuickGELU for OpenAI's) and preprocessing settings, in eval mode.

    A state dict is read by open_clip with weights_only=True. A TorchScript archive is code (loading it runs its
    TorchScript), so it is read only when `published`: its SHA-256 is the release's."""
    import open_clip

    cfg = pretrained_config(model, tag)
    kwargs: dict[str, Any] = {
        "force_quick_gelu": bool(cfg.get("quick_gelu", False)),
        "force_preprocess_cfg": {k: cfg[k] for k in _PREPROCESS_KEYS if k in cfg},
        "device": device,
    }
    try:
        if _is_torchscript(path):
            if not published:
                raise BenchboxError(
                    f"'{path}' is a TorchScript archive, which holds code that runs when it is loaded, and is not the "
                    f"published file of {model}:{tag}",
                    f"save your weights as a state dict: torch.save(open_clip.create_model('{model}').state_dict(), ...)",
                )
            state = _torchscript_state_dict(path)
            with _quiet_random_init():
                net = open_clip.create_model(model, **kwargs)
            net.load_state_dict(state, strict=True)
        else:
            net = open_clip.create_model(model, pretrained=str(path), **kwargs)
    except _NOT_A_WEIGHTS_FILE as exc:
        raise BenchboxError(
            f"'{path}' is not a CLIP {model} weights file ({type(exc).__name__}: {why_unreadable(exc)})",
            f"use the release file of {model}:{tag}, or a state dict saved from open_clip.create_model('{model}')",
        ) from exc
    return net.eval().requires_grad_(False)


def resize_like_open_clip(x: torch.Tensor, size: int, resize_mode: str, interpolation: str) -> torch.Tensor:
    """Float N×3×H×W in [0, 255] -> N×3×size×size as open_clip's eval transform does it on PIL images: "shortest"
    resizes the shorter side (the longer one to int(size·long/short), as torchvision) and centre-crops; "squash"
    resizes both sides. Like PIL: antialiased kernels, width then height, each pass rounded to uint8 levels."""
    if interpolation not in ("bicubic", "bilinear"):
        raise BenchboxError(f"CLIP interpolation '{interpolation}' is not supported", "use bicubic or bilinear weights")
    h, w = x.shape[-2:]
    if resize_mode == "shortest":
        short, long = min(h, w), max(h, w)
        new_long = int(size * long / short)
        new_size = (size, new_long) if h <= w else (new_long, size)
    elif resize_mode == "squash":
        new_size = (size, size)
    else:
        raise BenchboxError(f"CLIP resize mode '{resize_mode}' is not supported", "use weights with shortest or squash")
    for pass_size in ((h, new_size[1]), new_size):  # PIL's two 8-bit passes: within a grey level of it
        if pass_size != tuple(x.shape[-2:]):
            x = F.interpolate(x, size=pass_size, mode=interpolation, align_corners=False, antialias=True)
            x = torch.floor(x + 0.5).clamp(0, 255)
    top, left = int(round((new_size[0] - size) / 2)), int(round((new_size[1] - size) / 2))
    return x[..., top : top + size, left : left + size]


@dataclass
class ClipExtractor:
    """An open_clip model as a benchbox Extractor: "pool" is the unnormalised image embedding."""

    net: torch.nn.Module
    model: str  # open_clip's name, e.g. "ViT-B-32"
    tag: str  # open_clip's pretrained tag, e.g. "openai", or "custom"
    weights_sha256: str
    canonical: bool
    device: torch.device
    version: str = "1"
    outputs: dict[str, int] = field(init=False)
    preprocess: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        import open_clip

        self.net.to(self.device)
        self.outputs = {"pool": int(open_clip.get_model_config(self.model)["embed_dim"])}
        self.preprocess = dict(open_clip.get_model_preprocess_cfg(self.net))
        size = self.preprocess["size"]
        size = (size, size) if isinstance(size, int) else tuple(size)
        if size[0] != size[1]:
            raise BenchboxError(f"CLIP {self.model} takes {size[0]}×{size[1]} inputs", "use a square-input model")
        self.preprocess["size"] = int(size[0])

    @property
    def name(self) -> str:
        return f"clip:{self.model}:{self.tag}"

    @property
    def preprocessing(self) -> str:
        p = self.preprocess
        mean, std = ", ".join(map(repr, p["mean"])), ", ".join(map(repr, p["std"]))
        return (
            f"uint8 NCHW, gray repeated to RGB -> open_clip eval transform on tensors: resize ({p['resize_mode']}) "
            f"to {p['size']}, {p['interpolation']} antialiased, width then height, each rounded to uint8 as PIL "
            f"-> centre crop {p['size']}x{p['size']} -> /255 -> (x - ({mean})) / ({std}), float32 "
            "-> encode_image, unnormalised"
        )

    @property
    def metric_tag(self) -> str:
        """clip_<model> for OpenAI's weights (FD_CLIP's space), clip_<model>_<tag> for others; _custom if unchecked."""
        tag = "clip_" + self.model.lower().replace("-", "_")
        if self.tag not in ("openai", CUSTOM_TAG):
            tag += "_" + self.tag
        return tag if self.canonical else tag + "_custom"

    def pixels(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N×C×H×W -> the float32 N×3×S×S tensor the network reads (see `preprocessing`)."""
        x = check_images(images).to(self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        p = self.preprocess
        x = resize_like_open_clip(x.float(), p["size"], p["resize_mode"], p["interpolation"]) / 255
        mean = torch.tensor(p["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(p["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"pool": self.net.encode_image(self.pixels(images)).float()}

    @torch.inference_mode()
    def text_features(self, texts: list[str]) -> torch.Tensor:
        """Unnormalised N×D float32 embeddings of captions, tokenised by open_clip (truncated to its context)."""
        import open_clip

        if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
            raise BenchboxError("captions must be a non-empty list of strings", "pass one caption per image")
        tokens = open_clip.get_tokenizer(self.model)(list(texts)).to(self.device)
        return self.net.encode_text(tokens).float()


@register_extractor("clip")
def build(variant: str | None, options: ExtractorOptions) -> ClipExtractor:
    """Variant "MODEL:PRETRAINED" (default ViT-B-32:openai). Weights: options.weights, else $BENCHBOX_CLIP_WEIGHTS,
    else the cache folder, else the release download checked against its published SHA-256."""
    model, tag = parse_variant(variant)
    spec = weights_spec(model, tag)
    weights = resolve_weights(spec, options.weights, options.allow_custom_weights, options.download)
    canonical = weights.canonical and spec.sha256 is not None  # no published digest: nothing to check against
    if not canonical and not options.allow_custom_weights:
        raise BenchboxError(
            f"CLIP {model}:{tag} has no published SHA-256, so '{weights.path}' cannot be checked",
            "pass --custom-weights to score with it (metrics are then named ..._custom)",
        )
    net = load_clip(model, tag, weights.path, options.device, published=canonical)
    return ClipExtractor(net, model, tag, weights.sha256, canonical, options.device)

"""Images at the engine boundary: uint8 N×C×H×W with 1 or 3 channels. One function turns model output into that
form (`to_uint8`); `check_images` refuses anything else with an error that says how to convert it; `load_images`
reads a folder of PNG/JPEG files or a .npy/.npz array (N×H×W×C uint8); `open_images` leaves a uint8 .npy file on
disk, to be read a batch at a time (`benchbox.data.image_file`).
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from benchbox.data.image_file import ImageFile, open_image_file
from benchbox.errors import BenchboxError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
RANGE_TOLERANCE = 1e-3  # model output may leave [-1, 1] by float round-off, not more (unless the model clamps)
HASH_CHUNK_BYTES = 16 * 2**20  # content_hash reads this much at a time: no copy of a whole set is ever made


def to_uint8(x: torch.Tensor, clamps: bool = True) -> torch.Tensor:
    """Model output in [-1, 1] -> uint8 in [0, 255]: clamp, scale, round half to even, in float64 so that half
    precision output is rounded once, not three times. NaN or Inf (a diverged model) and integer output are refused;
    with `clamps=False` (a model that does not declare it clamps its samples) so is output beyond [-1, 1]."""
    check_model_output(x, clamps)
    x = x.detach().double()
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def check_model_output(x: torch.Tensor, clamps: bool = True) -> None:
    """Refuse generated images that are not floats in [-1, 1]: integers (uint8 would be scored as white), NaN or
    Inf, and, for a model that does not declare `clamps_samples`, values beyond [-1, 1] (e.g. [0, 255])."""
    if not isinstance(x, torch.Tensor):
        raise BenchboxError(f"generated samples are a {type(x).__name__}", "return a float torch.Tensor in [-1, 1]")
    if not x.is_floating_point():
        raise BenchboxError(
            f"generated samples are {x.dtype}, not floats in [-1, 1]",
            "return x.float() / 127.5 - 1 for uint8 images in [0, 255] (sample() returns floats in [-1, 1])",
        )
    if not bool(torch.isfinite(x).all()):
        raise BenchboxError("generated samples contain NaN or Inf", "the model diverged; score an earlier checkpoint")
    lo, hi = float(x.min()), float(x.max())
    if not clamps and (lo < -1 - RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE):
        guess = "; x / 127.5 - 1 for [0, 255]" if hi > 2 else ""
        raise BenchboxError(
            f"generated samples lie in [{lo:.4g}, {hi:.4g}], outside [-1, 1]",
            f"return samples in [-1, 1] (e.g. torch.tanh at the output{guess}), or set clamps_samples = True on a "
            "model whose protocol clamps them",
        )


def looks_like_unit_range(lowest: float) -> bool:
    """Generated images that never go below 0 were most likely made in [0, 1] instead of [-1, 1]."""
    return lowest >= 0


def _layout_hint(shape: tuple[int, ...], want_nchw: bool) -> str:
    if want_nchw:
        return f"shape {shape} looks like N×H×W×C; pass x.permute(0, 3, 1, 2)"
    return f"shape {shape} looks like N×C×H×W; pass x.transpose(0, 2, 3, 1) (N×H×W×C is expected in files)"


def check_images(x: torch.Tensor | np.ndarray | ImageFile, what: str = "images") -> torch.Tensor | ImageFile:
    """Validate uint8 N×C×H×W images with C in {1, 3}; return them as a tensor (no copy where possible). An
    ImageFile was checked when it was opened and is returned as it is."""
    if isinstance(x, ImageFile):
        return x
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise BenchboxError(f"{what} are a {type(x).__name__}", "pass a uint8 torch.Tensor N×C×H×W")
    if x.dtype != torch.uint8:
        _refuse_float(x, what)
    if x.ndim != 4:
        raise BenchboxError(f"{what} have shape {tuple(x.shape)}", "pass a 4-D uint8 tensor N×C×H×W")
    if x.shape[0] == 0:
        raise BenchboxError(f"{what} are empty", "pass at least one image")
    channels = x.shape[1]
    if channels not in (1, 3):
        if x.shape[3] in (1, 3, 4):
            raise BenchboxError(f"{what} are not N×C×H×W", _layout_hint(tuple(x.shape), want_nchw=True))
        raise BenchboxError(f"{what} have {channels} channels", _channels_hint(channels, "x[:, :3]", "x[:, :1]"))
    return x


def _channels_hint(channels: int, rgb: str, gray: str) -> str:
    """What to keep of an image with the wrong channel count: RGBA -> RGB, gray + alpha -> gray."""
    if channels == 4:
        return f"pass grayscale (1) or RGB (3): drop alpha, e.g. {rgb}"
    if channels == 2:
        return f"pass grayscale (1) or RGB (3): two channels look like gray + alpha, keep the gray one, e.g. {gray}"
    return "pass grayscale (1) or RGB (3) channels"


def _refuse_float(x: torch.Tensor, what: str) -> None:
    if x.is_floating_point():
        finite = torch.isfinite(x)
        if not bool(finite.all()):
            raise BenchboxError(f"{what} contain NaN or Inf", "the model diverged or the file is corrupt")
        lo, hi = float(x.min()), float(x.max())
        if lo >= -1 and hi <= 1:
            rng = "[0, 1]: use (x * 255).round()" if lo >= 0 else "[-1, 1]: use benchbox.data.images.to_uint8(x)"
            raise BenchboxError(f"{what} are {x.dtype} in {rng}", "uint8 images are expected")
        raise BenchboxError(f"{what} are {x.dtype} in [{lo:.3g}, {hi:.3g}]", "pass uint8 images in [0, 255]")
    raise BenchboxError(f"{what} have dtype {x.dtype}", "pass uint8 images in [0, 255]")


def content_hash(x: torch.Tensor | ImageFile) -> str:
    """SHA-256 of the pixels and the shape: equal images give equal keys, whatever file they came from. The pixels
    are hashed in their N×C×H×W order, a chunk of rows at a time."""
    digest = hashlib.sha256(str(tuple(x.shape)).encode())
    rows = max(1, HASH_CHUNK_BYTES // max(1, math.prod(x.shape[1:]) * x.dtype.itemsize))
    for start in range(0, len(x), rows):
        digest.update(x[start : start + rows].detach().cpu().contiguous().numpy())
    return digest.hexdigest()


def nhwc_array_to_nchw(array: np.ndarray, what: str) -> torch.Tensor:
    """A uint8 N×H×W×C (or N×H×W grayscale) array from a file -> checked uint8 N×C×H×W tensor."""
    if array.dtype.kind not in "biuf":
        raise BenchboxError(f"{what} holds {array.dtype} values", "save a uint8 array N×H×W×C")
    array = array.astype(array.dtype.newbyteorder("="), copy=False)  # torch needs native byte order
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise BenchboxError(f"{what} holds an array of shape {array.shape}", "save a uint8 array N×H×W×C")
    if array.dtype == np.uint8 and array.shape[3] not in (1, 3) and array.shape[1] in (1, 3):
        raise BenchboxError(f"{what} is not N×H×W×C", _layout_hint(array.shape, want_nchw=False))
    if array.dtype == np.uint8 and array.shape[3] not in (1, 3):
        raise BenchboxError(
            f"{what} has {array.shape[3]} channels", _channels_hint(array.shape[3], "a[..., :3]", "a[..., :1]")
        )
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.uint8:
        tensor = tensor.permute(0, 3, 1, 2).contiguous()
    return check_images(tensor, what)


def _load_array(path: Path) -> np.ndarray:
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if len(keys) != 1:
                raise BenchboxError(f"'{path}' holds {len(keys)} arrays ({', '.join(keys)})", "save exactly one array")
            return archive[keys[0]]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise BenchboxError(f"cannot read '{path}': {exc}", "save it with numpy.save or numpy.savez") from exc


def _load_folder(folder: Path) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BenchboxError(f"folder '{folder}' has no PNG or JPEG images", "point at a folder of .png/.jpg files")
    arrays = []
    for file in files:
        try:
            with Image.open(file) as im:
                im.load()
                if im.mode not in ("L", "RGB"):
                    hint = "save the images as 8-bit grayscale (L) or RGB"
                    raise BenchboxError(f"image '{file}' has mode {im.mode}", hint)
                arrays.append(np.asarray(im))
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise BenchboxError(f"cannot decode image '{file}'", "remove or re-save the corrupt file") from exc
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise BenchboxError(
            f"images in '{folder}' have different sizes {sorted(shapes)[:3]}", "resize them to one size"
        )
    return nhwc_array_to_nchw(np.stack(arrays), f"folder '{folder}'")


def open_images(source: str | Path) -> torch.Tensor | ImageFile:
    """As `load_images`, but a uint8 .npy file of N×H×W×C images stays on disk, read a batch at a time."""
    path = Path(source)
    opened = open_image_file(path) if path.suffix.lower() == ".npy" and path.is_file() else None
    return load_images(path) if opened is None else opened


def load_images(source: str | Path) -> torch.Tensor:
    """Images from a folder of PNG/JPEG files or a .npy/.npz file with a uint8 N×H×W×C array."""
    path = Path(source)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() in (".npy", ".npz") and path.is_file():
        return nhwc_array_to_nchw(_load_array(path), f"'{path}'")
    if not path.exists():
        raise BenchboxError(f"'{source}' does not exist", "pass a folder of images, a .npy/.npz file or a dataset name")
    raise BenchboxError(
        f"'{source}' is not a folder or a .npy/.npz file", "pass a folder of PNG/JPEG images or an array"
    )

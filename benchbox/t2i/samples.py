"""The user's generated images, in caption order, as the protocol's uint8 batches (resized and cropped as the real
ones): a folder whose files are named by caption index (`0.png` or `00000.png`, …), an array file (.npy/.npz, uint8
N×H×W×3, row i for caption i), or a hook `module:function` that maps a list of captions to their images.

Counts and order are checked before any feature is computed where the source allows (a folder, an array); a hook's
batches are checked as they come. Every problem is one line naming the caption index or file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from benchbox.data.images import IMAGE_SUFFIXES, load_images, to_uint8
from benchbox.errors import BenchboxError
from benchbox.runner.user_code import import_callable
from benchbox.t2i.protocol import to_protocol_batch

Batches = Iterator[torch.Tensor]


def folder_files(folder: Path, n: int) -> list[Path]:
    """The n image files of a folder, file i for caption i; refuses another count, a missing index or a stray name."""
    files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    by_index: dict[int, Path] = {}
    for p in files:
        if not p.stem.isdigit():
            raise BenchboxError(
                f"sample '{p}' is not named by its caption index", "name file i after caption i: 0.png or 00000.png"
            )
        if int(p.stem) in by_index:
            raise BenchboxError(
                f"samples '{by_index[int(p.stem)].name}' and '{p.name}' have the same index", "keep one"
            )
        by_index[int(p.stem)] = p
    if len(by_index) != n:
        raise BenchboxError(
            f"folder '{folder}' has {len(by_index)} images but the caption file has {n} captions",
            "generate one image per caption, file i for caption i",
        )
    missing = next((i for i in range(n) if i not in by_index), None)
    if missing is not None:
        raise BenchboxError(
            f"folder '{folder}' has no image for caption {missing} (its indices go up to {max(by_index)})",
            f"name file i after caption i, from 0 to {n - 1}",
        )
    return [by_index[i] for i in range(n)]


def _open(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchboxError(f"cannot decode sample '{path}'", "remove or re-save the corrupt file") from exc
    if image.mode not in ("L", "RGB"):
        raise BenchboxError(f"sample '{path}' has mode {image.mode}", "save 8-bit grayscale (L) or RGB images")
    return image


def from_folder(folder: Path, n: int, batch_size: int) -> Batches:
    files = folder_files(folder, n)  # checked now, before any image is decoded
    return (to_protocol_batch([_open(p) for p in files[i : i + batch_size]]) for i in range(0, n, batch_size))


def _pil(images: torch.Tensor) -> list[Image.Image]:
    """uint8 N×C×H×W -> PIL images."""
    arrays = images.permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]


def from_array(path: Path, n: int, batch_size: int) -> Batches:
    images = load_images(path)  # uint8 N×C×H×W, checked
    if len(images) != n:
        raise BenchboxError(
            f"'{path}' holds {len(images)} images but the caption file has {n} captions",
            "generate one image per caption, row i for caption i",
        )
    return (to_protocol_batch(_pil(images[i : i + batch_size])) for i in range(0, n, batch_size))


def from_samples(source: Path, n: int, batch_size: int) -> Batches:
    """A folder or an array file (checked now)."""
    source = Path(source)
    if source.is_dir():
        return from_folder(source, n, batch_size)
    if source.suffix.lower() in (".npy", ".npz") and source.is_file():
        return from_array(source, n, batch_size)
    if not source.exists():
        raise BenchboxError(f"samples '{source}' do not exist", "pass a folder of images or a .npy/.npz file")
    raise BenchboxError(f"samples '{source}' are not a folder or a .npy/.npz file", "pass one of those")


def load_hook(spec: str) -> Callable[[list[str]], object]:
    """`package.module:function`, imported from the current folder or PYTHONPATH."""
    return import_callable(spec, "hook", "a list of captions")[1]


def hook_images(output: object, n: int, first: int) -> torch.Tensor:
    """A hook's output for n captions (from index `first`) -> checked uint8 N×3×H×W: uint8 N×H×W×3 as is, floats
    in [-1, 1] through the engine's one conversion (`to_uint8`, which refuses any other range)."""
    where = f"the hook's images for captions {first}..{first + n - 1}"
    if isinstance(output, np.ndarray):
        output = torch.from_numpy(np.ascontiguousarray(output))
    if not isinstance(output, torch.Tensor):
        raise BenchboxError(f"{where} are a {type(output).__name__}", "return a numpy array or a torch tensor")
    x = output.detach().cpu()
    if x.ndim != 4 or x.shape[-1] != 3:
        raise BenchboxError(f"{where} have shape {tuple(x.shape)}", f"return N×H×W×3 with N = {n}")
    if len(x) != n:
        raise BenchboxError(f"{where}: {len(x)} images for {n} captions", "return one image per caption, in order")
    if x.dtype != torch.uint8:
        if not x.is_floating_point():
            raise BenchboxError(f"{where} are {x.dtype}", "return uint8 in [0, 255] or floats in [-1, 1]")
        try:
            x = to_uint8(x, clamps=False)
        except BenchboxError as exc:
            raise BenchboxError(f"{where}: {exc.problem}", "return uint8 in [0, 255] or floats in [-1, 1]") from exc
    return x.permute(0, 3, 1, 2).contiguous()


def from_hook(fn: Callable[[list[str]], object], captions: Sequence[str], batch_size: int) -> Batches:
    for i in range(0, len(captions), batch_size):
        chunk = list(captions[i : i + batch_size])
        try:
            output = fn(chunk)
        except BenchboxError:
            raise
        except Exception as exc:  # the user's code: one line naming the batch
            raise BenchboxError(
                f"the hook failed on captions {i}..{i + len(chunk) - 1} ({type(exc).__name__}: {exc})",
                "fix the hook; it is called with a list of captions and returns their images",
            ) from exc
        yield to_protocol_batch(_pil(hook_images(output, len(chunk), i)))

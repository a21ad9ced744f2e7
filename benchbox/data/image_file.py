"""Images in a .npy file, read a batch at a time: a uint8 N×H×W×C array on disk, seen as the engine's N×C×H×W
without ever loading the whole of it.

Rows are read with plain file reads (`numpy.fromfile` at an offset), not through a memory map: pages of a map that
have been read stay in the process's resident memory until it unmaps them, so scoring a file of any size would peak
at the file's size; reads go through the page cache and leave only the batch in hand. The batch is the same uint8
N×C×H×W tensor that loading the whole file and slicing it gives, so features, hashes and scores do not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class ImageFile:
    """A C-ordered uint8 .npy array of N×H×W×C (C = 1 or 3) images; `x[i:j]` reads rows i..j as N×C×H×W."""

    path: Path
    offset: int  # bytes of the .npy header, before the first image
    shape: tuple[int, int, int, int]  # N×C×H×W, as the engine sees the images

    dtype = torch.uint8
    ndim = 4

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> torch.Tensor:
        if not isinstance(rows, slice):
            raise TypeError(f"an ImageFile reads row ranges (x[i:j]), not {type(rows).__name__}")
        start, stop, step = rows.indices(len(self))
        if step != 1:
            raise ValueError("an ImageFile reads consecutive rows (step 1)")
        _, c, h, w = self.shape
        count = max(stop - start, 0)
        row = c * h * w
        array = np.fromfile(self.path, dtype=np.uint8, count=count * row, offset=self.offset + start * row)
        if len(array) != count * row:
            raise OSError(f"'{self.path}' ended before row {stop} (the file changed while it was read)")
        return torch.from_numpy(array.reshape(count, h, w, c)).permute(0, 3, 1, 2).contiguous()


def open_image_file(path: Path) -> ImageFile | None:
    """The images of a .npy file to read by batches: only its header is read here. None where the file is not a
    non-empty C-ordered uint8 array of N×H×W×C (C = 1 or 3) or N×H×W images: the caller loads those whole, which
    gives the errors that say what is wrong with them."""
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)  # parses the header; no image is read
    except (ValueError, OSError):
        return None
    if not isinstance(mapped, np.memmap):
        return None
    shape, offset, ordered, dtype = mapped.shape, mapped.offset, mapped.flags.c_contiguous, mapped.dtype
    del mapped
    if dtype != np.uint8 or not ordered or len(shape) not in (3, 4) or shape[0] == 0 or math.prod(shape) == 0:
        return None
    n, h, w, c = shape if len(shape) == 4 else (*shape, 1)
    if c not in (1, 3):
        return None
    return ImageFile(Path(path), int(offset), (n, c, h, w))

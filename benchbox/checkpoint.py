"""Checkpoint files: plain data only, written atomically, loaded without running code.

A checkpoint holds tensors, numbers, strings, None, lists, tuples and dicts — nothing else — so that it loads with
`torch.load(weights_only=True)`, which builds those and calls nothing. A file that asks for anything more (a pickle
that would run code on load, or an object of some class) is refused, not loaded. `plain_problem` finds what a state
holds beyond plain data before it is saved, so a model whose `state_dict()` breaks the rule is told at its first
checkpoint (and a user's model at the pre-flight), not when a resume fails."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from benchbox.errors import BenchboxError
from benchbox.io import DISK_HINT, write_bytes_atomic

PLAIN_TYPES = (torch.Tensor, int, float, bool, str, bytes, type(None), torch.Size, torch.dtype)
PLAIN_RULE = "tensors, numbers, strings, None, lists, tuples and dicts"


def plain_problem(value: Any, where: str = "state") -> str | None:
    """Where `value` holds something beyond plain data, e.g. "state['model']['scaler'] is a numpy.ndarray"; None
    when it is all plain."""
    if isinstance(value, PLAIN_TYPES):
        return None
    if isinstance(value, (list, tuple)):
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        kind = type(value)
        return f"{where} is a {kind.__module__}.{kind.__qualname__}"
    for key, item in items:
        if isinstance(value, dict) and not isinstance(key, (str, int)):
            return f"{where} has a key of type {type(key).__name__}"
        if problem := plain_problem(item, f"{where}[{key!r}]"):
            return problem
    return None


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write `state` to a temporary file beside `path`, then rename it over `path`: a reader (or a run killed at any
    point) sees the previous complete file or the new complete one."""
    if problem := plain_problem(state):
        raise BenchboxError(
            f"cannot checkpoint to '{path}': {problem}; a checkpoint holds {PLAIN_RULE} only",
            "convert it in the model's state_dict(), e.g. torch.from_numpy(array) or array.tolist()",
        )
    buffer = io.BytesIO()  # serialised first: torch's zip writer reports a failed write as a RuntimeError
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue(), f"the previous checkpoint is kept; {DISK_HINT}", what="checkpoint ")


def load(path: Path) -> dict[str, Any]:
    """A checkpoint's state, loaded as plain data (`weights_only=True`): a file that would run code is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # what weights_only raises for a global it will not build
        raise BenchboxError(
            f"checkpoint '{path}' holds more than {PLAIN_RULE} (loading it could run code), so it was not loaded",
            "delete it, or run without --resume to start that run over",
        ) from exc
    except Exception as exc:  # torch raises many kinds for a truncated or corrupt file
        raise BenchboxError(
            f"checkpoint '{path}' is unreadable ({type(exc).__name__})",
            "delete it, or run without --resume to start that run over",
        ) from exc
    if not isinstance(state, dict):
        raise BenchboxError(f"checkpoint '{path}' is not a benchbox checkpoint", "delete it, or run without --resume")
    return state

"""The pre-flight check of a user's model (`--models module:factory`), before any training: build a throwaway
instance, sample two examples and take one training step on a real batch, and refuse in one line, naming the user's
file and line, what would otherwise be found only after the whole training (a wrong shape, dtype or range, a
`train_step` that does not return a dict of finite numbers, a `state_dict()` that holds more than plain data, a method
that raises)."""

from __future__ import annotations

import inspect
import math
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchbox.checkpoint import PLAIN_RULE, plain_problem
from benchbox.data.images import check_model_output
from benchbox.errors import BenchboxError
from benchbox.model import Model
from benchbox.sr.degrade import to_unit
from benchbox.tasks import ImagesTask, SuperResolutionTask, Task, TrainingStream

PREFLIGHT_SAMPLES = 2
PREFLIGHT_SEED = 0  # the throwaway instance samples with this; the run itself is seeded afresh afterwards


def where(fn: Any) -> str:
    """`file:line` of a function's definition, for errors about what it returned."""
    try:
        return f"{Path(inspect.getsourcefile(fn) or '?').name}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def raised_at(exc: BaseException) -> str:
    """`file:line` of the innermost frame of an exception raised in the user's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


def call_user(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the user's code; an exception in it becomes one line naming the method, the error and where it was."""
    try:
        return fn(*args)
    except BenchboxError:
        raise
    except Exception as exc:
        raise BenchboxError(
            f"{what} raised {type(exc).__name__}: {exc} (at {raised_at(exc)})", f"fix {what} (defined at {where(fn)})"
        ) from exc


def loss_values(losses: Any, train_step: Any) -> dict[str, float]:
    """A train_step's return value as a dict of Python floats: tensors are detached, one-element ones only, so that
    nothing keeps its autograd graph alive in the loss log."""
    if not isinstance(losses, dict):
        raise BenchboxError(
            f"train_step returned a {type(losses).__name__}, not a dict of losses (at {where(train_step)})",
            "return a dict of floats, e.g. {'d_loss': d_loss.item(), 'g_loss': g_loss.item()}",
        )
    values = {}
    for name, value in losses.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.detach().item()
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise BenchboxError(
                f"train_step returned {type(value).__name__} for '{name}', not a number (at {where(train_step)})",
                "return a dict of floats, e.g. {'loss': loss.item()}",
            )
        values[str(name)] = float(value)
    return values


def preflight(model: Model, task: Task, data: TrainingStream) -> None:
    """Sample two examples and take one step on a real batch with a throwaway instance of the user's model."""
    generator = torch.Generator().manual_seed(PREFLIGHT_SEED)
    if isinstance(task, SuperResolutionTask):  # an SR model upscales the first test images instead of sampling
        method, what = model.upscale, "upscale(lr, generator)"
        samples = call_user(what, method, to_unit(task.test_pairs(PREFLIGHT_SAMPLES)[0]), generator)
    else:
        method, what = model.sample, "sample(n, generator)"
        samples = call_user(what, method, PREFLIGHT_SAMPLES, generator)
    want = (PREFLIGHT_SAMPLES, *task.sample_shape)
    if not isinstance(samples, torch.Tensor):
        raise BenchboxError(
            f"{what} returned a {type(samples).__name__} (at {where(method)})",
            f"return a float torch.Tensor of shape (n, {', '.join(map(str, task.sample_shape))})",
        )
    if tuple(samples.shape) != want:
        hint = " (N×H×W×C? use x.permute(0, 3, 1, 2))" if sorted(samples.shape[1:]) == sorted(want[1:]) else ""
        raise BenchboxError(
            f"{what} returned shape {tuple(samples.shape)}, not {want}{hint} (at {where(method)})",
            f"return n samples of the task's shape {tuple(task.sample_shape)}",
        )
    if isinstance(task, ImagesTask):
        try:
            check_model_output(samples.detach().cpu(), bool(getattr(model, "clamps_samples", False)))
        except BenchboxError as exc:
            raise BenchboxError(f"{exc.problem} (at {where(method)})", exc.hint) from exc
    labelled = bool(getattr(model, "uses_labels", False))
    batch = data.next(model.examples_per_step, labels=labelled)
    losses = loss_values(call_user("train_step(batch)", model.train_step, batch), model.train_step)
    bad = [k for k, v in losses.items() if not math.isfinite(v)]
    if bad:
        raise BenchboxError(
            f"train_step's first step gave non-finite {', '.join(bad)} (at {where(model.train_step)})",
            "check the model's initialisation and losses on a real batch",
        )
    state = call_user("state_dict()", model.state_dict)
    if problem := plain_problem(state, "state_dict()"):
        raise BenchboxError(
            f"{problem}; a checkpoint holds {PLAIN_RULE} only, so it could not be resumed (at {where(model.state_dict)})",
            "convert it in state_dict(), e.g. torch.from_numpy(array) or array.tolist()",
        )

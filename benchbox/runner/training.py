"""Training one cell: the loop of train steps with atomic checkpoints, resume from the last one, loss curves, and
divergence (a loss that is not finite stops the run and keeps the last good checkpoint)."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from benchbox import checkpoint
from benchbox.errors import BenchboxError
from benchbox.model import Model
from benchbox.runner.cells import Cell
from benchbox.runner.preflight import loss_values
from benchbox.tasks import TrainingStream

logger = logging.getLogger(__name__)


class LossLog:
    """Means of the logged values over each checkpoint interval: the training curves, kept in the checkpoint."""

    def __init__(self, history: list[dict[str, float]] | None = None) -> None:
        self.history = list(history or [])
        self._sums: dict[str, float] = {}
        self._count = 0

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
        self._count += 1

    def close_interval(self, step: int) -> None:
        if self._count:
            self.history.append({"step": step, **{k: v / self._count for k, v in self._sums.items()}})
        self._sums, self._count = {}, 0


@dataclass(frozen=True)
class Trained:
    """Where training stopped: the step reached, seconds spent, and the losses that were not finite, if any."""

    step: int
    seconds: float
    history: list[dict[str, float]]  # per checkpoint interval: the step and each logged value's mean
    nonfinite: dict[str, float] | None = None


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's random, for models (ours or users') that draw from any of them."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def numpy_rng_state() -> dict[str, Any]:
    """numpy's global RNG state as plain data (its key as a list of ints), which a checkpoint can hold."""
    state = np.random.get_state(legacy=False)
    return {**state, "state": {"key": state["state"]["key"].tolist(), "pos": int(state["state"]["pos"])}}


def load_resume_state(path: Path, phash: str) -> dict[str, Any] | None:
    """The last checkpoint of a cell, refused when it was written under another protocol."""
    if not path.exists():
        return None
    state = checkpoint.load(path)
    if state["protocol_hash"] != phash:
        raise BenchboxError(
            f"checkpoint '{path}' was written under another protocol", "run without --resume to start over"
        )
    return state


def train(
    cell: Cell,
    model: Model,
    data: TrainingStream,
    path: Path,
    phash: str,
    device: torch.device,
    state: dict[str, Any] | None,
    on_checkpoint: Callable[[Cell, int], None] | None = None,
    progress: bool = True,
) -> Trained:
    """Train the cell's model to its budget's steps, from `state` (a checkpoint) when resuming."""
    step, seconds, log = 0, 0.0, LossLog()
    labelled = bool(getattr(model, "uses_labels", False))
    if state is not None:
        step, seconds, log = _restore(state, model, data, device)
        logger.info("%s: resumed at step %d", cell.label, step)
    bar = tqdm(
        total=cell.budget.steps, initial=step, desc=cell.label, leave=False, dynamic_ncols=True, disable=not progress
    )
    with bar:
        while step < cell.budget.steps:
            t0 = time.perf_counter()
            losses = loss_values(
                model.train_step(data.next(model.examples_per_step, labels=labelled)), model.train_step
            )
            step += 1
            seconds += time.perf_counter() - t0
            bar.update()
            if not all(math.isfinite(v) for v in losses.values()):
                return Trained(step, seconds, log.history, losses)
            log.add(losses)
            if step % cell.budget.checkpoint_every == 0 or step == cell.budget.steps:
                log.close_interval(step)
                _save(path, model, data, step, seconds, phash, log.history, device)
                if on_checkpoint:
                    on_checkpoint(cell, step)
    return Trained(step, seconds, log.history)


def _restore(
    state: dict[str, Any], model: Model, data: TrainingStream, device: torch.device
) -> tuple[int, float, LossLog]:
    model.load_state_dict(state["model"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    np.random.set_state(state["numpy_rng"])  # numpy takes its state as the dict `numpy_rng_state` gives
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    data.load_state(state["data_rng"])
    return state["step"], state["train_time_s"], LossLog(state.get("history"))


def _save(
    path: Path,
    model: Model,
    data: TrainingStream,
    step: int,
    seconds: float,
    phash: str,
    history: list[dict[str, float]],
    device: torch.device,
) -> None:
    state = {
        "model": model.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        "numpy_rng": numpy_rng_state(),
        "data_rng": data.state(),
        "step": step,
        "train_time_s": seconds,
        "protocol_hash": phash,
        "history": history,
    }
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    checkpoint.save_atomic(state, path)

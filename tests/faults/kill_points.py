"""A benchbox plugin for the fault tests (`benchbox --plugins kill_points ...`): SIGKILL this process the n-th time it
reaches a named point, where $BENCHBOX_TEST_KILL_AT names it as `point:n`. Nothing is patched without that variable.

The points, each where a crash would do the most harm:
- `train`: after a training step's losses are read (mid-training, between checkpoints);
- `checkpoint`: half-way through writing a checkpoint's temporary file (also the domain classifier's cache file);
- `store`: inside a store write transaction, after its first statements ran and before it commits;
- `evaluate`: when a run's values are computed and not yet recorded;
- `extract`: after a batch of features is extracted (in `benchbox score` or a run's evaluation);
- `feature-cache`: half-way through writing a feature cache file.
"""

from __future__ import annotations

import io
import os
import signal
from typing import Any

import numpy as np

import benchbox.features.cache
import benchbox.io
import benchbox.runner.training
import benchbox.store
from benchbox.evaluation.points import PointsEvaluation
from benchbox.features.domain_classifier import DomainClassifier

POINT, _, NTH = os.environ.get("BENCHBOX_TEST_KILL_AT", "").partition(":")
_reached = 0


def reached(point: str) -> None:
    global _reached
    if point == POINT:
        _reached += 1
        if _reached == int(NTH):
            os.kill(os.getpid(), signal.SIGKILL)


def _half_then(point: str, write: Any, target: Any, f: Any, *args: Any, **kwargs: Any) -> None:
    """Write half of what `write` would write to the open file `f`, flushed to disk, at the kill's turn."""
    if point == POINT and _reached + 1 == int(NTH):
        buffer = io.BytesIO()
        write(buffer, target, *args, **kwargs)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        f.flush()
        os.fsync(f.fileno())
    reached(point)


class _HalfFile:
    """A file whose write, at the kill's turn, writes half of its bytes, flushes them to disk and dies."""

    def __init__(self, f: Any, point: str) -> None:
        self.f, self.point = f, point

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)

    def __enter__(self) -> _HalfFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.f.close()

    def write(self, data: Any) -> int:
        _half_then(self.point, lambda buf, d: buf.write(bytes(d)), data, self.f)
        return self.f.write(data)


class _Os:
    """os as benchbox.io sees it, with checkpoint files (`.<name>.pt.XXXX.tmp`) that die half-written at their turn."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        f = os.fdopen(fd, *args, **kwargs)
        return _HalfFile(f, "checkpoint") if ".pt." in os.readlink(f"/proc/self/fd/{fd}") else f


class _Numpy:
    """numpy as benchbox.features.cache sees it, with a savez that dies half-way at its turn."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def savez(f: Any, **arrays: Any) -> None:
        _half_then("feature-cache", lambda buf, a: np.savez(buf, **a), arrays, f)
        np.savez(f, **arrays)


def _counting(point: str, fn: Any, before: bool = False) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            reached(point)
        out = fn(*args, **kwargs)
        if not before:
            reached(point)
        return out

    return wrapped


if POINT:
    benchbox.io.os = _Os()  # type: ignore[assignment]
    benchbox.features.cache.np = _Numpy()  # type: ignore[assignment]
    benchbox.store._insert = _counting("store", benchbox.store._insert, before=True)  # type: ignore[assignment]
    benchbox.runner.training.loss_values = _counting("train", benchbox.runner.training.loss_values)
    PointsEvaluation.evaluate = _counting("evaluate", PointsEvaluation.evaluate)  # type: ignore[method-assign]
    DomainClassifier.features = _counting("extract", DomainClassifier.features)  # type: ignore[method-assign]

"""What a run leaves in the store: one ResultRecord per value and one RunRecord of its status, each with the run's
provenance (data hash, code and library versions, device, wall time)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import torch

from benchbox.provenance import Environment, environment
from benchbox.runner.cells import Cell
from benchbox.runner.user_code import UserFactory
from benchbox.store import ResultRecord, RunRecord
from benchbox.tasks import Task


class Recorder:
    """Builds the records of one suite's runs on one device; the data hash of each task is computed once."""

    def __init__(self, suite: str, version: int, device: torch.device) -> None:
        self.suite = suite
        self.version = version
        self.env: Environment = environment(device)
        self._data_hashes: dict[str, str] = {}

    def key(self, cell: Cell, model: str = "") -> dict[str, Any]:
        """The store columns that name one run, or one sampling variant of it (`model`)."""
        return {
            "suite": self.suite,
            "suite_version": self.version,
            "task": cell.task.name,
            "model": model or cell.entry.name,
            "seed": cell.seed,
            "budget": cell.budget.name,
        }

    def result(
        self, cell: Cell, model: str, phash: str, metric: str, value: float, n: int, wall: float, extractor: str
    ) -> ResultRecord:
        return ResultRecord(
            **self.key(cell, model),
            metric=metric,
            value=float(value),
            n_samples=n,
            protocol_hash=phash,
            extractor_hash=extractor,
            **self._provenance(cell, wall),
        )

    def run(
        self,
        cell: Cell,
        model: str,
        phash: str,
        status: str,
        step: int,
        detail: str,
        wall: float,
        examples_per_step: int = 0,
        history: list[dict[str, float]] | None = None,
    ) -> RunRecord:
        """A row's status, with its batch size, training curves and, for a user's model, its source files."""
        user = cell.entry.config if isinstance(cell.entry.config, UserFactory) else None
        return RunRecord(
            **self.key(cell, model),
            protocol_hash=phash,
            status=status,
            step=step,
            detail=detail,
            **self._provenance(cell, wall),
            examples_per_step=examples_per_step,
            user_code=user.files_json() if user else "",
            history=json.dumps(history) if history else "",
        )

    def _provenance(self, cell: Cell, wall: float) -> dict[str, Any]:
        e = self.env
        return {
            "data_hash": self._data_hash(cell.task),
            "benchbox_version": e.benchbox_version,
            "git_commit": e.git_commit,
            "torch_version": e.torch_version,
            "cuda_version": e.cuda_version,
            "device": e.device,
            "machine": e.machine,
            "train_steps": cell.budget.steps,
            "wall_time_s": wall,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _data_hash(self, task: Task) -> str:
        if task.name not in self._data_hashes:
            self._data_hashes[task.name] = task.data_hash()
        return self._data_hashes[task.name]

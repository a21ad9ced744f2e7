"""Fresh results for a check or a baseline: the table rows a suite's models give, their runs through the Runner (or
the runs a store already holds complete under the same protocol), and their values per seed read back from the store.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchbox.errors import BenchboxError
from benchbox.runner import Cell, Runner, cell_protocol_hash
from benchbox.store import ResultStore
from benchbox.suite import Budget, ModelEntry, Suite, Variant

# Values a check leaves out, and why: they measure the machine, not the code's numbers.
EXCLUDED = {
    "seconds_per_sample": "wall-clock seconds per sample: set by the machine's speed and load, not by the code",
}
FINISHED = ("done", "diverged")  # run statuses that leave a row's results complete (a diverged run has no values)


@dataclass(frozen=True)
class Row:
    """One table row of a task: a model's own run, or a sampling variant scored from the same weights."""

    task: str
    model: str  # the row's name: the model's, or `<model>-<variant>`
    entry: ModelEntry
    variant: Variant | None
    protocol_hash: str

    @property
    def label(self) -> str:
        return f"{self.task}/{self.model}"


@dataclass
class RowResults:
    """What the store holds for one row over the seeds asked for, under the row's protocol."""

    row: Row
    seeds: tuple[int, ...]
    status: dict[int, str] = field(default_factory=dict)  # seed -> "done" or "diverged"
    values: dict[str, dict[int, float]] = field(default_factory=dict)  # value name -> seed -> value
    data_hashes: set[str] = field(default_factory=set)
    extractor_weights: set[str] = field(default_factory=set)
    environments: set[tuple[str, str, str, str]] = field(default_factory=set)  # (torch, CUDA, device, machine)
    git_commits: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return all(self.status.get(s) in FINISHED for s in self.seeds)

    @property
    def diverged(self) -> tuple[int, ...]:
        return tuple(s for s in self.seeds if self.status.get(s) == "diverged")

    def per_seed(self, name: str) -> tuple[float, ...] | None:
        """The value for each seed (NaN where its run diverged or lacks it); None when no run recorded it and some
        run finished without it."""
        got = self.values.get(name, {})
        if not got and len(self.diverged) < len(self.seeds):
            return None
        return tuple(got.get(s, math.nan) for s in self.seeds)

    def names(self) -> list[str]:
        """The values its runs recorded, but those a check leaves out."""
        return [name for name in self.values if name not in EXCLUDED]


def table_rows(suite: Suite, entries: Sequence[ModelEntry], budget: Budget) -> list[Row]:
    """Every task × (model, then its sampling variants under this budget), with each row's protocol hash."""
    rows = []
    for task in suite.tasks:
        for entry in entries:
            cell = Cell(task, entry, 0, entry.budget_for(budget))  # a protocol hash does not depend on the seed
            rows.append(Row(task.name, entry.name, entry, None, cell_protocol_hash(suite, cell)))
            for variant in entry.variants_for(cell.budget):
                phash = cell_protocol_hash(suite, cell, variant)
                rows.append(Row(task.name, entry.variant_name(variant), entry, variant, phash))
    return rows


def read_rows(
    store: ResultStore, suite: Suite, budget: str, rows: Sequence[Row], seeds: Sequence[int]
) -> list[RowResults]:
    """What the store holds for each row and seed under the row's protocol hash (other protocols are ignored)."""
    out = []
    for row in rows:
        got = RowResults(row, tuple(seeds))
        key = {"suite": suite.name, "suite_version": suite.version, "task": row.task, "model": row.model}
        for run in store.runs(**key, budget=budget):
            if run.protocol_hash == row.protocol_hash and run.seed in got.seeds and run.status in FINISHED:
                got.status[run.seed] = run.status
                got.data_hashes.add(run.data_hash)
                got.environments.add((run.torch_version, run.cuda_version, run.device, run.machine))
                got.git_commits.add(run.git_commit)
        for r in store.records(**key, budget=budget):
            if r.protocol_hash == row.protocol_hash and got.status.get(r.seed) == "done":
                got.values.setdefault(r.metric, {})[r.seed] = r.value
                got.data_hashes.add(r.data_hash)
                if r.extractor_hash and r.metric not in EXCLUDED:
                    got.extractor_weights.add(r.extractor_hash)
        out.append(got)
    return out


def cells_to_run(suite: Suite, budget: Budget, results: Sequence[RowResults]) -> list[Cell]:
    """The runs (task × model × seed) that some row of theirs lacks; a run scores its variants' rows too."""
    wanted: dict[tuple[str, str, int], Cell] = {}
    for got in results:
        row = got.row
        for seed in got.seeds:
            if got.status.get(seed) not in FINISHED:
                cell = Cell(suite.task(row.task), row.entry, seed, row.entry.budget_for(budget))
                wanted.setdefault((row.task, row.entry.name, seed), cell)
    return list(wanted.values())


class RunFailed(Exception):
    """A run raised an error that is not a BenchboxError (a crash in a model's code, say)."""


def run_cells(
    suite: Suite, suite_ref: str, store: ResultStore, device: torch.device, cells: list[Cell], jobs: int | None
) -> None:
    """Train, score and record `cells` into the store, side by side in `jobs` processes (default: one per CPU core on
    the CPU, 1 on a GPU), one torch thread per run where the jobs fill the cores (the workers' own rule) and in this
    process, so that runs reproduce bit for bit. A run that crashes raises RunFailed, naming it."""
    if not cells:
        return
    default = 1 if device.type == "cuda" else os.cpu_count() or 1
    jobs = min(default if jobs is None else jobs, len(cells))
    if jobs < 1:
        raise BenchboxError("--jobs is not a positive number", "pass --jobs 1 or more")
    threads = torch.get_num_threads()
    if jobs == 1:
        torch.set_num_threads(1)  # as each of the default workers runs: CPU kernels reduce in a thread-count order
    try:
        Runner(suite, store, device).run(cells, jobs=jobs, suite_ref=suite_ref)
    except BenchboxError:
        raise
    except Exception as exc:  # a crash in a model's code is the check's to report, not a traceback
        ran = {c.label for c in cells}
        failed = sorted(
            {f"{r.task}/{r.model}/seed{r.seed}" for r in store.runs(suite=suite.name, status="failed")} & ran
        )
        where = f" ({', '.join(failed)})" if failed else ""
        raise RunFailed(f"a run failed{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        torch.set_num_threads(threads)


@contextmanager
def open_store(path: Path | None) -> Iterator[ResultStore]:
    """The store named by --store, or a temporary one removed afterwards (with its checkpoints)."""
    if path is not None:
        store = ResultStore(path)
        try:
            yield store
        finally:
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="benchbox-check-") as folder:
        store = ResultStore(Path(folder) / "results.db")
        try:
            yield store
        finally:
            store.close()

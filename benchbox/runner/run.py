"""The runner: for each cell (task × model × seed under a budget), train with checkpoints and resume, score through
the suite's evaluation, and record the values and the run's status with their provenance."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch

import benchbox.builtins  # noqa: F401  (registers the built-in model kinds, metrics and suites)
from benchbox.catalogue import lookup
from benchbox.errors import BenchboxError, StoreError
from benchbox.io import DISK_HINT, write_bytes_atomic
from benchbox.model import Model, ModelContext
from benchbox.preview import PREVIEW, PREVIEW_SEED_OFFSET, sha256
from benchbox.runner.cells import DATA_SEED_OFFSET, EVAL_SEED_OFFSET, Cell, RunOutcome, build_model, cell_protocol_hash
from benchbox.runner.describe import describe_suite
from benchbox.runner.parallel import run_parallel
from benchbox.runner.preflight import preflight
from benchbox.runner.records import Recorder
from benchbox.runner.training import Trained, load_resume_state, seed_everything, train
from benchbox.store import Artifact, ResultRecord, ResultStore
from benchbox.suite import Suite, Variant
from benchbox.tasks import SuperResolutionTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One table row a trained model gives: the run itself, or a sampling variant of it."""

    name: str
    phash: str
    variant: Variant | None = None


class Runner:
    def __init__(
        self,
        suite: Suite,
        store: ResultStore,
        device: torch.device,
        resume: bool = False,
        on_checkpoint: Callable[[Cell, int], None] | None = None,
        progress: bool = True,
    ) -> None:
        self.suite = suite
        self.store = store
        self.device = device
        self.resume = resume
        self.on_checkpoint = on_checkpoint  # called after each checkpoint is written (tests interrupt here)
        self.progress = progress
        self.recorder = Recorder(suite.name, suite.version, device)
        self.checkpoint_root = store.path.parent / "checkpoints"

    def run(self, cells: list[Cell], jobs: int = 1, suite_ref: str = "") -> list[RunOutcome]:
        """Run cells in order here, or in `jobs` worker processes that reload the suite from `suite_ref`."""
        self.store.put_description(self.suite.name, self.suite.version, describe_suite(self.suite))
        for task, n in {(c.task, c.budget.n_eval or self.suite.n_eval) for c in cells}:
            self.suite.evaluation.prepare(task, n)  # e.g. train the domain classifier once, before the workers
        if jobs > 1:
            return run_parallel(self, suite_ref or self.suite.name, cells, jobs)
        return [self.run_cell(cell) for cell in cells]

    def run_cell(self, cell: Cell) -> RunOutcome:
        rows = self.rows(cell)
        path = self.checkpoint_path(cell)
        state = load_resume_state(path, rows[0].phash) if self.resume else None
        if self.resume and self._skip(cell, rows, state):
            return RunOutcome(cell, "skipped")
        if cell.entry.kind == "user":
            preflight_cell(self.suite, cell, self.device)
        seed_everything(cell.seed)
        model = self._build(cell)
        data = cell.task.stream(cell.seed + DATA_SEED_OFFSET, self.device)
        try:
            trained = train(
                cell, model, data, path, rows[0].phash, self.device, state, self.on_checkpoint, self.progress
            )
            if trained.nonfinite is not None:
                return self._diverged(cell, rows[0], trained, path, model.examples_per_step)
            return RunOutcome(cell, "done", tuple(self._evaluate(cell, model, rows, trained)))
        except StoreError:  # the store itself refused (another protocol in the cell): nothing more to write there
            raise
        except Exception as exc:  # recorded as failed, then reported as it is (one line for a BenchboxError)
            failed = self.recorder.run(
                cell, cell.entry.name, rows[0].phash, "failed", 0, f"{type(exc).__name__}: {exc}", 0.0
            )
            self.store.put([], runs=[failed])
            raise

    def _diverged(self, cell: Cell, row: Row, trained: Trained, path: Path, batch: int) -> RunOutcome:
        kept = f"last good checkpoint kept at {path}" if path.exists() else "no checkpoint was written before it"
        detail = f"non-finite loss at step {trained.step}: {trained.nonfinite}; {kept}"
        log.warning("%s diverged: %s", cell.label, detail)
        losses = str(trained.nonfinite)
        run = self.recorder.run(
            cell, row.name, row.phash, "diverged", trained.step, losses, trained.seconds, batch, trained.history
        )
        self.store.put([], runs=[run], replace_runs=True)
        return RunOutcome(cell, "diverged", detail=detail)

    def rows(self, cell: Cell) -> list[Row]:
        """The run's own row, then one per sampling variant of its budget, each with its protocol hash."""
        own = Row(cell.entry.name, cell_protocol_hash(self.suite, cell))
        variants = cell.entry.variants_for(cell.budget)
        return [own] + [Row(cell.entry.variant_name(v), cell_protocol_hash(self.suite, cell, v), v) for v in variants]

    def checkpoint_path(self, cell: Cell) -> Path:
        model_dir = file_name(cell.entry.name)
        suite = self.checkpoint_root / self.suite.name / f"v{self.suite.version}"
        return suite / cell.budget.name / cell.task.name / model_dir / f"seed{cell.seed}" / "last.pt"

    def _skip(self, cell: Cell, rows: list[Row], state: dict | None) -> bool:
        """With --resume: a run that is complete, or that diverged before (it would diverge again at the same step)."""
        if state is not None and state["step"] >= cell.budget.steps and self._complete(cell, rows):
            log.info("%s: already complete, skipped (--resume)", cell.label)
            return True
        key = self.recorder.key(cell)
        if any(r.status == "diverged" and r.protocol_hash == rows[0].phash for r in self.store.runs(**key)):
            log.info("%s: diverged before, skipped (--resume); run without --resume to retry", cell.label)
            return True
        return False

    def _complete(self, cell: Cell, rows: list[Row]) -> bool:
        """Whether the run and each of its sampling variants hold every value the suite requires."""
        for row in rows:
            records = self.store.records(**self.recorder.key(cell, row.name))
            if not {r.metric for r in records if r.protocol_hash == row.phash} >= set(self.suite.metrics):
                return False
        return True

    def _build(self, cell: Cell) -> Model:
        return build_cell_model(self.suite, cell, self.device)

    def _evaluate(self, cell: Cell, model: Model, rows: list[Row], trained: Trained) -> list[ResultRecord]:
        """Score the trained model, then each sampling variant of it as its own row, and record them with their
        status in one write. A variant shares the weights' own values (likelihood, reconstructions) and measures its
        samples and their cost afresh."""
        own, *variants = rows
        steps, batch = cell.budget.steps, model.examples_per_step
        records, wall = self._score(cell, model, own, trained.seconds)
        runs = [self.recorder.run(cell, own.name, own.phash, "done", steps, "", wall, batch, trained.history)]
        shared = [r for r in records if _of_weights(r.metric)]
        samplers = [(own, model)]
        for row in variants:
            log.info("%s: scoring sampling variant %s", cell.label, row.name)
            sampler = model.sampling_variant(cell.entry.variant_config(cell.budget, row.variant))
            scored, wall = self._score(cell, sampler, row, trained.seconds)
            records += scored + [replace(r, model=row.name, protocol_hash=row.phash) for r in shared]
            runs.append(self.recorder.run(cell, row.name, row.phash, "done", steps, "", wall, batch))
            samplers.append((row, sampler))
        # After every score, so that a model drawing on the global RNG scores as it did before previews existed
        previews = [self._preview(cell, row, sampler) for row, sampler in samplers]
        self.store.put(records, runs=runs, replace_runs=True, artifacts=previews)
        return records

    def _preview(self, cell: Cell, row: Row, sampler: Model) -> Artifact:
        """The row's sample preview from a fixed seed: a PNG beside the checkpoint, and in the store with its hash."""
        generator = torch.Generator().manual_seed(cell.seed + PREVIEW_SEED_OFFSET)
        data = self.suite.evaluation.preview(sampler, cell.task, generator)
        write_bytes_atomic(self.checkpoint_path(cell).parent / f"preview-{file_name(row.name)}.png", data, DISK_HINT)
        key = self.recorder.key(cell, row.name)
        return Artifact(**key, protocol_hash=row.phash, name=PREVIEW, sha256=sha256(data), data=data)

    def _score(self, cell: Cell, model: Model, row: Row, train_seconds: float) -> tuple[list[ResultRecord], float]:
        t0 = time.perf_counter()
        generator = torch.Generator().manual_seed(cell.seed + EVAL_SEED_OFFSET)
        n = cell.budget.n_eval or self.suite.n_eval
        scored = self.suite.evaluation.evaluate(
            model, cell.task, n, generator, self.device, cell.budget.name, weights_values=row.variant is None
        )
        wall = train_seconds + time.perf_counter() - t0
        make = self.recorder.result
        return [make(cell, row.name, row.phash, v.name, v.value, n, wall, v.extractor_hash) for v in scored], wall


def build_cell_model(suite: Suite, cell: Cell, device: torch.device) -> Model:
    """The cell's model, refused before training when it cannot give what the suite requires of it."""
    task = cell.task
    ctx = ModelContext(tuple(task.sample_shape), device, task.num_classes)
    if isinstance(task, SuperResolutionTask):
        ctx = replace(ctx, upscale_factor=task.factor, perceptual=partial(task.perceptual_features, device))
    model = build_model(cell.entry, cell.budget, ctx)
    suite.evaluation.check_model(model, cell.task, suite.metrics, cell.entry.name)
    if cell.entry.variants_for(cell.budget) and not hasattr(model, "sampling_variant"):
        raise BenchboxError(
            f"model '{cell.entry.name}' has sampling variants but its kind cannot sample any",
            "remove its variants, or give the model a sampling_variant(config) method",
        )
    return model


def preflight_cell(suite: Suite, cell: Cell, device: torch.device) -> None:
    """The pre-flight check of a user's model on a throwaway instance, so the run's own numbers are as without it."""
    seed_everything(cell.seed)
    preflight(build_cell_model(suite, cell, device), cell.task, cell.task.stream(cell.seed + DATA_SEED_OFFSET, device))


def preflight_users(suite: Suite, cells: list[Cell], device: torch.device) -> None:
    """Each user model's pre-flight on each task, before anything is written (the store, a log line): a model that
    cannot run is refused in one line and leaves no file. Each run repeats it (cheap) when it starts."""
    seen = set()
    for cell in cells:
        if cell.entry.kind == "user" and (cell.entry.name, cell.task.name) not in seen:
            seen.add((cell.entry.name, cell.task.name))
            preflight_cell(suite, cell, device)


def file_name(row: str) -> str:
    """A row name (a user model's is `module:factory@digest`) as a file or folder name."""
    return row.replace(":", "_").replace("/", "_")


def _of_weights(name: str) -> bool:
    """A value of the trained weights themselves (likelihood, reconstructions), which their sampling variants share."""
    found = lookup(name)
    return found is not None and found[0].of_weights


def summarize_outcomes(outcomes: list[RunOutcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "diverged")}
    lines = [f"{counts['done']} runs done, {counts['skipped']} already complete, {counts['diverged']} diverged"]
    lines += [f"  diverged: {o.cell.label}: {o.detail}" for o in outcomes if o.status == "diverged"]
    return "\n".join(lines)

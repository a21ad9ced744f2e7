"""The runner: for each task × model × seed, train (with checkpoints and resume), sample, score, record."""

from __future__ import annotations

import importlib
import inspect
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from benchbox import checkpoint
from benchbox.errors import BenchboxError, DeviceError, UnknownNameError
from benchbox.metrics import MetricInputs
from benchbox.model import Model, ModelContext
from benchbox.model_metrics import MODEL_VALUES, SAMPLING_VALUES, check_supported
from benchbox.provenance import Environment, environment
from benchbox.registry import METRICS, MODELS
from benchbox.store import DIVERGED, ResultRecord, ResultStore
from benchbox.suite import Budget, ModelEntry, Suite, Variant, protocol_hash

log = logging.getLogger(__name__)

WEIGHTS_VALUES = {v.name for v in MODEL_VALUES} - set(SAMPLING_VALUES)  # a variant shares these with its run
EVAL_SEED_OFFSET = 1_000_003  # the sampling generator of seed s is seeded with s + this
DATA_SEED_OFFSET = 2_000_003  # the training-data generator of seed s is seeded with s + this


@dataclass(frozen=True)
class Cell:
    """One training run: a model on a task with a seed under a budget."""

    task: Any
    entry: ModelEntry
    seed: int
    budget: Budget

    @property
    def label(self) -> str:
        return f"{self.task.name}/{self.entry.name}/seed{self.seed}"


class GeneratorStream:
    """Training data of a task that draws fresh examples from a generator (toy2d's mixtures)."""

    def __init__(self, task: Any, seed: int) -> None:
        self.task = task
        self.generator = torch.Generator().manual_seed(seed)

    def next(self, n: int, labels: bool = False) -> torch.Tensor:
        if labels:
            raise BenchboxError(f"task '{self.task.name}' has no labels", "use an unconditional model on it")
        return self.task.sample(n, self.generator)

    def state(self) -> Any:
        return self.generator.get_state()

    def load_state(self, state: Any) -> None:
        self.generator.set_state(state)


def training_stream(task: Any, seed: int, device: torch.device) -> Any:
    """The task's own stream of training batches (image tasks), or fresh draws from its sampler."""
    if hasattr(task, "stream"):
        return task.stream(seed, device)
    return GeneratorStream(task, seed)


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
class RunOutcome:
    cell: Cell
    status: str  # "done", "skipped" (already complete, with --resume) or "diverged"
    records: tuple[ResultRecord, ...] = ()
    detail: str = ""


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's random, for models (ours or users') that draw from any of them."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "--device cuda was asked for but no CUDA GPU is available", "use --device cpu or --device auto"
        )
    if name not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device '{name}'", "use auto, cpu or cuda")
    return torch.device(name)


def resolve_models(suite: Suite, names: list[str] | None) -> list[ModelEntry]:
    """The suite's model entries by name, or user models given as 'package.module:factory'."""
    if not names:
        return list(suite.models)
    by_name = {m.name: m for m in suite.models}
    by_name |= {m.variant_name(v): m for m in suite.models for v in m.variants}  # a variant row runs its model
    entries = []
    for name in dict.fromkeys(names):  # a name given twice runs once
        if name in by_name:
            if by_name[name] not in entries:
                entries.append(by_name[name])
        elif ":" in name:
            entries.append(ModelEntry(name, "user", import_factory(name), "user model"))
        else:
            raise UnknownNameError(f"model in suite '{suite.name}':", name, [*by_name, "package.module:factory"])
    return entries


def import_factory(spec: str) -> Callable[[ModelContext], Model]:
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BenchboxError(
            f"cannot import model factory '{spec}' ({type(exc).__name__}: {exc})",
            "give 'package.module:function' importable from the current folder or PYTHONPATH",
        ) from exc
    if not callable(factory):
        raise BenchboxError(f"model factory '{spec}' is not callable", "point to a function taking a ModelContext")
    return factory


def build_model(entry: ModelEntry, budget: Budget, ctx: ModelContext) -> Model:
    if entry.kind == "user":
        model = entry.config(ctx)
        missing = [
            a
            for a in ("train_step", "sample", "state_dict", "load_state_dict", "examples_per_step")
            if not hasattr(model, a)
        ]
        if missing:
            raise BenchboxError(
                f"model from '{entry.name}' lacks {', '.join(missing)}", "implement benchbox.model.Model"
            )
        return model
    return MODELS.get_or_fail(entry.kind).build(budget.apply(entry.config), ctx)


def cell_protocol_hash(suite: Suite, cell: Cell, variant: Variant | None = None) -> str:
    """The hash of everything that defines one table cell's numbers: a run, or a sampling variant of it."""
    config = cell.budget.apply(cell.entry.config)
    if variant is not None:
        config = cell.entry.variant_config(cell.budget, variant)
    if cell.entry.kind == "user":  # hash the user's source so an edited model never mixes with old results
        config = inspect.getsource(inspect.getmodule(config) or config)
    budget = (cell.budget.name, cell.budget.steps, cell.budget.model_overrides)
    parts = [suite.name, suite.version, cell.task, cell.entry.kind, config, budget, suite.n_eval, EVAL_SEED_OFFSET]
    if cell.budget.n_eval is not None:
        parts.append(("n_eval", cell.budget.n_eval))
    if suite.evaluation is not None:  # (absent for points suites, whose hashes predate it)
        parts.append(suite.evaluation)
    if variant is not None:
        parts.append(("variant", variant.name))
    return protocol_hash(*parts)


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
        self.progress = progress
        self.store = store
        self.device = device
        self.resume = resume
        self.on_checkpoint = on_checkpoint  # called after each checkpoint is written (tests interrupt here)
        self.env: Environment = environment(device)
        self.checkpoint_root = store.path.parent / "checkpoints"
        self._data_hashes: dict[str, str] = {}

    def run(self, cells: list[Cell], jobs: int = 1, suite_ref: str = "") -> list[RunOutcome]:
        """Run cells in order here, or in `jobs` worker processes that reload the suite from `suite_ref`."""
        self.store.put_suite_meta(self.suite.name, self.suite.version, suite_meta(self.suite))
        if self.suite.evaluation is not None:  # e.g. train the domain classifier once, before the workers
            for task, n in {(c.task, c.budget.n_eval or self.suite.n_eval) for c in cells}:
                self.suite.evaluation.prepare(task, n)
        if jobs > 1:
            from benchbox.parallel import run_parallel

            return run_parallel(self, suite_ref or self.suite.name, cells, jobs)
        return [self.run_cell(cell) for cell in cells]

    def checkpoint_path(self, cell: Cell) -> Path:
        model_dir = cell.entry.name.replace(":", "_").replace("/", "_")
        return (
            self.checkpoint_root
            / self.suite.name
            / f"v{self.suite.version}"
            / cell.budget.name
            / cell.task.name
            / model_dir
            / f"seed{cell.seed}"
            / "last.pt"
        )

    def run_cell(self, cell: Cell) -> RunOutcome:
        phash = cell_protocol_hash(self.suite, cell)
        path = self.checkpoint_path(cell)
        state = checkpoint.load(path) if self.resume and path.exists() else None
        if state is not None and state["protocol_hash"] != phash:
            raise BenchboxError(
                f"checkpoint '{path}' was written under another protocol", "run without --resume to start over"
            )
        if state is not None and state["step"] >= cell.budget.steps and self._complete(cell, phash):
            log.info("%s: already complete, skipped (--resume)", cell.label)
            return RunOutcome(cell, "skipped")
        if self.resume and self._diverged(cell, phash):  # it would diverge again at the same step
            log.info("%s: diverged before, skipped (--resume); run without --resume to retry", cell.label)
            return RunOutcome(cell, "skipped")

        seed_everything(cell.seed)
        data = training_stream(cell.task, cell.seed + DATA_SEED_OFFSET, self.device)
        ctx = ModelContext(tuple(cell.task.sample_shape), self.device, getattr(cell.task, "num_classes", 0))
        model = build_model(cell.entry, cell.budget, ctx)
        check_supported(model, self.suite.metrics, cell.entry.name, cell.task)
        if cell.entry.variants_for(cell.budget) and not hasattr(model, "sampling_variant"):
            raise BenchboxError(
                f"model '{cell.entry.name}' has sampling variants but its kind cannot sample any",
                "remove its variants, or give the model a sampling_variant(config) method",
            )
        labelled = bool(getattr(model, "uses_labels", False))
        step, train_time, losses_log = 0, 0.0, LossLog()
        if state is not None:
            model.load_state_dict(state["model"])
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["python_rng"])
            np.random.set_state(state["numpy_rng"])
            if self.device.type == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            data.load_state(state["data_rng"])
            step, train_time = state["step"], state["train_time_s"]
            losses_log = LossLog(state.get("history"))
            log.info("%s: resumed at step %d", cell.label, step)

        bar = tqdm(
            total=cell.budget.steps,
            initial=step,
            desc=cell.label,
            leave=False,
            dynamic_ncols=True,
            disable=not self.progress,
        )
        while step < cell.budget.steps:
            t0 = time.perf_counter()
            losses = model.train_step(data.next(model.examples_per_step, labels=labelled))
            step += 1
            train_time += time.perf_counter() - t0
            bar.update()
            if not all(math.isfinite(v) for v in losses.values()):
                bar.close()
                detail = f"non-finite loss at step {step}: {losses}; last good checkpoint kept at {path}"
                log.warning("%s diverged: %s", cell.label, detail)
                self.store.put([self._record(cell, phash, DIVERGED, step, 0, train_time, "")], replace_runs=True)
                return RunOutcome(cell, "diverged", detail=detail)
            losses_log.add(losses)
            if step % cell.budget.checkpoint_every == 0 or step == cell.budget.steps:
                losses_log.close_interval(step)
                self._save(path, model, data, step, train_time, phash, losses_log.history)
                if self.on_checkpoint:
                    self.on_checkpoint(cell, step)
        bar.close()
        records = self._evaluate(cell, model, phash, train_time)
        self.store.put(records, replace_runs=True)
        return RunOutcome(cell, "done", tuple(records))

    def _save(
        self,
        path: Path,
        model: Model,
        data: Any,
        step: int,
        train_time: float,
        phash: str,
        history: list[dict[str, float]],
    ) -> None:
        state = {
            "model": model.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(),
            "data_rng": data.state(),
            "step": step,
            "train_time_s": train_time,
            "protocol_hash": phash,
            "history": history,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        checkpoint.save_atomic(state, path)

    def _metrics_recorded(self, cell: Cell, phash: str, model: str = "") -> set[str]:
        return {r.metric for r in self.store.records(**self._cell_key(cell, model)) if r.protocol_hash == phash}

    def _complete(self, cell: Cell, phash: str) -> bool:
        """Whether the run and each of its sampling variants hold every metric the suite requires."""
        rows = [("", phash)] + [
            (cell.entry.variant_name(v), cell_protocol_hash(self.suite, cell, v))
            for v in cell.entry.variants_for(cell.budget)
        ]
        return all(self._metrics_recorded(cell, h, name) >= set(self.suite.metrics) for name, h in rows)

    def _diverged(self, cell: Cell, phash: str) -> bool:
        return DIVERGED in self._metrics_recorded(cell, phash)

    def _cell_key(self, cell: Cell, model: str = "") -> dict[str, Any]:
        """The store columns that name one run (every metric of it), or one of its sampling variants."""
        return {
            "suite": self.suite.name,
            "suite_version": self.suite.version,
            "task": cell.task.name,
            "model": model or cell.entry.name,
            "seed": cell.seed,
            "budget": cell.budget.name,
        }

    def _evaluate(self, cell: Cell, model: Model, phash: str, train_time: float) -> list[ResultRecord]:
        """Score the trained model, then each sampling variant of it as its own row. A variant shares the
        weights' own values (likelihood, reconstructions) and measures its samples and their cost afresh."""
        records = self._score(cell, model, phash, train_time)
        shared = [r for r in records if r.metric in WEIGHTS_VALUES]
        for variant in cell.entry.variants_for(cell.budget):
            name = cell.entry.variant_name(variant)
            vhash = cell_protocol_hash(self.suite, cell, variant)
            sampler = model.sampling_variant(cell.entry.variant_config(cell.budget, variant))
            log.info("%s: scoring sampling variant %s", cell.label, name)
            records += self._score(cell, sampler, vhash, train_time, name)
            records += [replace(r, model=name, protocol_hash=vhash) for r in shared]
        return records

    def _score(self, cell: Cell, model: Model, phash: str, train_time: float, variant: str = "") -> list[ResultRecord]:
        t0 = time.perf_counter()
        generator = torch.Generator().manual_seed(cell.seed + EVAL_SEED_OFFSET)
        n = cell.budget.n_eval or self.suite.n_eval
        if self.suite.evaluation is not None:
            scored = self.suite.evaluation.evaluate(
                model, cell.task, n, generator, self.device, cell.budget.name, weights_values=not variant
            )
            values = [(v.name, v.value, v.extractor_hash) for v in scored]
        else:
            fake = model.sample(n, generator).detach().cpu().double().numpy()
            real = cell.task.reference(n).double().numpy()
            inputs = MetricInputs(fake=fake.reshape(len(fake), -1), real=real.reshape(len(real), -1), task=cell.task)
            values = [(name, METRICS[name].fn(inputs), "") for name in self.suite.metrics]
        wall = train_time + time.perf_counter() - t0
        return [
            self._record(cell, phash, name, value, n, wall, extractor, variant) for name, value, extractor in values
        ]

    def _record(
        self,
        cell: Cell,
        phash: str,
        metric: str,
        value: float,
        n: int,
        wall: float,
        extractor_hash: str,
        model: str = "",
    ) -> ResultRecord:
        e = self.env
        return ResultRecord(
            **self._cell_key(cell, model),
            metric=metric,
            value=float(value),
            n_samples=n,
            protocol_hash=phash,
            data_hash=self._data_hash(cell.task),
            extractor_hash=extractor_hash,
            benchbox_version=e.benchbox_version,
            git_commit=e.git_commit,
            torch_version=e.torch_version,
            cuda_version=e.cuda_version,
            device=e.device,
            train_steps=cell.budget.steps,
            wall_time_s=wall,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def _data_hash(self, task: Any) -> str:
        if task.name not in self._data_hashes:
            self._data_hashes[task.name] = task.data_hash()
        return self._data_hashes[task.name]


def metric_meta(suite: Suite) -> list[dict[str, Any]]:
    """Name, direction, decimals and description of every value the suite's runs may record, in table order."""
    if suite.evaluation is None:
        infos = [METRICS[m] for m in suite.metrics]
    else:
        infos = list({m.name: m for t in suite.tasks for m in suite.evaluation.metric_infos(t)}.values())
    keys = ("name", "higher_is_better", "decimals", "description")
    return [{k: getattr(m, k) for k in keys} for m in infos]


def model_meta(entry: ModelEntry, budgets: tuple[Budget, ...]) -> list[dict[str, Any]]:
    """Table rows of one model entry, in order: its run and its sampling variants, with the budgets of its own."""
    own = {b.name: {"steps": b.steps, "seeds": list(b.seeds), "description": b.description} for b in entry.budgets}
    rows = [{"name": entry.name, "description": entry.description, "budgets": own}]
    fields = list(dict.fromkeys(k for v in entry.variants for k, _ in v.overrides))
    if fields:  # per budget, the sampling settings that tell the rows apart (the run's from its budget's config)
        configs = {b.name: entry.budget_for(b).apply(entry.config) for b in budgets}
        rows[0]["sampling"] = {b: {k: getattr(c, k) for k in fields} for b, c in configs.items()}
    for v in entry.variants:
        rows.append(
            {
                "name": entry.variant_name(v),
                "description": f"{entry.description}; sampled by: {v.description}",
                "budgets": own,
                "variant_of": entry.name,
                "sampling": {b: {**s, **dict(v.overrides)} for b, s in rows[0].get("sampling", {}).items()},
            }
        )
    return rows


def suite_meta(suite: Suite) -> dict[str, Any]:
    """What a report needs besides the records: descriptions, metric directions, reported numbers."""
    return {
        "description": suite.description,
        "tasks": [{"name": t.name, "description": getattr(t, "description", "")} for t in suite.tasks],
        "models": [row for m in suite.models for row in model_meta(m, suite.budgets)],
        "metrics": metric_meta(suite),
        "budgets": {
            b.name: {"steps": b.steps, "seeds": list(b.seeds), "description": b.description} for b in suite.budgets
        },
        "reported": [r.__dict__ for r in suite.reported],
        "references": list(suite.references),
    }


def summarize_outcomes(outcomes: list[RunOutcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "diverged")}
    lines = [f"{counts['done']} runs done, {counts['skipped']} already complete, {counts['diverged']} diverged"]
    lines += [f"  diverged: {o.cell.label}: {o.detail}" for o in outcomes if o.status == "diverged"]
    return "\n".join(lines)


def make_cells(
    suite: Suite, entries: list[ModelEntry], budget: Budget, seeds: tuple[int, ...] | None = None
) -> list[Cell]:
    """Every task × model × seed under the budget (a model's own budget of that name where it has one); seeds
    default to each model's budget's seeds."""
    cells = []
    for t in suite.tasks:
        for e in entries:
            b = e.budget_for(budget)
            cells += [Cell(t, e, s, b) for s in seeds or b.seeds]
    return cells

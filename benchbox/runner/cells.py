"""Cells: one training run each (a model on a task with a seed under a budget), the models they build, and the
protocol hash of everything that defines a cell's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchbox.errors import BenchboxError, UnknownNameError
from benchbox.model import Model, ModelContext
from benchbox.registry import MODELS
from benchbox.runner.preflight import call_user, where
from benchbox.runner.user_code import UserFactory, load_user_factory
from benchbox.store import split_row_name
from benchbox.suite import Budget, HashedConfig, ModelEntry, Suite, Variant, protocol_hash
from benchbox.tasks import Task

EVAL_SEED_OFFSET = 1_000_003  # the sampling generator of seed s is seeded with s + this
DATA_SEED_OFFSET = 2_000_003  # the training-data generator of seed s is seeded with s + this
MODEL_METHODS = ("train_step", "state_dict", "load_state_dict", "examples_per_step")


@dataclass(frozen=True)
class Cell:
    """One training run: a model on a task with a seed under a budget."""

    task: Task
    entry: ModelEntry
    seed: int
    budget: Budget

    @property
    def label(self) -> str:
        return f"{self.task.name}/{self.entry.name}/seed{self.seed}"


@dataclass(frozen=True)
class RunOutcome:
    cell: Cell
    status: str  # "done", "skipped" (already complete, with --resume) or "diverged"
    records: tuple[Any, ...] = ()  # the ResultRecords written
    detail: str = ""


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
            entries.append(user_entry(name))
        else:
            raise UnknownNameError(f"model in suite '{suite.name}':", name, [*by_name, "package.module:factory"])
    return entries


def user_entry(name: str) -> ModelEntry:
    """A user's model as a model entry named by its code digest; 'spec@digest' (a worker's) must still match."""
    spec, digest = split_row_name(name)
    factory = load_user_factory(spec)
    if digest and not factory.digest.startswith(digest):
        raise BenchboxError(
            f"the code of '{spec}' changed while the run was under way ({digest} → {factory.digest[:8]})",
            "rerun: each version of a model's code gets rows of its own",
        )
    return ModelEntry(factory.row_name, "user", factory, f"user model {spec}")


def build_model(entry: ModelEntry, budget: Budget, ctx: ModelContext) -> Model:
    """The model of a cell: a registered kind built from the budget's config, or a user factory's model."""
    if entry.kind != "user":
        return MODELS.get_or_fail(entry.kind).build(budget.apply(entry.config), ctx)
    user: UserFactory = entry.config
    model = call_user(f"model factory '{user.spec}'", user.factory, ctx)
    # a super-resolution model upscales instead of sampling (its evaluation checks for upscale)
    needed = MODEL_METHODS if ctx.upscale_factor else (*MODEL_METHODS, "sample")
    missing = [a for a in needed if not hasattr(model, a)]
    if missing:
        raise BenchboxError(
            f"model from '{user.spec}' lacks {', '.join(missing)} (factory at {where(user.factory)})",
            "implement benchbox.model.Model (see docs/user-models.md)",
        )
    return model


def model_cost(entry: ModelEntry, budget: Budget) -> float:
    """What one run of the entry costs relative to others, as its kind declares it (steps × the kind's cost per
    step), so parallel workers start the longest runs first."""
    kind = MODELS.get(entry.kind)
    per_step = kind.cost(budget.apply(entry.config)) if kind is not None and kind.cost is not None else 1.0
    return budget.steps * per_step


def cell_protocol_hash(suite: Suite, cell: Cell, variant: Variant | None = None) -> str:
    """The hash of everything that defines one table cell's numbers: a run, or a sampling variant of it."""
    config = cell.budget.apply(cell.entry.config)
    if variant is not None:
        config = cell.entry.variant_config(cell.budget, variant)
    if cell.entry.kind == "user":  # every source file of the user's code, so an edit never mixes with old results
        config = cell.entry.config.identity()
    budget = (cell.budget.name, cell.budget.steps, cell.budget.model_overrides)
    parts = [suite.name, suite.version, cell.task, cell.entry.kind, HashedConfig(config), budget]
    parts += [suite.n_eval, EVAL_SEED_OFFSET]
    if cell.budget.n_eval is not None:
        parts.append(("n_eval", cell.budget.n_eval))
    parts += suite.evaluation.hash_parts()
    if variant is not None:
        parts.append(("variant", variant.name))
    return protocol_hash(*parts)

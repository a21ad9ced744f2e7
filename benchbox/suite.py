"""Suites: frozen, versioned protocols (data, models, budgets, seeds, evaluation). `benchbox.suites` loads and checks
them."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from benchbox.description import Finding, ReportedResult
from benchbox.errors import BenchboxError
from benchbox.evaluation import Evaluation
from benchbox.evaluation.points import PointsEvaluation
from benchbox.tasks import Task

BUDGET_NAMES = ("smoke", "short", "full")


@dataclass(frozen=True)
class Budget:
    """How long to train: generator steps, checkpoint spacing and the seeds to repeat over."""

    name: str
    steps: int
    checkpoint_every: int
    seeds: tuple[int, ...]
    description: str = ""
    # Config fields this budget changes for every model that has them, e.g. smaller nets so a CPU
    # finishes in minutes. They are part of the budget's protocol and of every cell's protocol hash.
    model_overrides: tuple[tuple[str, Any], ...] = ()
    n_eval: int | None = None  # samples scored per run, when this budget differs from the suite's n_eval

    def apply(self, config: Any) -> Any:
        """The config with this budget's overrides applied to the fields it has."""
        if not dataclasses.is_dataclass(config):
            return config
        names = {f.name for f in dataclasses.fields(config)}
        return dataclasses.replace(config, **{k: v for k, v in self.model_overrides if k in names})


@dataclass(frozen=True)
class Variant:
    """Another way to sample from a trained model, scored as its own table row `<entry>-<name>` without retraining
    (e.g. DDIM with 50 steps from a DDPM's network, or one guidance scale of a sweep). `overrides` change sampling
    fields of the config only; the model's `sampling_variant(config)` refuses anything else."""

    name: str
    overrides: tuple[tuple[str, Any], ...]
    description: str = ""
    budgets: tuple[str, ...] = BUDGET_NAMES  # the budgets this row is scored under


@dataclass(frozen=True)
class ModelEntry:
    """A model of the suite: a registered model kind with its typed config.

    `budgets` replaces the suite's budget of the same name for this model alone (a diffusion model's steps and
    sampler on `short`, say), so a family trains to its own paper's length in the same table; `variants` are extra
    rows sampled from the same trained weights.
    """

    name: str
    kind: str
    config: Any
    description: str = ""
    budgets: tuple[Budget, ...] = ()
    variants: tuple[Variant, ...] = ()

    def budget_for(self, budget: Budget) -> Budget:
        """This model's own budget of that name, or the suite's."""
        return next((b for b in self.budgets if b.name == budget.name), budget)

    def variants_for(self, budget: Budget) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if budget.name in v.budgets)

    def variant_name(self, variant: Variant) -> str:
        return f"{self.name}-{variant.name}"

    def variant_config(self, budget: Budget, variant: Variant) -> Any:
        """The config a variant samples with: the budget's config with the variant's overrides."""
        return dataclasses.replace(budget.apply(self.config), **dict(variant.overrides))


@dataclass(frozen=True)
class Suite:
    """A fixed, versioned benchmark protocol. Changing anything that changes a number bumps version."""

    name: str
    version: int
    description: str
    tasks: tuple[Task, ...]
    models: tuple[ModelEntry, ...]
    budgets: tuple[Budget, ...]
    metrics: tuple[str, ...]  # the values every run must record (names of benchbox.catalogue values)
    n_eval: int
    reported: tuple[ReportedResult, ...] = ()
    references: tuple[str, ...] = field(default=())
    # How samples are scored: .features.FeatureEvaluation for images; left out, points metrics of `metrics` on raw
    # samples (benchbox.evaluation.points.PointsEvaluation), as suite files written before evaluations existed expect
    evaluation: Evaluation = None  # type: ignore[assignment]  (always set once constructed)
    # The report's headline columns, as catalogue base names in order (e.g. "fd" for fd_<space>); the other values
    # go to tables by topic. Left out: every value in one table
    headline: tuple[str, ...] = ()
    # What the suite's papers found, as claims its records decide (benchbox.findings); shown in every report
    findings: tuple[Finding, ...] = ()
    # A protocol for models benchbox does not train (no models, no budgets): the command that scores users' samples
    # for it. `benchbox run` refuses such a suite and names the command; `benchbox list` and `report` show it
    scored_by: str = ""

    def __post_init__(self) -> None:
        if self.evaluation is None:
            object.__setattr__(self, "evaluation", PointsEvaluation(tuple(self.metrics)))

    def row_names(self) -> set[str]:
        """Every table row: the model entries and their sampling variants."""
        return {m.name for m in self.models} | {m.variant_name(v) for m in self.models for v in m.variants}

    def applicable_findings(self) -> tuple[Finding, ...]:
        """The findings whose rows the suite has (a sweep: 3 of its rows or more); a suite made from another with
        fewer models keeps only these."""
        rows = self.row_names()
        return tuple(f for f in self.findings if f.decidable(rows))

    def budget(self, name: str) -> Budget:
        for b in self.budgets:
            if b.name == name:
                return b
        known = ", ".join(b.name for b in self.budgets)
        raise BenchboxError(f"suite '{self.name}' has no budget '{name}'", f"choose one of: {known}")

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def values(self) -> list[str]:
        """Every value its runs may record, in table column order."""
        return list(dict.fromkeys(v for task in self.tasks for v in self.evaluation.values(task)))


def protocol_hash(*parts: Any) -> str:
    """A short hash of the reprs of the frozen dataclasses that define one table cell's protocol."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


# Field metadata of a config option added after cells were recorded without it: at its default the option is left
# out of the protocol hash, so adding it moves no existing cell's hash; set, it is hashed as any field.
HASHED_WHEN_SET = {"protocol": "hashed when set"}


class HashedConfig:
    """A model config as the protocol hash reads it: its dataclass repr, less the HASHED_WHEN_SET fields at their
    defaults (equal to repr(config) when there are none)."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __repr__(self) -> str:
        c = self.config
        if not dataclasses.is_dataclass(c) or isinstance(c, type):
            return repr(c)
        shown = [
            f"{f.name}={getattr(c, f.name)!r}"
            for f in dataclasses.fields(c)
            if f.repr and not (f.metadata == HASHED_WHEN_SET and getattr(c, f.name) == f.default)
        ]
        return f"{type(c).__qualname__}({', '.join(shown)})"

"""Suites: frozen, versioned protocols (data, models, budgets, seeds, metrics) and how to load them."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from benchbox.errors import BenchboxError, SuiteFileError
from benchbox.registry import SUITES, load_builtins

BUDGET_NAMES = ("smoke", "short", "full")


class Task(Protocol):
    """One data set a suite trains and scores on (e.g. the 8-Gaussian ring)."""

    name: str
    sample_shape: tuple[int, ...]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n training examples, drawn with the given generator."""

    def reference(self, n: int) -> torch.Tensor:
        """The fixed real set that metrics compare samples against."""

    def data_hash(self) -> str:
        """SHA-256 of everything that defines the data (constants and the reference set)."""


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
class ReportedResult:
    """A number a paper reports for the same task and metric, shown beside ours and marked as reported."""

    source: str  # short citation, e.g. "Lin et al. 2018, Table 1"
    method: str  # the paper's name for the method, e.g. "PacGAN2"
    task: str
    metric: str
    value: float
    spread: float | None = None
    spread_kind: str = ""  # what spread is: "s.e." (standard error) or "std"
    comparable_to: str = ""  # our model entry that follows the same recipe, if any
    note: str = ""


@dataclass(frozen=True)
class Suite:
    """A fixed, versioned benchmark protocol. Changing anything that changes a number bumps version."""

    name: str
    version: int
    description: str
    tasks: tuple[Any, ...]
    models: tuple[ModelEntry, ...]
    budgets: tuple[Budget, ...]
    metrics: tuple[str, ...]
    n_eval: int
    reported: tuple[ReportedResult, ...] = ()
    references: tuple[str, ...] = field(default=())
    # How samples are scored: None for points metrics of METRICS (toy2d), or benchbox.evaluation.FeatureEvaluation
    # for images; `metrics` then lists the values every run must record.
    evaluation: Any = None

    def budget(self, name: str) -> Budget:
        for b in self.budgets:
            if b.name == name:
                return b
        known = ", ".join(b.name for b in self.budgets)
        raise BenchboxError(f"suite '{self.name}' has no budget '{name}'", f"choose one of: {known}")

    def task(self, name: str) -> Any:
        return next(t for t in self.tasks if t.name == name)


def protocol_hash(*parts: Any) -> str:
    """A short hash of the reprs of the frozen dataclasses that define one table cell's protocol."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def load_suite(name_or_path: str) -> Suite:
    """A registered suite by name, or the Suite defined as SUITE in a Python file."""
    load_builtins()
    if name_or_path in SUITES:
        validate_suite(SUITES[name_or_path])
        return SUITES[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".py" or path.exists():
        return _load_suite_file(path)
    known = ", ".join(sorted(SUITES))
    raise BenchboxError(
        f"unknown suite '{name_or_path}'", f"choose one of: {known}, or give a path to a suite .py file"
    )


def _load_suite_file(path: Path) -> Suite:
    if not path.is_file():
        raise SuiteFileError(f"suite file '{path}' does not exist", "check the path")
    module_name = f"benchbox_user_suite_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SuiteFileError(f"suite file '{path}' is not a Python file", "give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code is reported, not raised as a traceback
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise SuiteFileError(
            f"suite file '{path}' failed to load{where}: {type(exc).__name__}: {exc}",
            "fix the file; see benchmarks/toy2d.py for a working suite",
        ) from exc
    suite = getattr(module, "SUITE", None)
    if not isinstance(suite, Suite):
        raise SuiteFileError(
            f"suite file '{path}' defines no SUITE of type benchbox.suite.Suite",
            "add `SUITE = Suite(...)` at module level; see benchmarks/toy2d.py",
        )
    validate_suite(suite)
    return suite


def validate_suite(suite: Suite) -> None:
    """Check that a suite's names resolve and its numbers make sense, before any training starts."""
    from benchbox.registry import METRICS, MODELS

    problems = []
    if not suite.tasks:
        problems.append("it has no tasks")
    if not suite.models:
        problems.append("it has no models")
    if suite.n_eval < 1:
        problems.append(f"n_eval is {suite.n_eval}")
    for entry in suite.models:
        if entry.kind not in MODELS:
            problems.append(
                f"model '{entry.name}' has unknown kind '{entry.kind}' (known: {', '.join(sorted(MODELS))})"
            )
        elif not isinstance(entry.config, MODELS[entry.kind].config_type):
            want = MODELS[entry.kind].config_type.__name__
            problems.append(f"model '{entry.name}' config is {type(entry.config).__name__}, not {want}")
        else:
            problems += _entry_problems(entry, suite.budgets, MODELS[entry.kind].check)
    if suite.evaluation is None:
        known = set(METRICS)
    else:
        known = {m.name for task in suite.tasks for m in suite.evaluation.metric_infos(task)}
    for metric in suite.metrics:
        if metric not in known:
            problems.append(f"unknown metric '{metric}' (known: {', '.join(sorted(known))})")
    for b in [*suite.budgets, *(b for m in suite.models for b in m.budgets)]:
        if b.name not in BUDGET_NAMES:
            problems.append(f"budget '{b.name}' is not one of {', '.join(BUDGET_NAMES)}")
        if b.steps < 1 or b.checkpoint_every < 1 or not b.seeds:
            problems.append(f"budget '{b.name}' needs steps >= 1, checkpoint_every >= 1 and one seed or more")
        elif b.n_eval is not None and b.n_eval < 1:
            problems.append(f"budget '{b.name}' scores n_eval={b.n_eval} samples; give 1 or more, or leave it unset")
        elif b.checkpoint_every > b.steps:
            problems.append(
                f"budget '{b.name}' is too small to produce one checkpoint ({b.steps} steps, one every "
                f"{b.checkpoint_every}); give it checkpoint_every <= steps"
            )
    if problems:
        raise SuiteFileError(f"suite '{suite.name}' is malformed: {'; '.join(problems)}", "fix the suite definition")


def _entry_problems(entry: ModelEntry, budgets: tuple[Budget, ...], check: Any) -> list[str]:
    """What is wrong with one model entry's configs under each budget, its own budgets and its variants."""
    problems = []
    fields = {f.name for f in dataclasses.fields(entry.config)} if dataclasses.is_dataclass(entry.config) else set()
    names = [entry.name, *(entry.variant_name(v) for v in entry.variants)]
    if len(set(names)) < len(names):
        problems.append(f"model '{entry.name}' has two variants of one name")
    for v in entry.variants:
        if not v.overrides:
            problems.append(f"variant '{entry.variant_name(v)}' changes nothing: it would repeat its model's row")
        unknown = [k for k, _ in v.overrides if k not in fields]
        if unknown:
            problems.append(f"variant '{entry.variant_name(v)}' sets unknown config fields {', '.join(unknown)}")
    if problems or check is None:
        return problems
    for suite_budget in budgets:
        b = entry.budget_for(suite_budget)
        try:
            check(b.apply(entry.config))
            for v in entry.variants_for(b):
                check(entry.variant_config(b, v))
        except BenchboxError as exc:
            problems.append(f"model '{entry.name}' (budget {b.name}): {exc}")
            break
    return problems

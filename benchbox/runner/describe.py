"""The typed description of a suite that the runner stores beside its records, for the report: descriptions, the
values in table order, budgets, each model's rows (its sampling variants with their settings), reported numbers."""

from __future__ import annotations

from benchbox.description import BudgetInfo, ModelRow, SuiteDescription, TaskInfo
from benchbox.registry import MODELS
from benchbox.suite import Budget, ModelEntry, Suite


def budget_info(budget: Budget) -> BudgetInfo:
    return BudgetInfo(budget.steps, tuple(budget.seeds), budget.description)


def model_rows(entry: ModelEntry, budgets: tuple[Budget, ...]) -> list[ModelRow]:
    """Table rows of one model entry, in order: its run and its sampling variants, with the budgets of its own and,
    per budget, the sampling settings that tell the rows apart."""
    own = {b.name: budget_info(b) for b in entry.budgets}
    fields = list(dict.fromkeys(k for v in entry.variants for k, _ in v.overrides))
    sampling = {}
    if fields:  # the run's settings come from its budget's config
        configs = {b.name: entry.budget_for(b).apply(entry.config) for b in budgets}
        sampling = {b: {k: getattr(c, k) for k in fields} for b, c in configs.items()}
    family = "user" if entry.kind == "user" else MODELS.get_or_fail(entry.kind).family
    rows = [ModelRow(entry.name, entry.description, own, "", sampling, family)]
    for v in entry.variants:
        rows.append(
            ModelRow(
                entry.variant_name(v),
                f"{entry.description}; sampled by: {v.description}",
                own,
                entry.name,
                {b: {**s, **dict(v.overrides)} for b, s in sampling.items()},
                family,
            )
        )
    return rows


def describe_suite(suite: Suite) -> SuiteDescription:
    """What a report needs besides the records."""
    return SuiteDescription(
        description=suite.description,
        tasks=tuple(TaskInfo(t.name, t.description) for t in suite.tasks),
        models=tuple(row for m in suite.models for row in model_rows(m, suite.budgets)),
        values=tuple(suite.values()),
        budgets={b.name: budget_info(b) for b in suite.budgets},
        reported=tuple(suite.reported),
        references=tuple(suite.references),
        headline=tuple(suite.headline),
        findings=suite.applicable_findings(),
        scoring=suite.evaluation.describe() if hasattr(suite.evaluation, "describe") else "",
    )

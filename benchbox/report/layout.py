"""The report's tables as data, in a paper's shape, before any format: per task a headline table with the columns the
suite names, then one table per topic of the catalogue (sample quality, diversity, likelihood, cost) for the other
values; rows grouped by model family; each cell one protocol's mean ± std over seeds, the best marked only where its
lead is beyond the seeds' noise (benchbox.report.significance).

A cell never mixes protocols: a model whose records carry more than one protocol hash gets a row per protocol, and a
cell whose records were measured with different feature-extractor weights shows "mixed weights", not a number. A run
that diverged or failed shows as such, never as a number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from benchbox.catalogue import TOPICS
from benchbox.description import ModelRow, SuiteDescription
from benchbox.registry import MODEL_FAMILIES
from benchbox.report.format import decimals, definition, format_value
from benchbox.report.significance import Estimate, marks
from benchbox.report.summary import seed_mean_std
from benchbox.store import ResultRecord, RunRecord

MIN_PER_RUN = "min/run"  # the wall minutes of one run (training and scoring), a column of the cost table
OTHER_FAMILY = "other"


@dataclass(frozen=True)
class Column:
    name: str  # a recorded value's name, or MIN_PER_RUN
    higher_is_better: bool | None  # None: not ranked (MIN_PER_RUN, a value the catalogue does not know)
    places: int


@dataclass(frozen=True)
class Cell:
    text: str  # as printed: "94.49 ± 3.97", "—", "diverged at step 489", "mixed weights"
    mean: float = math.nan
    std: float = math.nan
    n: int = 0
    mark: str = ""  # "best" | "second" | ""


@dataclass(frozen=True)
class Row:
    name: str  # the model's row name ("dcgan", "ddpm-ddim10"), with its protocol where a model has several
    model: str
    protocol_hash: str
    family: str  # a key of MODEL_FAMILIES, or OTHER_FAMILY
    seeds: str  # "3", or "2 of 3" where a seed did not finish
    cells: dict[str, Cell]
    note: str = ""  # why a seed is missing
    unfinished: str = ""  # every seed diverged or failed: what each of its cells shows instead of a number


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def groups(self) -> list[tuple[str, list[Row]]]:
        """The rows by family, in MODEL_FAMILIES order: (label, rows)."""
        out: dict[str, list[Row]] = {}
        for row in self.rows:
            out.setdefault(row.family, []).append(row)
        return [(MODEL_FAMILIES.get(f, "other models"), rows) for f, rows in out.items()]


@dataclass(frozen=True)
class TaskTables:
    task: str
    tables: tuple[Table, ...]  # the headline first
    notes: tuple[str, ...] = field(default=())  # rows split by protocol, seeds that did not finish, mixed weights


def task_tables(
    task: str,
    records: list[ResultRecord],
    runs: list[RunRecord],
    meta: SuiteDescription,
    wanted: Sequence[str] | None = None,
) -> TaskTables:
    """A task's tables: the headline and the topic tables, or one table of the `wanted` values."""
    records = [r for r in records if r.task == task]
    runs = [r for r in runs if r.task == task]
    rows = build_rows(records, runs, meta.models)
    recorded = list(dict.fromkeys(r.metric for r in records))
    order = [v for v in meta.values if v in recorded] + [v for v in recorded if v not in meta.values]
    if wanted:
        plan = [("Values", list(wanted))]
    else:
        plan = table_plan(order, meta.headline)
    tables = tuple(make_table(title, names, rows) for title, names in plan if names)
    return TaskTables(task, tables, tuple(row_notes(rows)))


def table_plan(recorded: list[str], headline: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(title, value names) per table: the headline's bases in its order, then each topic's remaining values."""
    if not headline:
        return [("Values", [*recorded, MIN_PER_RUN])]
    base = {name: (v.base if (v := definition(name)) else name) for name in recorded}
    top = [name for b in headline for name in recorded if base[name] == b]
    rest = [name for name in recorded if name not in top]
    plan = [("Headline", top)]
    for topic, title in TOPICS.items():
        plan.append((title, [n for n in rest if (v := definition(n)) is not None and v.topic == topic]))
    cost = next(names for title, names in plan if title == TOPICS["cost"])
    (cost if cost else top).append(MIN_PER_RUN)  # the run's minutes beside the sampling cost, or the headline
    unknown = [n for n in rest if definition(n) is None]
    if unknown:
        plan.append(("Other values", unknown))
    return plan


def build_rows(records: list[ResultRecord], runs: list[RunRecord], models: Sequence[ModelRow]) -> list[Row]:
    """One row per (model, protocol) of the task, in the suite's order, grouped by family."""
    described = {m.name: m for m in models}
    keys = list(dict.fromkeys((r.model, r.protocol_hash) for r in [*records, *runs]))
    several = {m for m, _ in keys if sum(1 for k, _ in keys if k == m) > 1}
    rows = []
    for model, phash in keys:
        mine = [r for r in records if r.model == model and r.protocol_hash == phash]
        unfinished = [r for r in runs if r.model == model and r.protocol_hash == phash and r.status != "done"]
        name = f"{model} [{phash[:8]}]" if model in several else model
        rows.append(make_row(name, model, phash, family_of(model, described, runs), mine, unfinished))
    order = [m.name for m in models]
    families = list(MODEL_FAMILIES)
    return sorted(
        rows,
        key=lambda r: (
            families.index(r.family) if r.family in families else len(families),
            order.index(r.model) if r.model in order else len(order),
            r.name,
        ),
    )


def family_of(model: str, described: dict[str, ModelRow], runs: list[RunRecord]) -> str:
    row = described.get(model)
    if row is not None and row.variant_of:
        row = described.get(row.variant_of, row)
    if row is not None and row.family:
        return row.family
    if any(r.model == model and r.user_code for r in runs):
        return "user"
    return OTHER_FAMILY


def make_row(
    name: str, model: str, phash: str, family: str, records: list[ResultRecord], unfinished: list[RunRecord]
) -> Row:
    finished = sorted({r.seed for r in records})
    total = len(finished) + len({r.seed for r in unfinished} - set(finished))
    seeds = str(len(finished)) if total == len(finished) else f"{len(finished)} of {total}"
    cells: dict[str, Cell] = {}
    for metric in dict.fromkeys(r.metric for r in records):
        cells[metric] = make_cell([r for r in records if r.metric == metric], decimals(metric))
    if records:
        wall = {r.seed: r.wall_time_s for r in records}  # every value of a run carries its wall time
        minutes = float(np.mean(list(wall.values()))) / 60
        cells[MIN_PER_RUN] = Cell(f"{minutes:.1f}", minutes, math.nan, len(wall))
    note = "; ".join(describe_unfinished(r) for r in sorted(unfinished, key=lambda r: r.seed))
    if not records and unfinished:
        ends = {unfinished_text(r) for r in unfinished}
        shown = ends.pop() if len(ends) == 1 else "did not finish"
        return Row(name, model, phash, family, seeds, {}, note if len(unfinished) > 1 else "", shown)
    return Row(name, model, phash, family, seeds, cells, note)


def unfinished_text(run: RunRecord) -> str:
    return f"diverged at step {run.step}" if run.status == "diverged" else "failed"


def describe_unfinished(run: RunRecord) -> str:
    return f"seed {run.seed} {unfinished_text(run)}"


def make_cell(records: list[ResultRecord], places: int) -> Cell:
    """One protocol's values over seeds: mean ± sample std (∞ where a seed gave ∞), or "mixed weights"."""
    if len({r.extractor_hash for r in records}) > 1:
        return Cell("mixed weights")
    values = np.array([r.value for r in records], dtype=float)
    mean, std = seed_mean_std(values)
    text = "nan" if math.isnan(mean) else format_value(mean, std, places)
    return Cell(text, mean, std, len(values))


def make_table(title: str, names: list[str], rows: list[Row]) -> Table:
    """The table of `names` over the rows that hold any of them (or did not finish), best values marked."""
    columns = tuple(column(n) for n in names)
    shown = [r for r in rows if r.unfinished or any(c.name in r.cells for c in columns)]
    marked = {c.name: column_marks(c, shown) for c in columns}
    out = []
    for row in shown:
        cells = {}
        for c in columns:
            cell = row.cells.get(c.name) or Cell(row.unfinished or "—")
            mark = marked[c.name].get(row.name, "")
            cells[c.name] = Cell(cell.text, cell.mean, cell.std, cell.n, mark) if mark else cell
        out.append(replace(row, cells=cells))
    return Table(title, columns, tuple(out))


def column(name: str) -> Column:
    if name == MIN_PER_RUN:
        return Column(name, None, 1)
    value = definition(name)
    return Column(name, value.higher_is_better if value else None, decimals(name))


def column_marks(col: Column, rows: list[Row]) -> dict[str, str]:
    if col.higher_is_better is None:
        return {}
    estimates = {r.name: Estimate(c.mean, c.std, c.n) for r in rows if (c := r.cells.get(col.name)) is not None}
    return marks(estimates, col.higher_is_better)


def row_notes(rows: list[Row]) -> list[str]:
    out = []
    split = sorted({r.model for r in rows if r.name != r.model})
    if split:
        out.append(
            f"Rows of {', '.join(split)} are split by protocol hash: their records were made under different "
            "protocols and are never averaged together."
        )
    for r in rows:
        if r.note and r.unfinished:
            out.append(f"`{r.name}`: {r.note}.")
        elif r.note:
            out.append(f"`{r.name}`: {r.note}; its values are the mean of the {r.seeds.split()[0]} that finished.")
    if any(c.text == "mixed weights" for r in rows for c in r.cells.values()):
        out.append("Cells marked *mixed weights* hold seeds measured with different feature-extractor weights.")
    return out

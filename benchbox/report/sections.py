"""The report as data, one Section per (suite version, budget), which every format renders: Markdown, LaTeX, HTML.

A section holds, per task, the tables (benchbox.report.layout), the papers' numbers, the sampling trade-offs, the
ordering against a paper, the sample previews and training curves of the runs; then the runs that did not finish,
users' models and the provenance. It reads only the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from benchbox.description import SuiteDescription
from benchbox.findings import Verdict, evaluate
from benchbox.report.distortion import distortion_points
from benchbox.report.figures import Curve, Point
from benchbox.report.layout import TaskTables, task_tables
from benchbox.report.ordering import ordering_block
from benchbox.report.runs import curve_lines, newest_user_versions, unfinished_lines, user_model_lines
from benchbox.report.summary import (
    DEFAULT_VIEW,
    EMPTY,
    View,
    choose_columns,
    one_protocol,
    own_budget_lines,
    provenance_block,
    select,
    summarize,
    task_order,
)
from benchbox.report.tradeoff import Tradeoff, tradeoffs
from benchbox.store import Artifact, ResultRecord, ResultStore, RunRecord
from benchbox.suite import ReportedResult


@dataclass(frozen=True)
class TaskSection:
    task: str
    tables: TaskTables
    reported: tuple[ReportedResult, ...]  # the papers' numbers for the task in the columns we record
    tradeoffs: tuple[Tradeoff, ...]
    ordering: str  # Markdown: the ordering against a paper measured in another space; "" for none
    curve_text: str  # Markdown summary of the training curves (only with View.curves); "" otherwise
    previews: dict[str, bytes]  # row name -> the first seed's sample preview PNG
    curves: dict[str, list[Curve]]  # model -> one curve per seed
    # super-resolution: the perception value (x) and each row's PSNR/SSIM against it (benchbox.report.distortion)
    distortion: tuple[str, tuple[Point, ...]] = ("", ())


@dataclass(frozen=True)
class Section:
    suite: str
    version: int
    budget: str
    heading: str
    lines: tuple[str, ...]  # the suite's description and the models' own budgets
    tasks: tuple[TaskSection, ...]
    notes: tuple[str, ...]  # Markdown: runs that did not finish, users' models
    provenance: str  # Markdown
    findings: tuple[Verdict, ...] = ()  # the suite's findings decided on this section's records


def sections(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = DEFAULT_VIEW,
) -> list[Section]:
    out = []
    for v, b in select(store, suite, version, budget):
        records = store.records(suite=suite, suite_version=v, budget=b)
        runs = store.runs(suite=suite, suite_version=v, budget=b)
        artifacts = store.first_seed_artifacts(suite=suite, suite_version=v, budget=b)  # all first_seed_previews reads
        meta = store.description(suite, v) or EMPTY
        out.append(build_section(suite, records, runs, meta, v, b, metrics, view, artifacts))
    return out


def build_section(
    suite: str,
    records: list[ResultRecord],
    runs: list[RunRecord],
    meta: SuiteDescription,
    version: int,
    budget: str,
    wanted: list[str] | None = None,
    view: View = DEFAULT_VIEW,
    artifacts: list[Artifact] | None = None,
) -> Section:
    hidden = 0
    if not view.all_versions:
        records, runs, hidden = newest_user_versions(records, runs)
    summary = one_protocol(summarize(records))
    recorded = set(summary["metric"])
    available = [m for m in meta.values if m in recorded] or sorted(recorded)
    metrics = choose_columns(available, wanted)
    budget_meta = meta.budgets.get(budget)
    heading = f"v{version}, budget `{budget}`"
    if budget_meta and budget_meta.description:
        heading += f": {budget_meta.description}"
    lines = ([meta.description] if meta.description else []) + own_budget_lines(
        meta.models, budget, set(summary["model"])
    )
    tasks = []
    for task in task_order(records, runs, meta):
        tables = task_tables(task, records, runs, meta, metrics if wanted else None)
        columns = {c.name for t in tables.tables for c in t.columns}
        tasks.append(
            TaskSection(
                task,
                tables,
                tuple(r for r in meta.reported if r.task == task and r.metric in columns),
                tuple(tradeoffs(summary, meta.models, task, budget, available)),
                ordering_block(meta.reported, task, summary, metrics) or "",
                "\n\n".join(curve_lines(runs, task)) if view.curves else "",
                in_row_order(first_seed_previews(artifacts or [], task, records), tables),
                run_curves(runs, task),
                distortion_points(summary, task),
            )
        )
    notes = tuple(unfinished_lines(runs) + user_model_lines(runs, hidden))
    provenance = provenance_block(records, runs, budget_meta, meta.scoring)
    verdicts = tuple(evaluate(meta.findings, records))
    return Section(suite, version, budget, heading, tuple(lines), tuple(tasks), notes, provenance, verdicts)


def first_seed_previews(artifacts: list[Artifact], task: str, records: list[ResultRecord]) -> dict[str, bytes]:
    """Each row's preview from its first seed, of the protocol its records hold."""
    protocols = {(r.model, r.protocol_hash) for r in records if r.task == task}
    out: dict[str, bytes] = {}
    for a in sorted(artifacts, key=lambda a: a.seed):
        if a.task == task and (a.model, a.protocol_hash) in protocols and a.model not in out:
            out[a.model] = a.data
    return out


def in_row_order(previews: dict[str, bytes], tables: TaskTables) -> dict[str, bytes]:
    """The previews in the order of the task's table rows (by family, then the suite's order)."""
    order = list(dict.fromkeys(row.model for table in tables.tables for row in table.rows))
    return {m: previews[m] for m in sorted(previews, key=lambda m: order.index(m) if m in order else len(order))}


def run_curves(runs: list[RunRecord], task: str) -> dict[str, list[Curve]]:
    """Each model's training curves from the loss history its runs kept, one per seed."""
    out: dict[str, list[Curve]] = {}
    for r in sorted((r for r in runs if r.task == task and r.history), key=lambda r: (r.model, r.seed)):
        history = json.loads(r.history)
        names = list(dict.fromkeys(k for h in history for k in h if k != "step"))
        series = {n: [(int(h["step"]), float(h[n])) for h in history if n in h] for n in names}
        out.setdefault(r.model, []).append(Curve(f"seed {r.seed}", series))
    return out

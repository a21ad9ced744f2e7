"""The report in Markdown: a Section (benchbox.report.sections) per suite version and budget, rendered as text."""

from __future__ import annotations

import benchbox.builtins  # noqa: F401  (the catalogue's built-in values: directions and decimals of every column)
from benchbox.description import SuiteDescription
from benchbox.report.findings import findings_markdown
from benchbox.report.markdown import MARKS_LINE, reported_markdown, table_markdown
from benchbox.report.sections import Section, build_section, sections
from benchbox.report.summary import DEFAULT_VIEW, View
from benchbox.report.tradeoff import tradeoff_markdown
from benchbox.store import ResultRecord, ResultStore, RunRecord


def markdown_report(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = DEFAULT_VIEW,
) -> str:
    parts = [f"# {suite}"] + [section_markdown(s) for s in sections(store, suite, version, budget, metrics, view)]
    return "\n\n".join(parts) + "\n"


def markdown_tables(
    records: list[ResultRecord],
    runs: list[RunRecord],
    meta: SuiteDescription,
    version: int,
    budget: str,
    wanted: list[str] | None = None,
    view: View = DEFAULT_VIEW,
) -> str:
    """One budget's section in Markdown, from records and runs in hand."""
    suite = records[0].suite if records else (runs[0].suite if runs else "")
    return section_markdown(build_section(suite, records, runs, meta, version, budget, wanted, view))


def section_markdown(section: Section) -> str:
    out = [f"## {section.heading}", *section.lines, MARKS_LINE]
    for task in section.tasks:
        out.append(f"### {task.task}")
        for table in task.tables.tables:
            if len(task.tables.tables) > 1:
                out.append(f"**{table.title}**")
            out.append(table_markdown(table))
        out += list(task.tables.notes)
        columns = [c.name for t in task.tables.tables for c in t.columns]
        reported = reported_markdown(task.reported, task.task, columns)
        out += [reported] if reported else []
        out += [tradeoff_markdown(t) for t in task.tradeoffs]
        out += [text for text in (task.ordering, task.curve_text) if text]
    findings = findings_markdown(section.findings)
    out += [findings] if findings else []
    out += [*section.notes, section.provenance]
    return "\n\n".join(out)

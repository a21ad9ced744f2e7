"""The report's tables in Markdown: family groups as bold header rows, the best value in bold, the second underlined
(`<ins>`, which GitHub renders), the papers' numbers in a table of their own."""

from __future__ import annotations

from collections.abc import Sequence

from benchbox.report.format import arrow_label, decimals, format_value, markdown_table
from benchbox.report.layout import MIN_PER_RUN, Cell, Table
from benchbox.report.significance import RULE
from benchbox.suite import ReportedResult

MARKS_LINE = (
    f"Ours: mean ± sample std over the seeds counted in `seeds`. **Bold**: the best, ahead of the second beyond the "
    f"seeds' noise ({RULE}); <ins>underlined</ins>: the second, ahead of the third by the same test. Neither where the "
    "seeds cannot tell the values apart."
)


def header(name: str) -> str:
    return name if name == MIN_PER_RUN else arrow_label(name)


def cell_text(cell: Cell) -> str:
    if cell.mark == "best":
        return f"**{cell.text}**"
    if cell.mark == "second":
        return f"<ins>{cell.text}</ins>"
    return cell.text


def table_markdown(table: Table) -> str:
    """The table with a bold row naming each family group where there is more than one."""
    lines = [["model", "seeds", *(header(c.name) for c in table.columns)]]
    groups = table.groups()
    for label, rows in groups:
        if len(groups) > 1:
            lines.append([f"**{label}**", "", *([""] * len(table.columns))])
        for row in rows:
            lines.append([row.name, row.seeds, *(cell_text(row.cells[c.name]) for c in table.columns)])
    return markdown_table(lines)


def reported_markdown(reported: Sequence[ReportedResult], task: str, columns: Sequence[str]) -> str:
    """The papers' numbers for the task in the columns we record: a row per (paper, method), an empty cell where the
    paper gave none, the spread as the paper states it. "" when no paper reports any of the columns."""
    rows: dict[tuple[str, str], dict[str, ReportedResult]] = {}
    for r in reported:
        if r.task == task and r.metric in columns:
            rows.setdefault((r.source, r.method), {})[r.metric] = r
    if not rows:
        return ""
    shown = [c for c in columns if any(c in by for by in rows.values())]
    lines = [["method (reported)", "source", *(header(c) for c in shown)]]
    for (source, method), by_metric in rows.items():
        first = next(iter(by_metric.values()))
        note = f"; {first.note}" if first.note else ""
        cells = []
        for c in shown:
            r = by_metric.get(c)
            spread = f" ({r.spread_kind})" if r is not None and r.spread is not None and r.spread_kind else ""
            cells.append("" if r is None else format_value(r.value, r.spread, decimals(c)) + spread)
        lines.append([f"*{method}*", f"{source}{note}", *cells])
    return "**Reported in papers** (not run here; each spread as its paper states it):\n\n" + markdown_table(lines)

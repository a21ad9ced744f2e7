"""`benchbox report`'s one entry: the store's records of a suite in any of the report's formats."""

from __future__ import annotations

import benchbox.builtins  # noqa: F401  (the catalogue's built-in values: directions and decimals of every column)
from benchbox.report.export import csv_text, json_text, report_frames
from benchbox.report.html import html_report
from benchbox.report.latex import latex_report
from benchbox.report.scored import scored_report, scored_suite
from benchbox.report.sections import sections
from benchbox.report.summary import DEFAULT_VIEW, View
from benchbox.report.tables import markdown_report
from benchbox.store import ResultStore

FORMATS = {
    "md": "Markdown tables",
    "tex": "a LaTeX document of booktabs tables",
    "html": "one self-contained HTML file with tables and figures",
    "csv": "summaries, per-seed records and reported numbers in one long table",
    "json": "summaries, per-seed records and reported numbers",
}


def render_report(
    store: ResultStore | None,
    suite: str,
    fmt: str = "md",
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = DEFAULT_VIEW,
) -> str:
    """The report in `fmt`; a scored-only suite (coco-t2i) gets its table of reported and measured rows, for which
    `store` may be None (no store yet)."""
    if (scored := scored_suite(suite)) is not None:
        return scored_report(store, scored, fmt, version, metrics)
    assert store is not None, "only a scored-only suite reports without a store"
    if fmt == "md":
        return markdown_report(store, suite, version, budget, metrics, view)
    if fmt in ("csv", "json"):
        frames = report_frames(store, suite, version, budget, metrics, view)
        return csv_text(frames) if fmt == "csv" else json_text(frames)
    found = sections(store, suite, version, budget, metrics, view)
    if fmt == "html":
        return html_report(suite, found)
    if fmt == "tex":
        return latex_report(suite, found)
    raise ValueError(f"unknown report format '{fmt}'; one of {', '.join(FORMATS)}")

"""The report of a scored-only suite (`Suite.scored_by`: a protocol for models benchbox does not train, such as
coco-t2i): one table per task in the papers' form, the reported rows and the measured rows in the same columns.

It also works with no store or no records yet (the reported rows alone), reading the registered suite's description
where the store holds none. Other suites' reports are unchanged: they read the store alone.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass

import pandas as pd

from benchbox.description import SuiteDescription
from benchbox.errors import BenchboxError
from benchbox.registry import SUITES
from benchbox.report.format import arrow_label, decimals, format_value, markdown_table
from benchbox.report.html import PAGE
from benchbox.report.latex import PREAMBLE, plain
from benchbox.report.layout import make_cell
from benchbox.report.markdown_html import markdown_html
from benchbox.report.styled import latex_text
from benchbox.report.summary import EMPTY, choose_columns, provenance_block
from benchbox.runner.describe import describe_suite
from benchbox.store import ResultRecord, ResultStore
from benchbox.suite import Suite

SCORED_FORMATS = ("md", "tex", "html", "csv", "json")
LEGEND = (
    "Rows in *italics* are reported in papers (not run here; each figure as its source prints it). The others were "
    "measured here from users' samples: they are comparable with one another where n and the data hash (the caption "
    "list) match, and with the papers' rows only at the protocol's n. A column `fd_…_custom` was measured with "
    "Inception weights that are not the published ones: it is not FID."
)


def scored_suite(name: str) -> Suite | None:
    """The registered suite of that name if it is scored-only, else None."""
    suite = SUITES.get(name)
    return suite if suite is not None and suite.scored_by else None


def registered_description(name: str, version: int) -> SuiteDescription | None:
    """The registered suite's description for a report whose store holds none (None for another version)."""
    suite = SUITES.get(name)
    return describe_suite(suite) if suite is not None and suite.version == version else None


def _version(store: ResultStore | None, suite: Suite, version: int | None) -> int:
    if version is not None:
        return version
    present = store.versions(suite.name) if store is not None else []
    return present[0][0] if present else suite.version


def table_rows(
    meta: SuiteDescription, records: list[ResultRecord], task: str, wanted: list[str] | None
) -> tuple[list[str], list[dict]]:
    """(value columns, rows): each row {"method", "kind", values by column, "n", "data", "source"}."""
    records = [r for r in records if r.task == task]
    reported = [r for r in meta.reported if r.task == task]
    recorded = list(dict.fromkeys(r.metric for r in records))
    columns = list(dict.fromkeys([r.metric for r in reported] + [v for v in meta.values if v in recorded] + recorded))
    columns = choose_columns(columns, wanted)
    rows: list[dict] = []
    for source, method in dict.fromkeys((r.source, r.method) for r in reported):
        mine = [r for r in reported if (r.source, r.method) == (source, method)]
        note = "; ".join(dict.fromkeys(r.note for r in mine if r.note))
        row = {
            "method": method,
            "kind": "reported",
            "n": "",
            "data": "",
            "source": source + (f"; {note}" if note else ""),
        }
        for r in mine:
            row[r.metric] = (r.value, r.spread)
        rows.append(row)
    keys = list(dict.fromkeys((r.model, r.protocol_hash) for r in records))
    several = {m for m, _ in keys if sum(k == m for k, _ in keys) > 1}
    for model, phash in keys:
        mine = [r for r in records if (r.model, r.protocol_hash) == (model, phash)]
        first = mine[0]
        row = {
            "method": f"{model} [{phash[:8]}]" if model in several else model,
            "kind": "measured",
            "n": ", ".join(sorted({f"{r.n_samples:,}" for r in mine})),
            "data": ", ".join(sorted({r.data_hash[:12] for r in mine})),
            "source": f"measured {first.created_at[:10]}, benchbox {first.benchbox_version} on {first.device}",
        }
        for metric in dict.fromkeys(r.metric for r in mine):
            row[metric] = make_cell([r for r in mine if r.metric == metric], decimals(metric))
        rows.append(row)
    return columns, rows


def _text(value: object, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        mean, spread = value
        return format_value(mean, spread, decimals(column))
    return value.text  # a measured Cell


@dataclass(frozen=True)
class ScoredTables:
    """What every format of a scored-only suite's report shows: per task, its columns and rows, then the notes."""

    version: int
    heading: str
    description: str
    tasks: list[tuple[str, list[str], list[dict]]]  # (task, value columns, rows)
    closing: list[str]  # Markdown: the legend, the references, the provenance or where measured rows come from


def scored_tables(
    store: ResultStore | None, suite: Suite, version: int | None, wanted: list[str] | None
) -> ScoredTables:
    v = _version(store, suite, version)
    meta = (store.description(suite.name, v) if store is not None else None) or registered_description(suite.name, v)
    meta = meta or EMPTY
    records = store.records(suite=suite.name, suite_version=v) if store is not None else []
    runs = store.runs(suite=suite.name, suite_version=v) if store is not None else []
    names = [t.name for t in meta.tasks] or sorted({r.task for r in records})
    tasks = [(task, *table_rows(meta, records, task, wanted)) for task in names]
    closing = [LEGEND]
    closing += [f"References: {'; '.join(meta.references)}."] if meta.references else []
    if records:
        closing.append(provenance_block(records, runs, None))
    else:
        where = f"in '{store.path}'" if store is not None else "(no store yet)"
        closing.append(f"No measured rows {where}: score your samples with `{suite.scored_by}` and they appear here.")
    heading = f"v{v}: scored from users' samples (`{suite.scored_by}`)"
    return ScoredTables(v, heading, meta.description, tasks, closing)


def table_lines(columns: list[str], rows: list[dict], italic: str = "*") -> list[list[str]]:
    """The table as text cells, reported rows' names in italics (Markdown's * or none)."""
    lines = [["method", *(arrow_label(c) for c in columns), "n", "data hash", "source"]]
    for row in rows:
        name = f"{italic}{row['method']}{italic}" if row["kind"] == "reported" else row["method"]
        cells = [_text(row.get(c), c) for c in columns]
        lines.append([name, *cells, row["n"], row["data"], row["source"]])
    return lines


def scored_markdown(store: ResultStore | None, suite: Suite, version: int | None, wanted: list[str] | None) -> str:
    t = scored_tables(store, suite, version, wanted)
    out = [f"# {suite.name}", f"## {t.heading}"] + ([t.description] if t.description else [])
    for task, columns, rows in t.tasks:
        lines = table_lines(columns, rows)
        lines[1:] = [[*row[:-2], f"`{row[-2]}`" if row[-2] else "", row[-1]] for row in lines[1:]]
        out += [f"### {task}", markdown_table(lines)]
    return "\n\n".join(out + t.closing) + "\n"


def scored_latex(store: ResultStore | None, suite: Suite, version: int | None, wanted: list[str] | None) -> str:
    """A booktabs table per task, compiling with pdflatex in the same minimal article as every report."""
    t = scored_tables(store, suite, version, wanted)
    out = [PREAMBLE, rf"\section*{{{latex_text(suite.name)}}}", rf"\subsection*{{{latex_text(plain(t.heading))}}}"]
    out += [latex_text(plain(t.description)) + "\n"] if t.description else []
    for task, columns, rows in t.tasks:
        header, *body = table_lines(columns, rows, italic="")
        frame = pd.DataFrame([[latex_text(c) for c in line] for line in body], columns=[latex_text(h) for h in header])
        styler = frame.style.hide(axis="index")
        for i, row in enumerate(rows):  # reported rows in italics, as in the other formats
            if row["kind"] == "reported":
                styler = styler.map(lambda _: "textit:--rwrap;", subset=pd.IndexSlice[i, :])
        caption = latex_text(f"{suite.name} v{t.version}, {task}: reported rows in italics, measured rows upright")
        out += [r"{\small", styler.to_latex(hrules=True, caption=caption, position="htbp", position_float="centering")]
        out.append("}")
    out += [r"{\footnotesize " + latex_text(plain(text)).replace("\n", " \\\\ ") + "}\n" for text in t.closing]
    return "\n".join(out) + "\\end{document}\n"


def scored_html(store: ResultStore | None, suite: Suite, version: int | None, wanted: list[str] | None) -> str:
    """One self-contained page in the other reports' style: the tables, the legend and provenance."""
    t = scored_tables(store, suite, version, wanted)
    body = [f"<h1>{html.escape(suite.name)}</h1>", f"<h2>{markdown_html(t.heading, inline=True)}</h2>"]
    body += [f"<p>{markdown_html(t.description, inline=True)}</p>"] if t.description else []
    for task, columns, rows in t.tasks:
        body += [f"<h3>{html.escape(task)}</h3>", str(markdown_html(markdown_table(table_lines(columns, rows))))]
    body += [f'<div class="provenance">{markdown_html(text)}</div>' for text in t.closing]
    head = PAGE.render(suite=suite.name, marks="", sections=[]).split("<body>")[0]
    return f"{head}<body>\n" + "\n".join(body) + "\n</body></html>\n"


def scored_frame(
    store: ResultStore | None, suite: Suite, version: int | None, wanted: list[str] | None
) -> pd.DataFrame:
    """The same tables as one long frame: a row per (method, value), with its kind, n, data hash and source."""
    v = _version(store, suite, version)
    meta = (store.description(suite.name, v) if store is not None else None) or registered_description(suite.name, v)
    meta = meta or EMPTY
    records = store.records(suite=suite.name, suite_version=v) if store is not None else []
    out = []
    for task in [t.name for t in meta.tasks] or sorted({r.task for r in records}):
        columns, rows = table_rows(meta, records, task, wanted)
        for row in rows:
            for c in columns:
                value = row.get(c)
                if value is None:
                    continue
                mean, spread = value if isinstance(value, tuple) else (value.mean, value.std)
                out.append(
                    {
                        "suite": suite.name,
                        "suite_version": v,
                        "task": task,
                        "kind": row["kind"],
                        "model": row["method"],
                        "metric": c,
                        "mean": mean,
                        "spread": spread,
                        "n": row["n"],
                        "data_hash": row["data"],
                        "source": row["source"],
                    }
                )
    return pd.DataFrame(out)


def scored_report(
    store: ResultStore | None, suite: Suite, fmt: str, version: int | None, wanted: list[str] | None
) -> str:
    if fmt == "md":
        return scored_markdown(store, suite, version, wanted)
    if fmt == "tex":
        return scored_latex(store, suite, version, wanted)
    if fmt == "html":
        return scored_html(store, suite, version, wanted)
    if fmt not in SCORED_FORMATS:
        raise BenchboxError(
            f"suite '{suite.name}' has a table of reported and measured rows, not a {fmt} report",
            f"pass --format {', '.join(SCORED_FORMATS)}",
        )
    frame = scored_frame(store, suite, version, wanted)
    if fmt == "csv":
        return frame.to_csv(index=False)
    rows = [
        {k: (None if isinstance(x, float) and math.isnan(x) else x) for k, x in r.items()}
        for r in frame.to_dict("records")
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"

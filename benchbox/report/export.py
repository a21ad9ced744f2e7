"""The report as data: CSV and JSON of the summaries over seeds, the per-seed records and the papers' numbers, which
read back into pandas with the same values (floats written with every digit).

CSV: one long table; the column `kind` says what a row is: "summary" (ours, one protocol's mean over seeds),
"seed" (one run's value, with its provenance), "reported" (a paper's number) or "finding" (a paper's claim decided
on the records: test, p-value, verdict). JSON: {"summaries", "records", "reported", "findings"}, each a list of row
objects with the same columns.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from benchbox.findings import evaluate
from benchbox.report.findings import findings_records
from benchbox.report.runs import newest_user_versions
from benchbox.report.summary import DEFAULT_VIEW, EMPTY, View, choose_columns, select, summarize
from benchbox.store import ResultRecord, ResultStore

KEY = ["suite", "suite_version", "budget"]
SCALARS = (str, int, float, type(None))  # what a row of the JSON export holds (bool is an int)
KINDS = {"summaries": "summary", "records": "seed", "reported": "reported", "findings": "finding"}  # CSV `kind`


def report_frames(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = DEFAULT_VIEW,
) -> dict[str, pd.DataFrame]:
    """{"summaries", "records", "reported", "findings"} for every (version, budget) the report shows."""
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in KINDS}
    for v, b in select(store, suite, version, budget):
        records = store.records(suite=suite, suite_version=v, budget=b)
        runs = store.runs(suite=suite, suite_version=v, budget=b)
        if not view.all_versions:
            records, runs, _ = newest_user_versions(records, runs)
        meta = store.description(suite, v) or EMPTY
        findings = pd.DataFrame(findings_records(evaluate(meta.findings, records)))  # on every value, as the tables
        if metrics:
            keep = set(choose_columns(list(dict.fromkeys(r.metric for r in records)), metrics))
            records = [r for r in records if r.metric in keep]
        users = {r.model for r in runs if r.user_code}
        ours = summarize(records)
        ours.insert(0, "source", ["user model" if m in users else "ours" for m in ours["model"]])
        seeds = pd.DataFrame([record_row(r, users) for r in records])
        reported = pd.DataFrame(
            [
                {
                    "source": f"reported: {r.source}",
                    "task": r.task,
                    "model": r.method,
                    "metric": r.metric,
                    "mean": r.value,
                    "std": r.spread if r.spread_kind == "std" else math.nan,
                    "sem": r.spread if r.spread_kind == "s.e." else math.nan,
                }
                for r in meta.reported
            ]
        )
        for name, frame in (("summaries", ours), ("reported", reported), ("findings", findings)):
            for i, (col, value) in enumerate(zip(KEY, (suite, v, b), strict=True)):
                frame.insert(i, col, value)
            frames[name].append(frame)
        frames["records"].append(seeds)
    return {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in frames.items()}


def record_row(record: ResultRecord, users: set[str]) -> dict[str, Any]:
    return {"source": "user model" if record.model in users else "ours", **record.__dict__}


def csv_text(frames: dict[str, pd.DataFrame]) -> str:
    parts = [frame.assign(kind=KINDS[name]) for name, frame in frames.items()]
    table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    table = table[["kind", *[c for c in table.columns if c != "kind"]]]
    for col in ("seeds", "seed", "suite_version", "n_samples", "train_steps"):
        if col in table:
            table[col] = table[col].astype("Int64")  # blank where a kind has none, an integer elsewhere
    return table.to_csv(index=False, float_format=None)


def json_text(frames: dict[str, pd.DataFrame]) -> str:
    """JSON with NaN as null and ±∞ as the strings "inf" / "-inf" (JSON has no infinities)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            if math.isnan(value):
                return None
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
        return value

    data = {k: [{c: clean(v) for c, v in row.items()} for row in f.to_dict("records")] for k, f in frames.items()}
    return indented_json(data) + "\n"


def indented_json(data: dict[str, list[dict[str, Any]]]) -> str:
    """`json.dumps(data, ensure_ascii=False, indent=1)`, character for character, from one call of json's C encoder per
    list of rows: its indenting encoder is pure Python (5 s for a table of 200,000 records). The C encoder separates
    items by ",\\n   " and escapes every newline inside a string, so a real newline in its output is a separator; between
    two flat rows it reads "},\\n   {", which is turned into the indented form. Anything but non-empty rows of scalars
    goes to json.dumps."""
    if not all(row and all(isinstance(v, SCALARS) for v in row.values()) for rows in data.values() for row in rows):
        return json.dumps(data, ensure_ascii=False, indent=1)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",\n   ", ": ")).encode

    def rows(items: list[dict[str, Any]]) -> str:
        if not items:
            return "[]"
        body = encode(items)[2:-2].replace("},\n   {", "\n  },\n  {\n   ")
        return "[\n  {\n   " + body + "\n  }\n ]"

    body = ",\n ".join(f"{json.dumps(k, ensure_ascii=False)}: {rows(v)}" for k, v in data.items())
    return "{\n " + body + "\n}" if data else "{}"

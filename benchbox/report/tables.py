"""Turn stored records into paper-style tables: mean ± std over seeds, reported numbers beside ours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

import benchbox.builtins  # noqa: F401  (the catalogue's built-in values: directions and decimals of every column)
from benchbox.description import BudgetInfo, ModelRow, SuiteDescription
from benchbox.errors import BenchboxError
from benchbox.report.format import arrow_label, decimals, format_value, markdown_table
from benchbox.report.ordering import ordering_block
from benchbox.report.runs import curve_lines, newest_user_versions, unfinished_lines, user_model_lines
from benchbox.report.tradeoff import tradeoff_blocks
from benchbox.store import ResultRecord, ResultStore, RunRecord
from benchbox.suite import ReportedResult

EMPTY = SuiteDescription("", (), (), (), {}, ())  # for a suite whose description the store does not hold


def summarize(records: list[ResultRecord]) -> pd.DataFrame:
    """One row per (task, model, metric): seeds, mean, sample std, standard error and a 95% t-interval."""
    df = pd.DataFrame([r.__dict__ for r in records])
    rows = []
    if df.empty:
        return pd.DataFrame(columns=["task", "model", "metric", "seeds", "mean", "std", "sem", "wall_time_s"])
    for (task, model, metric), group in df.groupby(["task", "model", "metric"], sort=False):
        values = group["value"].to_numpy(dtype=float)
        n = len(values)
        finite = bool(np.isfinite(values).all())
        mean = float(values.mean()) if finite else math.inf
        std = float(values.std(ddof=1)) if n > 1 and finite else math.nan
        sem = std / math.sqrt(n) if n > 1 else math.nan
        half = float(stats.t.ppf(0.975, n - 1) * sem) if n > 1 and math.isfinite(sem) else math.nan
        rows.append(
            {
                "task": task,
                "model": model,
                "metric": metric,
                "seeds": n,
                "mean": mean,
                "std": std,
                "sem": sem,
                "ci95_low": mean - half,
                "ci95_high": mean + half,
                "wall_time_s": float(group["wall_time_s"].sum()),
            }
        )
    return pd.DataFrame(rows)


def select(store: ResultStore, suite: str, version: int | None, budget: str | None) -> list[tuple[int, str]]:
    """The (version, budget) tables to show: the newest version by default, every budget unless one is named."""
    present = store.versions(suite)
    if not present:
        raise BenchboxError(
            f"the store '{store.path}' holds no results for suite '{suite}'",
            f"run `benchbox run --suite {suite}` first, or pass --store",
        )
    version = present[0][0] if version is None else version
    chosen = [(v, b) for v, b in present if v == version and (budget is None or b == budget)]
    if not chosen:
        have = ", ".join(f"v{v}/{b}" for v, b in present)
        raise BenchboxError(f"no results for suite '{suite}' v{version} budget '{budget}'", f"the store has: {have}")
    return chosen


@dataclass(frozen=True)
class View:
    """What a report shows beyond the values: every version of users' models' code, and the training curves."""

    all_versions: bool = False
    curves: bool = False


def markdown_report(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = View(),
) -> str:
    parts = [f"# {suite}"]
    for v, b in select(store, suite, version, budget):
        records = store.records(suite=suite, suite_version=v, budget=b)
        runs = store.runs(suite=suite, suite_version=v, budget=b)
        parts.append(markdown_tables(records, runs, store.description(suite, v) or EMPTY, v, b, metrics, view))
    return "\n\n".join(parts) + "\n"


def choose_columns(available: list[str], wanted: list[str] | None) -> list[str]:
    """The metric columns to show: all of them, or the wanted ones in the order given (unknown ones refused)."""
    if not wanted:
        return available
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise BenchboxError(
            f"no values of {', '.join(unknown)} in this table", f"choose among: {', '.join(available) or '(none)'}"
        )
    return list(dict.fromkeys(wanted))


def markdown_tables(
    records: list[ResultRecord],
    runs: list[RunRecord],
    meta: SuiteDescription,
    version: int,
    budget: str,
    wanted: list[str] | None = None,
    view: View = View(),
) -> str:
    """One budget's tables: per task, our rows and the reported ones, trade-off blocks and orderings; then the runs
    that did not finish, users' models and the provenance."""
    hidden = 0
    if not view.all_versions:
        records, runs, hidden = newest_user_versions(records, runs)
    summary = summarize(records)
    recorded = set(summary["metric"])
    available = [m for m in meta.values if m in recorded] or sorted(recorded)
    metrics = choose_columns(available, wanted)
    model_order = [m.name for m in meta.models]
    budget_meta = meta.budgets.get(budget)
    heading = f"## v{version}, budget `{budget}`"
    out = [heading + (f": {budget_meta.description}" if budget_meta and budget_meta.description else "")]
    if meta.description:
        out.append(meta.description)
    out += own_budget_lines(meta.models, budget, set(summary["model"]))
    out.append("Ours: mean ± sample std over seeds. Reported: as printed in the paper, spread as the paper states it.")
    task_order = [t.name for t in meta.tasks]
    for task in sorted(set(summary["task"]), key=lambda t: _position(t, task_order)):
        out.append(f"### {task}")
        lines = [["model", "seeds", *(arrow_label(m) for m in metrics), "min/run"]]
        sub = summary[summary["task"] == task]
        for model in sorted(set(sub["model"]), key=lambda m: _position(m, model_order)):
            cells = sub[sub["model"] == model].set_index("metric")
            seeds = int(cells["seeds"].max())
            row = [model, str(seeds)]
            for m in metrics:
                c = cells.loc[m] if m in cells.index else None
                row.append("—" if c is None else format_value(c["mean"], c["std"], decimals(m)))
            row.append(f"{cells['wall_time_s'].iloc[0] / seeds / 60:.1f}")  # every value of a run has its wall time
            lines.append(row)
        lines += reported_rows(meta.reported, task, metrics)
        out.append(markdown_table(lines))
        out += tradeoff_blocks(summary, meta.models, task, budget, available)
        ordering = ordering_block(meta.reported, task, summary, metrics)
        if ordering:
            out.append(ordering)
        if view.curves:
            out += curve_lines(runs, task)
    out += unfinished_lines(runs)
    out += user_model_lines(runs, hidden)
    out.append(provenance_block(records, runs, budget_meta))
    return "\n\n".join(out)


def _position(name: str, order: list[str]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def own_budget_lines(models: Sequence[ModelRow], budget: str, shown: set[str]) -> list[str]:
    """One line per model budget that replaces the suite's for the models shown (rows of one entry share it)."""
    by_budget: dict[str, list[str]] = {}
    for m in models:
        own = m.budgets.get(budget)
        if own and m.name in shown:
            by_budget.setdefault(own.description, []).append(m.name)
    return [f"Own `{budget}` budget of {', '.join(names)}: {text}" for text, names in by_budget.items()]


def reported_rows(reported: Sequence[ReportedResult], task: str, metrics: list[str]) -> list[list[str]]:
    rows: dict[tuple[str, str], dict[str, ReportedResult]] = {}
    for r in reported:
        if r.task == task:
            rows.setdefault((r.source, r.method), {})[r.metric] = r
    out = []
    for (source, method), by_metric in rows.items():
        if not set(by_metric) & set(metrics):
            continue  # measured in another space: shown as an ordering instead (benchbox.report.ordering)
        first = next(iter(by_metric.values()))
        kind = f", ± {first.spread_kind}" if first.spread_kind else ""
        note = f"; {first.note}" if first.note else ""
        label = f"*{method} (reported: {source}{kind}{note})*"
        cells = [
            format_value(by_metric[m].value, by_metric[m].spread, decimals(m)) if m in by_metric else "—"
            for m in metrics
        ]
        out.append([label, "", *cells, ""])
    return out


def provenance_block(records: list[ResultRecord], runs: list[RunRecord], budget_meta: BudgetInfo | None) -> str:
    """Where the table's numbers come from; runs that left no scores count for their protocol, seed and time."""
    unfinished = [r for r in runs if r.status != "done"]
    rows: list[ResultRecord | RunRecord] = [*records, *unfinished]

    def distinct(attr: str, of: Sequence[ResultRecord | RunRecord] = rows) -> str:
        return ", ".join(sorted({str(getattr(r, attr)) for r in of}, key=lambda v: (len(v), v)))

    data = sorted({(r.task, r.data_hash[:16]) for r in rows})
    wall = sum({(r.task, r.model, r.seed): r.wall_time_s for r in rows}.values())
    lines = [
        "**Provenance.**",
        f"- suite `{rows[0].suite}` v{rows[0].suite_version}, budget `{rows[0].budget}` "
        f"({distinct('train_steps')} training steps), seeds {distinct('seed')}, "
        f"{distinct('n_samples', records) or 0} samples per evaluation",
        "- data: " + ", ".join(f"{t} `{h}`" for t, h in data),
        f"- protocol hashes: {distinct('protocol_hash')}",
        f"- code: benchbox {distinct('benchbox_version')} at commit {distinct('git_commit')}; "
        f"torch {distinct('torch_version')}"
        + (f" (built for CUDA {distinct('cuda_version')})" if distinct("cuda_version") else ""),
        f"- device: {distinct('device')}; run time {wall / 60:.1f} min summed over runs (workers overlap); "
        f"recorded {min(r.created_at for r in rows)} to {max(r.created_at for r in rows)}",
    ]
    users = sorted({r.model for r in runs if r.user_code})
    if users:
        lines.append(f"- user models (code and batch listed above): {', '.join(f'`{u}`' for u in users)}")
    if budget_meta and sorted(budget_meta.seeds) != sorted({r.seed for r in rows}):
        lines.append(f"- note: the budget's protocol seeds are {list(budget_meta.seeds)}")
    return "\n".join(lines)


def csv_report(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
    view: View = View(),
) -> str:
    """Our summaries (source "ours", or "user model" for a user's code) and the reported numbers (source = the
    citation) in one long table."""
    frames = []
    for v, b in select(store, suite, version, budget):
        records = store.records(suite=suite, suite_version=v, budget=b)
        runs = store.runs(suite=suite, suite_version=v, budget=b)
        if not view.all_versions:
            records, runs, _ = newest_user_versions(records, runs)
        ours = summarize(records)
        if metrics:
            ours = ours[ours["metric"].isin(choose_columns(list(dict.fromkeys(ours["metric"])), metrics))]
        users = {r.model for r in runs if r.user_code}
        ours.insert(0, "source", ["user model" if m in users else "ours" for m in ours["model"]])
        reported = pd.DataFrame(
            {
                "source": f"reported: {r.source}",
                "task": r.task,
                "model": r.method,
                "metric": r.metric,
                "mean": r.value,
                "std": r.spread if r.spread_kind == "std" else math.nan,
                "sem": r.spread if r.spread_kind == "s.e." else math.nan,
            }
            for r in (store.description(suite, v) or EMPTY).reported
        )
        for frame in (ours, reported):
            frame.insert(0, "budget", b)
            frame.insert(0, "suite_version", v)
            frame.insert(0, "suite", suite)
        frames += [ours, reported]
    table = pd.concat(frames, ignore_index=True)
    table["seeds"] = table["seeds"].astype("Int64")  # blank for reported rows, an integer for ours
    return table.to_csv(index=False)

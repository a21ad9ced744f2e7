"""Turn stored records into paper-style tables: mean ± std over seeds, reported numbers beside ours."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from benchbox.errors import BenchboxError
from benchbox.report.ordering import ordering_block
from benchbox.report.tradeoff import tradeoff_blocks
from benchbox.store import DIVERGED, ResultRecord, ResultStore


def summarize(records: list[ResultRecord]) -> pd.DataFrame:
    """One row per (task, model, metric): seeds, mean, sample std, standard error and a 95% t-interval."""
    df = pd.DataFrame([r.__dict__ for r in records])
    rows = []
    df = df[df["metric"] != DIVERGED]
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


def format_value(mean: float, spread: float | None, decimals: int) -> str:
    if math.isinf(mean):
        return "∞"
    text = f"{mean:.{decimals}f}"
    if spread is not None and math.isfinite(spread):
        text += f" ± {spread:.{decimals}f}"
    return text


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


def markdown_report(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
) -> str:
    parts = [f"# {suite}"]
    for v, b in select(store, suite, version, budget):
        records = store.records(suite=suite, suite_version=v, budget=b)
        parts.append(markdown_tables(records, store.suite_meta(suite, v), v, b, metrics))
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
    meta: dict[str, Any],
    version: int,
    budget: str,
    wanted: list[str] | None = None,
) -> str:
    summary = summarize(records)
    metric_meta = {m["name"]: m for m in meta.get("metrics", [])}
    available = [m for m in metric_meta if m in set(summary["metric"])] or sorted(set(summary["metric"]))
    metrics = choose_columns(available, wanted)
    model_order = [m["name"] for m in meta.get("models", [])]
    budget_meta = meta.get("budgets", {}).get(budget, {})
    out = [
        f"## v{version}, budget `{budget}`"
        + (f": {budget_meta['description']}" if budget_meta.get("description") else "")
    ]
    if meta.get("description"):
        out.append(meta["description"])
    out += own_budget_lines(meta.get("models", []), budget, set(summary["model"]))
    out.append("Ours: mean ± sample std over seeds. Reported: as printed in the paper, spread as the paper states it.")
    task_order = [t["name"] for t in meta.get("tasks", [])]
    tasks = sorted(set(summary["task"]), key=lambda t: (task_order.index(t) if t in task_order else len(task_order), t))
    for task in tasks:
        out.append(f"### {task}")
        header = ["model", "seeds", *(arrow_label(m, metric_meta) for m in metrics), "min/run"]
        lines = [header, ["---"] * len(header)]
        sub = summary[summary["task"] == task]
        models = sorted(
            set(sub["model"]), key=lambda m: (model_order.index(m) if m in model_order else len(model_order), m)
        )
        for model in models:
            cells = sub[sub["model"] == model].set_index("metric")
            seeds = int(cells["seeds"].max())
            row = [model, str(seeds)]
            for m in metrics:
                if m in cells.index:
                    c = cells.loc[m]
                    row.append(format_value(c["mean"], c["std"], metric_meta.get(m, {}).get("decimals", 3)))
                else:
                    row.append("—")
            row.append(f"{cells['wall_time_s'].iloc[0] / seeds / 60:.1f}")  # every value of a run has its wall time
            lines.append(row)
        lines += reported_rows(meta.get("reported", []), task, metrics, metric_meta)
        out.append("\n".join("| " + " | ".join(r) + " |" for r in lines))
        out += tradeoff_blocks(summary, meta.get("models", []), task, budget, metric_meta)
        ordering = ordering_block(meta.get("reported", []), task, summary, metrics, metric_meta)
        if ordering:
            out.append(ordering)
    diverged = sorted({(r.task, r.model, r.seed, r.value) for r in records if r.metric == DIVERGED})
    if diverged:
        out.append(
            "**Diverged runs** (non-finite loss; no scores recorded, last good checkpoint kept): "
            + ", ".join(f"{t}/{m}/seed{s} at step {v:.0f}" for t, m, s, v in diverged)
        )
    out.append(provenance_block(records, budget_meta))
    return "\n\n".join(out)


def own_budget_lines(models: list[dict[str, Any]], budget: str, shown: set[str]) -> list[str]:
    """One line per model budget that replaces the suite's for the models shown (rows of one entry share it)."""
    by_budget: dict[str, list[str]] = {}
    for m in models:
        own = m.get("budgets", {}).get(budget)
        if own and m["name"] in shown:
            by_budget.setdefault(own["description"], []).append(m["name"])
    return [f"Own `{budget}` budget of {', '.join(names)}: {text}" for text, names in by_budget.items()]


def arrow_label(metric: str, metric_meta: dict[str, Any]) -> str:
    info = metric_meta.get(metric)
    if not info:
        return metric
    return f"{metric} {'↑' if info['higher_is_better'] else '↓'}"


def reported_rows(
    reported: list[dict[str, Any]], task: str, metrics: list[str], metric_meta: dict[str, Any]
) -> list[list[str]]:
    rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in reported:
        if r["task"] == task:
            rows.setdefault((r["source"], r["method"]), {})[r["metric"]] = r
    out = []
    for (source, method), by_metric in rows.items():
        if not set(by_metric) & set(metrics):
            continue  # measured in another space: shown as an ordering instead (benchbox.report.ordering)
        first = next(iter(by_metric.values()))
        kind = f", ± {first['spread_kind']}" if first.get("spread_kind") else ""
        note = f"; {first['note']}" if first.get("note") else ""
        label = f"*{method} (reported: {source}{kind}{note})*"
        cells = []
        for m in metrics:
            r = by_metric.get(m)
            cells.append(
                format_value(r["value"], r.get("spread"), metric_meta.get(m, {}).get("decimals", 3)) if r else "—"
            )
        out.append([label, "", *cells, ""])
    return out


def provenance_block(records: list[ResultRecord], budget_meta: dict[str, Any]) -> str:
    def distinct(attr: str, of: list[ResultRecord] = records) -> str:
        return ", ".join(sorted({str(getattr(r, attr)) for r in of}, key=lambda v: (len(v), v)))

    scored = [r for r in records if r.metric != DIVERGED] or records  # a diverged run scored no samples

    data = sorted({(r.task, r.data_hash[:16]) for r in records})
    wall = sum({(r.task, r.model, r.seed): r.wall_time_s for r in records}.values())
    lines = [
        "**Provenance.**",
        f"- suite `{records[0].suite}` v{records[0].suite_version}, budget `{records[0].budget}` "
        f"({distinct('train_steps')} training steps), seeds {distinct('seed')}, {distinct('n_samples', scored)} samples per evaluation",
        "- data: " + ", ".join(f"{t} `{h}`" for t, h in data),
        f"- protocol hashes: {distinct('protocol_hash')}",
        f"- code: benchbox {distinct('benchbox_version')} at commit {distinct('git_commit')}; "
        f"torch {distinct('torch_version')}"
        + (f" (built for CUDA {distinct('cuda_version')})" if distinct("cuda_version") else ""),
        f"- device: {distinct('device')}; run time {wall / 60:.1f} min summed over runs (workers overlap); recorded {min(r.created_at for r in records)} "
        f"to {max(r.created_at for r in records)}",
    ]
    if budget_meta.get("seeds") and sorted(budget_meta["seeds"]) != sorted({r.seed for r in records}):
        lines.append(f"- note: the budget's protocol seeds are {budget_meta['seeds']}")
    return "\n".join(lines)


def csv_report(
    store: ResultStore,
    suite: str,
    version: int | None = None,
    budget: str | None = None,
    metrics: list[str] | None = None,
) -> str:
    """Our summaries (source "ours") and the reported numbers (source = the citation) in one long table."""
    frames = []
    for v, b in select(store, suite, version, budget):
        ours = summarize(store.records(suite=suite, suite_version=v, budget=b))
        if metrics:
            ours = ours[ours["metric"].isin(choose_columns(list(dict.fromkeys(ours["metric"])), metrics))]
        ours.insert(0, "source", "ours")
        reported = pd.DataFrame(
            {
                "source": f"reported: {r['source']}",
                "task": r["task"],
                "model": r["method"],
                "metric": r["metric"],
                "mean": r["value"],
                "std": r["spread"] if r.get("spread_kind") == "std" else math.nan,
                "sem": r["spread"] if r.get("spread_kind") == "s.e." else math.nan,
            }
            for r in store.suite_meta(suite, v).get("reported", [])
        )
        for frame in (ours, reported):
            frame.insert(0, "budget", b)
            frame.insert(0, "suite_version", v)
            frame.insert(0, "suite", suite)
        frames += [ours, reported]
    table = pd.concat(frames, ignore_index=True)
    table["seeds"] = table["seeds"].astype("Int64")  # blank for reported rows, an integer for ours
    return table.to_csv(index=False)

"""What every format of the report reads from the store, before any layout: summaries over seeds, the (version,
budget) tables to show, the columns asked for, the order of tasks, the budget lines and the provenance block."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from benchbox.description import BudgetInfo, ModelRow, SuiteDescription
from benchbox.errors import BenchboxError
from benchbox.store import ResultRecord, ResultStore, RunRecord

EMPTY = SuiteDescription("", (), (), (), {}, ())  # for a suite whose description the store does not hold


SUMMARY_COLUMNS = [
    "task", "model", "protocol_hash", "metric", "seeds", "mean", "std", "sem", "ci95_low", "ci95_high", "wall_time_s",
    "extractor_hash",
]  # fmt: skip


def summarize(records: list[ResultRecord]) -> pd.DataFrame:
    """One row per (task, model, protocol, metric): seeds, mean, sample std, standard error and a 95% t-interval.

    Records of different protocols are never averaged together; values measured with different feature-extractor
    weights give no mean (NaN) and extractor_hash "mixed". A seed's ∞ makes the mean ∞, a NaN makes it NaN."""
    df = pd.DataFrame([r.__dict__ for r in records])
    rows = []
    if df.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    for (task, model, phash, metric), group in df.groupby(["task", "model", "protocol_hash", "metric"], sort=False):
        values = group["value"].to_numpy(dtype=float)
        n = len(values)
        extractors = set(group["extractor_hash"])
        mean, std = seed_mean_std(values, len(extractors))
        sem = std / math.sqrt(n) if n > 1 else math.nan
        half = float(stats.t.ppf(0.975, n - 1) * sem) if n > 1 and math.isfinite(sem) else math.nan
        rows.append(
            {
                "task": task,
                "model": model,
                "protocol_hash": phash,
                "metric": metric,
                "seeds": n,
                "mean": mean,
                "std": std,
                "sem": sem,
                "ci95_low": mean - half,
                "ci95_high": mean + half,
                "wall_time_s": float(group["wall_time_s"].sum()),
                "extractor_hash": extractors.pop() if len(extractors) == 1 else "mixed",
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def seed_mean_std(values: np.ndarray, extractors: int = 1) -> tuple[float, float]:
    """Mean and sample std of one cell's seeds. NaN for both where the seeds were measured with different extractor
    weights or any is NaN; a seed's ±∞ makes the mean ±∞ (NaN if both signs) and the std undefined."""
    n = len(values)
    if extractors > 1 or n == 0 or np.isnan(values).any():
        return math.nan, math.nan
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 and math.isfinite(mean) else math.nan
    return mean, std


def one_protocol(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary rows of models that hold one protocol on their task: what trade-off blocks and orderings read
    (a model of several protocols is shown per protocol in the tables, and left out of comparisons across rows)."""
    counts = summary.groupby(["task", "model"])["protocol_hash"].transform("nunique")
    return summary[counts == 1]


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
        asked = f" budget '{budget}'" if budget is not None else ""  # no --budget: every budget was asked for
        raise BenchboxError(f"no results for suite '{suite}' v{version}{asked}", f"the store has: {have}")
    return chosen


@dataclass(frozen=True)
class View:
    """What a report shows beyond the values: every version of users' models' code, and the training curves."""

    all_versions: bool = False
    curves: bool = False


DEFAULT_VIEW = View()


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


def task_order(records: list[ResultRecord], runs: list[RunRecord], meta: SuiteDescription) -> list[str]:
    """The tasks that hold records or runs, in the suite's order."""
    order = [t.name for t in meta.tasks]
    return sorted({r.task for r in [*records, *runs]}, key=lambda t: _position(t, order))


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


def machine_line(rows: Sequence[ResultRecord | RunRecord]) -> str:
    """The machine the table's records were measured on, or a warning that they come from several: float results
    differ in the last bits across CPUs, thread counts and backend settings, which can move a GAN beyond seed noise."""
    runs = {(r.task, r.model, r.seed): r.machine for r in rows}  # one count per run, not per value it recorded
    machines = sorted(set(runs.values()), key=lambda m: (m == "", m))
    if machines == [""]:
        return "- machine: not recorded (records written before benchbox recorded the CPU and its settings)"
    if len(machines) == 1:
        return f"- machine: {machines[0]}"
    counts = "; ".join(f"{m or 'not recorded'} ({sum(v == m for v in runs.values())} runs)" for m in machines)
    return (
        f"- **mixed machines**: these records come from {len(machines)} machines or settings: {counts}. Runs on "
        "different CPUs, thread counts or backend settings differ in the last bits, which can move a trained model "
        "beyond seed noise: compare rows measured on one machine"
    )


def provenance_block(
    records: list[ResultRecord], runs: list[RunRecord], budget_meta: BudgetInfo | None, scoring: str = ""
) -> str:
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
    lines.append(machine_line(rows))
    if scoring:
        lines.append(f"- scoring: {scoring}")
    users = sorted({r.model for r in runs if r.user_code})
    if users:
        lines.append(f"- user models (code and batch listed above): {', '.join(f'`{u}`' for u in users)}")
    if budget_meta and sorted(budget_meta.seeds) != sorted({r.seed for r in rows}):
        lines.append(f"- note: the budget's protocol seeds are {list(budget_meta.seeds)}")
    return "\n".join(lines)


def _position(name: str, order: list[str]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)

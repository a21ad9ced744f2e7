"""Orderings of models, ours against a paper's: ranks, Kendall's τ and the pairs whose order differs.

Reported numbers measured in another feature space (Inception FID beside our fd_fashion_mnist) cannot be compared
value for value, but the order they put models in can: this is what the report shows for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import pandas as pd
from scipy import stats

from benchbox.report.format import definition
from benchbox.suite import ReportedResult


@dataclass(frozen=True)
class Pairing:
    method: str  # the paper's name
    reported: float
    ours_model: str  # our comparable model, "" if none
    ours: float  # our mean over seeds, nan if none
    spread: float | None = None  # the paper's ± (its kind is in the reported row)


def ranks(values: list[float], higher_is_better: bool) -> list[float]:
    """Rank 1 = best; ties share the mean rank."""
    signed = [-v if higher_is_better else v for v in values]
    return list(stats.rankdata(signed))


def disagreeing_pairs(pairings: list[Pairing]) -> list[tuple[Pairing, Pairing]]:
    """Pairs that the paper and we order differently (a tie on one side and not on the other counts too)."""
    both = [p for p in pairings if math.isfinite(p.ours)]
    return [
        (a, b)
        for a, b in combinations(both, 2)
        if (a.reported > b.reported) - (a.reported < b.reported) != (a.ours > b.ours) - (a.ours < b.ours)
    ]


def our_metric(reported_metric: str, columns: list[str]) -> str | None:
    """Our column for a reported value: the same name, or the same catalogue value measured in our feature space
    (a paper's FID → our fd_fashion_mnist)."""
    if reported_metric in columns:
        return reported_metric
    value = definition(reported_metric)
    return next((c for c in columns if value is not None and definition(c) == value), None)


def ordering_block(reported: tuple[ReportedResult, ...], task: str, summary: pd.DataFrame, columns: list[str]) -> str:
    """Markdown for reported numbers outside our columns: a rank table, Kendall's τ and the disagreeing pairs."""
    outside = [r for r in reported if r.task == task and r.metric not in columns]
    out = []
    for (source, metric), rows in _group(outside).items():
        ours_name = our_metric(metric, columns)
        if ours_name is None:
            continue
        means = summary[(summary["task"] == task) & (summary["metric"] == ours_name)].set_index("model")["mean"]
        pairings = [
            Pairing(r.method, r.value, r.comparable_to, float(means.get(r.comparable_to, math.nan)), r.spread)
            for r in rows
        ]
        out.append(_table(source, metric, ours_name, pairings))
    return "\n\n".join(out)


def _group(rows: list[ReportedResult]) -> dict[tuple[str, str], list[ReportedResult]]:
    groups: dict[tuple[str, str], list[ReportedResult]] = {}
    for r in rows:
        groups.setdefault((r.source, r.metric), []).append(r)
    return groups


def _table(source: str, metric: str, ours_name: str, pairings: list[Pairing]) -> str:
    reported_value, ours_value = definition(metric), definition(ours_name)
    up = reported_value.higher_is_better if reported_value else False
    ours_up = ours_value.higher_is_better if ours_value else up
    compared = [p for p in pairings if math.isfinite(p.ours)]
    rep_rank = dict(zip([p.method for p in compared], ranks([p.reported for p in compared], up), strict=True))
    our_rank = dict(zip([p.method for p in compared], ranks([p.ours for p in compared], ours_up), strict=True))
    arrow = "↑" if up else "↓"
    ours_arrow = "↑" if ours_up else "↓"
    lines = [
        f"#### Ordering against {source} ({metric}, reported; ours: {ours_name})",
        f"| reported method | {metric} {arrow} (reported) | rank | our model | {ours_name} {ours_arrow} | rank |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in pairings:
        has = math.isfinite(p.ours)
        lines.append(
            f"| {p.method} | {p.reported:g}{f' ± {p.spread:g}' if p.spread is not None else ''} | {_rank(rep_rank.get(p.method)) if has else '—'} | "
            f"{p.ours_model or '—'} | {f'{p.ours:.2f}' if has else '—'} | {_rank(our_rank.get(p.method)) if has else '—'} |"
        )
    if len(compared) >= 2:
        sign = 1 if up == ours_up else -1
        tau = stats.kendalltau([p.reported for p in compared], [sign * p.ours for p in compared])
        pairs = disagreeing_pairs([Pairing(p.method, p.reported, p.ours_model, sign * p.ours) for p in compared])
        text = "; ".join(f"{a.method} vs {b.method}" for a, b in pairs) or "none"
        lines.append("")
        lines.append(
            f"Kendall τ between the two orderings: {tau.statistic:.2f} over {len(compared)} models "
            f"(p = {tau.pvalue:.2f}); pairs ordered differently: {text}."
        )
    return "\n".join(lines)


def _rank(r: float | None) -> str:
    return "—" if r is None else (f"{r:.0f}" if float(r).is_integer() else f"{r:.1f}")

"""Sampling trade-offs: a model and its sampling variants (DDIM step counts, a guidance sweep) as the points of one
curve, with the sampling settings that differ between them and, beside the quality metrics, the cost and class
accuracy that trade against them (the values the catalogue marks `tradeoff`). Markdown blocks and figure data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchbox.description import ModelRow
from benchbox.report.figures import Point
from benchbox.report.format import arrow_label, decimals, definition, format_value, markdown_table


@dataclass(frozen=True)
class Tradeoff:
    """One model's sampling rows on a task: their settings and their values' mean and std over seeds."""

    model: str
    fields: list[str]  # the sampling settings, e.g. sampler, sample_steps, eta
    settings: dict[str, dict[str, Any]]  # row -> {field: value}, in the settings' order
    values: dict[str, dict[str, tuple[float, float]]]  # row -> {value name: (mean, std)}
    metrics: list[str]  # the trade-off values recorded, in column order


def tradeoffs(
    summary: pd.DataFrame, models: tuple[ModelRow, ...], task: str, budget: str, columns: list[str]
) -> list[Tradeoff]:
    """Each model with variants in the task's rows, its rows ordered by their settings."""
    sub = summary[summary["task"] == task]
    present = set(sub["metric"])
    metrics = [m for m in columns if m in present and (v := definition(m)) is not None and v.tradeoff]
    out = []
    for base in (m for m in models if budget in m.sampling):
        rows = [base] + [m for m in models if m.variant_of == base.name]
        settings = {r.name: r.sampling[budget] for r in rows if r.name in set(sub["model"])}
        if len(settings) < 2:
            continue
        fields = list(base.sampling[budget])
        ordered = dict(sorted(settings.items(), key=lambda kv: tuple(order_key(kv[1][f]) for f in fields)))
        values = {}
        for name in ordered:
            cells = sub[sub["model"] == name].set_index("metric")
            values[name] = {
                m: (float(cells.loc[m, "mean"]), float(cells.loc[m, "std"])) for m in metrics if m in cells.index
            }
        out.append(Tradeoff(base.name, fields, ordered, values, metrics))
    return out


def tradeoff_markdown(t: Tradeoff) -> str:
    lines = [["row", *t.fields, *(arrow_label(m) for m in t.metrics)]]
    for name, setting in t.settings.items():
        cells = [format_value(*t.values[name][m], decimals(m)) if m in t.values[name] else "—" for m in t.metrics]
        lines.append([name, *(f"{setting[f]}" for f in t.fields), *cells])
    return f"**Sampling trade-off of `{t.model}`** (one trained network per seed):\n\n{markdown_table(lines)}"


def figure_axes(t: Tradeoff) -> tuple[str, list[Point], list[str]]:
    """What to plot: against the one numeric setting that varies when only it does (a guidance sweep: every
    trade-off value), else the quality values against network evaluations per sample, a line per sampler."""
    varying = [f for f in t.fields if len({repr(s[f]) for s in t.settings.values()}) > 1]
    numeric = [f for f in varying if all(order_key(s[f])[0] == 1 for s in t.settings.values())]
    cost = [m for m in t.metrics if (v := definition(m)) is not None and v.topic == "cost"]
    if len(varying) == 1 and numeric:
        x = numeric[0]
        points = [Point(name, "", float(s[x]), t.values[name]) for name, s in t.settings.items()]
        return x, points, [m for m in t.metrics if m not in cost]
    nfe = next((m for m in cost if m.startswith("nfe")), None)
    lines = [f for f in varying if f not in numeric]
    points = [
        Point(name, " ".join(str(s[f]) for f in lines), t.values[name][nfe][0], t.values[name])
        for name, s in t.settings.items()
        if nfe in t.values[name]
    ]
    quality = [m for m in t.metrics if m not in cost and (v := definition(m)) is not None and v.topic == "quality"]
    return nfe or "", points, quality


def order_key(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order, then anything else by its text (a sampler's name)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (0, 0.0, str(value))

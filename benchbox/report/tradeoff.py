"""Sampling trade-off blocks: a model and its sampling variants (DDIM step counts, a guidance sweep) as the points
of one curve, with the sampling settings that differ between them as the first columns and, beside the quality
metrics, the cost and class accuracy that trade against them (the values the catalogue marks `tradeoff`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchbox.description import ModelRow
from benchbox.report.format import arrow_label, decimals, definition, format_value, markdown_table


def tradeoff_blocks(
    summary: pd.DataFrame, models: tuple[ModelRow, ...], task: str, budget: str, columns: list[str]
) -> list[str]:
    """One Markdown table per model with variants in the task's rows: a row per sampling setting, ordered by it.
    `columns` are the table's value names in order; the block shows those the catalogue marks as trade-off values."""
    sub = summary[summary["task"] == task]
    present = set(sub["metric"])
    metrics = [m for m in columns if m in present and (v := definition(m)) is not None and v.tradeoff]
    blocks = []
    for base in (m for m in models if budget in m.sampling):
        rows = [base] + [m for m in models if m.variant_of == base.name]
        settings = {r.name: r.sampling[budget] for r in rows if r.name in set(sub["model"])}
        if len(settings) < 2:
            continue
        fields = list(base.sampling[budget])
        lines = [["row", *fields, *(arrow_label(m) for m in metrics)]]
        for name, setting in sorted(settings.items(), key=lambda kv: tuple(order_key(kv[1][f]) for f in fields)):
            cells = sub[sub["model"] == name].set_index("metric")
            values = [
                format_value(cells.loc[m, "mean"], cells.loc[m, "std"], decimals(m)) if m in cells.index else "—"
                for m in metrics
            ]
            lines.append([name, *(f"{setting[f]}" for f in fields), *values])
        blocks.append(
            f"**Sampling trade-off of `{base.name}`** (one trained network per seed):\n\n{markdown_table(lines)}"
        )
    return blocks


def order_key(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order, then anything else by its text (a sampler's name)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (0, 0.0, str(value))

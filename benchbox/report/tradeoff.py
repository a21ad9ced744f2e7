"""Sampling trade-off blocks: a model and its sampling variants (DDIM step counts, a guidance sweep) as the points
of one curve, with the sampling settings that differ between them as the first columns and, beside the quality
metrics, the cost and class accuracy that trade against them."""

from __future__ import annotations

from typing import Any

import pandas as pd

# value name prefixes each block shows when present: quality, the diversity/fidelity pair, class accuracy, cost
COLUMNS = ("fd_", "fid", "precision_", "recall_", "class_accuracy_", "nfe_per_sample", "seconds_per_sample")


def tradeoff_blocks(
    summary: pd.DataFrame, models: list[dict[str, Any]], task: str, budget: str, metric_meta: dict[str, Any]
) -> list[str]:
    """One Markdown table per model with variants in the task's rows: a row per sampling setting, ordered by it."""
    from benchbox.report.tables import arrow_label, format_value

    sub = summary[summary["task"] == task]
    blocks = []
    for base in (m for m in models if budget in m.get("sampling", {})):
        rows = [base] + [m for m in models if m.get("variant_of") == base["name"]]
        settings = {r["name"]: r["sampling"][budget] for r in rows if r["name"] in set(sub["model"])}
        if len(settings) < 2:
            continue
        fields = list(base["sampling"][budget])
        metrics = [m for m in sub["metric"].unique() if m.startswith(COLUMNS) or m in COLUMNS]
        metrics = sorted(metrics, key=lambda m: next(i for i, p in enumerate(COLUMNS) if m.startswith(p)))
        header = ["row", *fields, *(arrow_label(m, metric_meta) for m in metrics)]
        lines = [header, ["---"] * len(header)]
        for name, setting in sorted(settings.items(), key=lambda kv: tuple(order_key(kv[1][f]) for f in fields)):
            cells = sub[sub["model"] == name].set_index("metric")
            values = [
                format_value(cells.loc[m, "mean"], cells.loc[m, "std"], metric_meta.get(m, {}).get("decimals", 3))
                if m in cells.index
                else "—"
                for m in metrics
            ]
            lines.append([name, *(f"{setting[f]}" for f in fields), *values])
        table = "\n".join("| " + " | ".join(r) + " |" for r in lines)
        blocks.append(f"**Sampling trade-off of `{base['name']}`** (one trained network per seed):\n\n{table}")
    return blocks


def order_key(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order, then anything else by its text (a sampler's name)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (0, 0.0, str(value))

"""How a recorded value reads in a table: its decimals and direction from the catalogue, mean ± spread."""

from __future__ import annotations

import math

from benchbox.catalogue import Value, lookup

DEFAULT_DECIMALS = 3  # a value the catalogue does not define (e.g. from a family that is not installed)


def definition(name: str) -> Value | None:
    found = lookup(name)
    return found[0] if found else None


def decimals(name: str) -> int:
    value = definition(name)
    return value.decimals if value else DEFAULT_DECIMALS


def format_value(mean: float, spread: float | None, places: int) -> str:
    if math.isinf(mean):
        return "∞" if mean > 0 else "−∞"
    text = f"{mean:.{places}f}"
    if spread is not None and math.isfinite(spread):
        text += f" ± {spread:.{places}f}"
    return text


def arrow_label(name: str) -> str:
    """The column header: the value's name with ↑ where higher is better, ↓ where lower is."""
    value = definition(name)
    if value is None:
        return name
    return f"{name} {'↑' if value.higher_is_better else '↓'}"


def markdown_table(rows: list[list[str]]) -> str:
    """A Markdown table from a header row and body rows (the rule under the header is added here)."""
    lines = [rows[0], ["---"] * len(rows[0]), *rows[1:]]
    return "\n".join("| " + " | ".join(r) + " |" for r in lines)

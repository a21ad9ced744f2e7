"""The Findings block of every format: each paper's claim, its source and conditions, our values with their spread,
the one-sided test, its p-value and the verdict (benchbox.findings decides them; this module only writes them)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from benchbox.findings import ALPHA, MAX_SEEDS, POWER, TESTS, Side, Verdict
from benchbox.report.format import decimals, format_value, markdown_table

COLUMNS = ("finding", "source and conditions", "ours (mean ± std, seeds)", "test", "p (one-sided)", "verdict")
RULE = (
    f"Each claim is decided on this table's records by a one-sided test over seeds at {ALPHA:.0%}: Welch's t-test "
    "between two rows (the exact Mann-Whitney U test where a seed's value is ∞), a paired t-test between two values of "
    "the same runs, Spearman's rank correlation along a sweep. "
    f"p is in the claimed direction. **reproduced**: p < {ALPHA:.0%}; **contradicted**: significant the other way "
    f"(p > {1 - ALPHA:.0%}); "
    f"**inconclusive**: neither, with the seeds per row that would decide it at the observed means and spread "
    f"({POWER:.0%} power); **not measured**: the records cannot decide it."
)


def side_text(side: Side, x: float | None = None) -> str:
    places = decimals(side.value)
    at = f" (x = {x:g})" if x is not None else ""
    spread = side.std if len(side.values) > 1 else None
    return f"{side.row}{at}: {format_value(side.mean, spread, places)} ({len(side.values)})"


def ours_text(v: Verdict) -> str:
    if not v.sides:
        return "—"
    f = v.finding
    names = list(dict.fromkeys(s.value for s in v.sides))
    if f.is_trend:
        body = "; ".join(side_text(s, s.x if f.x else None) for s in v.sides)
        return f"{names[0]}: {body}"
    if len(names) == 2:  # one row, two values
        return "; ".join(f"{s.value} {format_value(s.mean, s.std, decimals(s.value))} ({len(s.values)})"
                         for s in v.sides) + f" of {v.sides[0].row}"  # fmt: skip
    return f"{names[0]}: " + " vs ".join(side_text(s) for s in v.sides)


def test_text(v: Verdict) -> str:
    if not v.test:
        return "—"
    name = TESTS[v.test]
    if math.isnan(v.statistic):
        return name
    symbol = {"spearman": "ρ", "mann-whitney": "U", "mann-whitney-normal": "U"}.get(v.test, "t")
    stat = "∞" if math.isinf(v.statistic) else f"{v.statistic:.2f}"
    return f"{name}: {symbol} = {'−' if v.statistic < 0 else ''}{stat.lstrip('-')}"


def p_text(p: float) -> str:
    if math.isnan(p):
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def verdict_text(v: Verdict) -> str:
    text = v.verdict
    if v.verdict == "inconclusive":
        if v.seeds_needed is not None:
            many = f"more than {MAX_SEEDS:,}" if v.seeds_needed > MAX_SEEDS else f"about {v.seeds_needed}"
            text += f": {many} seeds per row would decide it"
            if against_claim(v):
                text += ", our means pointing against the claim"
        if v.reason:
            text += f" ({v.reason})"
    elif v.reason:
        text += f": {v.reason}"
    return text


def against_claim(v: Verdict) -> bool:
    """Whether the observed effect (the test statistic's sign) is opposite to the claimed direction."""
    return math.isfinite(v.statistic) and v.statistic * v.finding.sign < 0


def claim_text(v: Verdict) -> str:
    f = v.finding
    return f"{f.claim} (`{f.key}`, on {f.task})"


def finding_rows(verdicts: Sequence[Verdict], bold: Callable[[str], str] = str) -> list[list[str]]:
    """One row of COLUMNS per finding, the verdict's word passed through `bold`."""
    return [
        [
            claim_text(v),
            f"{v.finding.source}. {v.finding.conditions}",
            ours_text(v),
            test_text(v),
            p_text(v.p_value),
            bold(v.verdict) + verdict_text(v)[len(v.verdict) :],
        ]
        for v in verdicts
    ]


def findings_markdown(verdicts: Sequence[Verdict]) -> str:
    if not verdicts:
        return ""
    rows = finding_rows(verdicts, lambda word: f"**{word}**")
    return "\n\n".join(["**Findings**", RULE, markdown_table([list(COLUMNS), *rows])])


def findings_frame(verdicts: Sequence[Verdict], text: Callable[[str], str] = str) -> pd.DataFrame:
    """The block as a frame for pandas' Styler (LaTeX and HTML), every cell passed through `text`."""
    rows = [[text(cell) for cell in row] for row in finding_rows(verdicts)]
    return pd.DataFrame(rows, columns=[text(c) for c in COLUMNS])


def findings_records(verdicts: Sequence[Verdict]) -> list[dict[str, object]]:
    """The verdicts as rows for CSV and JSON: numbers unrounded, sides as row names and values."""
    out = []
    for v in verdicts:
        f = v.finding
        out.append(
            {
                "key": f.key,
                "task": f.task,
                "claim": f.claim,
                "source": f.source,
                "conditions": f.conditions,
                "compared_value": f.value + (f" vs {f.versus_value}" if f.versus_value else ""),
                "expect": f.expect,
                "rows": " | ".join(f.rows),
                "means": " | ".join(f"{s.mean!r}" for s in v.sides),
                "stds": " | ".join(f"{s.std!r}" for s in v.sides),
                "seeds_per_row": " | ".join(str(len(s.values)) for s in v.sides),
                "test": TESTS.get(v.test, ""),
                "statistic": v.statistic,
                "p_value": v.p_value,
                "verdict": v.verdict,
                "seeds_needed": v.seeds_needed,
                "reason": v.reason,
            }
        )
    return out

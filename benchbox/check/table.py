"""The check's output: one table of verdicts (task, model, value, baseline mean ± std, fresh mean, drift, allowed
drift, verdict) as aligned text or Markdown, with the warnings and the summary under it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchbox.catalogue import lookup
from benchbox.check.baseline import Baseline
from benchbox.check.compare import Verdict
from benchbox.check.tolerance import BETTER, OK, REGRESSED, SeedStats, allowed_drift

HEADER = ("task", "model", "value", "baseline mean ± std", "fresh mean", "drift", "allowed drift", "verdict")
DEFAULT_DECIMALS = 3


def decimals(name: str) -> int:
    """The decimals the report shows a value with (catalogue), or 3 for a value it does not know."""
    found = lookup(name)
    return found[0].decimals if found is not None else DEFAULT_DECIMALS


def number(x: float, places: int, sign: bool = False) -> str:
    """x with `places` decimals; exactly 0 as "0" (a drift of 0 is a bit-for-bit reproduction); a nonzero x too small
    to show so, in two significant digits; inf and nan as such."""
    if not math.isfinite(x):
        return ("+" if sign and x > 0 else "") + str(x)
    if x == 0:
        return "0"
    if abs(x) < 0.5 * 10.0**-places:
        return f"{x:+.2g}" if sign else f"{x:.2g}"
    return f"{x:+.{places}f}" if sign else f"{x:.{places}f}"


def summary(s: SeedStats | None, places: int, with_std: bool) -> str:
    """mean (± std), and how many seeds were not finite."""
    if s is None:
        return "not recorded"
    text = number(s.mean, places) if s.n_finite else "—"
    if with_std and s.n_finite:
        text += f" ± {number(s.std, places)}"
    if s.n_finite < s.n:
        text += f" ({s.n - s.n_finite}/{s.n} not finite)"
    return text


def row(v: Verdict) -> tuple[str, ...]:
    """One verdict as the table's cells; the allowed drift is signed in the worse direction."""
    places = decimals(v.value)
    j = v.judgement
    arrow = "↑" if v.higher_is_better else "↓"
    allowed = "—" if math.isnan(j.allowed) else number(-j.allowed if v.higher_is_better else j.allowed, places, True)
    drift = "—" if math.isnan(j.drift) else number(j.drift, places, True)
    verdict = f"{j.status}: {j.note}" if j.note else j.status
    return (
        v.task,
        v.model,
        f"{v.value} {arrow}",
        summary(v.base, places, True),
        summary(v.fresh, places, False),
        drift,
        allowed,
        verdict,
    )


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], fmt: str) -> str:
    """A table, `fmt` "md" (Markdown) or "text" (aligned columns)."""
    rows = [tuple(header), *(tuple(r) for r in rows)]
    if fmt == "md":
        lines = ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        lines.insert(1, "| " + " | ".join("---" for _ in header) + " |")
        return "\n".join(lines) + "\n"
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render(verdicts: Sequence[Verdict], fmt: str) -> str:
    """The verdict table."""
    return grid(HEADER, [row(v) for v in verdicts], fmt)


def baseline_table(baseline: Baseline, fmt: str) -> str:
    """A baseline's values: mean ± std over its seeds and the drift a fresh run of the same seeds is allowed."""
    rows = []
    for cell in baseline.cells:
        for value in cell.values:
            s, places = value.stats(), decimals(value.name)
            allowed = allowed_drift(baseline.tolerance, s.std, s.mean, s.n_finite, s.n_finite) if s.n_finite else 0.0
            signed = -allowed if value.higher_is_better else allowed
            arrow = "↑" if value.higher_is_better else "↓"
            shown = number(signed, places, True) if s.n_finite else "—"
            rows.append((cell.task, cell.model, f"{value.name} {arrow}", summary(s, places, True), shown))
    return grid(("task", "model", "value", "mean ± std", "allowed drift"), rows, fmt)


def counts(verdicts: Sequence[Verdict]) -> str:
    n = {s: sum(v.judgement.status == s for v in verdicts) for s in (OK, BETTER, REGRESSED)}
    return f"{len(verdicts)} values: {n[OK]} ok, {n[BETTER]} better, {n[REGRESSED]} REGRESSED"


def describe_regression(v: Verdict) -> str:
    """One regression in words, naming the model and the value."""
    j = v.judgement
    if j.note:
        return f"{v.task}/{v.model} {v.value}: {j.note}"
    places = decimals(v.value)
    allowed = -j.allowed if v.higher_is_better else j.allowed
    return (
        f"{v.task}/{v.model} {v.value}: {number(v.base.mean, places)} → {number(v.fresh.mean, places)} "  # type: ignore[union-attr]
        f"(drift {number(j.drift, places, True)}, allowed {number(allowed, places, True)})"
    )


def report(title: str, verdicts: Sequence[Verdict], notes: Sequence[str], warnings: Sequence[str], fmt: str) -> str:
    """Title, table, notes and warnings, and the verdict line."""
    bad = [v for v in verdicts if v.judgement.status == REGRESSED]
    verdict = f"REGRESSED: {'; '.join(describe_regression(v) for v in bad)}" if bad else "passed"
    if fmt == "md":
        out = [f"### benchbox check: {title}", "", render(verdicts, fmt)]
        out += [f"> **warning:** {w}" for w in warnings] + [f"> note: {n}" for n in notes]
        out += ["", f"**{counts(verdicts)}.** {'**' + verdict + '**' if bad else verdict}"]
    else:
        out = [f"benchbox check: {title}", "", render(verdicts, fmt)]
        out += [f"warning: {w}" for w in warnings] + [f"note: {n}" for n in notes]
        out += [f"{counts(verdicts)}. {verdict}"]
    return "\n".join(out) + "\n"

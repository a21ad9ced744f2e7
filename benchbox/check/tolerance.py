"""When a value measured afresh is worse than its baseline by more than seed noise explains: pure functions.

A value is summarised over the seeds of a run (`SeedStats`): the mean and sample standard deviation of its finite
values, and how many seeds gave a non-finite one. A fresh summary is judged against the baseline's (`judge`), one-sided
(only a change in the worse direction can fail):

    worse by more than  allowed = max(k · s · sqrt(1/n_base + 1/n_fresh),  rel_floor · |mean|,  abs_floor)

is REGRESSED, where mean and s are the baseline's mean and sample std over its n_base seeds. k · s · sqrt(1/n_base +
1/n_fresh) is k standard deviations of the difference of two means (each of independent seeds with spread σ ≈ s); the
floors keep a value whose seeds happened to agree (s = 0) from failing on round-off. docs/check.md gives the reasoning
and the false-alarm rate.

Non-finite values have one rule: a seed whose value is NaN, infinite in the worse direction (reverse KL = +inf), or
missing because its run diverged counts as *worse*; infinite in the better direction counts as *better*. The share of
worse seeds is judged as a value of its own by the same rule (its per-seed values are 0 or 1; a baseline without any
such seed has std 0, so one new non-finite seed fails; a baseline with some tolerates a change within its spread), and
so is the share of better seeds; then the finite values' means are compared as above. Equal infinities pass.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

OK, BETTER, REGRESSED = "ok", "better", "REGRESSED"


@dataclass(frozen=True)
class Tolerance:
    """The constants of the rule, stated in every baseline file (docs/check.md justifies the defaults)."""

    k: float = 3.0  # standard deviations of the difference of the two means
    rel_floor: float = 0.01  # a drift within 1% of the baseline mean never fails
    abs_floor: float = 1e-6  # nor one within this, for values near 0 whose seeds agreed


@dataclass(frozen=True)
class SeedStats:
    """One value over the seeds of a run: its finite values' mean and sample std, and its non-finite seeds."""

    n: int  # seeds
    n_finite: int  # seeds with a finite value
    mean: float  # mean of the finite values (NaN when there are none)
    std: float  # sample standard deviation (ddof 1) of the finite values; 0 with fewer than two
    worse: int  # seeds whose value is NaN, missing (a diverged run) or infinite in the worse direction
    better: int  # seeds whose value is infinite in the better direction


@dataclass(frozen=True)
class Judgement:
    """The verdict on one value, with the numbers behind it."""

    status: str  # OK, BETTER or REGRESSED
    drift: float  # fresh mean − baseline mean of the finite values; NaN where the non-finite counts decided
    allowed: float  # the drift allowed in the worse direction (≥ 0); NaN where the non-finite counts decided
    note: str = ""  # why, where the means were not what decided


def seed_stats(values: Sequence[float], higher_is_better: bool) -> SeedStats:
    """The summary of one value's per-seed results (NaN for a seed whose run gave none)."""
    finite = [float(v) for v in values if math.isfinite(v)]
    bad_infinity = -math.inf if higher_is_better else math.inf
    worse = sum(1 for v in values if math.isnan(v) or v == bad_infinity)
    mean = statistics.mean(finite) if finite else math.nan  # exact sums: equal values give std 0, not round-off
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return SeedStats(len(values), len(finite), mean, std, worse, len(values) - len(finite) - worse)


def allowed_drift(tolerance: Tolerance, std: float, mean: float, n_base: int, n_fresh: int) -> float:
    """max(k · std · sqrt(1/n_base + 1/n_fresh), rel_floor · |mean|, abs_floor): how much worse than the baseline mean
    a fresh mean of n_fresh seeds may be. `std` is the baseline's sample std over its n_base seeds."""
    noise = tolerance.k * std * math.sqrt(1 / n_base + 1 / n_fresh) if n_base > 0 and n_fresh > 0 else 0.0
    return max(noise, tolerance.rel_floor * abs(mean) if math.isfinite(mean) else 0.0, tolerance.abs_floor)


def share_std(count: int, n: int) -> float:
    """The sample std (ddof 1) of n indicators of which `count` are 1: sqrt(count·(n − count) / (n·(n − 1)))."""
    return math.sqrt(count * (n - count) / (n * (n - 1))) if n > 1 else 0.0


def compare_means(
    base_mean: float, base_std: float, n_base: int, fresh_mean: float, n_fresh: int, higher: bool, tolerance: Tolerance
) -> tuple[str, float, float]:
    """(status, drift, allowed) of a fresh mean against the baseline's: REGRESSED when worse by more than the allowed
    drift, BETTER when improved by more than it, OK otherwise."""
    drift = fresh_mean - base_mean
    allowed = allowed_drift(tolerance, base_std, base_mean, n_base, n_fresh)
    worse_by = -drift if higher else drift
    status = REGRESSED if worse_by > allowed else BETTER if -worse_by > allowed else OK
    return status, drift, allowed


def judge(base: SeedStats, fresh: SeedStats | None, higher_is_better: bool, tolerance: Tolerance) -> Judgement:
    """The one-sided verdict on a fresh summary against the baseline's (None: the fresh runs did not record it).

    The share of seeds whose value is non-finite the worse way (and the better way) is judged by the same rule as a
    value, one seed being 1/n of it; then the means of the finite values. REGRESSED if either part regressed, else
    `better` if either improved by more than its allowed drift (beyond seed noise: time to update the baseline)."""
    nan = math.nan
    if fresh is None:
        return Judgement(REGRESSED, nan, nan, "not recorded by the fresh runs")
    statuses, notes = [], []
    for count, higher in (("worse", False), ("better", True)):
        b, f = getattr(base, count), getattr(fresh, count)
        if b * fresh.n != f * base.n:
            status, _, _ = compare_means(
                b / base.n, share_std(b, base.n), base.n, f / fresh.n, fresh.n, higher, tolerance
            )
            statuses.append(status)
            what = "NaN, missing or infinite the worse way" if count == "worse" else "infinite the better way"
            notes.append(f"{what} in {f} of {fresh.n} seeds (baseline {b} of {base.n})")
    drift = allowed = nan
    if base.n_finite and fresh.n_finite:
        status, drift, allowed = compare_means(
            base.mean, base.std, base.n_finite, fresh.mean, fresh.n_finite, higher_is_better, tolerance
        )
        statuses.append(status)
    elif not notes:
        notes.append("equal non-finite values on every seed")
    final = REGRESSED if REGRESSED in statuses else BETTER if BETTER in statuses else OK
    return Judgement(final, drift, allowed, "; ".join(notes))

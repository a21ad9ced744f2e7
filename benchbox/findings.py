"""Findings: what a suite's papers found, as claims that the stored records decide with a one-sided test over seeds.

A finding (benchbox.description.Finding) compares one value across table rows of one task:
- "higher" / "lower": rows[0]'s value against rows[1]'s. Two rows are tested by Welch's t-test (unequal variances,
  one-sided); one row against itself on two values (`versus_value`, e.g. the IWAE bound against the ELBO) by the
  paired t-test over its seeds, since both values come from the same runs.
- "rises" / "falls": the value along rows, which are a sweep in order (e.g. guidance scales `x`). Tested by Spearman's
  rank correlation between the sweep position and every seed's value, one-sided.

The verdict at α = 5%: **reproduced** when the test rejects "no effect" in the claimed direction, **contradicted**
when the same test, turned around, rejects it in the other direction, **inconclusive** otherwise, with the seeds per
row that would decide it at the observed means and spread (80% power), and **not measured** when the records lack a
row, hold a row under two protocols, or hold a NaN. A seed's ±∞ (a reverse KL with no sample near a mode) has a rank
but no mean: two rows holding one are compared by the exact Mann-Whitney U test instead of Welch's (by its normal
approximation beyond 100 × 100 seeds, where the exact distribution costs minutes). A permutation test is not used:
with three seeds per row its smallest one-sided p-value is 1/20 = 0.05, so it could never decide at 5%.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from benchbox.catalogue import lookup
from benchbox.description import Finding
from benchbox.store import ResultRecord

ALPHA = 0.05
POWER = 0.8  # the power at which "seeds needed" is computed
MAX_SEEDS = 1000  # seeds_needed beyond this is reported as "more than 1,000"
VERDICTS = ("reproduced", "contradicted", "inconclusive", "not measured")
TESTS = {
    "welch": "Welch's t-test, one-sided",
    "paired": "paired t-test over seeds, one-sided",
    "spearman": "Spearman's rank correlation, one-sided",
    "mann-whitney": "Mann-Whitney U test (exact), one-sided",
    "mann-whitney-normal": "Mann-Whitney U test (normal approximation, tie-corrected), one-sided",
}
EXACT_U_PAIRS = 10_000  # seeds a row × seeds b row up to which U's exact distribution is computed: its cost grows as
# (n_a·n_b)², 0.02 s at 100 seeds a row, 30 s at 250 (benchmarks/perf/load.py); beyond, the normal approximation


@dataclass(frozen=True)
class Observation:
    """One seed's value of one row, as a finding reads it: a check's fresh value (a store's ResultRecord has these
    fields too, and is read the same way)."""

    task: str
    model: str
    metric: str
    seed: int
    value: float
    protocol_hash: str


Recorded = Observation | ResultRecord


@dataclass(frozen=True)
class Side:
    """What the records hold for one row of a finding: the value's recorded name and every seed's value."""

    row: str
    value: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    x: float = math.nan  # the row's position in a sweep (trends only)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else math.nan


@dataclass(frozen=True)
class Verdict:
    """A finding decided on the records: the sides, the test, its one-sided p-value in the claimed direction."""

    finding: Finding
    verdict: str  # one of VERDICTS
    sides: tuple[Side, ...]
    test: str = ""  # a key of TESTS ("" when not measured)
    statistic: float = math.nan  # t, or Spearman's ρ
    p_value: float = math.nan  # one-sided, in the claimed direction
    seeds_needed: int | None = None  # per row, to decide an inconclusive finding at the observed effect
    reason: str = ""  # why not measured, or what limits an inconclusive verdict


def evaluate(findings: tuple[Finding, ...], records: Sequence[Recorded]) -> list[Verdict]:
    """Each finding decided on `records` (one suite version and budget)."""
    return [decide(f, records) for f in findings]


def decide(finding: Finding, records: Sequence[Recorded]) -> Verdict:
    sides, problem = gather(finding, records)
    if problem:
        return Verdict(finding, "not measured", sides, reason=problem)
    if finding.is_trend:
        return _trend(finding, sides)
    if sides[0].row == sides[1].row:
        return _paired(finding, sides)
    return _welch(finding, sides)


def gather(finding: Finding, records: Sequence[Recorded]) -> tuple[tuple[Side, ...], str]:
    """The finding's sides from the records of its task, or a reason they cannot be compared."""
    on_task = [r for r in records if r.task == finding.task]
    values = [finding.value] * len(finding.rows)
    if finding.versus_value:
        values[1] = finding.versus_value
    trend = finding.is_trend
    xs = finding.x or tuple(float(i) for i in range(len(finding.rows)))
    sides = []
    for row, wanted, x in zip(finding.rows, values, xs, strict=True):
        mine = [r for r in on_task if r.model == row]
        name = recorded_name(wanted, sorted({r.metric for r in mine}))
        if name is None and trend:
            continue  # a sweep point this budget does not score: the trend runs over the others
        if name is None:
            return tuple(sides), f"no record of {wanted} for {row} on {finding.task}"
        mine = sorted((r for r in mine if r.metric == name), key=lambda r: r.seed)
        if len({r.protocol_hash for r in mine}) > 1:
            return tuple(sides), f"{row} holds records of two protocols (its config or budget changed): rerun it"
        bad = [r.seed for r in mine if math.isnan(r.value)]
        if bad:
            return tuple(sides), f"{row}'s {name} is NaN for seed {', '.join(map(str, bad))}"
        sides.append(Side(row, name, tuple(r.seed for r in mine), tuple(float(r.value) for r in mine), x))
    if trend and len(sides) < 3:
        return tuple(sides), f"{len(sides)} of the sweep's rows hold {finding.value} on {finding.task}; a trend needs 3"
    return tuple(sides), ""


def recorded_name(wanted: str, recorded: list[str]) -> str | None:
    """The recorded value a finding means: the exact name, else the one value of that catalogue base (`fd` finds
    `fd_digits`; the suite's own space before canonical Inception when both are recorded)."""
    if wanted in recorded:
        return wanted
    matches = [n for n in recorded if (found := lookup(n)) is not None and found[0].base == wanted]
    matches.sort(key=lambda n: lookup(n)[1] == "")  # type: ignore[index]  (a feature space's name first)
    return matches[0] if matches else None


def _verdict(finding: Finding, sides: tuple[Side, ...], test: str, statistic: float, p_claim: float,
             needed: int | None, reason: str = "") -> Verdict:  # fmt: skip
    if p_claim < ALPHA:
        return Verdict(finding, "reproduced", sides, test, statistic, p_claim)
    if 1.0 - p_claim < ALPHA:
        return Verdict(finding, "contradicted", sides, test, statistic, p_claim)
    return Verdict(finding, "inconclusive", sides, test, statistic, p_claim, needed, reason)


def _welch(finding: Finding, sides: tuple[Side, ...]) -> Verdict:
    a, b = sides
    if not all(math.isfinite(v) for s in sides for v in s.values):
        return _ranks(finding, sides)
    if len(a.values) < 2 or len(b.values) < 2:
        return Verdict(finding, "inconclusive", sides, "welch", reason="one seed on a side: no spread to test against")
    sign = finding.sign
    diff = a.mean - b.mean
    if a.std == 0 and b.std == 0:  # no noise on either side: the means decide (as the tables' marks do)
        p = 0.0 if sign * diff > 0 else (1.0 if diff else 0.5)
        return _verdict(finding, sides, "welch", math.copysign(math.inf, diff) if diff else 0.0, p, None,
                        "" if diff else "every seed gave the same value on both sides")  # fmt: skip
    with warnings.catch_warnings():  # a deterministic row (bicubic) has identical seeds, which scipy warns of;
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)  # Welch's t rests on the other's spread
        t = stats.ttest_ind(a.values, b.values, equal_var=False, alternative="greater" if sign > 0 else "less")
    needed = welch_seeds_needed(diff, a.std, b.std)
    return _verdict(finding, sides, "welch", float(t.statistic), float(t.pvalue), needed)


def _paired(finding: Finding, sides: tuple[Side, ...]) -> Verdict:
    a, b = sides
    if a.seeds != b.seeds:
        return Verdict(finding, "not measured", sides, reason="the two values come from different seeds")
    if not all(math.isfinite(v) for s in sides for v in s.values):
        return Verdict(finding, "not measured", sides, reason="a seed's value is infinite: no difference to test")
    d = np.asarray(a.values) - np.asarray(b.values)
    if len(d) < 2:
        return Verdict(finding, "inconclusive", sides, "paired", reason="one seed: no spread to test against")
    sign = finding.sign
    sd = float(d.std(ddof=1))
    if sd == 0:
        mean = float(d.mean())
        p = 0.0 if sign * mean > 0 else (1.0 if mean else 0.5)
        return _verdict(finding, sides, "paired", math.copysign(math.inf, mean) if mean else 0.0, p, None)
    t = stats.ttest_1samp(d, 0.0, alternative="greater" if sign > 0 else "less")
    return _verdict(finding, sides, "paired", float(t.statistic), float(t.pvalue), paired_seeds_needed(d.mean(), sd))


def _ranks(finding: Finding, sides: tuple[Side, ...]) -> Verdict:
    """Two rows where a seed's value is ±∞ (e.g. a reverse KL with no sample near a mode): ∞ has a rank but no mean,
    so the exact Mann-Whitney U test decides, one-sided (its normal approximation beyond EXACT_U_PAIRS)."""
    a, b = sides
    sign = finding.sign
    exact = len(a.values) * len(b.values) <= EXACT_U_PAIRS
    method = "exact" if exact else "asymptotic"
    u = stats.mannwhitneyu(a.values, b.values, alternative="greater" if sign > 0 else "less", method=method)
    smallest = 1 / math.comb(len(a.values) + len(b.values), len(a.values))
    reason = ""
    if smallest >= ALPHA:
        reason = (f"a seed's value is infinite, so only ranks decide; with {len(a.values)} and {len(b.values)} seeds "
                  f"the smallest one-sided p they can give is {smallest:.3f}: 4 seeds per row are needed")  # fmt: skip
    test = "mann-whitney" if exact else "mann-whitney-normal"
    return _verdict(finding, sides, test, float(u.statistic), float(u.pvalue), None, reason)


def _trend(finding: Finding, sides: tuple[Side, ...]) -> Verdict:
    xs = [s.x for s in sides for _ in s.values]
    ys = [v for s in sides for v in s.values]
    if len(set(xs)) < 3 or len(ys) < 4:
        return Verdict(finding, "inconclusive", sides, "spearman", reason="a trend needs 3 sweep points or more")
    if len(set(ys)) == 1:
        return Verdict(finding, "inconclusive", sides, "spearman", reason="every value is the same")
    sign = finding.sign
    rho = stats.spearmanr(xs, ys, alternative="greater" if sign > 0 else "less")
    needed = spearman_points_needed(float(rho.statistic))
    seeds = None if needed is None else min(MAX_SEEDS + 1, math.ceil(needed / len(sides)))
    return _verdict(finding, sides, "spearman", float(rho.statistic), float(rho.pvalue), seeds)


def welch_seeds_needed(diff: float, s1: float, s2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per row at which Welch's one-sided test detects a difference `diff` with stds s1, s2 at `power`: the
    smallest n with P(T > t_(1−α, ν)) ≥ power for T noncentral t (ν by Welch-Satterthwaite at n each). None when
    there is no difference to detect; MAX_SEEDS + 1 when more than MAX_SEEDS would be needed."""
    if diff == 0 or not math.isfinite(diff) or not (math.isfinite(s1) and math.isfinite(s2)):
        return None
    var = s1 * s1 + s2 * s2
    for n in range(2, MAX_SEEDS + 1):
        se2 = var / n
        nu = se2 * se2 / ((s1**4 + s2**4) / (n * n * (n - 1))) if var > 0 else 2 * n - 2
        if stats.nct.sf(stats.t.ppf(1 - alpha, nu), nu, abs(diff) / math.sqrt(se2)) >= power:
            return n
    return MAX_SEEDS + 1


def paired_seeds_needed(mean: float, sd: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds at which the one-sided paired t-test detects a mean difference `mean` with differences' std `sd`."""
    if mean == 0 or not (math.isfinite(mean) and math.isfinite(sd)) or sd == 0:
        return None
    for n in range(2, MAX_SEEDS + 1):
        nu = n - 1
        if stats.nct.sf(stats.t.ppf(1 - alpha, nu), nu, abs(mean) * math.sqrt(n) / sd) >= power:
            return n
    return MAX_SEEDS + 1


def spearman_points_needed(rho: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Points at which a rank correlation of size |rho| is detected one-sided, by Fisher's z with the variance
    1.06/(n − 3) of Spearman's ρ (Fieller, Hartley and Pearson 1957)."""
    if rho == 0 or not math.isfinite(rho) or abs(rho) >= 1:
        return None
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return math.ceil(3 + 1.06 * (z / math.atanh(abs(rho))) ** 2)

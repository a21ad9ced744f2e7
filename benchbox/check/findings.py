"""The findings a baseline requires: those its runs reproduced when it was written. A fresh run that turns one into
"contradicted" fails the check; one that no longer decides it (inconclusive, not measured) is noted, not failed, since
a smoke budget's few seeds often cannot decide what a longer budget does."""

from __future__ import annotations

from collections.abc import Sequence

from benchbox.check.collect import RowResults
from benchbox.findings import Observation, Verdict, evaluate
from benchbox.suite import Suite


def observations(results: Sequence[RowResults]) -> list[Observation]:
    """Every finite or infinite per-seed value the rows hold (a diverged seed's NaN included, which a finding refuses
    to decide on)."""
    return [
        Observation(r.row.task, r.row.model, name, seed, value, r.row.protocol_hash)
        for r in results
        for name, per_seed in r.values.items()
        for seed, value in per_seed.items()
        if seed in r.seeds
    ]


def decided(suite: Suite, results: Sequence[RowResults]) -> list[Verdict]:
    """The suite's findings on these rows; a finding is left out when a row it compares was not run (a trend: when
    fewer than 3 of its sweep's rows were)."""
    run = [f for f in suite.findings if f.decidable({r.row.model for r in results if r.row.task == f.task})]
    return evaluate(tuple(run), observations(results))


def held(verdicts: Sequence[Verdict]) -> tuple[str, ...]:
    """The keys of the findings reproduced: what a new baseline requires."""
    return tuple(v.finding.key for v in verdicts if v.verdict == "reproduced")


def lost(required: Sequence[str], verdicts: Sequence[Verdict]) -> tuple[list[Verdict], list[str]]:
    """(the required findings now contradicted, notes on those now undecided or not run)."""
    by_key = {v.finding.key: v for v in verdicts}
    contradicted = [by_key[k] for k in required if k in by_key and by_key[k].verdict == "contradicted"]
    notes = [
        f"finding '{k}' required by the baseline is {by_key[k].verdict} now (not a failure: only 'contradicted' is)"
        for k in required
        if k in by_key and by_key[k].verdict in ("inconclusive", "not measured")
    ]
    notes += [f"finding '{k}' required by the baseline was not run (its rows were left out)" for k in required
              if k not in by_key]  # fmt: skip
    return contradicted, notes


def describe(v: Verdict) -> str:
    """A contradicted finding in one line: the claim, the means and the p-value."""
    means = " vs ".join(f"{s.row} {s.value} {s.mean:.4g}" for s in v.sides)
    return f"finding '{v.finding.key}' ({v.finding.claim}) is contradicted: {means}, p = {v.p_value:.3g}"

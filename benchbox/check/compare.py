"""A baseline against fresh results: what is refused before anything is compared (another suite version, budget,
protocol, data or feature-extractor weights: exit 2), what is only warned of (another torch, CUDA or device), and the
verdict on every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchbox.check.baseline import FIX, Baseline, BaselineCell
from benchbox.check.collect import EXCLUDED, Row, RowResults
from benchbox.check.tolerance import REGRESSED, Judgement, SeedStats, judge, seed_stats
from benchbox.errors import BenchboxError
from benchbox.suite import Suite

UPDATE = "if the change is intended, " + FIX.replace("regenerate it", "regenerate the baseline")
SHOWN = 3  # mismatches named in one error line


@dataclass(frozen=True)
class Verdict:
    """One value of one cell: the baseline's and the fresh summary over seeds, and the judgement."""

    task: str
    model: str
    value: str
    higher_is_better: bool
    base: SeedStats
    fresh: SeedStats | None
    judgement: Judgement

    @property
    def label(self) -> str:
        return f"{self.task}/{self.model} {self.value}"


def check_suite(baseline: Baseline, suite: Suite, budget: str | None) -> None:
    """Refuse a baseline of another suite, suite version or budget."""
    if baseline.suite != suite.name:
        raise BenchboxError(f"the baseline is of suite '{baseline.suite}', not '{suite.name}'", "pass its own --suite")
    if baseline.suite_version != suite.version:
        raise BenchboxError(
            f"the baseline was written under suite '{suite.name}' version {baseline.suite_version}, and the suite is "
            f"now version {suite.version}",
            f"regenerate the baseline for version {suite.version} with --update-baseline",
        )
    if budget is not None and budget != baseline.budget:
        raise BenchboxError(
            f"the baseline was written for budget '{baseline.budget}', not '{budget}'",
            f"pass --budget {baseline.budget}, or drop --budget",
        )


def check_protocol(cells: Sequence[BaselineCell], rows: dict[str, Row], data_hashes: dict[str, str]) -> None:
    """Refuse cells whose row no longer exists, whose protocol hash (model config, budget, evaluation) or whose
    task's data hash differs from the baseline's. `data_hashes` are the tasks' hashes now."""
    gone = [c.label for c in cells if c.label not in rows]
    if gone:
        raise BenchboxError(f"the baseline's rows {_names(gone)} are not rows of the suite any more", UPDATE)
    data = [
        f"{c.label} (data hash {data_hashes[c.task][:12]} here, {c.data_hash[:12]} in the baseline)"
        for c in cells
        if data_hashes[c.task] != c.data_hash
    ]
    if data:
        raise BenchboxError(f"the data differs from the baseline's: {_names(data)}", UPDATE)
    protocol = [
        f"{c.label} (protocol hash {rows[c.label].protocol_hash} here, {c.protocol_hash} in the baseline)"
        for c in cells
        if rows[c.label].protocol_hash != c.protocol_hash
    ]
    if protocol:
        raise BenchboxError(
            f"the protocol (model config, budget or evaluation) differs from the baseline's: {_names(protocol)}",
            "bump the suite's version when its protocol changes; " + UPDATE,
        )


def check_extractors(cells: Sequence[BaselineCell], results: dict[str, RowResults]) -> None:
    """Refuse values measured with other feature-extractor weights than the baseline's (e.g. a domain classifier
    trained under another torch build)."""
    differ = [
        f"{c.label} (weights {_short(results[c.label].extractor_weights)} here, "
        f"{_short(c.extractor_weights)} in the baseline)"
        for c in cells
        if results[c.label].extractor_weights and results[c.label].extractor_weights != set(c.extractor_weights)
    ]
    if differ:
        raise BenchboxError(
            f"the feature extractor's weights differ from the baseline's: {_names(differ)}",
            "values in another feature space are not comparable; regenerate the baseline where it is checked, with "
            "--update-baseline",
        )


def environment_warnings(baseline: Baseline, results: Sequence[RowResults]) -> list[str]:
    """A different torch, CUDA, device or machine moves numbers within seed noise at most: warned of, never refused
    (a baseline written before machines were recorded names none, and is not warned about)."""
    env = baseline.environment
    here = sorted({e for r in results for e in r.environments})
    warnings = []
    for what, i, recorded in (
        ("torch", 0, env.torch_version),
        ("CUDA", 1, env.cuda_version),
        ("device", 2, env.device),
        ("machine", 3, env.machine),
    ):
        seen = sorted({e[i] for e in here} - {recorded})
        if seen and (recorded or what != "machine"):
            warnings.append(
                f"{what} {', '.join(x or 'none' for x in seen)} here, {recorded or 'none'} in the baseline: numbers may "
                "move; the tolerance covers seed noise, so a failure may be the environment's"
            )
    return warnings


def reuse_warning(reused: Sequence[RowResults], commit: str) -> list[str]:
    """Rows read from a store, not measured now: they check the code that wrote them."""
    if not reused:
        return []
    commits = sorted({c for r in reused for c in r.git_commits})
    other = [c for c in commits if c != commit]
    written = f", written by {', '.join(c[:12] for c in other)} (this checkout: {commit[:12]})" if other else ""
    return [f"{len(reused)} rows were read from --store, not measured now{written}"]


def compare(cells: Sequence[BaselineCell], results: dict[str, RowResults], baseline: Baseline) -> list[Verdict]:
    """The verdict on every value of every cell, in the baseline's order."""
    verdicts = []
    for cell in cells:
        got = results[cell.label]
        for value in cell.values:
            if value.name in EXCLUDED:
                continue
            fresh_values = got.per_seed(value.name)
            fresh = None if fresh_values is None else seed_stats(fresh_values, value.higher_is_better)
            base = value.stats()
            j = judge(base, fresh, value.higher_is_better, baseline.tolerance)
            verdicts.append(Verdict(cell.task, cell.model, value.name, value.higher_is_better, base, fresh, j))
    return verdicts


def new_values(cells: Sequence[BaselineCell], results: dict[str, RowResults]) -> list[str]:
    """Values the fresh runs recorded that the baseline does not hold (not checked)."""
    out = []
    for cell in cells:
        known = {v.name for v in cell.values}
        out += [f"{cell.label} {name}" for name in results[cell.label].names() if name not in known]
    return out


def regressions(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.judgement.status == REGRESSED]


def _short(hashes: set[str] | tuple[str, ...]) -> str:
    return ", ".join(h[:12] for h in sorted(hashes)) or "none"


def _names(items: Sequence[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more

"""`benchbox check --update-baseline`: run every model of a suite over at least three seeds and write the baseline."""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import benchbox
from benchbox.catalogue import lookup
from benchbox.check.baseline import (
    MIN_SEEDS,
    Baseline,
    BaselineCell,
    BaselineValue,
    RecordedEnvironment,
    read_baseline,
    write_baseline,
)
from benchbox.check.collect import (
    EXCLUDED,
    RowResults,
    RunFailed,
    cells_to_run,
    open_store,
    read_rows,
    run_cells,
    table_rows,
)
from benchbox.check.findings import decided, held
from benchbox.check.table import baseline_table
from benchbox.check.tolerance import Tolerance
from benchbox.device import resolve_device
from benchbox.errors import BenchboxError
from benchbox.runner import resolve_models
from benchbox.suites import load_suite

log = logging.getLogger(__name__)
DEFAULT_BUDGET = "smoke"  # the budget a CI gate can afford, when neither --budget nor an existing file says


def update_baseline(args: argparse.Namespace) -> str:
    """Run the suite's models (or --models) over the seeds, write the baseline atomically and return its table."""
    suite = load_suite(args.suite)
    old = previous(args.baseline, suite.name)
    budget = suite.budget(args.budget or (old.budget if old else DEFAULT_BUDGET))
    seeds = tuple(dict.fromkeys(args.seeds or (old.seeds if old else budget.seeds)))
    if len(seeds) < MIN_SEEDS:
        raise BenchboxError(
            f"a baseline needs {MIN_SEEDS} seeds or more to measure the spread over seeds, got {list(seeds)}",
            "pass --seeds 0,1,2 (or more)",
        )
    tolerance = tolerance_of(args.k, args.rel_floor, args.abs_floor)
    entries = resolve_models(suite, args.models)
    rows = table_rows(suite, entries, budget)
    device = resolve_device(args.device)
    with open_store(args.store) as store:
        before = read_rows(store, suite, budget.name, rows, seeds)
        try:
            run_cells(suite, args.suite, store, device, cells_to_run(suite, budget, before), args.jobs)
        except RunFailed as exc:
            raise BenchboxError(
                f"cannot write the baseline: {exc}", "fix the model, or leave it out with --models"
            ) from exc
        results = read_rows(store, suite, budget.name, rows, seeds)
    data = {t.name: t.data_hash() for t in suite.tasks}
    order = suite.values()
    cells = tuple(baseline_cell(r, data[r.row.task], order) for r in results)
    for cell in cells:
        if cell.diverged:
            log.warning("%s diverged on seeds %s: their values count as NaN", cell.label, list(cell.diverged))
    findings = held(decided(suite, results))
    env = recorded_environment(results)
    baseline = Baseline(suite.name, suite.version, budget.name, seeds, tolerance, env, dict(EXCLUDED), cells, findings)
    write_baseline(args.baseline, baseline)
    values = sum(len(c.values) for c in cells)
    title = f"wrote {args.baseline}: {suite.name} v{suite.version}, budget {budget.name}, seeds {list(seeds)}"
    kept = f"; findings reproduced, now required: {', '.join(findings)}" if findings else ""
    return f"{title}; {len(cells)} rows, {values} values{kept}\n\n{baseline_table(baseline, args.format)}"


def previous(path: Path, suite: str) -> Baseline | None:
    """The baseline already at `path` for this suite (its seeds and budget are the defaults), if it is readable."""
    if not path.is_file():
        return None
    try:
        old = read_baseline(path)
    except BenchboxError as exc:
        log.warning("replacing %s, which is not a readable baseline (%s)", path, exc)
        return None
    return old if old.suite == suite else None


def tolerance_of(k: float, rel_floor: float, abs_floor: float) -> Tolerance:
    if not all(math.isfinite(x) and x >= 0 for x in (k, rel_floor, abs_floor)):
        raise BenchboxError(
            f"--k {k}, --rel-floor {rel_floor}, --abs-floor {abs_floor}: each must be a finite number >= 0",
            "pass e.g. --k 3 --rel-floor 0.01 --abs-floor 1e-6 (the defaults)",
        )
    return Tolerance(k, rel_floor, abs_floor)


def baseline_cell(results: RowResults, data_hash: str, order: Sequence[str]) -> BaselineCell:
    """One row's values over the seeds, in the suite's column order."""
    rank = {name: i for i, name in enumerate(order)}
    names = sorted(results.names(), key=lambda n: (rank.get(n, len(rank)), n))
    values = []
    for name in names:
        found = lookup(name)
        if found is None:
            raise BenchboxError(
                f"value '{name}' of {results.row.label} is not in the catalogue, so its direction is unknown",
                "import the plugin that registers it with `benchbox --plugins MODULE check ...`",
            )
        values.append(BaselineValue(name, found[0].higher_is_better, results.per_seed(name) or ()))
    row = results.row
    extractors = tuple(sorted(results.extractor_weights))
    return BaselineCell(row.task, row.model, row.protocol_hash, data_hash, extractors, results.diverged, tuple(values))


def recorded_environment(results: Sequence[RowResults]) -> RecordedEnvironment:
    """The one environment the runs were measured in; runs from several (a reused store) are refused."""
    envs = sorted({e for r in results for e in r.environments})
    if len(envs) > 1:
        raise BenchboxError(
            f"the runs were measured in {len(envs)} environments ({'; '.join(' / '.join(e) for e in envs)})",
            "write a baseline from one environment: drop --store, or pass a fresh one",
        )
    torch_version, cuda_version, device, machine = envs[0] if envs else ("", "", "", "")
    commits = sorted({c for r in results for c in r.git_commits})
    return RecordedEnvironment(
        torch_version=torch_version,
        cuda_version=cuda_version,
        device=device,
        benchbox_version=benchbox.__version__,
        git_commit=", ".join(commits),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=machine,
    )

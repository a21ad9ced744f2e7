"""`benchbox check`: fresh runs of a suite against a committed baseline, a regression gate for CI (exit 1 when a value
got worse than seed noise explains); `--update-baseline` writes the baseline; `--engine` runs the engine canary.

Exit codes: 0 nothing regressed, 1 a regression (named on stderr), 2 bad input (one line, as every command).
docs/check.md explains the tolerance and the files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import benchbox.builtins  # noqa: F401  (the suites, model kinds and metric families a check runs)
from benchbox.check.baseline import MIN_SEEDS, Baseline, BaselineCell, read_baseline
from benchbox.check.collect import (
    EXCLUDED,
    Row,
    RowResults,
    RunFailed,
    cells_to_run,
    open_store,
    read_rows,
    run_cells,
    table_rows,
)
from benchbox.check.compare import (
    check_extractors,
    check_protocol,
    check_suite,
    compare,
    environment_warnings,
    new_values,
    regressions,
    reuse_warning,
)
from benchbox.check.findings import decided, describe, lost
from benchbox.check.golden import engine_check
from benchbox.check.table import describe_regression, report
from benchbox.check.update import update_baseline
from benchbox.data import set_data_dir
from benchbox.device import resolve_device
from benchbox.errors import BenchboxError
from benchbox.provenance import git_commit
from benchbox.runner import resolve_models
from benchbox.suite import ModelEntry, Suite
from benchbox.suites import load_suite


def _list(kind: type) -> type:
    def parse(text: str) -> list:
        try:
            items = [kind(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of {kind.__name__}s") from exc
        if not items or (kind is int and min(items) < 0):
            raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of non-negative integers")
        return items

    return parse  # type: ignore[return-value]


def add_check_parser(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser(
        "check",
        help="compare fresh runs of a suite with a baseline (a CI regression gate), or run the engine canary",
        description="Run a suite's models over the baseline's seeds and compare every value with the baseline: exit 1 "
        "when one is worse than seed noise explains, 2 on bad input (another suite version, protocol, data or "
        "extractor weights). --update-baseline writes the baseline; --engine checks the metric engine on fixed "
        "inputs against golden values. See docs/check.md.",
    )
    check.add_argument("--suite", help="a suite name or a path to a suite .py file")
    check.add_argument("--baseline", type=Path, metavar="FILE", help="the baseline JSON file")
    check.add_argument(
        "--budget",
        choices=["smoke", "short", "full"],
        help="the baseline's budget (default: the baseline's; with --update-baseline, the file's, else smoke)",
    )
    check.add_argument("--models", type=_list(str), help="comma-separated rows to check (default: all the baseline's)")
    check.add_argument(
        "--store",
        type=Path,
        help="run into (and reuse complete runs of) this store (default: a temporary store, removed afterwards)",
    )
    check.add_argument("--format", default="text", choices=["text", "md"], help="the table as text or Markdown")
    check.add_argument("--jobs", type=int, help="runs side by side (default: one per CPU core on the CPU, 1 on a GPU)")
    check.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: cuda if available")
    check.add_argument("--data-dir", type=Path, help="folder holding the suite's dataset files")
    update = check.add_argument_group("writing the baseline")
    update.add_argument("--update-baseline", action="store_true", help="run every model over --seeds and write FILE")
    update.add_argument("--seeds", type=_list(int), help=f"at least {MIN_SEEDS} seeds (default: the file's)")
    update.add_argument("--k", type=float, default=3.0, help="standard deviations of noise allowed (default 3)")
    update.add_argument("--rel-floor", type=float, default=0.01, help="relative drift always allowed (default 0.01)")
    update.add_argument("--abs-floor", type=float, default=1e-6, help="absolute drift always allowed (default 1e-6)")
    engine = check.add_argument_group("the engine canary")
    engine.add_argument("--engine", action="store_true", help="score fixed inputs and compare with golden values")
    engine.add_argument(
        "--golden",
        type=Path,
        metavar="FILE",
        help="golden values (default: reports/baselines/engine.json of the checkout)",
    )
    engine.add_argument("--update-golden", action="store_true", help="write the golden values instead of comparing")


def cmd_check(args: argparse.Namespace) -> int:
    """`benchbox check`: 0 when nothing regressed (or moved, with --engine), 1 when something did."""
    if args.engine:
        if args.suite or args.baseline or args.update_baseline:
            raise BenchboxError("--engine checks the engine alone", "drop --suite, --baseline and --update-baseline")
        text, code, error = engine_check(args.golden, args.update_golden, args.format)
        print(text, end="")
        if error:
            print(error, file=sys.stderr)
        return code
    if args.update_golden or args.golden:
        raise BenchboxError("--golden and --update-golden go with --engine", "add --engine")
    if not args.suite or not args.baseline:
        raise BenchboxError("a check needs --suite and --baseline", "pass both, or --engine for the engine canary")
    if args.jobs is not None and args.jobs < 1:  # refused before --store is opened (and so made)
        raise BenchboxError(f"--jobs {args.jobs} is not a positive number", "pass --jobs 1 or more")
    set_data_dir(args.data_dir)
    if args.update_baseline:
        print(update_baseline(args), end="")
        return 0
    return check_baseline(args)


def check_baseline(args: argparse.Namespace) -> int:
    """Refuse what is not comparable, run (or reuse) the baseline's cells over its seeds, print the verdicts."""
    if args.seeds:
        raise BenchboxError("--seeds goes with --update-baseline", "a check runs the baseline's seeds; drop --seeds")
    baseline = read_baseline(args.baseline)
    suite = load_suite(args.suite)
    check_suite(baseline, suite, args.budget)
    budget = suite.budget(baseline.budget)
    entries, cells = select(suite, baseline, args.models)
    rows = {row.label: row for row in table_rows(suite, entries, budget)}
    tasks = {c.task for c in cells}
    check_protocol(cells, rows, {t.name: t.data_hash() for t in suite.tasks if t.name in tasks})
    device = resolve_device(args.device)
    chosen = [rows[c.label] for c in cells]
    with open_store(args.store) as store:
        before = read_rows(store, suite, budget.name, chosen, baseline.seeds)
        try:
            run_cells(suite, args.suite, store, device, cells_to_run(suite, budget, before), args.jobs)
        except RunFailed as exc:
            print(f"benchbox: check failed: {exc}", file=sys.stderr)
            return 1
        results = {r.row.label: r for r in read_rows(store, suite, budget.name, chosen, baseline.seeds)}
    check_extractors(cells, results)
    verdicts = compare(cells, results, baseline)
    contradicted, finding_notes = lost(baseline.findings_held, decided(suite, list(results.values())))
    reused = [r for r in before if r.complete]
    warnings = environment_warnings(baseline, list(results.values())) + reuse_warning(reused, git_commit())
    title = f"{suite.name} v{suite.version}, budget {budget.name}, seeds {', '.join(map(str, baseline.seeds))}"
    print(report(title, verdicts, notes(cells, results, rows) + finding_notes, warnings, args.format), end="")
    failures = [describe_regression(v) for v in regressions(verdicts)] + [describe(v) for v in contradicted]
    if failures:
        print(f"benchbox: check failed: {'; '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def select(
    suite: Suite, baseline: Baseline, models: Sequence[str] | None
) -> tuple[list[ModelEntry], list[BaselineCell]]:
    """The model entries to run and the baseline cells to compare: the rows of --models, or every row of the
    baseline. A row the baseline lacks, or a baseline row the suite lacks, is refused."""
    if models:
        entries = resolve_models(suite, list(models))
        labels = {row.label for row in table_rows(suite, entries, suite.budget(baseline.budget))}
        cells = [c for c in baseline.cells if c.label in labels]
        missing = [e.name for e in entries if not any(c.model == e.name for c in cells)]
        if missing:
            raise BenchboxError(
                f"the baseline has no rows of {', '.join(missing)}",
                f"choose among {', '.join(dict.fromkeys(c.model for c in baseline.cells))}, or regenerate the "
                "baseline with them (--update-baseline)",
            )
        return entries, cells
    known = suite.row_names()
    gone = sorted({c.model for c in baseline.cells if c.model not in known and ":" not in c.model})
    if gone:
        raise BenchboxError(
            f"the baseline's rows {', '.join(gone)} are not models of suite '{suite.name}' v{suite.version}",
            "regenerate the baseline with --update-baseline",
        )
    return resolve_models(suite, list(dict.fromkeys(c.model for c in baseline.cells))), list(baseline.cells)


def notes(cells: Sequence[BaselineCell], results: dict[str, RowResults], rows: dict[str, Row]) -> list[str]:
    """What was run or recorded but not checked."""
    out = []
    new = new_values(cells, results)
    if new:
        out.append(f"not in the baseline, not checked: {', '.join(new)}")
    extra = sorted(set(rows) - {c.label for c in cells})
    if extra:
        out.append(f"rows run but not in the baseline, not checked: {', '.join(extra)}")
    out.append("left out: " + "; ".join(f"{k} ({why})" for k, why in EXCLUDED.items()))
    return out

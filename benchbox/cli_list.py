"""`benchbox list`: suites, model kinds, feature spaces and every recorded value, read from the registries and the
catalogue; `benchbox list --suite NAME`: that suite's tasks, rows (sampling variants included), budgets and values."""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import benchbox.builtins  # noqa: F401  (the built-in entries of every registry)
from benchbox.catalogue import VALUES, lookup
from benchbox.registry import DATASETS, EXTRACTORS, MODELS, SCORES, SUITES
from benchbox.store import DEFAULT_STORE, ResultStore
from benchbox.suite import Suite
from benchbox.suites import load_suite


def add_list_parser(sub: argparse._SubParsersAction) -> None:
    listing = sub.add_parser(
        "list",
        help="list suites, models and recorded values",
        description="List suites, model kinds, metric families, feature spaces and every value a run can record; "
        "with --suite, that suite's tasks, rows, budgets and values.",
    )
    listing.add_argument("--suite", help="a suite name or a path to a suite .py file")
    listing.add_argument(
        "--store",
        type=Path,
        default=DEFAULT_STORE,
        help=f"result store to read measured minutes per run from, where it exists (default: {DEFAULT_STORE})",
    )


def cmd_list(args: argparse.Namespace) -> int:
    if args.suite:
        print("\n".join(suite_lines(load_suite(args.suite), args.store)))
        return 0
    print("suites:")
    for s in sorted(SUITES.values(), key=lambda s: s.name):
        rows = [r for m in s.models for r in (m.name, *(m.variant_name(v) for v in m.variants))]
        print(f"  {s.name} v{s.version}: {s.description}")
        if s.scored_by:  # a protocol for models benchbox does not train
            print(f"    rows: none trained here; users' samples are scored by `{s.scored_by}`")
            continue
        print(f"    rows: {', '.join(rows)}; budgets: {', '.join(b.name for b in s.budgets)}")
    print("model kinds:")
    for m in sorted(MODELS.values(), key=lambda m: m.name):
        print(f"  {m.name} (config {m.config_type.__name__})")
    print("metric families (benchbox score --metrics):")
    for f in sorted(SCORES.values(), key=lambda f: f.name):
        print(
            f"  {f.name} [{', '.join(_arrow(VALUES[b].base, VALUES[b].higher_is_better) for b in f.values)}]: {f.description}"
        )
    print("recorded values (by family):")
    by_family: dict[str, list[str]] = defaultdict(list)
    for v in VALUES.values():
        by_family[v.family].append(f"    {_arrow(v.pattern, v.higher_is_better)}: {v.description}")
    for family, lines in by_family.items():
        print(f"  {family}:")
        print("\n".join(lines))
    print("feature spaces (benchbox score --feature):")
    print(
        f"  {', '.join(n for n in sorted(EXTRACTORS) if n != 'domain')}; a labelled dataset's own classifier: "
        f"{', '.join(sorted(DATASETS))}"
    )
    return 0


def suite_lines(suite: Suite, store_path: Path) -> list[str]:
    """One suite as `benchbox list --suite` prints it."""
    minutes = _measured_minutes(suite, store_path)
    lines = [f"{suite.name} v{suite.version}: {suite.description}", "tasks:"]
    lines += [f"  {t.name}: {t.description}" for t in suite.tasks]
    lines.append("rows:")
    if suite.scored_by:
        lines.append(f"  none trained here; users' samples are scored by `{suite.scored_by}`")
    for m in suite.models:
        lines.append(f"  {m.name} ({m.kind}): {m.description}")
        lines += [f"  {m.variant_name(v)}: sampled from {m.name}'s weights by {v.description}" for v in m.variants]
    lines.append("budgets (steps × seeds; a model's own budget where it has one):")
    for b in suite.budgets:
        lines.append(f"  {b.name}: {b.steps:,} steps, seeds {', '.join(map(str, b.seeds))}; {b.description}")
        for m in suite.models:
            own = m.budget_for(b)
            if own is not b:
                lines.append(
                    f"    {m.name}: {own.steps:,} steps, seeds {', '.join(map(str, own.seeds))}; {own.description}"
                )
        known = {k: v for k, v in minutes.items() if k[1] == b.name}
        if known:
            shown = ", ".join(f"{model} {mins:.1f}" for (model, _), mins in sorted(known.items()))
            lines.append(f"    measured minutes per run in {store_path}: {shown}")
    lines.append("values recorded (* every run):")
    for name in suite.values():
        found = lookup(name)
        text = f"{_arrow(name, found[0].higher_is_better)}: {found[0].description}" if found else name
        lines.append(f"  {'*' if name in suite.metrics else ' '} {text}")
    findings = suite.applicable_findings()
    if findings:
        lines.append("findings every report decides (docs/findings.md):")
        for f in findings:
            compared = f" vs {f.versus_value}" if f.versus_value else ""
            lines.append(f"  {f.key} ({f.source}): {f.value}{compared} {f.expect}, on {f.task}: {', '.join(f.rows)}")
    return lines


def _arrow(name: str, higher_is_better: bool) -> str:
    return f"{name} {'↑' if higher_is_better else '↓'}"


def _measured_minutes(suite: Suite, store_path: Path) -> dict[tuple[str, str], float]:
    """Mean wall minutes per finished run of each (model, budget) of this suite version, where the store has any."""
    if not store_path.is_file():
        return {}
    runs = ResultStore(store_path).runs(suite=suite.name, suite_version=suite.version, status="done")
    walls: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in runs:
        walls[(r.model, r.budget)].append(r.wall_time_s / 60)
    return {k: sum(v) / len(v) for k, v in walls.items()}

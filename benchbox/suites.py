"""Loading and checking suites: a registered suite by name, or the SUITE of a Python file, refused in one line when
malformed, before any training."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

import benchbox.builtins  # noqa: F401  (registers the built-in suites, model kinds and metrics)
from benchbox.catalogue import lookup
from benchbox.errors import BenchboxError, SuiteFileError
from benchbox.registry import MODELS, SUITES
from benchbox.suite import BUDGET_NAMES, Budget, ModelEntry, Suite

log = logging.getLogger(__name__)


def load_suite(name_or_path: str) -> Suite:
    """A registered suite by name, or the Suite defined as SUITE in a Python file."""
    if name_or_path in SUITES:
        validate_suite(SUITES[name_or_path])
        return SUITES[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".py" or path.exists():
        return _load_suite_file(path)
    known = ", ".join(sorted(SUITES))
    raise BenchboxError(
        f"unknown suite '{name_or_path}'", f"choose one of: {known}, or give a path to a suite .py file"
    )


def load_trainable_suite(name_or_path: str) -> Suite:
    """A suite `benchbox run` can train: a scored-only protocol (no models of its own) is refused with its command."""
    suite = load_suite(name_or_path)
    if suite.scored_by:
        raise BenchboxError(
            f"suite '{suite.name}' scores models benchbox does not train, so there is nothing to run",
            f"score your samples with `{suite.scored_by}` (see `{suite.scored_by} --help`), then `benchbox report "
            f"--suite {suite.name}`",
        )
    return suite


def _load_suite_file(path: Path) -> Suite:
    if not path.is_file():
        raise SuiteFileError(f"suite file '{path}' does not exist", "check the path")
    module_name = f"benchbox_user_suite_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SuiteFileError(f"suite file '{path}' is not a Python file", "give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code is reported, not raised as a traceback
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise SuiteFileError(
            f"suite file '{path}' failed to load{where}: {type(exc).__name__}: {exc}",
            "fix the file; see benchmarks/toy2d.py for a working suite",
        ) from exc
    suite = getattr(module, "SUITE", None)
    if not isinstance(suite, Suite):
        raise SuiteFileError(
            f"suite file '{path}' defines no SUITE of type benchbox.suite.Suite",
            "add `SUITE = Suite(...)` at module level; see benchmarks/toy2d.py",
        )
    validate_suite(suite)
    return suite


def validate_suite(suite: Suite) -> None:
    """Check that a suite's names resolve and its numbers make sense, before any training starts."""
    problems = []
    if not suite.tasks:
        problems.append("it has no tasks")
    if not suite.models and not suite.scored_by:
        problems.append("it has no models")
    if suite.n_eval < 1:
        problems.append(f"n_eval is {suite.n_eval}")
    for entry in suite.models:
        if entry.kind not in MODELS:
            problems.append(
                f"model '{entry.name}' has unknown kind '{entry.kind}' (known: {', '.join(sorted(MODELS))})"
            )
        elif not isinstance(entry.config, MODELS[entry.kind].config_type):
            want = MODELS[entry.kind].config_type.__name__
            problems.append(f"model '{entry.name}' config is {type(entry.config).__name__}, not {want}")
        else:
            problems += _entry_problems(entry, suite.budgets, MODELS[entry.kind].check)
    known = set(suite.values())
    for metric in suite.metrics:
        if metric not in known:
            problems.append(f"unknown metric '{metric}' (known: {', '.join(sorted(known))})")
    for b in [*suite.budgets, *(b for m in suite.models for b in m.budgets)]:
        if b.name not in BUDGET_NAMES:
            problems.append(f"budget '{b.name}' is not one of {', '.join(BUDGET_NAMES)}")
        if b.steps < 1 or b.checkpoint_every < 1 or not b.seeds:
            problems.append(f"budget '{b.name}' needs steps >= 1, checkpoint_every >= 1 and one seed or more")
        elif b.n_eval is not None and b.n_eval < 1:
            problems.append(f"budget '{b.name}' scores n_eval={b.n_eval} samples; give 1 or more, or leave it unset")
        elif b.checkpoint_every > b.steps:
            problems.append(
                f"budget '{b.name}' is too small to produce one checkpoint ({b.steps} steps, one every "
                f"{b.checkpoint_every}); give it checkpoint_every <= steps"
            )
    problems += _finding_problems(suite)
    if problems:
        raise SuiteFileError(f"suite '{suite.name}' is malformed: {'; '.join(problems)}", "fix the suite definition")
    rows = suite.row_names()  # warned of only for a suite that loads: a refused one gets its one error line
    for f in (f for f in suite.findings if f not in suite.applicable_findings()):
        missing = ", ".join(r for r in f.rows if r not in rows)
        log.warning("suite '%s' has no row %s: its finding '%s' is left out", suite.name, missing, f.key)


def _finding_problems(suite: Suite) -> list[str]:
    """A finding must name the suite's tasks and values, and keys must be unique. One that compares rows the suite
    does not have (a suite made from another with fewer models) is left out of its reports, with a warning (given by
    `validate_suite`)."""
    tasks = {t.name for t in suite.tasks}
    bases = {lookup(n)[0].base for n in suite.values() if lookup(n) is not None} | set(suite.values())
    problems = []
    keys = [f.key for f in suite.findings]
    problems += [f"finding key '{k}' is used twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
    for f in suite.findings:
        if f.task not in tasks:
            problems.append(f"finding '{f.key}' names unknown task '{f.task}'")
        problems += [
            f"finding '{f.key}' names value '{v}' that the suite does not record"
            for v in (f.value, f.versus_value)
            if v and v not in bases
        ]
    return problems


def _entry_problems(entry: ModelEntry, budgets: tuple[Budget, ...], check: Any) -> list[str]:
    """What is wrong with one model entry's configs under each budget, its own budgets and its variants."""
    problems = []
    fields = {f.name for f in dataclasses.fields(entry.config)} if dataclasses.is_dataclass(entry.config) else set()
    names = [entry.name, *(entry.variant_name(v) for v in entry.variants)]
    if len(set(names)) < len(names):
        problems.append(f"model '{entry.name}' has two variants of one name")
    for v in entry.variants:
        if not v.overrides:
            problems.append(f"variant '{entry.variant_name(v)}' changes nothing: it would repeat its model's row")
        unknown = [k for k, _ in v.overrides if k not in fields]
        if unknown:
            problems.append(f"variant '{entry.variant_name(v)}' sets unknown config fields {', '.join(unknown)}")
    if problems or check is None:
        return problems
    for suite_budget in budgets:
        b = entry.budget_for(suite_budget)
        try:
            check(b.apply(entry.config))
            for v in entry.variants_for(b):
                check(entry.variant_config(b, v))
        except BenchboxError as exc:
            problems.append(f"model '{entry.name}' (budget {b.name}): {exc}")
            break
    return problems

"""The baseline file of `benchbox check`: what defines the protocol it was measured under, and each value's results
over the seeds with the tolerance derived from them.

One JSON object (docs/check.md shows one): the format, suite name and version, budget, seeds, the tolerance constants
(k, rel_floor, abs_floor, and the rule in words), the environment that measured it (torch, CUDA, device, code), the
values left out, the keys of the suite's findings its runs reproduced (`findings_held`), and one cell per task and table row (a model, or a sampling variant of one) with its protocol hash,
data hash, feature-extractor weights hashes, the seeds whose run diverged, and per value: direction, n, mean and sample
std of its finite per-seed values, the drift allowed to a fresh run of the same seeds, and the per-seed values
themselves. Everything derived is checked against the per-seed values when read, so a hand-edited number is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbox.check.jsonfile import decode_number, encode_number, read_json, write_json
from benchbox.check.tolerance import SeedStats, Tolerance, allowed_drift, seed_stats
from benchbox.errors import BenchboxError

FORMAT = "benchbox-check-baseline/1"
MIN_SEEDS = 3  # fewer give no usable estimate of the spread over seeds
RULE = (
    "REGRESSED when worse than mean by more than max(k·std·sqrt(1/n + 1/n_fresh), rel_floor·|mean|, abs_floor); "
    "mean and std (ddof 1) over the finite per-seed values; the share of seeds that are NaN, diverged or infinite the "
    "worse way is judged by the same rule (docs/check.md)"
)
DIRECTIONS = {True: "higher is better", False: "lower is better"}
FIX = "regenerate it with `benchbox check --suite SUITE --baseline FILE --update-baseline --seeds 0,1,2`"


@dataclass(frozen=True)
class BaselineValue:
    """One value of one cell over the baseline's seeds."""

    name: str
    higher_is_better: bool
    values: tuple[float, ...]  # per seed, in the baseline's seed order; NaN where the run diverged

    def stats(self) -> SeedStats:
        return seed_stats(self.values, self.higher_is_better)


@dataclass(frozen=True)
class BaselineCell:
    """One table cell (task × row) of the baseline, with what defines its protocol."""

    task: str
    model: str  # the table row: a model, or a sampling variant of one (`ddpm-ddim10`)
    protocol_hash: str
    data_hash: str
    extractor_weights: tuple[str, ...]  # SHA-256 of the feature extractor weights of its values (none for points)
    diverged: tuple[int, ...]  # seeds whose run diverged (their values are NaN)
    values: tuple[BaselineValue, ...]

    @property
    def label(self) -> str:
        return f"{self.task}/{self.model}"


@dataclass(frozen=True)
class RecordedEnvironment:
    """Where the results were measured: a different torch or device is warned of, never refused."""

    torch_version: str
    cuda_version: str
    device: str
    benchbox_version: str
    git_commit: str
    created_at: str
    machine: str = ""  # CPU model, threads, backend settings; "" in a baseline written before it was recorded


@dataclass(frozen=True)
class Baseline:
    suite: str
    suite_version: int
    budget: str
    seeds: tuple[int, ...]
    tolerance: Tolerance
    environment: RecordedEnvironment
    excluded: dict[str, str]  # value name -> why it is not checked
    cells: tuple[BaselineCell, ...]
    findings_held: tuple[str, ...] = ()  # keys of the suite's findings its runs reproduced: a check requires them


def to_json(baseline: Baseline) -> dict[str, Any]:
    """The file's object, keys in a fixed order."""
    t, n = baseline.tolerance, len(baseline.seeds)
    return {
        "format": FORMAT,
        "suite": baseline.suite,
        "suite_version": baseline.suite_version,
        "budget": baseline.budget,
        "seeds": list(baseline.seeds),
        "tolerance": {"k": t.k, "rel_floor": t.rel_floor, "abs_floor": t.abs_floor, "rule": RULE},
        "environment": dict(vars(baseline.environment)),
        "excluded": dict(baseline.excluded),
        "cells": [_cell_json(cell, t, n) for cell in baseline.cells],
        "findings_held": list(baseline.findings_held),
    }


def _cell_json(cell: BaselineCell, tolerance: Tolerance, n: int) -> dict[str, Any]:
    values = {}
    for v in cell.values:
        s = v.stats()
        values[v.name] = {
            "direction": DIRECTIONS[v.higher_is_better],
            "n": s.n,
            "mean": encode_number(s.mean),
            "std": s.std,
            "allowed_drift": encode_number(_allowed(tolerance, s)),
            "values": [encode_number(x) for x in v.values],
        }
    return {
        "task": cell.task,
        "model": cell.model,
        "protocol_hash": cell.protocol_hash,
        "data_hash": cell.data_hash,
        "extractor_weights": list(cell.extractor_weights),
        "diverged_seeds": list(cell.diverged),
        "values": values,
    }


def _allowed(tolerance: Tolerance, s: SeedStats) -> float:
    """The drift allowed to a fresh run of the same seeds (NaN when no seed gave a finite value)."""
    return allowed_drift(tolerance, s.std, s.mean, s.n_finite, s.n_finite) if s.n_finite else math.nan


def write_baseline(path: Path, baseline: Baseline) -> None:
    write_json(path, to_json(baseline), "--baseline")


def read_baseline(path: Path) -> Baseline:
    """The baseline in `path`, refused in one line when it is missing, malformed or its derived numbers disagree."""
    data = read_json(path, "baseline", FIX)
    return from_json(data, str(path))


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """data[key], refused in one line when it is missing or not of `kind` (a JSON true/false is no number)."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BenchboxError(f"baseline {where} has no valid '{key}'", FIX)
    return data[key]


def from_json(data: dict[str, Any], where: str) -> Baseline:
    """The Baseline a file's object describes (`where` names the file in errors)."""
    if data.get("format") != FORMAT:
        raise BenchboxError(f"baseline '{where}' has format {data.get('format')!r}, not {FORMAT!r}", FIX)
    seeds = tuple(_field(data, "seeds", list, where))
    if len(set(seeds)) < MIN_SEEDS or not all(isinstance(s, int) for s in seeds):
        raise BenchboxError(f"baseline '{where}' has seeds {list(seeds)}: it needs {MIN_SEEDS} or more", FIX)
    t = _field(data, "tolerance", dict, where)
    tolerance = Tolerance(
        *(float(_field(t, key, (int, float), f"'{where}' tolerance")) for key in ("k", "rel_floor", "abs_floor"))
    )
    env = _field(data, "environment", dict, where)
    environment = RecordedEnvironment(**{k: str(env.get(k, "")) for k in RecordedEnvironment.__dataclass_fields__})
    cells = tuple(_cell(c, tolerance, seeds, where) for c in _field(data, "cells", list, where))
    return Baseline(
        suite=_field(data, "suite", str, where),
        suite_version=_field(data, "suite_version", int, where),
        budget=_field(data, "budget", str, where),
        seeds=seeds,
        tolerance=tolerance,
        environment=environment,
        excluded={str(k): str(v) for k, v in _field(data, "excluded", dict, where).items()},
        cells=cells,
        findings_held=tuple(str(k) for k in data.get("findings_held", [])),  # absent from baselines before findings
    )


def _cell(data: Any, tolerance: Tolerance, seeds: tuple[int, ...], where: str) -> BaselineCell:
    if not isinstance(data, dict):
        raise BenchboxError(f"baseline '{where}' has a cell that is not an object", FIX)
    label = f"'{where}' cell {data.get('task')}/{data.get('model')}"
    values = []
    for name, v in _field(data, "values", dict, label).items():
        what = f"{label} value {name}"
        per_seed = tuple(decode_number(x, f"baseline {what}", FIX) for x in _field(v, "values", list, what))
        direction = _field(v, "direction", str, what)
        if len(per_seed) != len(seeds):
            raise BenchboxError(f"baseline {what} has {len(per_seed)} values for {len(seeds)} seeds", FIX)
        if direction not in DIRECTIONS.values():
            raise BenchboxError(f"baseline {what} has direction {direction!r}", FIX)
        value = BaselineValue(name, direction == DIRECTIONS[True], per_seed)
        _check_derived(value, v, tolerance, what)
        values.append(value)
    return BaselineCell(
        task=_field(data, "task", str, label),
        model=_field(data, "model", str, label),
        protocol_hash=_field(data, "protocol_hash", str, label),
        data_hash=_field(data, "data_hash", str, label),
        extractor_weights=tuple(_field(data, "extractor_weights", list, label)),
        diverged=tuple(_field(data, "diverged_seeds", list, label)),
        values=tuple(values),
    )


def _check_derived(value: BaselineValue, data: dict[str, Any], tolerance: Tolerance, what: str) -> None:
    """Refuse a value whose mean, std, n or allowed drift disagrees with its per-seed values and the tolerance."""
    s = value.stats()
    expected = {"n": s.n, "mean": s.mean, "std": s.std, "allowed_drift": _allowed(tolerance, s)}
    for key, want in expected.items():
        got = decode_number(data.get(key), f"baseline {what} '{key}'", FIX)
        same = (math.isnan(want) and math.isnan(got)) or math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
        if not same:
            raise BenchboxError(
                f"baseline {what} has {key} {got!r}, but its per-seed values and tolerance give {want!r} "
                "(was it edited by hand?)",
                FIX,
            )

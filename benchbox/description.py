"""The typed description of a suite version that a store keeps beside its results, and its JSON form.

A report reads it to name, order and describe what the records hold: the suite's tasks, its table rows (models and
their sampling variants), the values its runs record, its budgets and the numbers papers report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from benchbox.errors import StoreError

DESCRIPTION_SCHEMA = 2  # 1 was the untyped dict written before run status was kept


@dataclass(frozen=True)
class ReportedResult:
    """A number a paper reports for the same task and metric, shown beside ours and marked as reported."""

    source: str  # short citation, e.g. "Lin et al. 2018, Table 1"
    method: str  # the paper's name for the method, e.g. "PacGAN2"
    task: str
    metric: str
    value: float
    spread: float | None = None
    spread_kind: str = ""  # what spread is: "s.e." (standard error) or "std"
    comparable_to: str = ""  # our model entry that follows the same recipe, if any
    note: str = ""


EXPECTATIONS = ("higher", "lower", "rises", "falls")


@dataclass(frozen=True)
class Finding:
    """What a paper found, as a claim the records of one task can decide (benchbox.findings decides it).

    "higher"/"lower": `value` of rows[0] against that of rows[1] (or rows[0]'s `versus_value` when rows[1] is the
    same row). "rises"/"falls": `value` along `rows`, a sweep in order at positions `x` (rank positions if empty).
    `value` is a recorded name or a catalogue base name (`fd` finds `fd_digits`)."""

    key: str  # stable id, e.g. "packing-grid25": what `benchbox check` baselines list
    source: str  # short citation, e.g. "Lin et al. 2018, Table 1"
    claim: str  # the claim in words
    conditions: str  # the paper's conditions: data, nets, budget
    task: str
    value: str
    rows: tuple[str, ...]
    expect: str  # one of EXPECTATIONS
    versus_value: str = ""
    x: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        pair = self.expect in ("higher", "lower")
        if self.expect not in EXPECTATIONS:
            raise ValueError(f"finding '{self.key}': expect '{self.expect}' is not one of {', '.join(EXPECTATIONS)}")
        if pair and len(self.rows) != 2 or not pair and len(self.rows) < 3:
            raise ValueError(f"finding '{self.key}': '{self.expect}' compares 2 rows, a trend 3 or more")
        if self.x and len(self.x) != len(self.rows):
            raise ValueError(f"finding '{self.key}': {len(self.x)} sweep positions for {len(self.rows)} rows")
        if pair and (self.rows[0] == self.rows[1]) != bool(self.versus_value):
            raise ValueError(f"finding '{self.key}': a row against itself needs versus_value, two rows none")

    @property
    def is_trend(self) -> bool:
        return self.expect in ("rises", "falls")

    @property
    def sign(self) -> int:
        """+1 when the claim is that the value is higher (or rises), −1 when lower (or falls)."""
        return 1 if self.expect in ("higher", "rises") else -1

    def decidable(self, rows: set[str]) -> bool:
        """Whether `rows` hold what the finding compares: both rows of a pair, 3 rows or more of a sweep."""
        present = sum(r in rows for r in self.rows)
        return present >= 3 if self.is_trend else present == len(self.rows)


@dataclass(frozen=True)
class BudgetInfo:
    """What a budget promises: its training steps and protocol seeds, in words too."""

    steps: int
    seeds: tuple[int, ...]
    description: str = ""


@dataclass(frozen=True)
class TaskInfo:
    """A task of the suite, by name, with what it is."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class ModelRow:
    """One table row: a model entry, or one sampling variant of it."""

    name: str
    description: str = ""
    budgets: dict[str, BudgetInfo] = field(default_factory=dict)  # the model's own budgets by name
    variant_of: str = ""  # the entry a sampling variant belongs to
    sampling: dict[str, dict[str, Any]] = field(default_factory=dict)  # budget -> {sampling field: JSON value}
    family: str = ""  # the model kind's family (benchbox.registry.MODEL_FAMILIES), which groups the report's rows


@dataclass(frozen=True)
class SuiteDescription:
    """A suite version as a report needs it besides the records; stored as JSON by `to_json`."""

    description: str
    tasks: tuple[TaskInfo, ...]
    models: tuple[ModelRow, ...]
    values: tuple[str, ...]  # names of the values runs record, in table column order
    budgets: dict[str, BudgetInfo]
    reported: tuple[ReportedResult, ...]
    references: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()  # base names of the headline table's columns (empty: every value in one table)
    findings: tuple[Finding, ...] = ()  # the papers' claims the report decides on the records
    scoring: str = ""  # how values are computed where the literature disagrees (e.g. SR's channel and shave), in words
    schema: int = DESCRIPTION_SCHEMA

    def to_json(self) -> str:
        """The description as JSON (tuples become lists), read back by `from_json`."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SuiteDescription:
        """Read `to_json`'s text, or the untyped dict (schema 1) that stores held before."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteDescription:
        """A description from its parsed JSON: schema 2, or the schema-1 dict (the runner's old `suite_meta`)."""
        if not isinstance(data, dict):
            raise _malformed(f"expected an object, got {type(data).__name__}")
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or schema < 1:
            raise _malformed(f"schema {schema!r}")
        if schema > DESCRIPTION_SCHEMA:
            raise StoreError(
                f"suite description of schema {schema} was written by a newer benchbox (this one reads up to "
                f"{DESCRIPTION_SCHEMA})",
                "upgrade benchbox",
            )
        try:
            return _read_v2(data) if schema == DESCRIPTION_SCHEMA else _read_v1(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _malformed(f"{type(exc).__name__}: {exc}") from exc


def _malformed(reason: object) -> StoreError:
    return StoreError(
        f"stored suite description is malformed ({reason})",
        "rerun the suite into a new store with --store, or use the benchbox version that wrote it",
    )


def _budget(data: dict[str, Any]) -> BudgetInfo:
    return BudgetInfo(int(data["steps"]), tuple(data["seeds"]), data.get("description", ""))


def _budgets(data: dict[str, Any]) -> dict[str, BudgetInfo]:
    return {name: _budget(b) for name, b in data.items()}


def _model_row(data: dict[str, Any]) -> ModelRow:
    return ModelRow(
        name=data["name"],
        description=data.get("description", ""),
        budgets=_budgets(data.get("budgets", {})),
        variant_of=data.get("variant_of", ""),
        sampling={budget: dict(fields) for budget, fields in data.get("sampling", {}).items()},
        family=data.get("family", ""),
    )


def _common(data: dict[str, Any]) -> dict[str, Any]:
    """The fields schema 1 and 2 spell alike."""
    return {
        "description": data["description"],
        "tasks": tuple(TaskInfo(t["name"], t.get("description", "")) for t in data["tasks"]),
        "models": tuple(_model_row(m) for m in data["models"]),
        "budgets": _budgets(data["budgets"]),
        "reported": tuple(ReportedResult(**r) for r in data.get("reported", [])),
        "references": tuple(data.get("references", [])),
        "headline": tuple(data.get("headline", [])),
        "findings": tuple(_finding(f) for f in data.get("findings", [])),
        "scoring": data.get("scoring", ""),
    }


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(**{**data, "rows": tuple(data["rows"]), "x": tuple(data.get("x", ()))})


def _read_v1(data: dict[str, Any]) -> SuiteDescription:
    """The old dict: `metrics` held each value's name, direction, decimals and description; the names remain."""
    return SuiteDescription(**_common(data), values=tuple(m["name"] for m in data["metrics"]))


def _read_v2(data: dict[str, Any]) -> SuiteDescription:
    return SuiteDescription(**_common(data), values=tuple(data["values"]))

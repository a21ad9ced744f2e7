"""The SQLite result store: one row per (suite, version, task, model, seed, budget, metric), with provenance."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from benchbox.errors import StoreError

DEFAULT_STORE = Path("benchbox-results") / "results.db"
SCHEMA_VERSION = 1


_RUN = ("suite", "suite_version", "task", "model", "seed", "budget")  # the columns that name one training run
DIVERGED = "diverged_at_step"  # the one record a diverged run leaves; its value is the step of the bad loss


@dataclass(frozen=True)
class ResultRecord:
    suite: str
    suite_version: int
    task: str
    model: str
    seed: int
    budget: str
    metric: str
    value: float
    n_samples: int
    protocol_hash: str  # hash of the task, model config, budget and evaluation settings of this cell
    data_hash: str
    extractor_hash: str  # weights hash of the feature extractor; "" when the metric reads samples directly
    benchbox_version: str
    git_commit: str
    torch_version: str
    cuda_version: str
    device: str
    train_steps: int
    wall_time_s: float
    created_at: str


_COLUMNS = [f.name for f in fields(ResultRecord)]
_CELL = ("suite", "suite_version", "task", "model", "budget", "metric")
_KEY = (*_CELL[:4], "seed", *_CELL[4:])
_SQL_TYPES = {int: "INTEGER", float: "REAL", str: "TEXT", "int": "INTEGER", "float": "REAL", "str": "TEXT"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    {", ".join(f"{f.name} {_SQL_TYPES[f.type]} NOT NULL" for f in fields(ResultRecord))},
    PRIMARY KEY ({", ".join(_KEY)})
);
CREATE TABLE IF NOT EXISTS suites (
    suite TEXT NOT NULL, suite_version INTEGER NOT NULL, meta_json TEXT NOT NULL,
    PRIMARY KEY (suite, suite_version)
);
"""


class ResultStore:
    """Results on disk. Every write is one transaction, so a crash never leaves half a run behind."""

    def __init__(self, path: str | Path = DEFAULT_STORE) -> None:
        self.path = Path(path)
        fix = "pass --store with a writable file path"
        if self.path.is_dir():
            raise StoreError(
                f"store path '{self.path}' is a directory", "pass --store with a file path, e.g. results.db"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store '{self.path}': {exc}", fix) from exc
        with self._errors("open"):
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(_SCHEMA)
            self._check_schema()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            msg = str(exc)
            if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
                raise StoreError(
                    f"store '{self.path}' is not a readable benchbox database ({msg})",
                    "move the file away or pass --store with another path",
                ) from exc
            raise StoreError(
                f"cannot {action} store '{self.path}': {msg}", "pass --store with a writable file path"
            ) from exc

    def _check_schema(self) -> None:
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        (version,) = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        columns = [row[1] for row in self.conn.execute("PRAGMA table_info(results)")]
        if version != str(SCHEMA_VERSION) or columns != _COLUMNS:
            raise StoreError(
                f"store '{self.path}' has schema version {version}, this benchbox writes {SCHEMA_VERSION}",
                "pass --store with a new path, or use the benchbox version that wrote it",
            )

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def put(self, records: Iterable[ResultRecord], replace_runs: bool = False) -> None:
        """Insert or replace records, all or none; refuse a cell whose protocol differs from what it holds.

        With `replace_runs`, every record a run (suite, version, task, model, seed, budget) holds under the same
        protocol is deleted first, so a rerun leaves no stale value (e.g. an old divergence) beside its new ones."""
        records = list(records)
        with self._transaction("write") as conn:
            if replace_runs:
                for key in {tuple(getattr(r, c) for c in (*_RUN, "protocol_hash")) for r in records}:
                    where = " AND ".join(f"{c}=?" for c in (*_RUN, "protocol_hash"))
                    conn.execute(f"DELETE FROM results WHERE {where}", key)
            for r in records:
                where = " AND ".join(f"{c}=?" for c in _CELL)
                clash = conn.execute(
                    f"SELECT protocol_hash FROM results WHERE {where} AND protocol_hash<>? LIMIT 1",
                    (*(getattr(r, c) for c in _CELL), r.protocol_hash),
                ).fetchone()
                if clash:
                    raise StoreError(
                        f"suite '{r.suite}' v{r.suite_version} model '{r.model}' on '{r.task}' ({r.budget}) already "
                        f"holds results of another protocol ({clash[0]} vs {r.protocol_hash})",
                        "bump the suite's version when you change its protocol, or pass --store with another path",
                    )
                placeholders = ", ".join("?" for _ in _COLUMNS)
                conn.execute(f"INSERT OR REPLACE INTO results VALUES ({placeholders})", astuple_ordered(r))

    def put_suite_meta(self, suite: str, version: int, meta: dict[str, Any]) -> None:
        with self._transaction("write") as conn:
            conn.execute("INSERT OR REPLACE INTO suites VALUES (?, ?, ?)", (suite, version, json.dumps(meta)))

    def suite_meta(self, suite: str, version: int) -> dict[str, Any]:
        with self._errors("read"):
            row = self.conn.execute(
                "SELECT meta_json FROM suites WHERE suite=? AND suite_version=?", (suite, version)
            ).fetchone()
        return json.loads(row[0]) if row else {}

    def records(self, **where: Any) -> list[ResultRecord]:
        """Records matching column=value filters, in a stable order."""
        unknown = set(where) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns {unknown}")
        clause = " AND ".join(f"{k}=?" for k in where) or "1"
        with self._errors("read"):
            rows = self.conn.execute(
                f"SELECT * FROM results WHERE {clause} ORDER BY {', '.join(_KEY)}", tuple(where.values())
            ).fetchall()
        return [ResultRecord(*row) for row in rows]

    def versions(self, suite: str) -> list[tuple[int, str]]:
        """(suite_version, budget) pairs present for a suite, newest version first."""
        with self._errors("read"):
            rows = self.conn.execute(
                "SELECT DISTINCT suite_version, budget FROM results WHERE suite=? ORDER BY suite_version DESC, budget",
                (suite,),
            ).fetchall()
        return [(int(v), b) for v, b in rows]

    def close(self) -> None:
        self.conn.close()


def astuple_ordered(record: ResultRecord) -> tuple[Any, ...]:
    d = asdict(record)
    return tuple(d[c] for c in _COLUMNS)

"""The SQLite result store: one row per (suite, version, task, model, seed, budget, metric), with provenance; one
row per run with how it ended; and the description of each suite version.

Schema 2 keeps run status in its own table; schema 3 adds the machine (CPU model, threads, backend settings) to every
record and run. Opening an older store migrates it in place, one transaction per step; a newer one is refused."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from benchbox.description import SuiteDescription
from benchbox.errors import StoreError

DEFAULT_STORE = Path("benchbox-results") / "results.db"
SCHEMA_VERSION = 3  # 1 kept a diverged run as a `DIVERGED` record and the suite description as an untyped dict;
# 2 had no machine column

_RUN = ("suite", "suite_version", "task", "model", "seed", "budget")  # the columns that name one training run
DIVERGED = "diverged_at_step"  # the metric name schema-1 stores used for a diverged run (read only by the migration)
RUN_STATUSES = ("done", "diverged", "failed")


@dataclass(frozen=True)
class ResultRecord:
    """One value a run (or a sampling variant of it) recorded, with the provenance of the run."""

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
    machine: str = ""  # CPU model, threads and backend settings (provenance.machine_description); "" before schema 3


@dataclass(frozen=True)
class RunRecord:
    """How one run (or a sampling variant row of it) ended, with its provenance named as in ResultRecord."""

    suite: str
    suite_version: int
    task: str
    model: str
    seed: int
    budget: str
    protocol_hash: str
    status: str  # one of RUN_STATUSES
    step: int  # the training step reached (diverged: the step whose loss was not finite)
    detail: str  # diverged: the loss values that were not finite, e.g. "{'loss': nan}"; failed: the error
    data_hash: str
    benchbox_version: str
    git_commit: str
    torch_version: str
    cuda_version: str
    device: str
    train_steps: int
    wall_time_s: float
    created_at: str
    examples_per_step: int = 0  # the batch one train_step consumed (0: not recorded, before schema 2)
    user_code: str = ""  # a user model's source files as JSON {module: {"file": path, "sha256": digest}}; "" for ours
    history: str = ""  # the training curves as JSON: per checkpoint interval, the step and each logged loss's mean
    machine: str = ""  # as ResultRecord.machine


@dataclass(frozen=True)
class Artifact:
    """A file a run leaves for the report (its sample preview PNG), kept in the store with its SHA-256."""

    suite: str
    suite_version: int
    task: str
    model: str
    seed: int
    budget: str
    protocol_hash: str
    name: str  # e.g. "preview.png"
    sha256: str
    data: bytes


VERSION_MARK = "@"  # a user model's row is named 'package.module:factory@<digest of its code>'


def split_row_name(name: str) -> tuple[str, str]:
    """('package.module:factory', digest prefix) of a user model's row name; (name, '') for any other row."""
    spec, mark, digest = name.rpartition(VERSION_MARK)
    return (spec, digest) if mark and ":" in spec else (name, "")


_COLUMNS = [f.name for f in fields(ResultRecord)]
_RUN_COLUMNS = [f.name for f in fields(RunRecord)]
_ARTIFACT_COLUMNS = [f.name for f in fields(Artifact)]
_CELL = ("suite", "suite_version", "task", "model", "budget", "metric")
_KEY = (*_CELL[:4], "seed", *_CELL[4:])
_RUN_CELL = _CELL[:-1]  # a run's table cell: every seed of it shares one protocol
_RUN_KEY = (*_RUN, "protocol_hash")  # the rows `replace_runs` deletes: a run under one protocol
_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "str": "TEXT", "bytes": "BLOB"}


def _table(name: str, record: type, key: tuple[str, ...]) -> str:
    columns = ", ".join(f"{f.name} {_SQL_TYPES[f.type]} NOT NULL" for f in fields(record))
    return f"CREATE TABLE IF NOT EXISTS {name} ({columns}, PRIMARY KEY ({', '.join(key)}))"


# One run row per run and protocol: a fresh store holds one protocol per cell (put refuses another), but a migrated
# schema-1 store may hold a stale run of another protocol beside the current one, as its records did.
_RUNS_TABLE = _table("runs", RunRecord, _RUN_KEY)
_V2_COLUMNS = [c for c in _COLUMNS if c != "machine"]  # the columns before schema 3, which the v1 migration reads
_V2_RUN_COLUMNS = [c for c in _RUN_COLUMNS if c != "machine"]  # and writes
_V2_RUNS_TABLE = _RUNS_TABLE.replace(", machine TEXT NOT NULL", "")
# Added within schema 2: created on open where missing (an older benchbox ignores it); read as empty where absent.
_ARTIFACTS_TABLE = _table("artifacts", Artifact, (*_RUN_KEY, "name"))
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    _table("results", ResultRecord, _KEY),
    _RUNS_TABLE,
    _ARTIFACTS_TABLE,
    "CREATE TABLE IF NOT EXISTS suites (suite TEXT NOT NULL, suite_version INTEGER NOT NULL, meta_json TEXT NOT NULL,"
    " PRIMARY KEY (suite, suite_version))",
)
# Indexes (created on open where missing; a read-only store reads without them): a cell's protocols by (suite,
# version, budget), for put's clash check (the primary key scans every seed of the model: quadratic writes) and for
# `versions`, which seeks the (version, budget) pairs instead of reading every row of the suite.
_BY_BUDGET = ("suite", "suite_version", "budget", "task", "model")
_INDEXES = {
    "results_by_budget": f"results ({', '.join(_BY_BUDGET)}, metric, protocol_hash)",
    "runs_by_budget": f"runs ({', '.join(_BY_BUDGET)}, protocol_hash)",
}


class ResultStore:
    """Results on disk. Every write is one transaction, so a crash never leaves half a run behind."""

    def __init__(self, path: str | Path = DEFAULT_STORE) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(
                f"store path '{self.path}' is a directory", "pass --store with a file path, e.g. results.db"
            )
        self.read_only = self.path.exists() and not os.access(self.path, os.W_OK)
        self.conn = self._connect()
        try:
            with self._errors("open"):
                self._open_schema()  # first: WAL mode rewrites the file's header, so a refused file is left as it was
                if not self.read_only:
                    self.conn.execute("PRAGMA journal_mode=WAL")
        except BaseException:
            self.conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        """A connection in autocommit mode (transactions are explicit); read-only where the file is."""
        try:
            if self.read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open store '{self.path}': {exc}", "pass --store with a writable file path"
            ) from exc

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
            if "full" in msg or "disk I/O" in msg:  # SQLITE_FULL / IOERR: this transaction was rolled back whole
                raise StoreError(
                    f"cannot {action} store '{self.path}': {msg}; nothing of this write was kept",
                    "free disk space (or pass --store on another disk), then rerun with --resume",
                ) from exc
            raise StoreError(
                f"cannot {action} store '{self.path}': {msg}", "pass --store with a writable file path"
            ) from exc

    def _open_schema(self) -> None:
        """Create the tables of a new store, migrate a schema-1 one, refuse anything else that is not schema 2."""
        version = self._schema_version()
        if version is None:
            with self._transaction("create") as conn:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            version = self._schema_version()
        if version == 1:
            self._migrate_v1()
            version = self._schema_version()
        if version == 2:
            self._migrate_v2()
            version = self._schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"store '{self.path}' has schema version {version}, written by a newer benchbox "
                f"(this one reads up to {SCHEMA_VERSION})",
                "use a newer benchbox, or pass --store with another path",
            )
        if version != SCHEMA_VERSION or self._columns("results") != _COLUMNS or self._columns("runs") != _RUN_COLUMNS:
            raise self._foreign(f"schema version {version} without its tables")
        if not self.read_only and not self._columns("artifacts"):
            with self._transaction("upgrade") as conn:
                conn.execute(_ARTIFACTS_TABLE)
        if not self.read_only:
            self._add_indexes()

    def _add_indexes(self) -> None:
        """Create the indexes a store lacks (an older benchbox's store, or one from before an index was added)."""
        have = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        missing = [(name, on) for name, on in _INDEXES.items() if name not in have]
        if missing:
            with self._transaction("index") as conn:
                for name, on in missing:
                    conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    def _schema_version(self) -> int | None:
        """The schema version the store's meta table names; None for an empty database."""
        tables = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return None
        if "meta" not in tables:
            raise self._foreign("no meta table")
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None or not str(row[0]).isdigit():
            raise self._foreign("no benchbox schema version")
        return int(row[0])

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]

    def _foreign(self, what: str) -> StoreError:
        return StoreError(
            f"store '{self.path}' does not have a benchbox schema ({what})",
            "move the file away or pass --store with another path",
        )

    def _migrate_v1(self) -> None:
        """Upgrade a schema-1 store to 2 in one transaction: `DIVERGED` records become diverged run rows, every
        other run present becomes a done run row, and each suite's dict becomes a SuiteDescription."""
        if self.read_only:
            raise self._read_only_migration(1)
        try:
            with self._transaction("migrate") as conn:
                if self._schema_version() != 1:  # another process migrated it while this one waited
                    return
                conn.execute(_V2_RUNS_TABLE)
                _migrate_diverged(conn)
                _migrate_done(conn)
                _migrate_descriptions(conn)
                conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
        except StoreError as exc:
            if "readonly" in str(exc):
                raise self._read_only_migration(1) from exc
            raise

    def _migrate_v2(self) -> None:
        """Upgrade a schema-2 store to 3: records and runs gain an empty machine column (not recorded then)."""
        if self.read_only:
            raise self._read_only_migration(2)
        with self._transaction("migrate") as conn:
            if self._schema_version() != 2:  # another process migrated it while this one waited
                return
            for table in ("results", "runs"):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN machine TEXT NOT NULL DEFAULT ''")
            conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")

    def _read_only_migration(self, version: int) -> StoreError:
        return StoreError(
            f"store '{self.path}' has schema version {version} and must be upgraded to {SCHEMA_VERSION}, but it is "
            "read-only",
            "copy it somewhere writable and pass --store with the copy",
        )

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:  # SQLite ends some failed transactions itself (a full disk, SQLITE_FULL)
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def put(
        self,
        records: Iterable[ResultRecord],
        runs: Iterable[RunRecord] = (),
        replace_runs: bool = False,
        artifacts: Iterable[Artifact] = (),
    ) -> None:
        """Insert or replace records, the status of their runs (a run and its sampling variants) and their artifacts,
        all or none; refuse a cell whose protocol differs from what it holds.

        With `replace_runs`, every record and run row a run (suite, version, task, model, seed, budget) holds under
        the same protocol is deleted first, so a rerun leaves no stale value (e.g. an old divergence) behind."""
        records, runs, artifacts = list(records), list(runs), list(artifacts)
        _check_writable(records, runs)
        with self._transaction("write") as conn:
            if replace_runs:
                for key in {_key(r, _RUN_KEY) for r in [*records, *runs]}:
                    where = " AND ".join(f"{c}=?" for c in _RUN_KEY)
                    for table in ("results", "runs", "artifacts"):
                        conn.execute(f"DELETE FROM {table} WHERE {where}", key)
            for r in records:
                _refuse_clash(conn, "results", _CELL, r)
                conn.execute(_insert("results", _COLUMNS), _key(r, _COLUMNS))
            for run in runs:
                _refuse_clash(conn, "runs", _RUN_CELL, run)
                conn.execute(_insert("runs", _RUN_COLUMNS), _key(run, _RUN_COLUMNS))
            for artifact in artifacts:
                conn.execute(_insert("artifacts", _ARTIFACT_COLUMNS), _key(artifact, _ARTIFACT_COLUMNS))

    def put_description(self, suite: str, version: int, description: SuiteDescription) -> None:
        """Store (or replace) the description of a suite version."""
        with self._transaction("write") as conn:
            conn.execute("INSERT OR REPLACE INTO suites VALUES (?, ?, ?)", (suite, version, description.to_json()))

    def description(self, suite: str, version: int) -> SuiteDescription | None:
        """The stored description of a suite version, or None when none was stored."""
        with self._errors("read"):
            row = self.conn.execute(
                "SELECT meta_json FROM suites WHERE suite=? AND suite_version=?", (suite, version)
            ).fetchone()
        return SuiteDescription.from_json(row[0]) if row else None

    def records(self, **where: Any) -> list[ResultRecord]:
        """Records matching column=value filters, in a stable order."""
        return [ResultRecord(*row) for row in self._select("results", _COLUMNS, _KEY, where)]

    def runs(self, **where: Any) -> list[RunRecord]:
        """Run rows matching column=value filters, in a stable order."""
        return [RunRecord(*row) for row in self._select("runs", _RUN_COLUMNS, _RUN_KEY, where)]

    def artifacts(self, **where: Any) -> list[Artifact]:
        """Artifacts matching column=value filters (none in a store written before they were kept)."""
        if not self._columns("artifacts"):
            return []
        return [Artifact(*row) for row in self._select("artifacts", _ARTIFACT_COLUMNS, (*_RUN_KEY, "name"), where)]

    def first_seed_artifacts(self, **where: Any) -> list[Artifact]:
        """Of the artifacts matching the filters, those of each (task, model, protocol)'s lowest seed, in the order
        of `artifacts`: the previews a report shows, without reading every run's files."""
        if not self._columns("artifacts"):
            return []
        unknown = set(where) - set(_ARTIFACT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns {unknown}")
        clause = " AND ".join(f"{k}=?" for k in where) or "1"
        first = ", ".join("MIN(seed)" if c == "seed" else c for c in _RUN_KEY)
        group = ", ".join(c for c in _RUN_KEY if c != "seed")
        query = (
            f"SELECT {', '.join(_ARTIFACT_COLUMNS)} FROM artifacts WHERE {clause} AND ({', '.join(_RUN_KEY)}) IN "
            f"(SELECT {first} FROM artifacts WHERE {clause} GROUP BY {group}) ORDER BY {', '.join(_RUN_KEY)}, name"
        )
        with self._errors("read"):
            rows = self.conn.execute(query, (*where.values(), *where.values())).fetchall()
        return [Artifact(*row) for row in rows]

    def _select(self, table: str, columns: list[str], order: tuple[str, ...], where: dict[str, Any]) -> list[Any]:
        unknown = set(where) - set(columns)
        if unknown:
            raise ValueError(f"unknown columns {unknown}")
        clause = " AND ".join(f"{k}=?" for k in where) or "1"
        with self._errors("read"):
            return self.conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE {clause} ORDER BY {', '.join(order)}",
                tuple(where.values()),
            ).fetchall()

    def versions(self, suite: str) -> list[tuple[int, str]]:
        """(suite_version, budget) pairs that hold records or runs for a suite, newest version first."""
        with self._errors("read"):
            indexed = {n for (n,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            if indexed >= set(_INDEXES):
                rows = {pair for table in ("results", "runs") for pair in self._pairs(table, suite)}
            else:  # a read-only store from before the indexes: one pass over the suite's rows
                rows = self.conn.execute(
                    "SELECT suite_version, budget FROM results WHERE suite=? "
                    "UNION SELECT suite_version, budget FROM runs WHERE suite=?",
                    (suite, suite),
                ).fetchall()
        return sorted(((int(v), b) for v, b in rows), key=lambda pair: (-pair[0], pair[1]))

    def _pairs(self, table: str, suite: str) -> Iterator[tuple[int, str]]:
        """A table's (suite_version, budget) pairs of a suite by index seeks, two per pair: O(pairs · log rows)."""

        def least(column: str, where: str, *args: Any) -> Any:
            query = f"SELECT MIN({column}) FROM {table} WHERE suite=? {where}"
            return self.conn.execute(query, (suite, *args)).fetchone()[0]

        version = least("suite_version", "")
        while version is not None:
            budget = least("budget", "AND suite_version=?", version)
            while budget is not None:
                yield version, budget
                budget = least("budget", "AND suite_version=? AND budget>?", version, budget)
            version = least("suite_version", "AND suite_version>?", version)

    def close(self) -> None:
        self.conn.close()


def astuple_ordered(record: ResultRecord) -> tuple[Any, ...]:
    """A record's values in the order of the results table's columns."""
    return _key(record, _COLUMNS)


def _key(record: ResultRecord | RunRecord | Artifact, columns: Iterable[str]) -> tuple[Any, ...]:
    return tuple(getattr(record, c) for c in columns)  # not asdict, which deep-copies every field of every row


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' for _ in columns)})"


def _check_writable(records: list[ResultRecord], runs: list[RunRecord]) -> None:
    """Refuse what a schema-2 store never holds: a divergence as a record, or a run status it does not know."""
    if any(r.metric == DIVERGED for r in records):
        raise ValueError(f"'{DIVERGED}' is no metric: record a diverged run as RunRecord(status='diverged')")
    for run in runs:
        if run.status not in RUN_STATUSES:
            raise ValueError(f"unknown run status '{run.status}', expected one of {RUN_STATUSES}")


def _refuse_clash(conn: sqlite3.Connection, table: str, cell: tuple[str, ...], row: ResultRecord | RunRecord) -> None:
    """Refuse a row whose table cell already holds rows of another protocol in `table`."""
    where = " AND ".join(f"{c}=?" for c in cell)
    below, above = (f"SELECT protocol_hash FROM {table} WHERE {where} AND protocol_hash{op}?" for op in "<>")
    key = (*_key(row, cell), row.protocol_hash)
    # two ranges of the cell index, not `<>`, which scans every row (seed) of the cell
    clash = conn.execute(f"{below} UNION ALL {above} LIMIT 1", key + key).fetchone()
    if clash:
        raise StoreError(
            f"suite '{row.suite}' v{row.suite_version} model '{row.model}' on '{row.task}' ({row.budget}) already "
            f"holds {table} of another protocol ({clash[0]} vs {row.protocol_hash})",
            "bump the suite's version when you change its protocol, or pass --store with another path",
        )


def _run_from(record: ResultRecord, status: str, step: int) -> RunRecord:
    """The run row a schema-1 record stands for, with the record's provenance."""
    d = asdict(record)
    return RunRecord(**{c: d[c] for c in _RUN_COLUMNS if c in d}, status=status, step=step, detail="")


def _migrate_diverged(conn: sqlite3.Connection) -> None:
    """Each `DIVERGED` record becomes a diverged run row at the step it held, and leaves the results."""
    rows = conn.execute(f"SELECT {', '.join(_V2_COLUMNS)} FROM results WHERE metric=?", (DIVERGED,)).fetchall()
    for record in (ResultRecord(*row) for row in rows):
        run = _run_from(record, "diverged", int(record.value))
        conn.execute(_insert("runs", _V2_RUN_COLUMNS), _key(run, _V2_RUN_COLUMNS))
    conn.execute("DELETE FROM results WHERE metric=?", (DIVERGED,))


def _migrate_done(conn: sqlite3.Connection) -> None:
    """Every other run (and protocol) the results hold becomes a done run row at its training steps, with the
    provenance of its record of the largest wall time (ties broken by metric name)."""
    run_key = ", ".join(_RUN_KEY)
    rows = conn.execute(
        f"SELECT {', '.join(_V2_COLUMNS)} FROM results WHERE ({run_key}) NOT IN (SELECT {run_key} FROM runs) "
        f"ORDER BY {run_key}, wall_time_s DESC, metric"
    ).fetchall()
    seen: set[tuple[Any, ...]] = set()
    for record in (ResultRecord(*row) for row in rows):
        key = _key(record, _RUN_KEY)
        if key not in seen:
            seen.add(key)
            run = _run_from(record, "done", record.train_steps)
            conn.execute(_insert("runs", _V2_RUN_COLUMNS), _key(run, _V2_RUN_COLUMNS))


def _migrate_descriptions(conn: sqlite3.Connection) -> None:
    """Rewrite each suite version's untyped dict as a SuiteDescription's JSON."""
    for suite, version, text in conn.execute("SELECT suite, suite_version, meta_json FROM suites").fetchall():
        new = SuiteDescription.from_json(text).to_json()
        conn.execute("UPDATE suites SET meta_json=? WHERE suite=? AND suite_version=?", (new, suite, version))

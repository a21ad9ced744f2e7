"""Run status beside results (schema 2), the typed suite description, and the migration of schema-1 stores."""

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchbox import store as store_module
from benchbox.description import BudgetInfo, ModelRow, SuiteDescription, TaskInfo
from benchbox.errors import StoreError
from benchbox.store import DIVERGED, SCHEMA_VERSION, ResultStore
from benchbox.suite import ReportedResult
from benchbox.testing import result_record, run_record

record = result_record
V1_STORE = Path(__file__).parent / "fixtures" / "store_v1" / "results.db"
RUN_KEY = "suite, suite_version, task, model, seed, budget"


# --- runs ------------------------------------------------------------------------------------------------------


def test_run_record_round_trip_and_filters(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    diverged = run_record(seed=1, status="diverged", step=3, detail="{'loss': nan}", wall_time_s=0.25)
    store.put([record()], runs=[run_record()])
    store.put([], runs=[diverged])
    assert store.runs() == [run_record(), diverged]
    assert store.runs(status="diverged") == [diverged]
    assert ResultStore(tmp_path / "r.db").runs(seed=1) == [diverged]  # read back from disk by a new connection
    with pytest.raises(ValueError, match="unknown columns"):
        store.runs(metric="x")


def test_a_clash_on_one_record_leaves_neither_records_nor_run(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record()], runs=[run_record()])
    new = [record(seed=1, metric="reverse_kl", protocol_hash="p2"), record(seed=1, protocol_hash="p2")]
    with pytest.raises(StoreError, match="another protocol"):
        store.put(new, runs=[run_record(seed=1, protocol_hash="p2")])
    assert store.records() == [record()]
    assert store.runs() == [run_record()]


def test_a_run_of_another_protocol_is_refused_with_its_records(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([], runs=[run_record(status="diverged", step=3)])  # a diverged run leaves no record to clash with
    with pytest.raises(StoreError, match="another protocol"):
        store.put([record(seed=1, metric="other", protocol_hash="p2")], runs=[run_record(seed=1, protocol_hash="p2")])
    assert store.records() == []
    assert [r.status for r in store.runs()] == ["diverged"]


def test_replace_runs_replaces_a_diverged_run_with_a_done_one(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record(metric="stale")], runs=[run_record(status="diverged", step=3)])
    store.put([record(seed=1)], runs=[run_record(seed=1)])  # another seed: untouched by the rerun of seed 0
    store.put([record(value=7.0)], runs=[run_record(wall_time_s=9.0)], replace_runs=True)
    assert store.runs(seed=0) == [run_record(wall_time_s=9.0)]
    assert [(r.metric, r.value) for r in store.records(seed=0)] == [("modes_covered", 7.0)]
    assert len(store.records(seed=1)) == 1 and store.runs(seed=1) == [run_record(seed=1)]


def test_replace_runs_clears_old_records_of_a_run_that_now_diverges(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record()], runs=[run_record()])
    store.put([], runs=[run_record(status="diverged", step=5)], replace_runs=True)
    assert store.records() == []
    assert [(r.status, r.step) for r in store.runs()] == [("diverged", 5)]


def test_versions_lists_runs_without_records(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record()], runs=[run_record()])
    store.put([], runs=[run_record(suite_version=2, budget="short", status="diverged", step=1)])
    store.put([], runs=[run_record(suite_version=2, budget="short", seed=1, status="failed", detail="OOM")])
    assert store.versions("toy2d") == [(2, "short"), (1, "smoke")]
    assert store.versions("digits") == []


def test_no_divergence_record_and_no_unknown_status_is_written(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    with pytest.raises(ValueError, match="RunRecord"):
        store.put([record(metric=DIVERGED, value=3.0)])
    with pytest.raises(ValueError, match="unknown run status"):
        store.put([record()], runs=[run_record(status="skipped")])
    assert store.records() == [] and store.runs() == []


# --- description -----------------------------------------------------------------------------------------------


def description() -> SuiteDescription:
    smoke = BudgetInfo(4, (0,), "for tests only")
    short = BudgetInfo(2000, (0, 1, 2), "2,000 steps")
    sampling = {"smoke": {"sampler": "ddpm", "sample_steps": 0, "eta": 1.0}}
    return SuiteDescription(
        description="digits, scored by a classifier",
        tasks=(TaskInfo("digits", "8×8 digits"),),
        models=(
            ModelRow("ddpm", "DDPM", {"smoke": smoke}, sampling=sampling),
            ModelRow("ddpm-ddim10", "DDPM; sampled by DDIM", {"smoke": smoke}, "ddpm", {"smoke": {"eta": 0.0}}),
            ModelRow("dcgan"),
        ),
        values=("fd_digits", "precision_digits"),
        budgets={"smoke": smoke, "short": short},
        reported=(ReportedResult("Ho et al. 2020", "DDPM", "digits", "fd_digits", 3.17, 0.1, "std", "ddpm"),),
        references=("Ho et al. 2020",),
    )


def test_description_round_trip_keeps_tuples_and_json_types():
    d = description()
    back = SuiteDescription.from_json(d.to_json())
    assert back == d
    assert isinstance(back.tasks, tuple) and isinstance(back.budgets["short"].seeds, tuple)
    eta = back.models[0].sampling["smoke"]["eta"]
    assert eta == 1.0 and type(eta) is float  # 1.0 stays a float, not 1
    assert json.loads(d.to_json())["schema"] == 2


def test_description_reads_the_old_dict():
    old = {
        "description": "toy",
        "tasks": [{"name": "ring8", "description": "8 Gaussians"}],
        "models": [
            {"name": "ddpm", "description": "DDPM", "budgets": {}, "sampling": {"smoke": {"eta": 0.0}}},
            {"name": "ddpm-x", "description": "DDPM x", "budgets": {}, "variant_of": "ddpm", "sampling": {}},
        ],
        "metrics": [
            {"name": "modes_covered", "higher_is_better": True, "decimals": 1, "description": "modes"},
            {"name": "reverse_kl", "higher_is_better": False, "decimals": 3, "description": "KL"},
        ],
        "budgets": {"smoke": {"steps": 20, "seeds": [0, 1], "description": "tests"}},
        "reported": [{"source": "s", "method": "m", "task": "ring8", "metric": "reverse_kl", "value": 0.5}],
        "references": ["a paper"],
    }
    d = SuiteDescription.from_json(json.dumps(old))
    assert d.values == ("modes_covered", "reverse_kl")
    assert d.budgets == {"smoke": BudgetInfo(20, (0, 1), "tests")}
    assert d.models[1] == ModelRow("ddpm-x", "DDPM x", variant_of="ddpm")
    assert d.reported == (ReportedResult("s", "m", "ring8", "reverse_kl", 0.5),)
    assert (d.references, d.schema) == (("a paper",), 2)
    assert SuiteDescription.from_json(d.to_json()) == d


def test_description_of_a_newer_schema_or_malformed_is_refused():
    with pytest.raises(StoreError, match="newer benchbox.*upgrade benchbox"):
        SuiteDescription.from_json(json.dumps({"schema": 3}))
    with pytest.raises(StoreError, match="malformed"):
        SuiteDescription.from_json(json.dumps({"schema": 2, "description": "x"}))


def test_store_keeps_descriptions(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put_description("digits", 1, description())
    assert ResultStore(tmp_path / "r.db").description("digits", 1) == description()
    assert store.description("digits", 2) is None


# --- schema and migration --------------------------------------------------------------------------------------


def v1_copy(tmp_path: Path) -> Path:
    path = tmp_path / "v1.db"
    shutil.copyfile(V1_STORE, path)
    return path


def query(path: Path, sql: str, *args: object) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_migration_of_a_schema_1_store(tmp_path):
    path = v1_copy(tmp_path)
    # the independent reference: the old file read with plain sqlite3 before any benchbox code opens it
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [("1",)]
    old_count = query(path, "SELECT COUNT(*) FROM results")[0][0]
    diverged = query(path, f"SELECT {RUN_KEY}, value, created_at FROM results WHERE metric=?", DIVERGED)
    old_runs = set(query(path, f"SELECT DISTINCT {RUN_KEY}, protocol_hash FROM results"))
    longest = {
        row[:7]: row[7]
        for row in query(path, f"SELECT {RUN_KEY}, protocol_hash, MAX(wall_time_s) FROM results GROUP BY 1,2,3,4,5,6,7")
    }
    old_meta = dict(query(path, "SELECT suite, meta_json FROM suites"))
    assert len(diverged) == 4 and {row[6] for row in diverged} == {3.0}

    store = ResultStore(path)
    assert not store.records(metric=DIVERGED)
    assert len(store.records()) == old_count - len(diverged)
    runs = store.runs()
    assert {(*run_key(r), r.protocol_hash) for r in runs} == old_runs
    assert {(*run_key(r), r.step, r.created_at) for r in runs if r.status == "diverged"} == {
        (*row[:6], 3, row[7]) for row in diverged
    }
    done = [r for r in runs if r.status != "diverged"]
    assert len(done) == len(old_runs) - len(diverged) and {r.status for r in done} == {"done"}
    assert all(r.step == r.train_steps and r.detail == "" for r in done)
    assert all(r.wall_time_s == longest[(*run_key(r), r.protocol_hash)] for r in done)
    for suite, text in old_meta.items():
        new = store.description(suite, 1)
        assert new == SuiteDescription.from_json(text)
        assert new.values == tuple(m["name"] for m in json.loads(text)["metrics"])
    assert store.versions("toy2d") == [(1, "smoke")]
    store.close()
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [(str(SCHEMA_VERSION),)]


def run_key(r) -> tuple:
    return (r.suite, r.suite_version, r.task, r.model, r.seed, r.budget)


def test_a_migrated_store_is_not_migrated_again(tmp_path):
    path = v1_copy(tmp_path)
    first = ResultStore(path)
    runs = first.runs()
    first.close()
    conn = sqlite3.connect(path)  # a record that a second migration would turn into a run row and delete
    conn.execute("UPDATE results SET metric=? WHERE rowid=(SELECT MIN(rowid) FROM results)", (DIVERGED,))
    conn.commit()
    conn.close()
    store = ResultStore(path)
    assert len(store.records(metric=DIVERGED)) == 1
    assert store.runs() == runs


def test_a_failed_migration_changes_nothing(tmp_path):
    path = v1_copy(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE suites SET meta_json='{\"description\": 1}' WHERE suite='digits'")
    conn.commit()
    conn.close()
    before = query(path, "SELECT * FROM results ORDER BY 1,2,3,4,5,6,7")
    with pytest.raises(StoreError, match="malformed"):
        ResultStore(path)
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [("1",)]
    assert query(path, "SELECT * FROM results ORDER BY 1,2,3,4,5,6,7") == before
    assert not query(path, "SELECT name FROM sqlite_master WHERE name='runs'")


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.db"
    ResultStore(path).put([result_record()], runs=[run_record()])
    newer = store_module.SCHEMA_VERSION + 1
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(newer),))
    before = query(path, "SELECT * FROM results")
    with pytest.raises(StoreError, match=f"schema version {newer}, written by a newer benchbox") as info:
        ResultStore(path)
    assert "use a newer benchbox" in str(info.value) and "\n" not in str(info.value)
    assert query(path, "SELECT * FROM results") == before
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [(str(newer),)]


def schema_2_copy(tmp_path: Path) -> Path:
    """A store as benchbox wrote it at schema 2: the same tables without the machine column."""
    path = tmp_path / "v2.db"
    ResultStore(path).put([result_record()], runs=[run_record()])
    with sqlite3.connect(path) as conn:
        for table in ("results", "runs"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN machine")
        conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    return path


def test_a_schema_2_store_is_migrated_keeping_every_value(tmp_path):
    path = schema_2_copy(tmp_path)
    before = query(path, "SELECT * FROM results ORDER BY 1,2,3,4,5,6,7")
    store = ResultStore(path)
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [("3",)]
    assert [row + ("",) for row in before] == query(path, "SELECT * FROM results ORDER BY 1,2,3,4,5,6,7")
    assert store.records() == [result_record()] and store.runs() == [run_record()]  # machine: "" (not recorded)
    store.put([result_record(seed=1, machine="cpu X; 2 threads")])
    assert store.records(seed=1)[0].machine == "cpu X; 2 threads"


def test_a_read_only_schema_2_store_asks_for_a_writable_copy(tmp_path, monkeypatch):
    path = schema_2_copy(tmp_path)
    read_only_by_access(monkeypatch, path)
    with pytest.raises(StoreError, match="schema version 2 .*read-only.*copy it somewhere writable") as info:
        ResultStore(path)
    assert "\n" not in str(info.value)
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [("2",)]


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE results (x INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema"):
        ResultStore(path)
    assert query(path, "SELECT name FROM sqlite_master") == [("results",)]


def read_only_by_access(monkeypatch, path: Path) -> None:
    """Make the store see `path` as not writable (tests run as root, for whom os.access grants every write)."""
    real = os.access
    monkeypatch.setattr(store_module.os, "access", lambda p, mode: real(p, mode) and Path(p) != path)


def test_a_read_only_schema_1_store_asks_for_a_writable_copy(tmp_path, monkeypatch):
    path = v1_copy(tmp_path)
    read_only_by_access(monkeypatch, path)
    with pytest.raises(StoreError, match="read-only.*copy it somewhere writable") as info:
        ResultStore(path)
    assert "\n" not in str(info.value)
    assert query(path, "SELECT value FROM meta WHERE key='schema_version'") == [("1",)]


def test_a_read_only_store_is_read_but_not_written(tmp_path, monkeypatch):
    path = tmp_path / "r.db"
    ResultStore(path).put([record()], runs=[run_record()])
    read_only_by_access(monkeypatch, path)
    store = ResultStore(path)
    assert store.read_only and store.records() == [record()] and store.runs() == [run_record()]
    with pytest.raises(StoreError, match="readonly"):  # the connection itself is read-only (mode=ro)
        store.put([record(seed=1)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a file whatever its mode; the test above covers it")
def test_a_chmod_read_only_schema_1_store_asks_for_a_writable_copy(tmp_path):
    path = v1_copy(tmp_path)
    path.chmod(0o444)
    with pytest.raises(StoreError, match="copy it somewhere writable"):
        ResultStore(path)


def test_artifacts_are_kept_with_their_run_and_replaced_with_it(tmp_path):
    import hashlib

    from benchbox.store import Artifact

    store = ResultStore(tmp_path / "r.db")
    record = result_record()
    key = {k: getattr(record, k) for k in ("suite", "suite_version", "task", "model", "seed", "budget")}
    png = b"\x89PNG fake bytes"
    art = Artifact(
        **key, protocol_hash=record.protocol_hash, name="preview.png", sha256=hashlib.sha256(png).hexdigest(), data=png
    )
    store.put([record], runs=[run_record()], artifacts=[art])
    assert store.artifacts(model=record.model) == [art]
    store.put([record], runs=[run_record()], replace_runs=True)  # a rerun without a preview leaves none behind
    assert store.artifacts() == []


def test_a_store_from_before_artifacts_gets_the_table_when_opened(tmp_path):
    path = tmp_path / "r.db"
    ResultStore(path).put([result_record()], runs=[run_record()])
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE artifacts")  # as a store written before previews were kept
    store = ResultStore(path)
    assert store.artifacts() == [] and store.records() == [result_record()]
    assert {row[1] for row in store.conn.execute("PRAGMA table_info(artifacts)")} >= {"sha256", "data"}

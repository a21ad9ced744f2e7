"""The SQLite store: round trip, replace, protocol clashes, atomicity, corrupt and unwritable files."""

import sqlite3

import pytest

from benchbox.errors import StoreError
from benchbox.store import ResultStore
from benchbox.testing import result_record

record = result_record


def test_round_trip_and_replace(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record(), record(seed=1, value=5.0)])
    store.put([record(value=4.0)])  # same cell and seed: replaces
    values = {(r.seed, r.value) for r in store.records(suite="toy2d")}
    assert values == {(0, 4.0), (1, 5.0)}
    assert store.versions("toy2d") == [(1, "smoke")]


def test_wal_mode(tmp_path):
    ResultStore(tmp_path / "r.db")
    assert sqlite3.connect(tmp_path / "r.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_protocol_in_same_cell_is_refused_and_nothing_is_written(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put([record()])
    with pytest.raises(StoreError, match="another protocol"):
        store.put([record(seed=5, metric="reverse_kl", protocol_hash="p1"), record(seed=1, protocol_hash="p2")])
    assert len(store.records()) == 1  # the first record of the failed batch was rolled back
    store.put([record(suite_version=2, protocol_hash="p2")])  # a new version is a new cell


def test_corrupt_file_is_a_one_line_store_error(tmp_path):
    path = tmp_path / "r.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable benchbox database"):
        ResultStore(path)


def test_path_below_a_file_is_a_store_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="cannot open store"):
        ResultStore(tmp_path / "afile" / "r.db")

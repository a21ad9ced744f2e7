"""The store's indexed reads and writes against plain scans of the same rows: versions by index seeks, the first
seed's artifacts, and the protocol clash check by two index ranges."""

import sqlite3

import pytest

import benchbox.store as store_module
from benchbox.errors import StoreError
from benchbox.store import Artifact, ResultStore
from benchbox.testing import result_record, run_record


def artifact(**changes) -> Artifact:
    base = dict(suite="toy2d", suite_version=1, task="ring8", model="gan-ns", seed=0, budget="smoke")
    base.update(protocol_hash="p1", name="preview.png", sha256="0" * 64, data=b"png")
    return Artifact(**{**base, **changes})


def filled_store(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    for version in (1, 3, 2):
        for budget in ("smoke", "full", "short"):
            if (version, budget) == (2, "short"):
                continue
            phash = f"p{version}{budget}"
            seeds = (2, 0, 1) if budget != "full" else (1,)
            records = [result_record(suite_version=version, budget=budget, seed=s, protocol_hash=phash) for s in seeds]
            store.put(
                records, [run_record(suite_version=version, budget=budget, seed=s, protocol_hash=phash) for s in seeds]
            )
    store.put([], [run_record(suite_version=2, budget="short", seed=4, protocol_hash="x", status="failed")])
    store.put([result_record(suite="other", suite_version=9, protocol_hash="o")])
    return store


def test_versions_by_index_seeks_are_the_pairs_a_scan_of_both_tables_finds(tmp_path):
    store = filled_store(tmp_path)
    scan = store.conn.execute(
        "SELECT DISTINCT suite_version, budget FROM (SELECT suite_version, budget FROM results WHERE suite='toy2d' "
        "UNION ALL SELECT suite_version, budget FROM runs WHERE suite='toy2d')"
    ).fetchall()
    expected = sorted(scan, key=lambda pair: (-pair[0], pair[1]))
    assert store.versions("toy2d") == expected and len(expected) == 9  # (2, short) holds a failed run only
    assert expected[:3] == [(3, "full"), (3, "short"), (3, "smoke")]
    assert store.versions("other") == [(9, "smoke")] and store.versions("none") == []
    with sqlite3.connect(store.path) as conn:  # a store without the indexes (as a read-only old one) reads the same
        conn.execute("DROP INDEX results_by_budget")
    assert store.versions("toy2d") == expected


def test_opening_a_store_without_the_indexes_creates_them(tmp_path):
    store = filled_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        for name in store_module._INDEXES:
            conn.execute(f"DROP INDEX {name}")
    ResultStore(store.path)
    names = {n for (n,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert names >= {"results_by_budget", "runs_by_budget"}


def test_first_seed_artifacts_are_those_of_each_protocol_s_lowest_seed_in_artifacts_order(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    store.put(
        [],
        artifacts=[
            artifact(seed=2, data=b"a2"),
            artifact(seed=1, data=b"a1"),
            artifact(seed=1, name="other.png", data=b"a1-other"),
            artifact(seed=3, protocol_hash="p2", data=b"b3"),
            artifact(seed=0, model="lsgan", data=b"c0"),
            artifact(seed=0, budget="short", data=b"short"),
        ],
    )
    everything = store.artifacts(suite="toy2d", suite_version=1, budget="smoke")
    lowest = {}
    for a in everything:
        key = (a.task, a.model, a.protocol_hash)
        lowest[key] = min(lowest.get(key, a.seed), a.seed)
    expected = [a for a in everything if a.seed == lowest[(a.task, a.model, a.protocol_hash)]]
    found = store.first_seed_artifacts(suite="toy2d", suite_version=1, budget="smoke")
    assert found == expected and [a.data for a in found] == [b"a1-other", b"a1", b"b3", b"c0"]
    assert store.first_seed_artifacts(suite="none") == []


@pytest.mark.parametrize("other", ["p0", "p2"])  # sorts before and after the held protocol
def test_another_protocol_is_refused_whichever_side_of_the_held_one_it_sorts(tmp_path, other):
    store = ResultStore(tmp_path / "r.db")
    store.put([result_record(protocol_hash="p1", seed=s) for s in range(5)], [run_record(protocol_hash="p1")])
    with pytest.raises(StoreError, match=f"another protocol \\(p1 vs {other}\\)"):
        store.put([result_record(seed=9, protocol_hash=other)])
    with pytest.raises(StoreError, match=f"runs of another protocol \\(p1 vs {other}\\)"):
        store.put([], [run_record(seed=9, protocol_hash=other)])
    store.put([result_record(seed=9, protocol_hash="p1")])  # the same protocol is no clash
    assert len(store.records()) == 6

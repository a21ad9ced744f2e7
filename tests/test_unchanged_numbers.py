"""The evaluation contract changed no number: every committed report's protocol hashes and every cell of a store
written before it (tests/fixtures/store_v1, see its README) are computed the same by today's code, and that store,
opened (and migrated) by today's code, reports the very tables it reported then."""

import re
import shutil
from pathlib import Path

import pytest

from benchbox.report.tables import csv_report, markdown_report
from benchbox.runner import Cell, cell_protocol_hash
from benchbox.store import ResultStore
from benchbox.suites import load_suite

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "store_v1"


def every_hash(suite_name: str, budget_name: str) -> set[str]:
    """The protocol hash of every row (model entries and their sampling variants) of a suite under a budget."""
    suite = load_suite(suite_name)
    budget = suite.budget(budget_name)
    hashes = set()
    for task in suite.tasks:
        for entry in suite.models:
            cell = Cell(task, entry, 0, entry.budget_for(budget))
            hashes.add(cell_protocol_hash(suite, cell))
            hashes |= {cell_protocol_hash(suite, cell, v) for v in entry.variants_for(cell.budget)}
    return hashes


@pytest.mark.parametrize("suite", ["toy2d", "digits", "fashion-mnist"])
def test_every_committed_report_hash_is_todays_hash_of_a_suite_row(suite):
    text = (ROOT / "reports" / f"{suite}.md").read_text()
    listed = {h.strip() for h in re.search(r"protocol hashes: ([0-9a-f, ]+)", text).group(1).split(",")}
    assert listed and listed <= every_hash(suite, "short"), listed - every_hash(suite, "short")


@pytest.fixture()
def old_store(tmp_path):
    path = tmp_path / "results.db"
    shutil.copy(FIXTURE / "results.db", path)
    return ResultStore(path)


def test_every_suite_cell_of_the_old_store_has_todays_hash(old_store):
    records = [r for r in old_store.records() if ":" not in r.model]  # user models hash their own source
    assert records
    for r in records:
        suite = load_suite(r.suite)
        entry = next(m for m in suite.models if r.model in (m.name, *(m.variant_name(v) for v in m.variants)))
        variant = next((v for v in entry.variants if entry.variant_name(v) == r.model), None)
        cell = Cell(suite.task(r.task), entry, r.seed, entry.budget_for(suite.budget(r.budget)))
        assert cell_protocol_hash(suite, cell, variant) == r.protocol_hash, (r.suite, r.model, r.metric)


@pytest.mark.parametrize("suite", ["toy2d", "digits", "fashion-mnist"])
def test_the_old_store_reports_the_tables_it_reported_before(old_store, suite):
    assert markdown_report(old_store, suite) == (FIXTURE / f"{suite}.md").read_text()
    assert csv_report(old_store, suite) == (FIXTURE / f"{suite}.csv").read_text()


def test_the_old_store_reports_chosen_columns_as_before(old_store):
    chosen = ["fd_digits", "precision_digits", "nll_bits_per_dim", "class_accuracy_digits"]
    assert markdown_report(old_store, "digits", metrics=chosen) == (FIXTURE / "digits-chosen.md").read_text()

"""The evaluation contract changed no number: every committed report's protocol hashes and every cell of a store
written before it (tests/fixtures/store_v1, see its README) are computed the same by today's code, and that store,
opened (and migrated) by today's code, reports every number it reported then (in today's layout: the same text in
the same model's row and column, and the same summaries in the CSV)."""

import io
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchbox.report.render import render_report
from benchbox.report.tables import markdown_report
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


def cells(markdown: str) -> dict[tuple[str, str, str], str]:
    """{(task, model, column): text} of every table row of ours in a Markdown report (papers' rows, family header
    rows and marks left out)."""
    out: dict[tuple[str, str, str], str] = {}
    task, header = "", []
    for line in markdown.splitlines():
        if line.startswith("### "):
            task = line[4:]
        elif line.startswith("| model |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("| ") and not line.startswith(("| ---", "| *", "| **")) and header:
            row = [c.strip() for c in line.strip("|").split("|")]
            if len(row) == len(header):
                for column, text in zip(header[1:], row[1:], strict=True):
                    plain = re.sub(r"</?ins>|\*\*", "", text)
                    out.setdefault((task, row[0], column), plain)
        elif not line.startswith("|"):
            header = header if not line.strip() else []
    return out


@pytest.mark.parametrize("suite", ["toy2d", "digits", "fashion-mnist"])
def test_the_old_store_reports_every_number_it_reported_before(old_store, suite):
    before = cells((FIXTURE / f"{suite}.md").read_text())
    now = cells(markdown_report(old_store, suite))
    assert before
    for key, text in before.items():
        if key[2] == "min/run" or text == "—":
            continue  # the run's minutes now sit in the cost table; an empty cell is no number
        assert now.get(key) == text, key
    old = pd.read_csv(FIXTURE / f"{suite}.csv")
    new = pd.read_csv(io.StringIO(render_report(old_store, suite, "csv")))
    ours = old[old["source"] == "ours"]
    summary = new[new["kind"] == "summary"].set_index(["task", "model", "metric"])
    for row in ours.itertuples():
        got = summary.loc[(row.task, row.model, row.metric)]
        assert got["seeds"] == row.seeds
        for col in ("mean", "std", "sem"):
            a, b = float(got[col]), float(getattr(row, col))
            assert (math.isnan(a) and math.isnan(b)) or a == b, (row.model, row.metric, col)


def test_the_old_store_reports_chosen_columns_as_before(old_store):
    chosen = ["fd_digits", "precision_digits", "nll_bits_per_dim", "class_accuracy_digits"]
    before = cells((FIXTURE / "digits-chosen.md").read_text())
    now = cells(markdown_report(old_store, "digits", metrics=chosen))
    assert {k: v for k, v in before.items() if k[2] != "min/run"} == {k: v for k, v in now.items() if k in before}
    extra = {k: v for k, v in now.items() if k not in before}  # the diverged run now has its row, with no number
    assert extra and all(v == "diverged at step 3" or k[2] == "seeds" for k, v in extra.items())

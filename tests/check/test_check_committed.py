"""The committed baselines that CI checks against are readable and still describe the suites' protocols (no run)."""

from pathlib import Path

import pytest

from benchbox.check.baseline import read_baseline
from benchbox.check.collect import table_rows
from benchbox.check.compare import check_protocol, check_suite
from benchbox.cli_check import select
from benchbox.suites import load_suite

BASELINES = Path(__file__).resolve().parents[2] / "reports" / "baselines"


@pytest.mark.parametrize("name", ["toy2d-smoke.json", "digits-smoke.json"])
def test_committed_baseline_matches_the_suite(name):
    baseline = read_baseline(BASELINES / name)  # derived numbers agree with the per-seed values
    suite = load_suite(baseline.suite)
    check_suite(baseline, suite, "smoke")
    entries, cells = select(suite, baseline, None)
    assert len(cells) == len(baseline.cells) and len(baseline.seeds) >= 3
    rows = {row.label: row for row in table_rows(suite, entries, suite.budget(baseline.budget))}
    assert set(rows) == {c.label for c in cells}  # every row of the baseline's models, variants included
    check_protocol(cells, rows, {t.name: t.data_hash() for t in suite.tasks})

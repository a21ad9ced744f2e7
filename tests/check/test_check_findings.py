"""`benchbox check` requires the findings its baseline's runs reproduced: a change that contradicts one fails the
check, one that leaves it undecided is noted; baselines written before findings read as requiring none."""

import json

import pytest

import benchbox.cli_check
from benchbox.check.baseline import from_json, to_json
from benchbox.check.collect import Row, RowResults
from benchbox.check.findings import decided, held, lost
from benchbox.cli import main
from benchbox.findings import Side, Verdict
from benchbox.suites import load_suite

TOY2D = load_suite("toy2d")
ENTRIES = {m.name: m for m in TOY2D.models}


def results(task: str, model: str, metric: str, values: list[float]) -> RowResults:
    row = Row(task, model, ENTRIES[model], None, f"hash-{model}")
    seeds = tuple(range(len(values)))
    return RowResults(row, seeds, dict.fromkeys(seeds, "done"), {metric: dict(enumerate(values))})


def verdicts(pacgan: list[float], gan: list[float]) -> list[Verdict]:
    rows = [results("grid25", "pacgan2", "modes_covered", pacgan), results("grid25", "gan-ns", "modes_covered", gan)]
    return decided(TOY2D, rows)


def test_the_findings_of_the_rows_run_are_decided_and_the_reproduced_ones_held():
    found = verdicts([24.0, 23.0, 25.0], [17.0, 18.0, 16.0])
    assert [v.finding.key for v in found] == ["packing-grid25"]  # the other findings' rows were not run
    assert found[0].verdict == "reproduced" and held(found) == ("packing-grid25",)
    assert held(verdicts([20.0, 23.0, 18.0], [19.0, 22.0, 17.5])) == ()


def test_only_a_contradicted_finding_fails_an_undecided_one_is_noted():
    contradicted, notes = lost(("packing-grid25",), verdicts([17.0, 18.0, 16.0], [24.0, 23.0, 25.0]))
    assert [v.finding.key for v in contradicted] == ["packing-grid25"] and not notes
    contradicted, notes = lost(("packing-grid25",), verdicts([20.0, 23.0, 18.0], [19.0, 22.0, 17.5]))
    assert not contradicted and "inconclusive now" in notes[0]
    contradicted, notes = lost(("packing-ring8",), verdicts([24.0, 23.0, 25.0], [17.0, 18.0, 16.0]))
    assert not contradicted and "was not run" in notes[0]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = tmp_path_factory.mktemp("findings-baseline") / "toy2d-smoke.json"
    args = ["-q", "check", "--suite", "toy2d", "--baseline", str(path), "--update-baseline", "--seeds", "0,1,2"]
    assert main([*args, "--models", "gan-ns", "--jobs", "1"]) == 0
    return path


def test_a_baseline_keeps_its_findings_and_an_older_one_requires_none(baseline):
    data = json.loads(baseline.read_text())
    assert data["findings_held"] == []  # one row's smoke runs decide no finding
    data["findings_held"] = ["packing-grid25"]
    assert from_json(data, "edited").findings_held == ("packing-grid25",)
    assert to_json(from_json(data, "edited"))["findings_held"] == ["packing-grid25"]
    del data["findings_held"]
    assert from_json(data, "old").findings_held == ()


def fake_verdict(verdict: str) -> Verdict:
    finding = next(f for f in TOY2D.findings if f.key == "packing-grid25")
    sides = (
        Side("pacgan2", "modes_covered", (0, 1, 2), (3.0, 3.0, 4.0)),
        Side("gan-ns", "modes_covered", (0, 1, 2), (9.0, 8.0, 9.0)),
    )
    return Verdict(finding, verdict, sides, "welch", -9.9, 0.999)


@pytest.mark.parametrize(("verdict", "code"), [("contradicted", 1), ("inconclusive", 0), ("reproduced", 0)])
def test_the_cli_fails_only_when_a_held_finding_is_contradicted(baseline, tmp_path, capsys, monkeypatch, verdict, code):
    data = json.loads(baseline.read_text())
    data["findings_held"] = ["packing-grid25"]
    edited = tmp_path / "held.json"
    edited.write_text(json.dumps(data))
    monkeypatch.setattr(benchbox.cli_check, "decided", lambda suite, rows: [fake_verdict(verdict)])
    store = tmp_path / "store.db"
    assert main(["-q", "check", "--suite", "toy2d", "--baseline", str(edited), "--store", str(store)]) == code
    out, err = capsys.readouterr()
    if verdict == "contradicted":
        last = err.strip().splitlines()[-1]  # (the lines before it are the runs' progress)
        assert last.startswith("benchbox: check failed: finding 'packing-grid25'") and last.endswith("p = 0.999")
        assert "Traceback" not in err
    elif verdict == "inconclusive":
        assert "finding 'packing-grid25' required by the baseline is inconclusive now" in out

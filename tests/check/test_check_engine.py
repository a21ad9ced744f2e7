"""The engine canary: it passes on the committed golden file, fails naming the value when a metric moves, and its
golden file states its tolerances."""

import json
import math
from pathlib import Path

import pytest

import benchbox.check.golden as golden
import benchbox.metrics.frechet as frechet
from benchbox.check.golden import DEFAULT_GOLDEN, TOLERANCES, close
from benchbox.cli import main

COMMITTED = Path(__file__).resolve().parents[2] / "reports" / "baselines" / "engine.json"


def only_spaces(monkeypatch, *spaces):
    """Leave out the feature spaces not named (the Fashion-MNIST classifier takes ~100 s to train from cold)."""
    real = golden.space_available
    monkeypatch.setattr(golden, "space_available", lambda d: real(d) if d in spaces else "left out by this test")


def test_the_default_golden_file_is_the_committed_one():
    assert DEFAULT_GOLDEN == COMMITTED and COMMITTED.is_file()
    data = json.loads(COMMITTED.read_text())
    assert data["tolerances"]["float64"]["rtol"] == 1e-6 and data["tolerances"] == TOLERANCES
    assert {"features", "points", "reconstruction", "space:digits"} <= set(data["groups"])
    assert data["groups"]["points"]["values"]["ring8.far.reverse_kl"] == "inf"  # no high-quality sample: +inf


def test_the_canary_passes_on_the_committed_golden_values(shared_cache, monkeypatch, capsys):
    only_spaces(monkeypatch, "digits")  # the digits classifier trains in seconds, into the tests' own cache
    code = main(["-q", "check", "--engine"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert " 0 moved" in out and "values compared" in out
    assert "space:fashion-mnist not compared: left out by this test" in out


def test_the_canary_fails_naming_a_metric_that_moved(monkeypatch, capsys):
    only_spaces(monkeypatch)
    original = frechet.frechet_distance
    monkeypatch.setattr(frechet, "frechet_distance", lambda *a: original(*a) + 1e-4)
    code = main(["-q", "check", "--engine", "--format", "md"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "benchbox: engine check failed: values moved: features fd_canary" in err
    assert "| features | fd_canary |" in out and "rtol 1e-06" in out


def test_golden_values_round_trip(monkeypatch, capsys, tmp_path):
    only_spaces(monkeypatch)
    path = tmp_path / "engine.json"
    assert main(["-q", "check", "--engine", "--update-golden", "--golden", str(path)]) == 0
    assert main(["-q", "check", "--engine", "--golden", str(path)]) == 0
    assert " 0 moved" in capsys.readouterr().out
    written = json.loads(path.read_text())
    assert set(written["groups"]) == {"features", "points", "reconstruction"}
    assert written["skipped"]["space:digits"] == "left out by this test"


def test_closeness_rule():
    assert close(1.0 + 1e-7, 1.0, 1e-6, 0.0) and not close(1.0 + 2e-6, 1.0, 1e-6, 0.0)
    assert close(1e-13, 0.0, 1e-6, 1e-12) and not close(1e-11, 0.0, 1e-6, 1e-12)
    assert close(math.inf, math.inf, 1e-6, 0) and close(math.nan, math.nan, 1e-6, 0)
    assert not close(math.inf, -math.inf, 1e-6, 0) and not close(1e300, math.inf, 1e-6, 0)


@pytest.mark.parametrize(
    "edit", [lambda d: d.update(format="x"), lambda d: d["groups"]["points"].update(tolerance="?")]
)
def test_a_malformed_golden_file_is_refused(edit, capsys, tmp_path, monkeypatch):
    only_spaces(monkeypatch)
    data = json.loads(COMMITTED.read_text())
    edit(data)
    path = tmp_path / "engine.json"
    path.write_text(json.dumps(data))
    assert main(["check", "--engine", "--golden", str(path)]) == 2
    assert "--update-golden" in capsys.readouterr().err

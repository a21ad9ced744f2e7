"""The baseline file: strict, stable, human-readable JSON that round-trips, and refuses hand-edited numbers."""

import json
import math

import pytest

from benchbox.check.baseline import (
    Baseline,
    BaselineCell,
    BaselineValue,
    RecordedEnvironment,
    read_baseline,
    to_json,
    write_baseline,
)
from benchbox.check.tolerance import Tolerance
from benchbox.errors import BenchboxError


def example() -> Baseline:
    cell = BaselineCell(
        task="ring8",
        model="gan-ns",
        protocol_hash="p" * 16,
        data_hash="d" * 64,
        extractor_weights=(),
        diverged=(2,),
        values=(
            BaselineValue("energy_distance", False, (0.8, 0.9, math.nan)),
            BaselineValue("reverse_kl", False, (math.inf, 1.5, math.nan)),
        ),
    )
    env = RecordedEnvironment("2.4.0", "", "cpu (x86_64)", "0.1.0", "abc", "2026-01-01T00:00:00+00:00")
    return Baseline("toy2d", 1, "smoke", (0, 1, 2), Tolerance(), env, {"seconds_per_sample": "wall clock"}, (cell,))


def test_round_trip_is_exact_and_stable(tmp_path):
    path = tmp_path / "b.json"
    write_baseline(path, example())
    first = path.read_bytes()
    back = read_baseline(path)
    assert to_json(back) == to_json(example())
    write_baseline(path, back)
    assert path.read_bytes() == first  # the same baseline writes the same bytes
    assert back.cells[0].values[1].values[0] == math.inf and math.isnan(back.cells[0].values[0].values[2])


def test_file_is_strict_json_with_stated_tolerance_and_derived_numbers(tmp_path):
    path = tmp_path / "b.json"
    write_baseline(path, example())
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["tolerance"]["k"] == 3.0 and data["tolerance"]["rel_floor"] == 0.01 and "rule" in data["tolerance"]
    value = data["cells"][0]["values"]["energy_distance"]
    assert value["direction"] == "lower is better" and value["n"] == 3
    assert value["mean"] == pytest.approx(0.85) and value["std"] == pytest.approx(math.sqrt(0.005))
    # allowed drift of a fresh run of the same seeds: max(3 · std · sqrt(1/2 + 1/2), 1% of 0.85, 1e-6)
    assert value["allowed_drift"] == pytest.approx(3 * math.sqrt(0.005))
    assert '"values": [0.8, 0.9, "nan"]' in text  # per-seed lists on one line; non-finite numbers as strings
    assert data["cells"][0]["values"]["reverse_kl"]["values"] == ["inf", 1.5, "nan"]


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["cells"][0]["values"]["energy_distance"].update(mean=0.5), "has mean 0.5"),
        (lambda d: d["cells"][0]["values"]["energy_distance"].update(allowed_drift=9.0), "allowed_drift"),
        (lambda d: d.update(seeds=[0, 1]), "needs 3 or more"),
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["cells"][0]["values"]["energy_distance"].update(values=[1, "x", 2]), "not a number"),
    ],
)
def test_hand_edited_or_malformed_files_are_refused(tmp_path, edit, fragment):
    path = tmp_path / "b.json"
    data = to_json(example())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(BenchboxError, match=fragment) as raised:
        read_baseline(path)
    assert "--update-baseline" in str(raised.value)


def test_missing_and_unreadable_files_say_how_to_write_one(tmp_path):
    with pytest.raises(BenchboxError, match="does not exist.*--update-baseline"):
        read_baseline(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(BenchboxError, match="not readable JSON"):
        read_baseline(tmp_path / "bad.json")

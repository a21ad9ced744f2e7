"""The JSON export's encoder against json.dumps(indent=1): the same text, character for character."""

import json

import pytest

from benchbox.report.export import indented_json

ROWS = [
    {"model": "gan-ns", "value": 0.1 + 0.2, "seed": 3, "std": None, "mean": "inf", "flag": True},
    {"model": 'quote " },\n   { and \\ and ∞ ± é', "value": -1e-300, "seed": -7, "std": 1e300, "mean": "-inf"},
    {"model": "", "value": 12345678901234567890, "seed": 0, "std": 2.5, "mean": 0.0, "flag": False},
]


@pytest.mark.parametrize(
    "data",
    [
        {"summaries": ROWS, "records": ROWS[1:] * 3, "reported": [], "findings": ROWS[:1]},
        {"records": ROWS[:1]},
        {"empty": []},
        {},
        {"nested": [{"a": [1, 2], "b": {"c": None}}]},  # not flat: json.dumps itself
        {"an empty row": [{}, {"a": 1}]},
    ],
)
def test_the_text_is_json_dumps_with_indent_1(data):
    assert indented_json(data) == json.dumps(data, ensure_ascii=False, indent=1)
    assert json.loads(indented_json(data)) == data

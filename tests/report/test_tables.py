"""Column selection of the Markdown and CSV tables (`benchbox report --metrics`)."""

import io

import pandas as pd
import pytest

from benchbox.errors import BenchboxError
from benchbox.report.render import render_report
from benchbox.report.summary import choose_columns
from benchbox.report.tables import markdown_report
from benchbox.store import ResultStore
from benchbox.testing import fails_with, result_record


@pytest.fixture
def store(tmp_path):
    s = ResultStore(tmp_path / "r.db")
    s.put(
        [
            result_record(metric=m, value=v, seed=seed)
            for seed in (0, 1)
            for m, v in (("modes_covered", 5.0 + seed), ("high_quality_pct", 50.0), ("reverse_kl", 0.5))
        ]
    )
    return s


def test_choose_columns_keeps_the_order_given_and_refuses_unknown_names():
    assert choose_columns(["a", "b", "c"], None) == ["a", "b", "c"]
    assert choose_columns(["a", "b", "c"], ["c", "a", "c"]) == ["c", "a"]
    with pytest.raises(BenchboxError, match="no values of x.*choose among: a, b"):
        choose_columns(["a", "b"], ["x"])


def test_markdown_and_csv_show_only_the_chosen_metrics(store):
    text = markdown_report(store, "toy2d", metrics=["reverse_kl", "modes_covered"])
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    # directions and decimals come from the catalogue, even for a store that holds no suite description
    assert header == "| model | seeds | reverse_kl ↓ | modes_covered ↑ |"
    assert "| gan-ns | 2 | 0.50 ± 0.00 | 5.5 ± 0.7 |" in text  # mean of 5, 6; sample std √0.5
    table = pd.read_csv(io.StringIO(render_report(store, "toy2d", "csv", metrics=["reverse_kl"])))
    assert set(table["metric"]) == {"reverse_kl"}
    assert sorted(table["kind"]) == ["seed", "seed", "summary"]  # the mean over seeds and each seed's value


def test_cli_refuses_an_unknown_column_in_one_line(store, capsys):
    fails_with(capsys, ["report", "--suite", "toy2d", "--store", str(store.path), "--metrics", "fid"], "fid", "choose")

"""Orderings against reported numbers: ranks, Kendall's τ and disagreeing pairs checked by hand and against scipy."""

import math
from itertools import combinations

import pytest
from scipy import stats

from benchbox.description import ModelRow, SuiteDescription
from benchbox.report.ordering import Pairing, disagreeing_pairs, our_metric, ranks
from benchbox.report.tables import markdown_tables
from benchbox.suite import ReportedResult
from benchbox.testing import result_record, run_record


def record(model, metric, value, seed=0):
    return result_record(
        suite="s", task="t", model=model, seed=seed, budget="short", metric=metric, value=value, n_samples=100
    )


def reported(method, value, ours):
    return ReportedResult("Paper 2018", method, "t", "fid", value, 1.0, "std", comparable_to=ours)


META = SuiteDescription(
    description="",
    tasks=(),
    models=tuple(ModelRow(m) for m in ("a", "b", "c", "d")),
    values=("fd_x", "precision_x", "fid"),  # the catalogue's fd and precision in a space "x", and canonical FID
    budgets={},
    reported=(reported("A", 10.0, "a"), reported("B", 20.0, "b"), reported("C", 30.0, "c"), reported("D", 5, "")),
)


def test_ranks_best_first_with_shared_ties():
    assert ranks([3.0, 1.0, 2.0, 1.0], higher_is_better=False) == [4.0, 1.5, 3.0, 1.5]
    assert ranks([3.0, 1.0, 2.0], higher_is_better=True) == [1.0, 3.0, 2.0]


def test_disagreeing_pairs_by_hand():
    p = [Pairing("A", 1, "a", 10), Pairing("B", 2, "b", 30), Pairing("C", 3, "c", 20), Pairing("D", 4, "", math.nan)]
    assert [(a.method, b.method) for a, b in disagreeing_pairs(p)] == [("B", "C")]


def test_our_metric_maps_a_canonical_metric_to_its_family_in_our_space():
    assert our_metric("fid", ["kid_x", "fd_x"]) == "fd_x"
    assert our_metric("precision_x", ["fd_x", "precision_x"]) == "precision_x"
    assert our_metric("fid", ["precision_x"]) is None


def test_report_orders_models_and_gives_kendall_tau():
    # ours: a = 3, b = 1, c = 2 (fd_x, lower is better): order b < c < a; reported A < B < C
    ours = {"a": 3.0, "b": 1.0, "c": 2.0}
    records = [record(m, "fd_x", v) for m, v in ours.items()] + [record(m, "precision_x", 0.5) for m in ours]
    text = markdown_tables(records, [], META, 1, "short")
    assert "| A | 10 ± 1 | 1 | a | 3.00 | 3 |" in text
    assert "| B | 20 ± 1 | 2 | b | 1.00 | 1 |" in text
    assert "| D | 5 ± 1 | — | — | — | — |" in text  # no comparable model: listed, not ranked
    concordant = sum(
        (ours[x] - ours[y]) * (rx - ry) > 0 for (x, rx), (y, ry) in combinations([("a", 10), ("b", 20), ("c", 30)], 2)
    )
    tau_by_hand = (concordant - (3 - concordant)) / 3  # no ties: (C − D) / (n choose 2)
    assert tau_by_hand == pytest.approx(stats.kendalltau([10, 20, 30], [3, 1, 2]).statistic)
    assert f"Kendall τ between the two orderings: {tau_by_hand:.2f} over 3 models" in text
    assert "pairs ordered differently: A vs B; A vs C." in text
    main_table = text.split("#### Ordering")[0]
    assert "(reported: Paper 2018" not in main_table  # the paper's FIDs are not in our columns' space


def test_diverged_runs_are_listed_and_kept_out_of_the_means():
    records = [record("a", "fd_x", 2.0, seed=0), record("a", "fd_x", 4.0, seed=1)]
    runs = [run_record(suite="s", task="t", model="b", seed=0, budget="short", status="diverged", step=7)]
    text = markdown_tables(records, runs, META, 1, "short")
    assert "t/b/seed0 at step 7" in text
    assert "| a | 2 | 3.00 ± 1.41 |" in text
    # its row shows how it ended in every column, never a number
    assert "| b | 0 of 1 | diverged at step 7 | diverged at step 7 |" in text.split("#### Ordering")[0]

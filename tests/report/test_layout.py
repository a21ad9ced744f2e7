"""The report's tables in a paper's shape: headline and topic tables, rows by family, one protocol per cell, and runs
that did not finish shown as such, never as a number."""

import dataclasses

import numpy as np
import pytest

from benchbox.description import ModelRow, SuiteDescription
from benchbox.report.layout import MIN_PER_RUN, table_plan, task_tables
from benchbox.testing import result_record, run_record

META = SuiteDescription(
    "",
    (),
    (ModelRow("vae", family="vae"), ModelRow("dcgan", family="gan"), ModelRow("wgan", family="gan")),
    ("fd_x", "precision_x", "kid_x", "psnr", "seconds_per_sample"),
    {},
    (),
    headline=("fd", "precision"),
)


def rec(model, metric, value, seed=0, **changes):
    return result_record(task="t", model=model, metric=metric, value=value, seed=seed, **changes)


def test_the_headline_holds_the_suites_columns_and_the_rest_go_to_their_topics():
    plan = dict(
        table_plan(["fd_x", "kid_x", "precision_x", "recall_x", "psnr", "seconds_per_sample"], ("fd", "precision"))
    )
    assert plan["Headline"] == ["fd_x", "precision_x"]
    assert plan["Sample quality"] == ["kid_x"]
    assert plan["Diversity and mode diagnostics"] == ["recall_x"]
    assert plan["Likelihood and reconstruction"] == ["psnr"]
    assert plan["Sampling cost"] == ["seconds_per_sample", MIN_PER_RUN]


def test_rows_are_grouped_by_family_in_the_families_order():
    records = [rec(m, "fd_x", 1.0) for m in ("wgan", "dcgan", "vae")]
    headline = task_tables("t", records, [], META).tables[0]
    assert [(label, [r.name for r in rows]) for label, rows in headline.groups()] == [
        ("VAEs", ["vae"]),
        ("GANs", ["dcgan", "wgan"]),
    ]


def test_records_of_two_protocols_are_never_averaged():
    records = [rec("dcgan", "fd_x", 10.0, seed=s, protocol_hash="a" * 16) for s in (0, 1)]
    records += [rec("dcgan", "fd_x", 90.0, seed=s, protocol_hash="b" * 16) for s in (0, 1)]
    tables = task_tables("t", records, [], META)
    rows = {r.name: r.cells["fd_x"].text for r in tables.tables[0].rows}
    assert rows == {"dcgan [aaaaaaaa]": "10.00 ± 0.00", "dcgan [bbbbbbbb]": "90.00 ± 0.00"}
    assert any("split by protocol hash" in n for n in tables.notes)


def test_values_of_different_extractor_weights_show_no_number():
    records = [rec("dcgan", "fd_x", 10.0, seed=0, extractor_hash="1" * 64), rec("dcgan", "fd_x", 12.0, seed=1)]
    cell = task_tables("t", records, [], META).tables[0].rows[0].cells["fd_x"]
    assert cell.text == "mixed weights" and cell.n == 0


def test_a_diverged_seed_is_named_and_a_fully_diverged_model_shows_no_number():
    records = [rec("dcgan", "fd_x", v, seed=s) for s, v in ((1, 10.0), (2, 12.0))]
    runs = [
        run_record(task="t", model="dcgan", seed=0, status="diverged", step=489),
        run_record(task="t", model="wgan", seed=0, status="diverged", step=7),
    ]
    tables = task_tables("t", records, runs, META)
    rows = {r.name: r for r in tables.tables[0].rows}
    assert rows["dcgan"].seeds == "2 of 3" and rows["dcgan"].cells["fd_x"].text == "11.00 ± 1.41"
    assert any("seed 0 diverged at step 489" in n for n in tables.notes)
    assert rows["wgan"].seeds == "0 of 1"
    assert {c.text for c in rows["wgan"].cells.values()} == {"diverged at step 7"}


def test_the_best_is_bold_only_beyond_the_noise():
    records = [rec("dcgan", "fd_x", v, seed=s) for s, v in enumerate((10.0, 10.5, 9.5))]
    records += [rec("wgan", "fd_x", v, seed=s) for s, v in enumerate((30.0, 31.0, 29.0))]
    records += [rec("vae", "fd_x", v, seed=s) for s, v in enumerate((10.2, 11.0, 9.0))]
    cells = {r.name: r.cells["fd_x"] for r in task_tables("t", records, [], META).tables[0].rows}
    assert {k: c.mark for k, c in cells.items()} == {"vae": "", "dcgan": "", "wgan": ""}  # dcgan ≈ vae
    faster = [dataclasses.replace(r, value=r.value - 5) if r.model == "dcgan" else r for r in records]
    cells = {r.name: r.cells["fd_x"] for r in task_tables("t", faster, [], META).tables[0].rows}
    assert {k: c.mark for k, c in cells.items()} == {"vae": "second", "dcgan": "best", "wgan": ""}


def test_infinite_and_undefined_seeds_give_the_mean_numpy_gives():
    from benchbox.report.summary import seed_mean_std

    inf, nan = float("inf"), float("nan")
    assert seed_mean_std(np.array([1.0, inf])) == (inf, pytest.approx(nan, nan_ok=True))
    assert seed_mean_std(np.array([1.0, -inf]))[0] == -inf  # not +∞
    assert all(np.isnan(seed_mean_std(np.array([inf, -inf]))))
    assert all(np.isnan(seed_mean_std(np.array([1.0, nan]))))
    assert all(np.isnan(seed_mean_std(np.array([1.0, 2.0]), extractors=2)))
    mean, std = seed_mean_std(np.array([1.0, 2.0, 4.0]))
    assert (mean, std) == (pytest.approx(np.mean([1, 2, 4])), pytest.approx(np.std([1, 2, 4], ddof=1)))
    cells = [rec("dcgan", "reverse_kl", v, seed=s) for s, v in enumerate((0.5, -inf))]
    (table,) = [t for t in task_tables("t", cells, [], META).tables if t.title.startswith("Diversity")]
    assert table.rows[0].cells["reverse_kl"].text == "−∞"

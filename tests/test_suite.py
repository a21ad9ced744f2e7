"""Suites: the toy2d protocol is well formed; budgets apply overrides; protocol hashes track changes."""

from dataclasses import replace

import pytest

from benchbox.errors import BenchboxError
from benchbox.registry import METRICS
from benchbox.runner import Cell, cell_protocol_hash
from benchbox.suites import load_suite, validate_suite
from benchmarks.toy2d import PACGAN, SUITE


def test_toy2d_is_valid_and_loadable_by_name():
    validate_suite(SUITE)
    assert load_suite("toy2d") is SUITE
    assert {t.name for t in SUITE.tasks} == {"ring8", "grid25"}
    assert {m.name for m in SUITE.models} == {"gan-minimax", "gan-ns", "wgan-gp", "lsgan", "pacgan2"}


def test_reported_numbers_refer_to_tasks_metrics_and_models_that_exist():
    names = {m.name for m in SUITE.models}
    for r in SUITE.reported:
        assert r.task in {t.name for t in SUITE.tasks} and r.metric in METRICS
        assert not r.comparable_to or r.comparable_to in names


def test_full_budget_is_pacgans_protocol():
    full = SUITE.budget("full")
    assert full.steps == 400 * 100_000 // 100 and len(full.seeds) == 10 and not full.model_overrides
    assert (PACGAN.lr, PACGAN.betas, PACGAN.batch_size) == (1e-4, (0.8, 0.999), 100)


def test_budget_overrides_apply_only_to_fields_the_config_has():
    short = SUITE.budget("short")
    config = short.apply(PACGAN)
    assert (config.g_hidden, config.lr, config.loss) == (128, 1e-3, "non_saturating")
    assert short.apply("not a dataclass") == "not a dataclass"


def test_protocol_hash_changes_with_config_and_budget_but_not_seed():
    entry = SUITE.models[0]
    task = SUITE.tasks[0]
    h = cell_protocol_hash(SUITE, Cell(task, entry, 0, SUITE.budget("smoke")))
    assert h == cell_protocol_hash(SUITE, Cell(task, entry, 1, SUITE.budget("smoke")))
    assert h != cell_protocol_hash(SUITE, Cell(task, entry, 0, SUITE.budget("short")))
    changed = replace(entry, config=replace(entry.config, loss="hinge"))
    assert h != cell_protocol_hash(SUITE, Cell(task, changed, 0, SUITE.budget("smoke")))


def test_unknown_budget_names_the_known_ones():
    with pytest.raises(BenchboxError, match="smoke, short, full"):
        SUITE.budget("huge")


def test_a_config_option_added_later_moves_no_hash_until_it_is_set():
    """HashedConfig leaves out a HASHED_WHEN_SET field only while it holds its default, and otherwise reads as the
    dataclass repr. (That the built-in suites' recorded cells kept their hashes is checked against the committed
    reports and the schema-1 store in tests/test_unchanged_numbers.py.)"""
    from dataclasses import dataclass, field, replace

    from benchbox.suite import HASHED_WHEN_SET, HashedConfig

    @dataclass(frozen=True)
    class Before:
        lr: float = 1e-3

    @dataclass(frozen=True)
    class After:
        lr: float = 1e-3
        decay: tuple = field(default=(), metadata=HASHED_WHEN_SET)

    assert repr(HashedConfig(After())) == repr(Before()).replace("Before", "After")
    assert repr(HashedConfig(replace(After(), decay=((5, 0.1),)))) == repr(replace(After(), decay=((5, 0.1),)))

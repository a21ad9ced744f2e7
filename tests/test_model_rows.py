"""Model entries with budgets of their own and sampling variants (extra rows from the same trained weights)."""

import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from benchbox.cli import main
from benchbox.errors import SuiteFileError
from benchbox.runner import Cell, cell_protocol_hash, make_cells, resolve_models
from benchbox.store import ResultStore
from benchbox.suite import Budget, Variant
from benchbox.suites import validate_suite
from benchbox.testing import fails_with
from benchmarks.digits import SUITE as DIGITS
from benchmarks.gan_zoo import MODELS as ZOO

REPORTS = Path(__file__).resolve().parents[1] / "reports"


@pytest.fixture(autouse=True, scope="module")
def _offline_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("BENCHBOX_OFFLINE", "1")
        yield


def entry(name):
    return next(m for m in DIGITS.models if m.name == name)


def test_a_model_trains_under_its_own_budget_and_seeds():
    ddpm, dcgan = entry("ddpm"), entry("dcgan")
    cells = make_cells(DIGITS, [dcgan, ddpm], DIGITS.budget("short"))
    by_model = {}
    for c in cells:
        by_model.setdefault(c.entry.name, []).append(c)
    assert [c.budget for c in by_model["dcgan"]] == [DIGITS.budget("short")] * 3
    own = next(b for b in ddpm.budgets if b.name == "short")
    assert own != DIGITS.budget("short") and {c.budget for c in by_model["ddpm"]} == {own}
    assert [c.seed for c in by_model["ddpm"]] == list(own.seeds)
    # --seeds on the command line still wins for every model
    assert {c.seed for c in make_cells(DIGITS, [dcgan, ddpm], DIGITS.budget("short"), (7,))} == {7}


def test_a_variant_name_runs_its_model_once():
    assert resolve_models(DIGITS, ["ddpm-ddim10", "ddpm", "ddpm-ddim50"]) == [entry("ddpm")]


def test_adding_models_left_every_committed_zoo_cell_unchanged():
    """The digits report was written by a real run before these models existed: every zoo cell's protocol hash
    must still be one its provenance lists, so old and new rows share a table."""
    listed = re.search(r"protocol hashes: ([0-9a-f, ]+)", (REPORTS / "digits.md").read_text()).group(1)
    hashes = {h.strip() for h in listed.split(",")}
    short = DIGITS.budget("short")
    ours = {cell_protocol_hash(DIGITS, Cell(DIGITS.tasks[0], m, 0, short)) for m in ZOO}
    assert len(ours) == len(ZOO) and ours <= hashes


def test_variant_hashes_differ_from_their_run_and_each_other():
    ddpm = entry("ddpm")
    cell = Cell(DIGITS.tasks[0], ddpm, 0, ddpm.budget_for(DIGITS.budget("short")))
    hashes = [cell_protocol_hash(DIGITS, cell)] + [cell_protocol_hash(DIGITS, cell, v) for v in ddpm.variants]
    assert len(set(hashes)) == len(hashes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(variants=(Variant("x", (("no_such_field", 1),)),)), "unknown config fields no_such_field"),
        (dict(variants=(Variant("big", (("sampler", "ddim"), ("sample_steps", 5000))),)), "5000 sampling steps"),
        (dict(variants=(Variant("nan", (("guidance_scale", float("nan")),)),)), "not finite"),
        (dict(budgets=(Budget("huge", 1, 1, (0,)),)), "budget 'huge' is not one of smoke, short, full"),
        (dict(variants=(Variant("a", ()), Variant("a", ()))), "two variants of one name"),
        (dict(variants=(Variant("same", ()),)), "variant 'ddpm-same' changes nothing"),
    ],
)
def test_bad_variants_and_budgets_are_refused_before_training(change, message):
    bad = replace(entry("ddpm"), **change)
    with pytest.raises(SuiteFileError, match=message):
        validate_suite(replace(DIGITS, models=(bad,)))


@pytest.mark.slow
def test_variants_are_rows_that_share_the_weights_likelihood_and_resume_needs_them(tmp_path, capsys):
    store = tmp_path / "r.db"
    # two workers, which rebuild each run from names: the DDPM must still get its own budget there
    args = [
        "run",
        "--suite",
        "digits",
        "--budget",
        "smoke",
        "--models",
        "ddpm,ae",
        "--jobs",
        "2",
        "--store",
        str(store),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Own `smoke` budget of ddpm, ddpm-ddim10, ddpm-anc10: 4 steps of a tiny U-Net with T = 20" in out
    records = ResultStore(store).records(suite="digits")
    rows = {m: {r.metric: r for r in records if r.model == m} for m in ("ddpm", "ddpm-ddim10", "ddpm-anc10", "ae")}
    assert set(rows) == {r.model for r in records}  # DDIM-50 needs T >= 50: not a smoke row
    assert "nfe_per_sample" not in rows["ae"] and "psnr" in rows["ae"]
    # the smoke DDPM has T = 20 ancestral steps; its DDIM row takes 10 of them
    assert rows["ddpm"]["nfe_per_sample"].value == 20 and rows["ddpm-ddim10"]["nfe_per_sample"].value == 10
    # one network, one likelihood: the variant shares the run's bound, and has its own samples and hash
    assert rows["ddpm"]["nll_bits_per_dim"].value == rows["ddpm-ddim10"]["nll_bits_per_dim"].value
    assert rows["ddpm"]["fd_digits"].value != rows["ddpm-ddim10"]["fd_digits"].value
    assert rows["ddpm"]["fd_digits"].protocol_hash != rows["ddpm-ddim10"]["fd_digits"].protocol_hash
    assert all(r.train_steps == 4 for r in records)

    assert main([*args, "--resume"]) == 0
    assert "0 runs done, 2 already complete" in capsys.readouterr().err
    with sqlite3.connect(store) as conn:  # a run whose variant lost a value is not complete
        conn.execute("DELETE FROM results WHERE model='ddpm-ddim10' AND metric='fd_digits'")
    assert main([*args, "--resume"]) == 0
    assert "1 runs done, 1 already complete" in capsys.readouterr().err
    assert "fd_digits" in {r.metric for r in ResultStore(store).records(model="ddpm-ddim10")}


def test_a_model_kind_without_sampling_variants_is_refused_before_training(tmp_path, capsys):
    path = tmp_path / "variant_suite.py"
    path.write_text(
        "from dataclasses import replace\n"
        "from benchbox.suite import Variant\n"
        "from benchmarks.digits import SUITE as D\n"
        "dcgan = next(m for m in D.models if m.name == 'dcgan')\n"
        "v = Variant('lr', (('lr_g', 1e-3),))\n"
        "SUITE = replace(D, name='v-digits', models=(replace(dcgan, variants=(v,)),))\n"
    )
    fails_with(
        capsys,
        ["run", "--suite", str(path), "--budget", "smoke", "--jobs", "1", "--store", str(tmp_path / "r.db")],
        "cannot sample any",
    )
    assert not (tmp_path / "checkpoints").exists()


SUITE_FILE = """
from dataclasses import replace
from benchmarks.digits import SUITE as D
m = next(m for m in D.models if m.name == {model!r})
SUITE = replace(D, name="bad-digits", models=(replace(m, config=replace(m.config, {config}), budgets=()),), metrics={metrics})
"""


@pytest.mark.parametrize(
    ("model", "config", "metrics", "message"),
    [
        ("dcgan", "", ("fd_digits", "nll_bits_per_dim"), "requires nll_bits_per_dim of every model, but model 'dcgan'"),
        ("vae", "decoder='bernoulli'", ("fd_digits",), "only for binary images, and these have grey levels"),
        ("ddpm", "steps=0", ("fd_digits",), "T >= 1 steps, got 0"),
        ("ddpm", "schedule='quadratic'", ("fd_digits",), "unknown schedule 'quadratic'"),
        ("ddpm-cfg", "guidance_scale=float('inf')", ("fd_digits",), "not finite"),
    ],
)
def test_bad_likelihood_and_diffusion_requests_fail_in_one_line_before_training(
    tmp_path, capsys, model, config, metrics, message
):
    path = tmp_path / "bad_suite.py"
    path.write_text(SUITE_FILE.format(model=model, config=config, metrics=metrics))
    args = ["run", "--suite", str(path), "--budget", "smoke", "--jobs", "1", "--store", str(tmp_path / "r.db")]
    fails_with(capsys, args, message)
    assert not (tmp_path / "checkpoints").exists()

"""`benchbox check` end to end on the toy2d smoke budget: an unchanged model passes, a degraded one fails naming the
model and the value, and a baseline of another suite version, protocol, data or budget is refused in one line."""

import json
import textwrap

import pytest

from benchbox.cli import main
from benchbox.testing import fails_with
from reference_models.gan.trainer import GANTrainer

RUN = ["--models", "gan-ns", "--jobs", "1"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A toy2d smoke baseline of gan-ns over seeds 0, 1, 2, written by the command itself."""
    path = tmp_path_factory.mktemp("baseline") / "toy2d-smoke.json"
    code = main(
        ["-q", "check", "--suite", "toy2d", "--baseline", str(path), "--update-baseline", "--seeds", "0,1,2", *RUN]
    )
    assert code == 0 and path.is_file()
    return path


def check(capsys, *args):
    code = main(["-q", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def edited(baseline, tmp_path, edit):
    data = json.loads(baseline.read_text())
    edit(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


def suite_file(tmp_path, body):
    path = tmp_path / "toy2d_changed.py"
    path.write_text(
        "from dataclasses import replace\n\nfrom benchmarks.toy2d import SUITE as TOY2D\n\n" + textwrap.dedent(body)
    )
    return str(path)


def test_the_baseline_holds_every_value_over_three_seeds(baseline):
    data = json.loads(baseline.read_text())
    assert (data["suite"], data["suite_version"], data["budget"], data["seeds"]) == ("toy2d", 1, "smoke", [0, 1, 2])
    cells = {(c["task"], c["model"]): c for c in data["cells"]}
    assert set(cells) == {("ring8", "gan-ns"), ("grid25", "gan-ns")}
    values = cells["ring8", "gan-ns"]["values"]
    assert set(values) == {"modes_covered", "high_quality_pct", "reverse_kl", "energy_distance"}
    assert values["energy_distance"]["direction"] == "lower is better" and len(values["energy_distance"]["values"]) == 3
    assert "seconds_per_sample" in data["excluded"]


@pytest.mark.slow
def test_an_unchanged_model_passes(baseline, capsys):
    code, out, err = check(capsys, "--suite", "toy2d", "--baseline", str(baseline), *RUN)
    assert code == 0, err
    assert "8 values: 8 ok, 0 better, 0 REGRESSED. passed" in out
    assert "REGRESSED" not in out.replace("0 REGRESSED", "")


@pytest.mark.slow
def test_a_degraded_model_fails_naming_the_model_and_the_value(baseline, capsys, monkeypatch):
    """A code regression that keeps the protocol hash: the sampler's output shifted by 5 (a broken de-normalisation)."""
    original = GANTrainer.sample_labeled

    def shifted(self, n, generator):
        samples, labels = original(self, n, generator)
        return samples + 5.0, labels

    monkeypatch.setattr(GANTrainer, "sample_labeled", shifted)
    code, out, err = check(capsys, "--suite", "toy2d", "--baseline", str(baseline), "--format", "md", *RUN)
    assert code == 1
    assert "benchbox: check failed: ring8/gan-ns energy_distance" in err and "grid25/gan-ns energy_distance" in err
    assert "| ring8 | gan-ns | energy_distance ↓ |" in out and "| REGRESSED |" in out
    assert "Traceback" not in err


def test_a_baseline_of_another_suite_version_is_refused(baseline, capsys, tmp_path):
    bumped = suite_file(tmp_path, "SUITE = replace(TOY2D, version=2)\n")
    fails_with(capsys, ["check", "--suite", bumped, "--baseline", str(baseline), *RUN], "version 1", "version 2")


def test_a_baseline_of_another_protocol_is_refused(baseline, capsys, tmp_path):
    changed = suite_file(
        tmp_path,
        """
        MODELS = tuple(replace(m, config=replace(m.config, init_std=0.05)) if m.name == "gan-ns" else m
                       for m in TOY2D.models)
        SUITE = replace(TOY2D, models=MODELS)
        """,
    )
    fails_with(capsys, ["check", "--suite", changed, "--baseline", str(baseline), *RUN], "protocol", "ring8/gan-ns")


def test_a_baseline_of_other_data_is_refused(baseline, capsys, tmp_path):
    path = edited(baseline, tmp_path, lambda d: d["cells"][0].update(data_hash="0" * 64))
    fails_with(capsys, ["check", "--suite", "toy2d", "--baseline", str(path), *RUN], "data differs", "000000000000")


def test_a_baseline_of_another_budget_is_refused(baseline, capsys):
    args = ["check", "--suite", "toy2d", "--baseline", str(baseline), "--budget", "short", *RUN]
    fails_with(capsys, args, "budget 'smoke', not 'short'")


def test_another_torch_version_is_a_warning_not_a_failure(baseline, capsys, tmp_path):
    path = edited(baseline, tmp_path, lambda d: d["environment"].update(torch_version="1.0.0"))
    code, out, err = check(capsys, "--suite", "toy2d", "--baseline", str(path), *RUN)
    assert code == 0, err
    assert "warning: torch" in out and "1.0.0 in the baseline" in out and "passed" in out


def test_runs_in_a_given_store_are_reused(baseline, capsys, tmp_path):
    store = tmp_path / "results.db"
    assert check(capsys, "--suite", "toy2d", "--baseline", str(baseline), "--store", str(store), *RUN)[0] == 0
    code, out, _ = check(capsys, "--suite", "toy2d", "--baseline", str(baseline), "--store", str(store), *RUN)
    assert code == 0 and "2 rows were read from --store, not measured now" in out


def test_bad_requests_are_one_line_errors(baseline, capsys, tmp_path):
    fails_with(capsys, ["check", "--suite", "toy2d"], "needs --suite and --baseline")
    fails_with(capsys, ["check", "--suite", "toy2d", "--baseline", str(tmp_path / "no.json")], "does not exist")
    args = ["check", "--suite", "toy2d", "--baseline", str(tmp_path / "b.json"), "--update-baseline", "--seeds", "0,1"]
    fails_with(capsys, args, "3 seeds or more", "--seeds 0,1,2")
    fails_with(
        capsys, ["check", "--suite", "toy2d", "--baseline", str(baseline), "--models", "lsgan"], "no rows of lsgan"
    )
    fails_with(capsys, ["check", "--suite", "toy2d", "--baseline", str(baseline), "--seeds", "0,1,2"], "--seeds goes")

"""docs/extending.md, checked: a metric family registered from outside the package (one file, plus the suite that asks
for it) shows in `benchbox list`, in `benchbox score --json` with the value an independent computation gives, and as
a column of a suite's table with the direction and decimals it declared."""

import json
import textwrap

import numpy as np
import pytest

from benchbox.cli import main
from benchbox.testing import PixelExtractor, blocky_images, fails_with

# the whole of a user's metric family: the mean-feature gap ‖E[f(fake)] − E[f(real)]‖ in any feature space
PLUGIN = """
import numpy as np

from benchbox.catalogue import Value
from benchbox.registry import register_score


@register_score(
    "meangap",
    output="pool",
    needs_real=True,
    values=(Value("mean_gap", False, "distance between the mean features of the two sets", decimals=4),),
    description="‖mean of generated features − mean of real features‖",
)
def mean_gap_family(fake, real, **_):
    return {"mean_gap": float(np.linalg.norm(fake.mean(0) - real.mean(0)))}
"""

SUITE = """
import benchbox_test_meangap  # registers the family
from benchbox.evaluation.features import FeatureEvaluation
from benchbox.pipeline import ScoreSettings
from benchbox.suite import Budget, ModelEntry, Suite
from benchmarks.digits import TASK
from reference_models.gan.image_gan import ImageGANConfig

EVALUATION = FeatureEvaluation(families=("fid", "meangap"), settings=ScoreSettings(kid_subset_size=100))
SUITE = Suite(
    name="digits-meangap", version=1, description="digits with a user's metric family", tasks=(TASK,),
    models=(ModelEntry("tiny-dcgan", "image_gan", ImageGANConfig(base_width=8, batch_size=16)),), budgets=(Budget("smoke", steps=2, checkpoint_every=1, seeds=(0,)),),
    metrics=tuple(EVALUATION.required(TASK)), n_eval=200, evaluation=EVALUATION,
)
"""


@pytest.fixture()
def plugin(tmp_path, monkeypatch, offline_cache):
    (tmp_path / "benchbox_test_meangap.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "benchbox_test_meangap"


def test_a_family_from_outside_shows_in_list(plugin, capsys):
    assert main(["--plugins", plugin, "list"]) == 0
    out = capsys.readouterr().out
    assert "  meangap [mean_gap ↓]: ‖mean of generated features − mean of real features‖" in out
    assert "    mean_gap[_<space>] ↓: distance between the mean features of the two sets" in out


def test_a_family_from_outside_scores_with_the_value_numpy_gives(plugin, tmp_path, capsys):
    real, fake = blocky_images(40, seed=1), blocky_images(40, seed=2, tint=30)
    np.save(tmp_path / "real.npy", real.permute(0, 2, 3, 1).numpy())
    np.save(tmp_path / "fake.npy", fake.permute(0, 2, 3, 1).numpy())
    args = ["score", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--feature", "pixels", "--json"]
    assert main(["--plugins", plugin, *args, "--metrics", "fid,meangap"]) == 0
    result = json.loads(capsys.readouterr().out)
    extractor = PixelExtractor()
    f, r = (extractor.features(x)["pool"].double().numpy() for x in (fake, real))
    assert result["mean_gap_pixels"] == pytest.approx(np.linalg.norm(f.mean(0) - r.mean(0)), rel=1e-5)
    assert "fd_pixels" in result


def test_a_plugin_that_cannot_be_imported_is_one_line(tmp_path, monkeypatch, capsys):
    fails_with(capsys, ["--plugins", "no_such_module_here", "list"], "cannot import plugin 'no_such_module_here'")
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('half-written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fails_with(capsys, ["--plugins", "broken_plugin", "list"], "RuntimeError: half-written", "PYTHONPATH")


@pytest.mark.slow
def test_a_family_from_outside_is_a_column_of_a_suites_table(plugin, tmp_path, monkeypatch, capsys):
    (tmp_path / "meangap_suite.py").write_text(textwrap.dedent(SUITE))
    store = str(tmp_path / "r.db")
    run = ["run", "--suite", str(tmp_path / "meangap_suite.py"), "--budget", "smoke", "--jobs", "1"]
    assert main([*run, "--store", store]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| model |"))
    assert "| fd_digits ↓ | mean_gap_digits ↓ |" in header  # the direction the family declared
    row = next(line for line in out.splitlines() if line.startswith("| tiny-dcgan |"))
    gap = row.split(" | ")[3]
    assert len(gap.split(".")[1]) == 4  # the decimals it declared
    assert main(["--plugins", plugin, "report", "--suite", "digits-meangap", "--store", store]) == 0
    assert capsys.readouterr().out == out

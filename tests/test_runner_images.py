"""The runner on image suites: digits end to end through the CLI, divergence, refused budgets, n_eval, --data-dir."""

import math
import textwrap
from dataclasses import replace

import pytest
import torch

from benchbox import checkpoint
from benchbox.cli import main
from benchbox.data import set_data_dir
from benchbox.errors import StoreError
from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.store import ResultStore
from benchbox.testing import fails_with
from benchmarks.digits import SUITE

CPU = torch.device("cpu")
SMOKE = SUITE.budget("smoke")
# what every digits run records, written out (not read from the suite): the seven families in the classifier's space
REQUIRED = {
    "fd_digits",
    "kid_digits",
    "kid_std_digits",
    "precision_digits",
    "recall_digits",
    "density_digits",
    "coverage_digits",
    "classes_covered_digits",
    "class_kl_digits",
    "ndb_digits",
    "ndb_frac_digits",
}
OWN = {"seconds_per_sample"}  # measured on every model (benchbox.model_metrics); GANs add their one pass per sample
GAN_OWN = OWN | {"nfe_per_sample"}


@pytest.fixture(autouse=True, scope="module")
def _offline_cache(tmp_path_factory):
    """One temporary benchbox cache for the module (the digits classifier is trained once into it); no downloads."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHBOX_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("BENCHBOX_OFFLINE", "1")
        for var in ("BENCHBOX_INCEPTION_WEIGHTS", "BENCHBOX_CLIP_WEIGHTS", "BENCHBOX_DINOV2_WEIGHTS", "BENCHBOX_DATA"):
            mp.delenv(var, raising=False)
        yield


# -- user models: module-level factories, passed to the runner as f"{__name__}:<factory>" ---------------------------

NAN_AT = 3  # the step whose loss the diverging model reports as NaN
ASKED: list[int] = []  # sample sizes the noise model was asked for


class StepCountingModel:
    """Counts its steps (kept in its state) and reports the step number as its loss; samples uniform noise."""

    examples_per_step = 8

    def __init__(self, ctx):
        self.shape = ctx.sample_shape
        self.steps = 0

    def train_step(self, batch):
        assert batch.shape == (self.examples_per_step, *self.shape) and batch.dtype == torch.float32
        self.steps += 1
        return {"loss": float(self.steps)}

    def sample(self, n, generator):
        ASKED.append(n)
        return torch.rand(n, *self.shape, generator=generator) * 2 - 1

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


class DivergingModel(StepCountingModel):
    def train_step(self, batch):
        losses = super().train_step(batch)
        return {"loss": math.nan} if self.steps == NAN_AT else losses


def noise_factory(ctx):
    return StepCountingModel(ctx)


def diverging_factory(ctx):
    return DivergingModel(ctx)


def run_user_model(suite, store_path, factory, resume=False):
    store = ResultStore(store_path)
    runner = Runner(suite, store, CPU, resume=resume, progress=False)
    budget = suite.budget("smoke")
    cells = make_cells(suite, resolve_models(suite, [f"{__name__}:{factory}"]), budget, (0,))
    return runner, cells, runner.run(cells)


# -- the digits suite end to end ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_digits_smoke_run_records_every_value_and_resume_skips(tmp_path, capsys):
    store = tmp_path / "r.db"
    args = ["run", "--suite", "digits", "--budget", "smoke", "--models", "dcgan,cgan", "--store", str(store)]
    assert main([*args, "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    header = next(line for line in captured.out.splitlines() if line.startswith("| model |"))
    assert "fd_digits" in header and "class_accuracy_digits" in header
    assert any(line.startswith("| dcgan | 1 |") for line in captured.out.splitlines())
    assert any(line.startswith("| cgan | 1 |") for line in captured.out.splitlines())
    assert "2 runs done" in captured.err

    records = ResultStore(store).records(suite="digits")
    by_model = {m: {r.metric for r in records if r.model == m} for m in ("dcgan", "cgan")}
    assert by_model["dcgan"] == REQUIRED | GAN_OWN  # unconditional: no class accuracy
    assert by_model["cgan"] == REQUIRED | GAN_OWN | {"class_accuracy_digits"}
    assert len(records) == 2 * len(REQUIRED | GAN_OWN) + 1
    for r in records:
        assert (r.suite_version, r.budget, r.seed, r.train_steps, r.n_samples) == (1, "smoke", 0, 4, 300)
        assert math.isfinite(r.value)
        assert bool(r.extractor_hash) == (r.metric not in GAN_OWN)  # the model's own values are in no feature space
    accuracy = next(r.value for r in records if r.metric == "class_accuracy_digits")
    assert 0.0 <= accuracy <= 1.0
    ckpt = checkpoint.load(
        tmp_path / "checkpoints" / "digits" / "v1" / "smoke" / "digits" / "cgan" / "seed0" / "last.pt"
    )
    assert ckpt["step"] == 4 and [h["step"] for h in ckpt["history"]] == [2, 4]

    assert main([*args, "--jobs", "1", "--resume"]) == 0
    again = capsys.readouterr()
    assert "0 runs done, 2 already complete" in again.err
    assert ResultStore(store).records(suite="digits") == records  # nothing new: same values, wall times, created_at


# -- divergence ---------------------------------------------------------------------------------------------------


def test_a_nan_loss_records_the_step_and_keeps_the_last_checkpoint(tmp_path):
    runner, (cell,), (outcome,) = run_user_model(SUITE, tmp_path / "r.db", "diverging_factory")
    assert outcome.status == "diverged" and outcome.records == ()
    assert f"non-finite loss at step {NAN_AT}" in outcome.detail

    store = ResultStore(tmp_path / "r.db")
    assert store.records() == []  # no values, only the run's status
    (run,) = store.runs()
    assert (run.status, run.step) == ("diverged", NAN_AT)
    assert run.model.startswith(f"{__name__}:diverging_factory@")  # a user row is named by its code's digest
    assert run.detail == "{'loss': nan}" and run.train_steps == SMOKE.steps

    state = checkpoint.load(runner.checkpoint_path(cell))
    assert SMOKE.checkpoint_every == 2
    assert state["step"] == 2 and state["model"] == {"steps": 2}
    assert state["history"] == [{"step": 2, "loss": (1.0 + 2.0) / 2}]  # the interval's mean, before the NaN
    assert state["data_rng"] == {"drawn": 2 * StepCountingModel.examples_per_step}


def test_resume_skips_a_diverged_run(tmp_path):
    run_user_model(SUITE, tmp_path / "r.db", "diverging_factory")
    before = ResultStore(tmp_path / "r.db").records()
    _, _, (outcome,) = run_user_model(SUITE, tmp_path / "r.db", "diverging_factory", resume=True)
    assert outcome.status == "skipped"
    assert ResultStore(tmp_path / "r.db").records() == before  # not rewritten


def test_a_rerun_that_completes_leaves_no_diverged_record(tmp_path, monkeypatch):
    run_user_model(SUITE, tmp_path / "r.db", "diverging_factory")
    monkeypatch.setattr(f"{__name__}.NAN_AT", SMOKE.steps + 1)  # same source, same protocol: now it never diverges
    _, _, (outcome,) = run_user_model(SUITE, tmp_path / "r.db", "diverging_factory")
    assert outcome.status == "done"
    assert {r.metric for r in ResultStore(tmp_path / "r.db").records()} == REQUIRED | OWN


# -- refused suites and missing data --------------------------------------------------------------------------------


def test_a_budget_too_small_for_one_checkpoint_is_refused(tmp_path, capsys):
    path = tmp_path / "tiny_suite.py"
    path.write_text(
        textwrap.dedent("""
        from dataclasses import replace

        from benchbox.suite import Budget
        from benchmarks.digits import SUITE as DIGITS

        SUITE = replace(
            DIGITS, name="tiny-digits", budgets=(Budget("smoke", steps=3, checkpoint_every=5, seeds=(0,)),)
        )
    """)
    )
    store = tmp_path / "r.db"
    line = fails_with(
        capsys,
        ["run", "--suite", str(path), "--budget", "smoke", "--jobs", "1", "--store", str(store)],
        "too small to produce one checkpoint",
    )
    assert "3 steps" in line and "5" in line
    assert not store.exists() or ResultStore(store).records() == []
    assert not (tmp_path / "checkpoints").exists()


def test_data_dir_reaches_the_dataset_loader(tmp_path, capsys):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    store = tmp_path / "r.db"
    args = ["run", "--suite", "fashion-mnist", "--budget", "smoke", "--models", "dcgan", "--jobs", "1"]
    try:
        fails_with(capsys, [*args, "--data-dir", str(empty), "--store", str(store)], str(empty), "--data-dir")
    finally:
        set_data_dir(None)  # the CLI sets it for the process
    assert not store.exists() or ResultStore(store).records() == []


# -- the evaluation budget ------------------------------------------------------------------------------------------


def with_smoke(suite, **changes):
    return replace(suite, budgets=(replace(suite.budget("smoke"), **changes),))


def test_budget_n_eval_sets_the_samples_scored_and_the_protocol(tmp_path):
    """Few samples keep KID (100 subsets of min(300, n)) cheap, but FD needs more than the 128 feature dimensions;
    the smoke budget's own 300 is checked end to end above."""
    suites = {
        150: with_smoke(SUITE, n_eval=150),
        200: with_smoke(replace(SUITE, n_eval=200), n_eval=None),  # no budget value: the suite's n_eval
    }
    hashes = {}
    for n, suite in suites.items():
        ASKED.clear()
        _, _, (outcome,) = run_user_model(suite, tmp_path / f"{n}.db", "noise_factory")
        assert outcome.status == "done"
        assert ASKED == [2, n, 64]  # the pre-flight's two (a throwaway instance), n samples once, the 64 of the preview
        records = ResultStore(tmp_path / f"{n}.db").records()
        assert {r.metric for r in records} == REQUIRED | OWN
        assert {r.n_samples for r in records} == {n}
        (hashes[n],) = {r.protocol_hash for r in records}
    assert hashes[150] != hashes[200]
    # one store cell refuses a second protocol: numbers of another n_eval are never mixed with the old ones
    with pytest.raises(StoreError, match="another protocol"):
        run_user_model(suites[150], tmp_path / "200.db", "noise_factory")


def test_too_few_samples_for_the_feature_space_are_refused_before_training(tmp_path, capsys):
    """FD in the digits classifier's 128-d space needs more than 128 samples (a 128-d covariance from fewer is
    singular), so a budget scoring 100 is refused before any step is taken."""
    path = tmp_path / "few_suite.py"
    path.write_text(
        textwrap.dedent("""
        from dataclasses import replace

        from benchbox.suite import Budget
        from benchmarks.digits import SUITE as DIGITS

        SUITE = replace(
            DIGITS, name="few-digits", budgets=(Budget("smoke", steps=2, checkpoint_every=1, seeds=(0,), n_eval=100),)
        )
    """)
    )
    store = tmp_path / "r.db"
    args = ["run", "--suite", str(path), "--budget", "smoke", "--models", "dcgan", "--jobs", "1", "--store", str(store)]
    line = fails_with(capsys, args, "at least 129 generated samples")
    assert "100" in line
    assert ResultStore(store).records() == []
    assert not (tmp_path / "checkpoints").exists()


# -- the sample preview ---------------------------------------------------------------------------------------------


def test_a_run_keeps_its_sample_preview_beside_the_checkpoint_and_in_the_store(tmp_path):
    """The preview is the model's first 64 samples from the preview seed, in an 8×8 grid of 1-pixel white borders,
    pixels rounded from [-1, 1] to [0, 255]: recomputed here from the model's own sampling rule."""
    import hashlib
    import io

    import numpy as np
    from PIL import Image

    from benchbox.preview import PREVIEW_SEED_OFFSET

    runner, cells, _ = run_user_model(SUITE, tmp_path / "r.db", "noise_factory")
    (artifact,) = ResultStore(tmp_path / "r.db").artifacts()
    file = runner.checkpoint_path(cells[0]).parent / f"preview-{artifact.model.replace(':', '_')}.png"
    assert file.read_bytes() == artifact.data and hashlib.sha256(artifact.data).hexdigest() == artifact.sha256
    pixels = np.asarray(Image.open(io.BytesIO(artifact.data)))
    assert pixels.shape == (8 * 9 + 1, 8 * 9 + 1)  # 8×8 tiles of 8×8 pixels, 1-pixel borders
    g = torch.Generator().manual_seed(0 + PREVIEW_SEED_OFFSET)
    samples = torch.rand(64, 1, 8, 8, generator=g).double() * 2 - 1
    expected = np.rint((samples.numpy() + 1) * 255 / 2).astype(np.uint8)
    for i in range(64):
        r, c = divmod(i, 8)
        assert (pixels[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c] == expected[i, 0]).all(), i
    assert (pixels[0] == 255).all() and (pixels[:, 0] == 255).all()

"""A user's own model (`--models module:factory`) as a user meets it: every edit of their code gives new rows, mistakes
are caught before training in one line that names their file and line, and their rows say they are theirs."""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from benchbox.cli import main
from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.runner.user_code import load_user_factory
from benchbox.store import ResultStore
from benchbox.testing import fails_with
from benchmarks.toy2d import SUITE as TOY

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--budget", "smoke", "--jobs", "1"]

# a user's model split over two files: wrap.py holds the factory, myinner.py the model and its learning rate
INNER = '''
import torch

LR = {lr}


class MeanModel:
    """Learns the data mean with SGD at LR; samples it plus a little noise."""

    examples_per_step = 32

    def __init__(self, ctx):
        self.mean = torch.zeros(ctx.sample_shape)

    def train_step(self, batch):
        loss = ((batch - self.mean) ** 2).mean()
        self.mean = self.mean + LR * (batch.mean(0) - self.mean)
        return {{"loss": float(loss), "step_loss": loss}}  # a tensor too: turned into a float, never kept

    def sample(self, n, generator):
        return self.mean + 0.01 * torch.randn(n, *self.mean.shape, generator=generator)

    def state_dict(self):
        return {{"mean": self.mean}}

    def load_state_dict(self, state):
        self.mean = state["mean"]
'''
WRAP = """
from myinner import MeanModel


def factory(ctx):
    return MeanModel(ctx)
"""


def cli(*args, cwd, exe=(sys.executable, "-m", "benchbox")):
    env = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}  # this checkout; the user's folder is cwd
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def write_user_code(folder: Path, lr: float) -> None:
    (folder / "myinner.py").write_text(textwrap.dedent(INNER.format(lr=lr)))
    (folder / "wrap.py").write_text(textwrap.dedent(WRAP))


@pytest.mark.slow
def test_an_edit_in_an_imported_file_gives_new_rows_and_the_newest_is_shown(tmp_path):
    write_user_code(tmp_path, lr=0.1)
    args = ["run", "--suite", "toy2d", *SMOKE, "--models", "wrap:factory", "--store", "r.db"]
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    write_user_code(tmp_path, lr=0.5)  # the factory's own file is unchanged
    second = cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr  # a new row, not a refusal

    store = ResultStore(tmp_path / "r.db")
    names = sorted({r.model for r in store.records()})
    assert len(names) == 2 and all(n.startswith("wrap:factory@") for n in names)
    newest = next(n for n in names if f"| {n} | 1 |" in second.stdout)
    assert not any(f"| {n} | 1 |" in second.stdout for n in names if n != newest)  # one version shown by default
    for run in store.runs():  # the files and their hashes are recorded with each run
        files = json.loads(run.user_code)
        assert set(files) == {"wrap", "myinner"} and run.examples_per_step == 32
    latest = next(json.loads(r.user_code) for r in store.runs() if r.model == newest)
    assert latest["myinner"]["sha256"] == hashlib.sha256((tmp_path / "myinner.py").read_bytes()).hexdigest()

    every = cli("report", "--suite", "toy2d", "--store", "r.db", "--all-versions", cwd=tmp_path)
    assert all(f"| {n} | 1 |" in every.stdout for n in names)
    assert "1 older version(s) of these models' code hidden" in second.stdout
    assert "**User models**" in second.stdout and "32 examples per training step" in second.stdout
    assert (
        "myinner.py `" in second.stdout and f"- user models (code and batch listed above): `{newest}`" in second.stdout
    )
    csv = cli("report", "--suite", "toy2d", "--store", "r.db", "--format", "csv", cwd=tmp_path).stdout
    assert all(",user model," in line or "wrap:factory" not in line for line in csv.splitlines()[1:])


def test_the_code_digest_covers_imported_modules_and_relative_imports(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text("WIDTH = 8\n")
    (package / "model.py").write_text("from .nets import WIDTH\n\ndef factory(ctx):\n    return WIDTH\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    user = load_user_factory("mypkg.model:factory")
    assert [m for m, _, _ in user.sources] == ["mypkg", "mypkg.model", "mypkg.nets"]
    assert all(h == hashlib.sha256(Path(f).read_bytes()).hexdigest() for _, f, h in user.sources)
    assert "torch" not in {m for m, _, _ in user.sources}  # site-packages are not the user's code


# -- mistakes caught before training, in one line naming the user's file and line ---------------------------------

MODEL = """
import torch


class Model:
    examples_per_step = 8

    def __init__(self, ctx):
        self.shape = ctx.sample_shape

    def train_step(self, batch):
        return {train}

    def sample(self, n, generator):
        return {sample}

    def state_dict(self):
        return {{}}

    def load_state_dict(self, state):
        pass


def factory(ctx):
    return Model(ctx)
"""
NOISE = "torch.rand(n, *self.shape, generator=generator) * 2 - 1"
MODULE_NUMBERS = itertools.count()


@pytest.fixture()
def user_model(tmp_path, monkeypatch, offline_cache):
    """Write a user module with the given train_step return and sample expressions; returns its 'module:factory'."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(train='{"loss": 1.0}', sample=NOISE, text=None):
        name = f"usermodel_{next(MODULE_NUMBERS)}"  # a new name each time: imported modules stay cached
        (tmp_path / f"{name}.py").write_text(text or textwrap.dedent(MODEL.format(train=train, sample=sample)))
        return f"{name}:factory"

    return write


def run_digits(capsys, spec, tmp_path, *fragments):
    line = fails_with(
        capsys, ["run", "--suite", "digits", *SMOKE, "--models", spec, "--store", str(tmp_path / "r.db")], *fragments
    )
    assert not (tmp_path / "checkpoints").exists()  # refused before any training
    return line


@pytest.mark.parametrize(
    ("sample", "fragments"),
    [
        ("torch.zeros(n, 28, 28)", ("returned shape (2, 28, 28), not (2, 1, 8, 8)", ".py:")),
        ("torch.zeros(n, 8, 8, 1)", ("(2, 8, 8, 1)", "permute(0, 3, 1, 2)")),
        ("torch.full((n, 1, 8, 8), 200, dtype=torch.uint8)", ("torch.uint8, not floats", "/ 127.5 - 1")),
        ("torch.rand(n, 1, 8, 8, generator=generator) * 255", ("outside [-1, 1]", "x / 127.5 - 1")),
        ("[0.0] * n", ("returned a list",)),
    ],
)
def test_a_wrong_sample_is_refused_before_training(capsys, tmp_path, user_model, sample, fragments):
    run_digits(capsys, user_model(sample=sample), tmp_path, *fragments)


@pytest.mark.parametrize(
    ("train", "fragments"),
    [
        ("torch.tensor(1.0)", ("train_step returned a Tensor, not a dict of losses (at usermodel_", ".py:11)")),
        ("1.0", ("train_step returned a float, not a dict",)),
        ('{"loss": torch.ones(3)}', ("returned Tensor for 'loss', not a number",)),
        ('{"loss": float("nan")}', ("first step gave non-finite loss",)),
        ("batch.foo", ("train_step(batch) raised AttributeError", ".py:12)")),
    ],
)
def test_a_wrong_train_step_is_refused_before_training(capsys, tmp_path, user_model, train, fragments):
    run_digits(capsys, user_model(train=train), tmp_path, *fragments)


def test_a_factory_that_raises_or_takes_no_context_is_one_line(capsys, tmp_path, user_model):
    raises = user_model(text="def factory(ctx):\n    raise ValueError('no such width')\n")
    run_digits(capsys, raises, tmp_path, f"model factory '{raises}' raised ValueError: no such width", ".py:2)")
    no_ctx = user_model(text="def factory():\n    return None\n")
    run_digits(capsys, no_ctx, tmp_path, "raised TypeError", "factory() takes 0 positional arguments")


def test_samples_in_unit_range_are_scored_with_a_warning(tmp_path, user_model, caplog):
    spec = user_model(sample="torch.rand(n, *self.shape, generator=generator)")  # [0, 1], not [-1, 1]
    store = ResultStore(tmp_path / "r.db")
    from benchmarks.digits import SUITE as DIGITS

    runner = Runner(DIGITS, store, torch.device("cpu"), progress=False)
    (outcome,) = runner.run(make_cells(DIGITS, resolve_models(DIGITS, [spec]), DIGITS.budget("smoke"), (0,)))
    assert outcome.status == "done"
    assert "never go below 0: were they made in [0, 1]?" in caplog.text


def test_the_benchbox_script_imports_a_factory_from_the_current_folder(tmp_path):
    (tmp_path / "herefactory.py").write_text(
        textwrap.dedent(MODEL.format(train='{"loss": 1.0}', sample="torch.zeros(n, 2)"))
    )
    exe = shutil.which("benchbox")
    assert exe, "the benchbox console script is installed by pip install -e ."
    ran = cli(
        "run",
        "--suite",
        "toy2d",
        *SMOKE,
        "--models",
        "herefactory:factory",
        "--store",
        "r.db",
        cwd=tmp_path,
        exe=(exe,),
    )
    assert ran.returncode == 0, ran.stderr


class NanAtFirstStep:
    examples_per_step = 8

    def __init__(self, ctx):
        self.ctx = ctx

    def train_step(self, batch):
        return {"loss": float("nan")}

    def sample(self, n, generator):
        return torch.zeros(n, *self.ctx.sample_shape)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class NanLater(NanAtFirstStep):
    """Finite in the pre-flight's throwaway instance, NaN at the run's first step."""

    instances = 0

    def __init__(self, ctx):
        super().__init__(ctx)
        NanLater.instances += 1
        self.first = NanLater.instances == 1

    def train_step(self, batch):
        return {"loss": 1.0 if self.first else float("nan")}


def nan_later(ctx):
    return NanLater(ctx)


def test_a_run_that_diverges_before_any_checkpoint_does_not_name_one(tmp_path):
    NanLater.instances = 0
    runner = Runner(TOY, ResultStore(tmp_path / "r.db"), torch.device("cpu"), progress=False)
    cells = make_cells(TOY, resolve_models(TOY, [f"{__name__}:nan_later"]), TOY.budget("smoke"), (0,))[:1]
    (outcome,) = runner.run(cells)
    assert outcome.status == "diverged" and "at step 1" in outcome.detail
    assert "no checkpoint was written" in outcome.detail and "last good checkpoint" not in outcome.detail
    assert not runner.checkpoint_path(cells[0]).exists()


class CountingLoss(NanAtFirstStep):
    """The loss is the step number: a checkpoint interval's mean is known by hand."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.step = 0

    def train_step(self, batch):
        self.step += 1
        return {"loss": float(self.step)}


def counting_loss(ctx):
    return CountingLoss(ctx)


def test_report_shows_the_training_curves(tmp_path, capsys):
    store = tmp_path / "r.db"
    assert (
        main(["-q", "run", "--suite", "toy2d", *SMOKE, "--models", f"{__name__}:counting_loss", "--store", str(store)])
        == 0
    )
    capsys.readouterr()
    assert main(["report", "--suite", "toy2d", "--store", str(store), "--curves"]) == 0
    out = capsys.readouterr().out
    # smoke: 20 steps, a checkpoint every 10: interval means (1 + … + 10) / 10 = 5.5 and (11 + … + 20) / 10 = 15.5
    assert "seed 0, 2 intervals to step 20: loss 5.5 → 15.5 (lowest 5.5 at step 10)" in out
    assert main(["report", "--suite", "toy2d", "--store", str(store)]) == 0
    assert "Training curves" not in capsys.readouterr().out  # only when asked for

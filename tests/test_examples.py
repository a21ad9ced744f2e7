"""The example user model (examples/small_dcgan.py): its contract checked directly on every image shape the suites
use, and a run through the CLI the way docs/user-models.md tells a user to run it."""

import io
import math
from pathlib import Path

import pytest
import torch

from benchbox.cli import main
from benchbox.model import Model, ModelContext
from benchbox.runner.user_code import load_user_factory
from benchbox.store import ResultStore
from benchmarks.digits import SUITE as DIGITS

ROOT = Path(__file__).resolve().parents[1]
SPEC = "examples.small_dcgan:factory"
SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]  # digits, fashion-mnist, cifar10


@pytest.fixture()
def small_dcgan(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # `examples` is imported from the repository root, as a user's folder
    from examples import small_dcgan

    return small_dcgan


def through_a_file(state):
    """A state as the runner's checkpoint gives it back: saved and loaded, so nothing is shared with the original
    (an optimiser's load_state_dict keeps the tensors it is given; live ones would move with the original)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, map_location="cpu", weights_only=True)


def build(module, shape):
    torch.manual_seed(0)
    return module.factory(ModelContext(shape, torch.device("cpu")))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_the_example_meets_the_model_contract(small_dcgan, shape):
    model = build(small_dcgan, shape)
    assert isinstance(model, Model)

    samples = model.sample(5, torch.Generator().manual_seed(1))
    assert samples.shape == (5, *shape) and samples.dtype == torch.float32
    assert float(samples.min()) >= -1 and float(samples.max()) <= 1
    assert torch.equal(samples, model.sample(5, torch.Generator().manual_seed(1)))  # the generator alone decides

    batch = torch.rand(model.examples_per_step, *shape) * 2 - 1
    losses = model.train_step(batch)
    assert isinstance(losses, dict) and losses
    assert all(type(v) is float and math.isfinite(v) for v in losses.values()), losses
    assert model.g.training  # sampling left train mode as it was

    state = model.state_dict()
    assert {"opt_g", "opt_d"} <= set(state) and state["opt_g"]["state"]  # the optimisers' moments are kept
    twin = build(small_dcgan, shape)
    twin.train_step(batch)  # other weights, other moments: the load below must replace them all
    twin.load_state_dict(through_a_file(state))
    g = torch.Generator().manual_seed(2)
    assert torch.equal(model.sample(5, g), twin.sample(5, torch.Generator().manual_seed(2)))


def test_resume_continues_exactly(small_dcgan):
    """A step after load_state_dict is the step the original would have taken (weights and Adam moments restored)."""
    model = build(small_dcgan, (1, 8, 8))
    batch = torch.rand(model.examples_per_step, 1, 8, 8) * 2 - 1
    model.train_step(batch)
    twin = build(small_dcgan, (1, 8, 8))
    twin.load_state_dict(through_a_file(model.state_dict()))
    torch.manual_seed(3)
    first = model.train_step(batch)
    torch.manual_seed(3)
    assert twin.train_step(batch) == first
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    assert torch.equal(model.sample(3, g1), twin.sample(3, g2))


@pytest.mark.slow
def test_the_example_runs_through_the_cli_and_resume_skips_it(tmp_path, monkeypatch, capsys, offline_cache):
    monkeypatch.syspath_prepend(str(ROOT))
    store = tmp_path / "r.db"
    args = ["run", "--suite", "digits", "--budget", "smoke", "--models", SPEC, "--jobs", "1", "--store", str(store)]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    row = load_user_factory(SPEC).row_name  # examples.small_dcgan:factory@<digest of the example's code>
    assert row.startswith(f"{SPEC}@")
    assert any(line.startswith(f"| {row} | 1 |") for line in out.splitlines()), out

    records = ResultStore(store).records(suite="digits")
    recorded = {r.metric for r in records if r.model == row}
    assert set(DIGITS.metrics) <= recorded, set(DIGITS.metrics) - recorded
    assert all(math.isfinite(r.value) for r in records)

    assert main([*args, "--resume"]) == 0
    assert "1 already complete" in capsys.readouterr().err
    assert ResultStore(store).records(suite="digits") == records  # nothing trained or scored again

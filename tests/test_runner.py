"""The runner: provenance on every record, replace on re-run, and resume after an interruption."""

import math

import pytest
import torch

from benchbox.provenance import git_commit
from benchbox.report.tables import markdown_report
from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.runner.cells import model_cost
from benchbox.store import ResultStore
from benchmarks.digits import SUITE as DIGITS
from benchmarks.toy2d import SUITE

SMOKE = SUITE.budget("smoke")
CPU = torch.device("cpu")


class Interrupt(Exception):
    pass


def run(store_path, resume=False, on_checkpoint=None, models=("gan-ns", "wgan-gp")):
    store = ResultStore(store_path)
    runner = Runner(SUITE, store, CPU, resume=resume, on_checkpoint=on_checkpoint, progress=False)
    return runner, runner.run(make_cells(SUITE, resolve_models(SUITE, list(models)), SMOKE, (0,)))


def values(store_path):
    return {(r.task, r.model, r.seed, r.metric): r.value for r in ResultStore(store_path).records()}


def test_records_carry_provenance_and_rerun_replaces(tmp_path):
    runner, outcomes = run(tmp_path / "r.db", models=("gan-ns",))
    assert [o.status for o in outcomes] == ["done", "done"]
    records = ResultStore(tmp_path / "r.db").records()
    assert len(records) == 2 * len(SUITE.metrics)
    for r in records:
        assert (r.suite, r.suite_version, r.budget, r.train_steps, r.n_samples) == ("toy2d", 1, "smoke", 20, 2500)
        assert r.data_hash == SUITE.task(r.task).data_hash()
        assert r.torch_version == torch.__version__ and r.device.startswith("cpu")
        assert r.git_commit == git_commit() and r.benchbox_version and r.wall_time_s > 0
        assert len(r.protocol_hash) == 16 and r.created_at
        assert math.isfinite(r.value) or r.metric == "reverse_kl"
    first = values(tmp_path / "r.db")
    run(tmp_path / "r.db", models=("gan-ns",))
    assert len(ResultStore(tmp_path / "r.db").records()) == len(records)  # replaced, not duplicated
    assert values(tmp_path / "r.db") == first  # and deterministic


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    _, _ = run(tmp_path / "straight.db")
    expected = values(tmp_path / "straight.db")

    seen = []

    def stop_after_first_checkpoint(cell, step):
        seen.append((cell.label, step))
        raise Interrupt

    with pytest.raises(Interrupt):
        run(tmp_path / "resumed.db", on_checkpoint=stop_after_first_checkpoint)
    assert seen == [("ring8/gan-ns/seed0", SMOKE.checkpoint_every)]
    assert ResultStore(tmp_path / "resumed.db").records() == []  # nothing half-recorded

    runner, outcomes = run(tmp_path / "resumed.db", resume=True)
    assert [o.status for o in outcomes] == ["done"] * 4
    assert values(tmp_path / "resumed.db") == expected  # bit for bit the uninterrupted run

    _, outcomes = run(tmp_path / "resumed.db", resume=True)
    assert [o.status for o in outcomes] == ["skipped"] * 4


class FailsWhenSampling:
    """Trains fine and samples the pre-flight's two examples, then its sampler breaks on the suite's n (as an out of
    memory would): the run fails after training."""

    examples_per_step = 8

    def __init__(self, ctx):
        self.ctx = ctx

    def train_step(self, batch):
        return {"loss": 1.0}

    def sample(self, n, generator):
        if n > 2:
            raise RuntimeError("sampler exploded")
        return torch.zeros(n, *self.ctx.sample_shape)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def fails_when_sampling(ctx):
    return FailsWhenSampling(ctx)


def test_a_run_that_fails_is_recorded_as_failed_with_its_error_and_reported(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    runner = Runner(SUITE, store, CPU, progress=False)
    (cell,) = make_cells(SUITE, resolve_models(SUITE, [f"{__name__}:fails_when_sampling"]), SMOKE, (0,))[:1]
    with pytest.raises(RuntimeError, match="sampler exploded"):
        runner.run([cell])
    assert store.records() == []
    (status,) = store.runs()
    assert (status.status, status.detail) == ("failed", "RuntimeError: sampler exploded")
    assert status.task == cell.task.name and status.model == cell.entry.name
    assert status.model.startswith(f"{__name__}:fails_when_sampling@")  # a user row is named by its code's digest
    text = markdown_report(store, "toy2d")
    assert f"**Failed runs** (no scores recorded): ring8/{status.model}/seed0: RuntimeError" in text


def test_workers_start_the_runs_their_model_kinds_declare_longest():
    """WGAN's 5 critic steps per generator step (Arjovsky et al. 2017) make its run 5× a DCGAN's of equal steps."""
    short = DIGITS.budget("short")
    entry = {m.name: m for m in DIGITS.models}
    assert model_cost(entry["wgan"], short) == 5 * model_cost(entry["dcgan"], short) == 5 * short.steps
    ddpm = entry["ddpm"]  # a kind that declares no cost: one unit per step of its own budget
    assert model_cost(ddpm, ddpm.budget_for(short)) == ddpm.budget_for(short).steps

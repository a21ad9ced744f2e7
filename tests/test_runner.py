"""The runner: provenance on every record, replace on re-run, and resume after an interruption."""

import math

import pytest
import torch

from benchbox.provenance import git_commit
from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.store import ResultStore
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

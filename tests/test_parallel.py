"""Worker processes end with the run that started them: a killed `benchbox run` leaves no orphan training on."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SLOW_MODEL = """
import os, time
from pathlib import Path

import torch

PIDS = Path(os.environ["PID_DIR"])


class Slow:
    examples_per_step = 4

    def __init__(self, ctx):
        self.shape = ctx.sample_shape
        (PIDS / str(os.getpid())).touch()  # which process trains this run

    def train_step(self, batch):
        time.sleep(0.2)
        return {"loss": 0.0}

    def sample(self, n, generator):
        return torch.rand(n, *self.shape, generator=generator) * 2 - 1

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def factory(ctx):
    return Slow(ctx)
"""

LONG_SUITE = """
from dataclasses import replace
from benchbox.suite import Budget
from benchmarks.toy2d import SUITE as TOY
SUITE = replace(TOY, name="long-toy", budgets=(Budget("smoke", steps=100_000, checkpoint_every=50_000, seeds=(0, 1)),))
"""


def alive(pid: int) -> bool:
    """Running (a zombie that nobody has reaped yet has ended: its state in /proc is Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="process checks through signals, as on the CI machine")
def test_killing_the_run_ends_its_workers(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "slow_model.py").write_text(textwrap.dedent(SLOW_MODEL))
    (tmp_path / "long_suite.py").write_text(LONG_SUITE)
    env = {**os.environ, "PID_DIR": str(pids), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    args = ["run", "--suite", str(tmp_path / "long_suite.py"), "--budget", "smoke", "--models", "slow_model:factory"]
    main = subprocess.Popen(
        [sys.executable, "-m", "benchbox", *args, "--jobs", "2", "--store", str(tmp_path / "r.db")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120

        def worker_pids() -> list[int]:  # the parent builds the model too, for the pre-flight before the store
            return [int(p.name) for p in pids.iterdir() if int(p.name) != main.pid]

        while len(worker_pids()) < 2 and time.monotonic() < deadline and main.poll() is None:
            time.sleep(0.5)
        workers = worker_pids()
        assert len(workers) == 2 and main.poll() is None, "both workers should be training"
        assert all(alive(w) for w in workers)
        main.send_signal(signal.SIGKILL)  # no chance to stop its pool: the workers must notice by themselves
        main.wait()
        deadline = time.monotonic() + 30
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(alive(w) for w in workers)
    finally:
        main.kill()
        for p in pids.iterdir():
            if alive(int(p.name)):
                os.kill(int(p.name), signal.SIGKILL)

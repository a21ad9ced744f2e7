"""Faults injected into real `benchbox run` processes on the toy2d smoke suite: SIGKILL at random times and at the
worst points (mid-checkpoint, mid-transaction, between scoring and recording), two writers on one store, a full disk,
and Ctrl-C. After each, the store opens and holds every complete run and no partial one, every checkpoint is a whole
file, and `--resume` ends with the numbers of an uninterrupted run, bit for bit.

The kill points come from the plugin `kill_points.py` beside this file (`benchbox --plugins kill_points`)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchbox import checkpoint
from benchbox.store import ResultStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUN = ["run", "--suite", "toy2d", "--budget", "smoke", "--jobs", "1"]
METRICS = {"modes_covered", "high_quality_pct", "reverse_kl", "energy_distance"}  # toy2d's, every run
CELLS = 10  # 5 models × 2 tasks × seed 0
STEPS, CHECKPOINT_EVERY = 20, 10  # toy2d's smoke budget
KILLS = 20
pytestmark = pytest.mark.slow


def environment(tmp: Path, kill: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BENCHBOX_TEST_KILL_AT"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")]),
        BENCHBOX_CACHE=str(tmp / "cache"),
        PYTHONWARNINGS="ignore",
    )
    if kill:
        env["BENCHBOX_TEST_KILL_AT"] = kill
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchbox", "-q", "--plugins", "kill_points", *args]


def benchbox(tmp: Path, *args: str, kill: str = "", **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(*args), env=environment(tmp, kill), capture_output=True, text=True, timeout=600, cwd=tmp, **kwargs
    )


def values(store: Path) -> dict[tuple, str]:
    """Every recorded value by (task, model, seed, metric), as repr: exact, and NaN equal to NaN."""
    s = ResultStore(store)
    try:
        return {(r.task, r.model, r.seed, r.metric): repr(r.value) for r in s.records()}
    finally:
        s.close()


def assert_whole(store: Path, checkpoints: Path, failed: int = 0) -> dict[tuple, str]:
    """The store opens, passes SQLite's integrity check, and holds whole runs only: each done run with all four
    values and each value with its done run (and `failed` failed runs, with none). Every checkpoint loads whole
    (weights only) at a checkpoint step."""
    s = ResultStore(store)
    try:
        assert s.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        done = {(r.task, r.model, r.seed) for r in s.runs() if r.status == "done"}
        assert len([r for r in s.runs() if r.status != "done"]) == failed
        by_run: dict[tuple, set[str]] = {}
        for r in s.records():
            by_run.setdefault((r.task, r.model, r.seed), set()).add(r.metric)
        assert set(by_run) == done and all(m == METRICS for m in by_run.values())
        assert len(s.artifacts()) == len(done)  # one preview per run, written with its records
    finally:
        s.close()
    for path in checkpoints.rglob("last.pt"):
        assert checkpoint.load(path)["step"] in (CHECKPOINT_EVERY, STEPS), path
    return values(store)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> dict[tuple, str]:
    """The values of an uninterrupted run: what every faulted run must end with."""
    tmp = tmp_path_factory.mktemp("straight")
    done = benchbox(tmp, *RUN, "--store", str(tmp / "results.db"))
    assert done.returncode == 0, done.stderr
    found = values(tmp / "results.db")
    assert len(found) == CELLS * len(METRICS)
    return found


def schedule(seed: int = 0):
    """Kills without end: at random times, and at the n-th pass of each injected point, drawn from a fixed seed.
    The bounds keep most kills within the work one process has left (a run has 10 runs × 20 steps, 2 checkpoints
    and about 6 inserts each)."""
    rng = random.Random(seed)
    points = ["random", "train", "checkpoint", "store", "evaluate"]
    upper = {"train": 40, "checkpoint": 3, "store": 8, "evaluate": 2}
    for i in itertools.count():
        point = points[i % len(points)]
        yield f"random:{rng.uniform(1.0, 8.0):.2f}" if point == "random" else f"{point}:{rng.randint(1, upper[point])}"


def start_over(store: Path, checkpoints: Path) -> None:
    for path in store.parent.glob(f"{store.name}*"):  # the store and its -wal/-shm files
        path.unlink()
    shutil.rmtree(checkpoints, ignore_errors=True)


def test_sigkill_anywhere_loses_nothing_and_resume_gives_the_same_numbers(tmp_path, straight):
    """At least 20 kills; where a run outlives its kill (its point lay beyond the work left), it must have ended
    with the uninterrupted numbers, and the next kills start on a fresh store."""
    store, checkpoints = tmp_path / "results.db", tmp_path / "checkpoints"
    args = [*RUN, "--store", str(store), "--resume"]
    kills, tried, completed = 0, 0, 0
    before: dict[tuple, str] = {}
    plan = schedule()
    while kills < KILLS:
        kill = next(plan)
        tried += 1
        assert tried <= 3 * KILLS, f"only {kills} of {tried} kills landed"
        point, _, at = kill.partition(":")
        if point == "random":
            proc = subprocess.Popen(
                command(*args), env=environment(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                proc.wait(timeout=float(at))
            except subprocess.TimeoutExpired:
                proc.kill()
            code = proc.wait()
        else:
            code = benchbox(tmp_path, *args, kill=kill).returncode
        assert code in (0, -signal.SIGKILL), f"{kill}: exit {code}"
        kills += code == -signal.SIGKILL
        if store.exists():
            after = assert_whole(store, checkpoints)
            lost = {k: v for k, v in before.items() if after.get(k) != v}
            assert not lost, f"{kill} lost or changed complete records: {lost}"
            assert {k: straight[k] for k in after} == after  # whatever is recorded is the uninterrupted run's
            before = after
        if code == 0:
            assert before == straight, f"{kill}: the resumed run ended with other numbers"
            completed += 1
            start_over(store, checkpoints)
            before = {}

    resumed = benchbox(tmp_path, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert assert_whole(store, checkpoints) == straight
    print(f"kills: {kills} landed of {tried} tried, all survived; {completed + 1} resumed runs equal the uninterrupted")


def test_a_kill_mid_feature_extraction_or_cache_write_leaves_whole_cache_files(tmp_path):
    """`benchbox score` in the digits classifier's space, killed while extracting and while writing a feature cache
    file: the cache then holds whole files only, and the next score gives the uninterrupted numbers."""
    import numpy as np

    rng = np.random.default_rng(0)
    for name in ("real", "fake"):
        np.save(tmp_path / f"{name}.npy", rng.integers(0, 256, (300, 8, 8, 1), dtype=np.uint8))
    score = ["score", "real.npy", "fake.npy", "--feature", "digits", "--metrics", "fid", "--json"]
    first = benchbox(tmp_path, *score, kill="feature-cache:1")  # trains and caches the classifier, dies on a cache
    assert first.returncode == -signal.SIGKILL
    assert benchbox(tmp_path, *score, kill="extract:2").returncode == -signal.SIGKILL
    cache = tmp_path / "cache" / "features"
    assert list(cache.rglob(".*.tmp"))  # the file cut mid-write, under a name the cache never reads
    for path in cache.rglob("*.npz"):  # whole files only
        with np.load(path, allow_pickle=False) as archive:
            assert archive.files
    done = benchbox(tmp_path, *score)
    assert done.returncode == 0, done.stderr
    uncached = benchbox(tmp_path, *score, "--no-cache")  # the same classifier, every feature computed afresh
    assert uncached.returncode == 0, uncached.stderr

    def scores(out: str) -> dict:
        return {k: v for k, v in json.loads(out).items() if k != "provenance"}

    assert scores(done.stdout) == scores(uncached.stdout) and "fd_digits" in scores(done.stdout)


def test_two_writers_on_one_store_lose_and_duplicate_nothing(tmp_path, straight):
    """Two runs at once into one store (WAL, busy timeout): both finish, and the store holds each run once, with the
    uninterrupted run's values; the row both ran (lsgan) is there once."""
    store = tmp_path / "results.db"
    procs = [
        subprocess.Popen(
            command(*RUN, "--models", models, "--store", str(store)),
            env=environment(tmp_path),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for models in ("gan-ns,lsgan", "lsgan,pacgan2")
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("locked" in e for e in errors)
    found = assert_whole(store, tmp_path / "checkpoints")
    expected = {k: v for k, v in straight.items() if k[1] in ("gan-ns", "lsgan", "pacgan2")}
    assert found == expected  # every run of both, once, with the uninterrupted values
    rows = sqlite3.connect(store).execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert rows == len(expected)  # nothing duplicated
    print(f"2 concurrent writers: {len(found)} of {len(expected)} values, {len(expected) - len(found)} lost")


def limit_file_size(limit: int):
    """For a child process: files may not grow past `limit` bytes (EFBIG, as a full disk gives ENOSPC)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_line_and_keeps_the_previous_state(tmp_path):
    store, checkpoints = tmp_path / "results.db", tmp_path / "checkpoints"
    first = benchbox(tmp_path, *RUN, "--models", "gan-ns", "--store", str(store))
    assert first.returncode == 0, first.stderr
    kept = assert_whole(store, checkpoints)
    saved = {p: p.read_bytes() for p in checkpoints.rglob("last.pt")}

    full = benchbox(tmp_path, *RUN, "--models", "lsgan", "--store", str(store), preexec_fn=limit_file_size(64_000))
    assert full.returncode == 2, full.stderr
    lines = [line for line in full.stderr.splitlines() if line.startswith("benchbox: error")]
    assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
    assert "checkpoint" in lines[0] and "free disk space" in lines[0], lines[0]
    assert assert_whole(store, checkpoints, failed=1) == kept  # no lsgan value (its run: failed), gan-ns whole
    assert {p: p.read_bytes() for p in checkpoints.rglob("last.pt")} == saved
    assert not list(checkpoints.rglob("*.tmp"))  # the cut temporary file is removed


def test_a_full_store_refuses_the_write_whole(tmp_path):
    """SQLite's own limit on a store's pages stands in for a full disk: the write fails in one line, all or nothing."""
    from benchbox.errors import StoreError
    from benchbox.testing import result_record, run_record

    store = ResultStore(tmp_path / "r.db")
    store.put([result_record()], runs=[run_record()])
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    big = [result_record(seed=s, metric=f"m{i}", created_at="x" * 2000) for s in range(1, 4) for i in range(20)]
    with pytest.raises(StoreError, match="full") as info:
        store.put(big, runs=[run_record(seed=s) for s in range(1, 4)])
    assert "\n" not in str(info.value) and "free disk space" in str(info.value)
    assert store.records() == [result_record()] and store.runs() == [run_record()]


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
def test_ctrl_c_stops_the_workers_keeps_finished_runs_and_says_how_to_resume(tmp_path):
    store = tmp_path / "results.db"
    args = ["run", "--suite", "toy2d", "--budget", "smoke", "--jobs", "2", "--store", str(store)]
    env = {k: v for k, v in environment(tmp_path).items() if k != "PYTHONWARNINGS"}  # as a user sees it
    proc = subprocess.Popen(
        command(*args), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    done_runs = 0
    while time.monotonic() < deadline and proc.poll() is None and done_runs < 2:
        time.sleep(0.2)
        if store.exists():
            with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True, timeout=30) as conn:
                try:
                    done_runs = conn.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
                except sqlite3.OperationalError:  # the tables are not there yet
                    pass
    assert proc.poll() is None, "the run ended before it could be interrupted"
    workers = children_of(proc.pid)
    assert workers, "no worker processes to stop"
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group, once
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Warning" not in err  # e.g. no "leaked semaphore" note after the message
    assert (
        err.strip().splitlines()[-1] == "benchbox: interrupted; checkpoints are kept, rerun with --resume to continue"
    )
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)], "workers outlived the interrupted run"
    kept = assert_whole(store, tmp_path / "checkpoints")
    assert len(kept) >= 2 * len(METRICS)

    resumed = benchbox(tmp_path, *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    skipped = re.search(r"(\d+) already complete", resumed.stderr)
    assert skipped and int(skipped.group(1)) == len(kept) // len(METRICS)  # what finished is not run again
    final = assert_whole(store, tmp_path / "checkpoints")
    assert len(final) == CELLS * len(METRICS) and {k: final[k] for k in kept} == kept  # the finished runs as they were
    # Not compared with `straight`: two workers run one thread each, and a GAN trained on 1 thread differs in the
    # last bits from one on 2 (the machine column records the threads, and reports flag a table that mixes them).


def test_same_seed_same_machine_gives_the_same_bits_and_records_the_machine(tmp_path, straight):
    """Determinism on the CPU: a second run of the same suite, seed and device records the same bits. On a GPU the
    same holds only with torch.use_deterministic_algorithms(True), CUBLAS_WORKSPACE_CONFIG=:4096:8 and cuDNN's
    benchmark off (docs/reliability.md); the machine column records those settings with the CPU and its threads."""
    again = benchbox(tmp_path, *RUN, "--store", str(tmp_path / "results.db"))
    assert again.returncode == 0, again.stderr
    assert values(tmp_path / "results.db") == straight
    s = ResultStore(tmp_path / "results.db")
    machines = {r.machine for r in s.records()} | {r.machine for r in s.runs()}
    assert len(machines) == 1
    (machine,) = machines
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():  # the model name as the OS reports it, read here independently
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        assert not names or " ".join(names[0].split()) in machine
    assert " thread" in machine and "deterministic algorithms off" in machine


NAN_MODEL = """
import torch

class Diverging:
    examples_per_step = 16

    def __init__(self):
        self.steps = 0
        self.centre = torch.zeros(2)

    def train_step(self, batch):
        self.steps += 1
        return {"loss": float("nan") if self.steps == 7 else 1.0 / self.steps}

    def sample(self, n, generator):
        return self.centre + torch.randn(n, 2, generator=generator)

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def factory(ctx):
    return Diverging()
"""


def test_a_nan_loss_is_diverged_in_the_table_and_the_other_models_go_on(tmp_path, monkeypatch, capsys):
    """Through the CLI: a model whose loss is NaN at step 7 is recorded as diverged at step 7, the next model still
    runs, and the table shows "diverged" in its row, never a number."""
    from benchbox.cli import main

    (tmp_path / "nanmodel.py").write_text(NAN_MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    store = tmp_path / "results.db"
    models = "nanmodel:factory,gan-ns"
    assert main([*RUN, "--models", models, "--store", str(store)]) == 0
    out = capsys.readouterr()
    s = ResultStore(store)
    diverged = [r for r in s.runs() if r.model.startswith("nanmodel:factory@")]
    assert [(r.status, r.step) for r in diverged] == [("diverged", 7), ("diverged", 7)]  # on both tasks
    assert not [r for r in s.records() if r.model.startswith("nanmodel")]  # no value of a diverged run
    assert {r.metric for r in s.records(model="gan-ns")} == METRICS  # the next model ran
    assert "0 runs done" not in out.err and "2 diverged" in out.err
    rows = [line for line in out.out.splitlines() if line.startswith("| nanmodel:factory")]
    assert rows and all("diverged" in row for row in rows)
    for row in rows:  # every cell of the row is a divergence mark or empty, never a number
        cells = [c.strip() for c in row.strip("|").split("|")[1:]]
        assert not [c for c in cells if re.search(r"\d\.\d", c)], row

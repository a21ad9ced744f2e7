"""The command line end to end, and a one-line error with exit code 2 for every bad input."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from benchbox.cli import main
from benchbox.store import ResultStore
from benchbox.testing import fails_with

SMOKE = ["--budget", "smoke", "--jobs", "1"]


def cli(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}  # one thread: bit-comparable runs
    return subprocess.run(
        [sys.executable, "-m", "benchbox", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


@pytest.mark.slow
def test_run_then_report_prints_the_same_table(tmp_path):
    store = tmp_path / "results.db"
    ran = cli("run", "--suite", "toy2d", *SMOKE, "--store", str(store))
    assert ran.returncode == 0, ran.stderr
    reported = cli("report", "--suite", "toy2d", "--store", str(store))
    assert reported.returncode == 0, reported.stderr
    assert ran.stdout == reported.stdout
    assert "| gan-ns | 1 |" in ran.stdout and "| *GAN* | Lin et al. 2018, Table 1 | 6.3 ± 0.5 (s.e.) |" in ran.stdout
    assert "**Provenance.**" in ran.stdout
    csv = cli("report", "--suite", "toy2d", "--store", str(store), "--format", "csv", "--out", str(tmp_path / "t.csv"))
    assert csv.returncode == 0 and (tmp_path / "t.csv").read_text().startswith(
        "kind,suite,suite_version,budget,source,task,model"
    )


@pytest.mark.slow
def test_parallel_workers_record_the_same_cells(tmp_path):
    ran = cli(
        "run",
        "--suite",
        "toy2d",
        "--budget",
        "smoke",
        "--jobs",
        "2",
        "--models",
        "gan-ns,lsgan",
        "--store",
        str(tmp_path / "p.db"),
    )
    assert ran.returncode == 0, ran.stderr
    parallel = {(r.task, r.model, r.metric): r.value for r in ResultStore(tmp_path / "p.db").records()}
    assert (
        main(["-q", "run", "--suite", "toy2d", *SMOKE, "--models", "gan-ns,lsgan", "--store", str(tmp_path / "s.db")])
        == 0
    )
    sequential = {(r.task, r.model, r.metric): r.value for r in ResultStore(tmp_path / "s.db").records()}
    assert parallel.keys() == sequential.keys() and len(parallel) == 2 * 2 * 4
    for key, value in sequential.items():  # one thread per worker in both: the same numbers
        assert parallel[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_user_model_and_user_suite_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "mymodels.py").write_text(
        textwrap.dedent("""
        import torch

        class MeanModel:
            '''Learns the data mean by a running average; samples it plus a little noise.'''
            examples_per_step = 64

            def __init__(self, ctx):
                self.mean = torch.zeros(ctx.sample_shape)

            def train_step(self, batch):
                self.mean = 0.9 * self.mean + 0.1 * batch.mean(0)
                return {"loss": float(batch.var())}

            def sample(self, n, generator):
                return self.mean + 0.01 * torch.randn(n, *self.mean.shape, generator=generator)

            def state_dict(self):
                return {"mean": self.mean}

            def load_state_dict(self, state):
                self.mean = state["mean"]

        def factory(ctx):
            return MeanModel(ctx)
    """)
    )
    (tmp_path / "mysuite.py").write_text(
        textwrap.dedent("""
        from benchbox.data.toy2d import ring
        from benchbox.suite import Budget, ModelEntry, Suite
        from reference_models.gan.model import MLPGANConfig

        SUITE = Suite(
            name="mytoy", version=3, description="one ring", tasks=(ring(4),),
            models=(ModelEntry("tiny-gan", "mlp_gan", MLPGANConfig(g_hidden=8, d_hidden=8)),),
            budgets=(Budget("smoke", steps=4, checkpoint_every=2, seeds=(0,)),),
            metrics=("modes_covered", "energy_distance"), n_eval=200,
        )
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    store = tmp_path / "r.db"
    args = [
        "run",
        "--suite",
        str(tmp_path / "mysuite.py"),
        *SMOKE,
        "--models",
        "tiny-gan,mymodels:factory",
        "--store",
        str(store),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    records = ResultStore(store).records(suite="mytoy")
    (user_row,) = {r.model for r in records} - {"tiny-gan"}
    assert re.fullmatch(r"mymodels:factory@[0-9a-f]{8}", user_row)  # a user row is named by its code's digest
    assert f"| {user_row} | 1 |" in out and "| tiny-gan | 1 |" in out
    assert {(r.model, r.suite_version, r.n_samples) for r in records} == {("tiny-gan", 3, 200), (user_row, 3, 200)}
    # the mean model puts every sample at the ring's centre: far from all 4 modes
    assert [r.value for r in records if r.model == user_row and r.metric == "modes_covered"] == [0.0]


def test_list_shows_suites_models_and_metrics(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy2d v1" in out and "mlp_gan" in out and "reverse_kl ↓: KL(mode histogram ‖ uniform)" in out
    # every selectable row, sampling variants included, and each recorded value once with its direction
    assert (
        "ddpm, ddpm-ddim10, ddpm-ddim50, ddpm-anc10, iddpm, ddpm-cfg, ddpm-cfg-w0, ddpm-cfg-w2, ddpm-cfg-w3, ddpm-cfg-w5"
        in out
    )
    assert "    fd_<space> (fid in Inception) ↓:" in out and "    nll_bits_per_dim ↓:" in out
    assert "  kid [kid ↓, kid_std ↓]:" in out


def test_list_of_one_suite_shows_its_rows_budgets_values_and_measured_minutes(tmp_path, capsys):
    store = tmp_path / "r.db"
    assert main(["-q", "run", "--suite", "toy2d", *SMOKE, "--models", "gan-ns", "--store", str(store)]) == 0
    capsys.readouterr()
    assert main(["list", "--suite", "digits", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "  ddpm-ddim10: sampled from ddpm's weights by DDIM, 10 steps, η = 0" in out
    assert "  short: 1,000 steps, seeds 0, 1, 2;" in out and "    ddpm: 2,000 steps, seeds 0, 1, 2;" in out
    assert "  * fd_digits ↓:" in out and "    nll_bits_per_dim ↓:" in out  # required values starred
    assert "  iwae-bound (Burda et al. 2016, Theorem 1 and Table 1): nll_bits_per_dim vs elbo_bits_per_dim lower" in out
    assert main(["list", "--suite", "toy2d", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "    measured minutes per run in " in out and "gan-ns " in out  # from the store's finished runs


def test_unknown_suite(capsys, tmp_path):
    fails_with(capsys, ["run", "--suite", "nope", "--store", str(tmp_path / "r.db")], "unknown suite 'nope'", "toy2d")


def test_unknown_model(capsys, tmp_path):
    fails_with(
        capsys,
        ["run", "--suite", "toy2d", "--models", "gan-ns,bogus", "--store", str(tmp_path / "r.db")],
        "unknown model in suite 'toy2d': 'bogus'",
        "gan-ns",
    )


def test_unimportable_user_model(capsys, tmp_path):
    fails_with(
        capsys,
        ["run", "--suite", "toy2d", "--models", "no_such_module:f", "--store", str(tmp_path / "r.db")],
        "cannot import model factory 'no_such_module:f'",
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("SUITE = (", "failed to load (line 1): SyntaxError"),
        ("X = 1\n", "defines no SUITE"),
        (
            "import benchmarks.toy2d as t\nfrom dataclasses import replace\nSUITE = replace(t.SUITE, metrics=('fid_50k',))\n",
            "unknown metric 'fid_50k'",
        ),
    ],
    ids=["syntax", "no-suite", "bad-metric"],
)
def test_malformed_suite_file(capsys, tmp_path, text, fragment):
    path = tmp_path / "bad_suite.py"
    path.write_text(text)
    fails_with(capsys, ["run", "--suite", str(path), "--store", str(tmp_path / "r.db")], fragment)


def test_bad_budget_and_device_values(capsys):
    fails_with(capsys, ["run", "--suite", "toy2d", "--budget", "huge"], "invalid choice: 'huge'", "smoke")
    fails_with(capsys, ["run", "--suite", "toy2d", "--device", "tpu"], "invalid choice: 'tpu'", "cuda")
    fails_with(capsys, ["run", "--suite", "toy2d", "--seeds", "a,b"], "comma-separated list of non-negative integers")
    fails_with(capsys, ["run", "--suite", "toy2d", "--seeds", "0,-1"], "'0,-1' is not a comma-separated list")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without a GPU")
def test_cuda_without_gpu(capsys, tmp_path):
    fails_with(
        capsys,
        ["run", "--suite", "toy2d", "--device", "cuda", "--store", str(tmp_path / "r.db")],
        "no CUDA GPU",
        "--device cpu",
    )


def test_corrupt_and_unwritable_store(capsys, tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage" * 1000)
    fails_with(capsys, ["run", "--suite", "toy2d", *SMOKE, "--store", str(corrupt)], "not a readable benchbox database")
    assert corrupt.read_bytes() == b"garbage" * 1000  # left as it was
    (tmp_path / "file").write_text("x")
    fails_with(
        capsys, ["run", "--suite", "toy2d", *SMOKE, "--store", str(tmp_path / "file" / "r.db")], "cannot open store"
    )
    fails_with(capsys, ["report", "--suite", "toy2d", "--store", str(corrupt)], "not a readable benchbox database")


def test_report_without_results(capsys, tmp_path):
    fails_with(capsys, ["report", "--suite", "toy2d", "--store", str(tmp_path / "none.db")], "does not exist")
    ResultStore(tmp_path / "empty.db")
    fails_with(capsys, ["report", "--suite", "toy2d", "--store", str(tmp_path / "empty.db")], "holds no results")


def test_console_script_and_module_entry_points():
    script = Path(sys.executable).parent / "benchbox"  # where pip puts the console script of this interpreter
    for command in ([str(script), "--help"], [sys.executable, "-m", "benchbox", "run", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage:" in done.stdout

"""Every record names its machine, and a table whose runs come from more than one says so: float results differ in
the last bits across CPUs, thread counts and backend settings, which can move a trained GAN beyond seed noise."""

import shutil
import sqlite3

import torch

from benchbox.cli import main
from benchbox.provenance import machine_description

OTHER = "AMD EPYC 7B13 (family 25, model 1, stepping 0); 4 threads; SIMD AVX2, fp32 matmul highest, oneDNN on"


def report(capsys, store) -> str:
    assert main(["report", "--suite", "toy2d", "--budget", "smoke", "--store", str(store)]) == 0
    return capsys.readouterr().out


def test_a_table_from_one_machine_names_it(smoke_store, capsys):
    text = report(capsys, smoke_store)
    assert f"- machine: {machine_description(torch.device('cpu')).split('; ')[0]}" in text  # the CPU, as recorded
    assert "mixed machines" not in text


def test_a_table_from_two_machines_says_so_with_the_runs_of_each(smoke_store, tmp_path, capsys):
    store = tmp_path / "mixed.db"
    shutil.copy(smoke_store, store)
    with sqlite3.connect(store) as conn:  # seed 1's runs as if measured elsewhere
        for table in ("results", "runs"):
            conn.execute(f"UPDATE {table} SET machine=? WHERE suite='toy2d' AND seed=1", (OTHER,))
        runs = conn.execute("SELECT COUNT(*) FROM runs WHERE suite='toy2d' AND seed=1").fetchone()[0]
    text = report(capsys, store)
    line = next(line for line in text.splitlines() if "mixed machines" in line)
    assert "2 machines or settings" in line and f"{OTHER} ({runs} runs)" in line
    assert f"{machine_description(torch.device('cpu')).split('; ')[0]}" in line


def test_records_from_before_machines_were_recorded_say_so(smoke_store, tmp_path, capsys):
    store = tmp_path / "old.db"
    shutil.copy(smoke_store, store)
    with sqlite3.connect(store) as conn:
        for table in ("results", "runs"):
            conn.execute(f"UPDATE {table} SET machine=''")
    assert "- machine: not recorded" in report(capsys, store)

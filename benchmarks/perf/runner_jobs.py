"""Throughput of `benchbox run` on the CPU: one process against worker processes, side by side in one run.

    python benchmarks/perf/runner_jobs.py [--steps 1000] [--jobs N]

Trains the same toy2d cells (non-saturating GAN and PacGAN2 on both mixtures, two seeds, the short
budget's nets) once sequentially in this process and once in N worker processes, and prints the wall
times and their ratio. Target: ≥ 1.5× on 2 cores (each small run is bound by per-op overhead, so one
process cannot use both cores well). Measured here (2 cores, 1000 steps): 64.1 s against 41.7 s, 1.54×;
with 300 steps the workers' start-up (importing torch) eats most of the gain (1.13×).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import torch

from benchbox.runner import Runner, make_cells, resolve_models
from benchbox.store import ResultStore
from benchbox.suites import load_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    suite = load_suite("toy2d")
    budget = dataclasses.replace(suite.budget("short"), steps=args.steps, checkpoint_every=args.steps)
    entries = resolve_models(suite, ["gan-ns", "pacgan2"])
    cells = make_cells(suite, entries, budget, (0, 1))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sequential = Runner(suite, ResultStore(Path(tmp) / "seq.db"), torch.device("cpu"), progress=False)
        sequential.run(cells)
        t_seq = time.perf_counter() - t0

        # Workers reload the suite by name, so they train the registered short budget; give them the same steps.
        parallel = Runner(suite, ResultStore(Path(tmp) / "par.db"), torch.device("cpu"), progress=False)
        suite_file = Path(tmp) / "bench_suite.py"
        suite_file.write_text(
            "import dataclasses\nfrom benchmarks.toy2d import SUITE as S\n"
            f"b = dataclasses.replace(S.budget('short'), steps={args.steps}, checkpoint_every={args.steps})\n"
            "SUITE = dataclasses.replace(S, budgets=(b,))\n"
        )
        t0 = time.perf_counter()
        parallel.run(cells, jobs=args.jobs, suite_ref=str(suite_file))
        t_par = time.perf_counter() - t0

    n = len(cells) * args.steps
    print(f"{len(cells)} runs × {args.steps} steps on {os.cpu_count()} cores (torch threads {torch.get_num_threads()})")
    print(f"one process:     {t_seq:7.1f} s  {n / t_seq:7.1f} steps/s")
    print(f"{args.jobs} workers:       {t_par:7.1f} s  {n / t_par:7.1f} steps/s")
    print(f"speed-up: {t_seq / t_par:.2f}×")


if __name__ == "__main__":
    main()

"""Load benchmark: peak memory of `benchbox score` as the image count grows, and `benchbox report` on a large store.

    python benchmarks/perf/load.py [--n 10000,100000] [--records 1000000] [--skip-images] [--skip-store]

1. Images: for each n, a real and a generated set of n random uint8 1×28×28 images, saved as N×H×W×C .npy files,
   scored with `benchbox score REAL FAKE --feature fashion-mnist --no-cache` (FD, KID, IS in the space of the
   classifier benchbox trains on Fashion-MNIST) in a fresh child process. A first small call warms the classifier's
   cache (it trains the classifier if it is not cached yet: minutes). Prints, per n, the child's peak resident
   memory (its own ru_maxrss, from os.wait4), the score's wall time and images per second (both sets), then the
   ratio of the peaks of the largest and the smallest n. Target: under 2 GiB at every n (the images are read a batch
   at a time; what grows with n is the features, 552 bytes per image, and one float64 copy of a set's features).
2. Store: a store of `--records` result records of the registered toy2d suite, made from a real smoke run's
   records, runs, previews and suite description (`benchbox run --suite toy2d --budget smoke --seeds 0`, ~20 s)
   copied over many suite versions, budgets and seeds (values drawn around the real ones; protocol hashes per
   version and budget, as a run makes them), written through ResultStore.put, one transaction per table. The newest
   version holds a few seeds per budget (the slice `benchbox report --suite toy2d` shows among a million records),
   and the version before it one `short` table of many seeds (a single table over a large number of records).
   Prints the time to write the store and the seconds of each `benchbox report` in a child process: Markdown and
   JSON of the slice, and of the large table, beside `benchbox report --help` (the imports every command pays).
   Target: every report within a few seconds.

The machine is shared, so wall times drift; peak memory does not. Measured here (2 cores, shared): peak RSS 811 MiB at
10,000 and 896 MiB at 100,000 images per set (1.11×; 864 and 1,360 MiB before `.npy` files were read a batch at a
time and features copied into arrays allocated once); the default report of the 1,000,920-record store 3.1 s (its
imports alone 3.3 s), the table of 5,000 seeds 8.5 s in Markdown and 14.2 s in JSON (160 MB).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchbox.description import SuiteDescription
from benchbox.store import Artifact, ResultRecord, ResultStore, RunRecord

SUITE = "toy2d"
BUDGETS = ("smoke", "short", "full")
SLICE_SEEDS = 5  # seeds per budget of the newest version: the slice a default report shows
BIG_SEEDS = 5000  # seeds of the large table (version before the newest, budget short): 200,000 records
OLD_VERSIONS = 20  # versions below those two share the rest of the records
DIVERGED_EVERY = 50  # every 50th seed of a table, one model diverged on both tasks (no records, a run row)
MiB = 2**20

Template = tuple[list[ResultRecord], list[RunRecord], list[Artifact], SuiteDescription]  # one real run's rows


def benchbox(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchbox", *args]


def child(command: list[str], out: Path) -> tuple[float, float]:
    """Run a command in a fresh process, stdout to `out`: (wall seconds, its own peak RSS in MiB, from os.wait4)."""
    errors = out.with_suffix(".stderr")
    t0 = time.perf_counter()
    with open(out, "w") as stdout, open(errors, "w") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors.read_text()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def save_images(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    np.save(path, rng.integers(0, 256, size=(n, 28, 28, 1), dtype=np.uint8))
    return path


def score_images(work: Path, n: int) -> dict[str, float]:
    """Peak RSS, wall time and images/s of `benchbox score` on n real and n generated images."""
    real, fake = save_images(work / f"real-{n}.npy", n, 0), save_images(work / f"fake-{n}.npy", n, 1)
    out = work / f"score-{n}.json"
    command = benchbox("score", str(real), str(fake), "--feature", "fashion-mnist", "--no-cache", "--json")
    wall, peak = child(command, out)
    scored = json.loads(out.read_text())
    real.unlink()
    fake.unlink()
    seconds = scored["provenance"]["wall_time_s"]
    return {"n": n, "peak_mib": peak, "wall_s": wall, "score_s": seconds, "images_per_s": 2 * n / seconds}


def image_load(ns: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="benchbox-load-") as tmp:
        work = Path(tmp)
        print("warming the fashion-mnist classifier (trains it once if it is not cached) ...", flush=True)
        warm = score_images(work, 2000)
        print(f"  warm-up: {warm['wall_s']:.1f} s, peak {warm['peak_mib']:.0f} MiB")
        rows = [score_images(work, n) for n in ns]
    print(f"{'images per set':>15} {'peak RSS':>12} {'score':>9} {'process':>9} {'images/s':>10}")
    for r in rows:
        print(
            f"{r['n']:>15,} {r['peak_mib']:>8.0f} MiB {r['score_s']:>7.1f} s {r['wall_s']:>7.1f} s "
            f"{r['images_per_s']:>10,.0f}",
            flush=True,
        )
    first, last = rows[0], rows[-1]
    print(
        f"peak RSS {last['n']:,} / {first['n']:,}: {last['peak_mib']:.0f} / {first['peak_mib']:.0f} MiB = "
        f"{last['peak_mib'] / first['peak_mib']:.2f}× for {last['n'] / first['n']:.0f}× the images "
        f"(target: under 2048 MiB at every n)"
    )


def template(work: Path) -> Template:
    """The records, runs, previews and description of one real toy2d smoke run (seed 0)."""
    path = work / "template.db"
    subprocess.run(
        benchbox("run", "--suite", SUITE, "--budget", "smoke", "--seeds", "0", "--store", str(path)),
        check=True,
        capture_output=True,
    )
    store = ResultStore(path)
    found = store.records(), store.runs(), store.artifacts(), store.description(SUITE, 1)
    store.close()
    return found


def protocol(phash: str, version: int, budget: str) -> str:
    """A cell's protocol hash for another version and budget (both are part of what a run hashes)."""
    return hashlib.sha256(f"{phash}|{version}|{budget}".encode()).hexdigest()[:16]


def jitter(value: float, rng: np.random.Generator) -> float:
    """A seed's value around the real one: same sign, ∞ stays ∞, 0 stays 0."""
    return value * float(np.exp(0.1 * rng.standard_normal())) if np.isfinite(value) else value


def table(
    tpl: Template, version: int, budget: str, seeds: range
) -> tuple[list[ResultRecord], list[RunRecord], list[Artifact]]:
    """One (version, budget) table: the template's runs over `seeds`; every DIVERGED_EVERY-th seed, lsgan diverged."""
    records, runs, artifacts = tpl[0], tpl[1], tpl[2]
    rng = np.random.default_rng([version, BUDGETS.index(budget)])
    stamp = f"2026-{1 + version % 12:02d}-{1 + version % 28:02d}T12:00:00+00:00"
    out_records, out_runs, out_artifacts = [], [], []
    for seed in seeds:
        diverged = seed % DIVERGED_EVERY == DIVERGED_EVERY - 1
        for run in runs:
            cell = (run.task, run.model)
            key = dict(suite_version=version, budget=budget, seed=seed)
            key["protocol_hash"] = protocol(run.protocol_hash, version, budget)
            failed = diverged and run.model == "lsgan"
            status = dict(status="diverged", step=run.step // 2, detail="{'d_loss': nan}") if failed else {}
            out_runs.append(dataclasses.replace(run, **key, **status, created_at=stamp))
            out_artifacts += [dataclasses.replace(a, **key) for a in artifacts if (a.task, a.model) == cell]
            if not failed:
                out_records += [
                    dataclasses.replace(r, **key, value=jitter(r.value, rng), created_at=stamp)
                    for r in records
                    if (r.task, r.model) == cell
                ]
    return out_records, out_runs, out_artifacts


def table_records(seeds: int) -> int:
    """Records of a toy2d table over `seeds` seeds: 2 tasks × 5 models × 4 values, less lsgan's 8 where it diverged."""
    return 40 * seeds - 8 * (seeds // DIVERGED_EVERY)


def plan(total: int) -> list[tuple[int, str, range]]:
    """(version, budget, seeds) of every table: the old versions share what the newest two leave of `total`."""
    newest = OLD_VERSIONS + 2
    tables = [(newest, b, range(SLICE_SEEDS)) for b in BUDGETS] + [(newest - 1, "short", range(BIG_SEEDS))]
    left = total - 3 * table_records(SLICE_SEEDS) - table_records(BIG_SEEDS)
    seeds = 1
    while OLD_VERSIONS * len(BUDGETS) * table_records(seeds) < left:
        seeds += 1
    return tables + [(v, b, range(seeds)) for v in range(1, OLD_VERSIONS + 1) for b in BUDGETS]


def build_store(path: Path, tpl: Template, total: int) -> int:
    store = ResultStore(path)
    count = 0
    for version, budget, seeds in plan(total):
        records, runs, artifacts = table(tpl, version, budget, seeds)
        store.put(records, runs, artifacts=artifacts)
        store.put_description(SUITE, version, tpl[3])
        count += len(records)
    store.close()
    return count


def store_load(total: int) -> None:
    with tempfile.TemporaryDirectory(prefix="benchbox-load-") as tmp:
        work = Path(tmp)
        print("a real toy2d smoke run for the records' values and provenance ...", flush=True)
        tpl = template(work)
        path = work / "results.db"
        t0 = time.perf_counter()
        count = build_store(path, tpl, total)
        print(
            f"store: {count:,} records, {path.stat().st_size / MiB:,.0f} MiB, "
            f"written in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        newest = OLD_VERSIONS + 2
        big = ["--suite-version", str(newest - 1), "--budget", "short"]
        cases = [
            ("imports only: benchbox report --help", ["--help"]),
            (f"newest version (v{newest}, 3 budgets × {SLICE_SEEDS} seeds), md", []),
            ("the same, --format json", ["--format", "json"]),
            ("an old version's table (v10 full), md", ["--suite-version", "10", "--budget", "full"]),
            (f"one table of {BIG_SEEDS:,} seeds (v{newest - 1} short), md", big),
            ("the same, --format json", [*big, "--format", "json"]),
        ]
        for name, extra in cases:
            out = work / "report.out"
            seconds, peak = child(benchbox("report", "--suite", SUITE, "--store", str(path), *extra), out)
            size = out.stat().st_size / 1024
            print(f"{name:<55} {seconds:6.1f} s  peak {peak:5.0f} MiB  {size:9,.0f} KiB out", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10000,100000", help="images per set, comma-separated (default 10000,100000)")
    parser.add_argument("--records", type=int, default=1_000_000, help="result records in the store (default 1e6)")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-store", action="store_true")
    args = parser.parse_args()
    if not args.skip_images:
        image_load([int(n) for n in args.n.split(",")])
    if not args.skip_store:
        store_load(args.records)


if __name__ == "__main__":
    main()

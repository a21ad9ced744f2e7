"""Independent runs side by side in worker processes, each single-threaded (small models on a CPU).

Each worker loads the suite and opens the store itself; SQLite serialises their writes. A run's
checkpoints and records are the same as in a sequential run, so `--resume` works either way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchbox.data import data_dir_option, set_data_dir
from benchbox.runner.cells import Cell, RunOutcome, model_cost, resolve_models
from benchbox.store import ResultStore
from benchbox.suites import load_suite


@dataclass(frozen=True)
class WorkerSetup:
    runner: type  # the Runner class (benchbox.runner.run.Runner), built anew in each worker
    suite_ref: str  # the suite name or file path, reloaded in each worker
    store_path: Path
    device: str
    resume: bool
    threads: int
    data_dir: str | None = None  # --data-dir, for the dataset loaders


_runner: Any = None  # this worker's Runner


PARENT_POLL_S = 2.0  # how often a worker checks that the process that started it is still there


def _exit_with_parent(parent: int) -> None:
    """End this worker once its parent is gone (killed by SIGKILL or SIGTERM, which it cannot pass on), so no
    orphan goes on training and competing for the cores; the run's last checkpoint is kept for --resume."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(setup: WorkerSetup) -> None:
    global _runner
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    torch.set_num_threads(setup.threads)
    set_data_dir(setup.data_dir)
    logging.getLogger("benchbox.suites").setLevel(logging.ERROR)  # the parent has warned about the suite already
    suite = load_suite(setup.suite_ref)
    _runner = setup.runner(
        suite, ResultStore(setup.store_path), torch.device(setup.device), resume=setup.resume, progress=False
    )


def _run_one(task: str, model: str, seed: int, budget: str) -> tuple[str, str]:
    assert _runner is not None
    suite = _runner.suite
    entry = resolve_models(suite, [model])[0]
    cell = Cell(suite.task(task), entry, seed, entry.budget_for(suite.budget(budget)))
    outcome = _runner.run_cell(cell)
    return outcome.status, outcome.detail


# The pool's queues are registered with multiprocessing's resource tracker; after Ctrl-C ends the workers mid-run,
# the tracker warns of them ("leaked semaphore objects") below benchbox's one-line message. It frees them itself.
TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


def _terminate_children() -> None:
    """End this process's worker processes now (the pool would wait for their runs to finish)."""
    for process in multiprocessing.active_children():
        process.terminate()
        process.join()


def run_parallel(runner: Any, suite_ref: str, cells: list[Cell], jobs: int) -> list[RunOutcome]:
    """Run cells in `jobs` processes, each with a Runner like `runner`; returns outcomes in the order of `cells`."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    data_dir = data_dir_option()
    setup = WorkerSetup(
        type(runner),
        suite_ref,
        runner.store.path,
        runner.device.type,
        runner.resume,
        threads,
        str(data_dir) if data_dir else None,
    )
    outcomes: dict[int, RunOutcome] = {}
    if TRACKER_QUIET not in sys.warnoptions:  # read when multiprocessing starts its resource tracker process
        sys.warnoptions.append(TRACKER_QUIET)
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(setup,))
    try:
        # Longest runs first, by the cost their model kinds declare, so no worker idles at the end.
        order = sorted(range(len(cells)), key=lambda i: -model_cost(cells[i].entry, cells[i].budget))
        futures = {
            pool.submit(_run_one, cells[i].task.name, cells[i].entry.name, cells[i].seed, cells[i].budget.name): i
            for i in order
        }
        with tqdm(total=len(cells), desc=f"runs ({jobs} workers)", dynamic_ncols=True) as bar:
            for future in as_completed(futures):
                i = futures[future]
                status, detail = future.result()
                outcomes[i] = RunOutcome(cells[i], status, detail=detail)
                bar.update()
    except BaseException:  # Ctrl-C or a failed run: stop the workers now; their checkpoints are atomic
        pool.shutdown(wait=False, cancel_futures=True)
        _terminate_children()
        raise
    pool.shutdown()
    return [outcomes[i] for i in range(len(cells))]

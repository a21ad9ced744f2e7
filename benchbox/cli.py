"""The command line: benchbox list | run | report | score | check | t2i-captions | score-t2i."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from benchbox import __version__
from benchbox.cli_check import add_check_parser, cmd_check
from benchbox.cli_list import add_list_parser, cmd_list
from benchbox.cli_score import add_score_parser, cmd_score
from benchbox.cli_t2i import add_t2i_parsers, cmd_score_t2i, cmd_t2i_captions
from benchbox.data import set_data_dir
from benchbox.device import resolve_device
from benchbox.errors import BenchboxError
from benchbox.features.vgg import VGG19
from benchbox.io import write_text_atomic
from benchbox.report.render import FORMATS, render_report
from benchbox.report.scored import scored_suite
from benchbox.report.summary import View
from benchbox.report.tables import markdown_report
from benchbox.runner import Runner, make_cells, preflight_users, resolve_models, summarize_outcomes
from benchbox.store import DEFAULT_STORE, ResultStore
from benchbox.suites import load_trainable_suite

log = logging.getLogger("benchbox")


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem on one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"benchbox: error: {message}; see `{self.prog} --help`\n")


def seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def csv_list(kind: type) -> type:
    def parse(text: str) -> list:
        try:
            items = [kind(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError as exc:
            what = "non-negative integers" if kind is seed else f"{kind.__name__}s"
            raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of {what}") from exc
        if not items:
            raise argparse.ArgumentTypeError("the list is empty")
        return items

    return parse  # type: ignore[return-value]


def build_parser() -> Parser:
    parser = Parser(prog="benchbox", description="Fixed, versioned benchmarks for generative models.")
    parser.add_argument("--version", action="version", version=f"benchbox {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    parser.add_argument(
        "--plugins",
        type=csv_list(str),
        default=[],
        metavar="MODULE[,MODULE]",
        help="import these modules first, so that the metric families, model kinds, feature spaces or suites they "
        "register can be listed, scored and reported (see docs/extending.md)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    add_list_parser(sub)

    run = sub.add_parser(
        "run",
        help="train, sample, score and record a suite",
        description="Train every model of a suite "
        "for each seed under a budget, score the samples, record the results and print the table.",
    )
    run.add_argument("--suite", required=True, help="a suite name (see `benchbox list`) or a path to a suite .py file")
    run.add_argument(
        "--models",
        type=csv_list(str),
        help="comma-separated model names of the suite, or "
        "package.module:factory for your own model (default: all of the suite's models)",
    )
    run.add_argument("--seeds", type=csv_list(seed), help="comma-separated seeds (default: the budget's seeds)")
    run.add_argument(
        "--budget", default="short", choices=["smoke", "short", "full"], help="training budget (default: short)"
    )
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: cuda when available")
    run.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help=f"SQLite result store (default: {DEFAULT_STORE})"
    )
    run.add_argument(
        "--jobs",
        type=int,
        help="runs side by side in worker processes (default: one per CPU core on the CPU, 1 on a GPU)",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        help="folder holding the suite's dataset files (looked in before $BENCHBOX_DATA and the default places)",
    )
    run.add_argument(
        "--vgg-weights",
        type=Path,
        metavar="PATH",
        help="VGG19's weights for content losses that ask for them (sr-cifar10's SRGAN; sets $BENCHBOX_VGG_WEIGHTS)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue interrupted runs from their last checkpoint and skip runs that are already complete",
    )

    report = sub.add_parser(
        "report",
        help="print a suite's table from the store",
        description="Print a suite's results table from the store, without running anything.",
    )
    report.add_argument("--suite", required=True, help="suite name as recorded in the store")
    report.add_argument(
        "--format",
        default="md",
        choices=list(FORMATS),
        help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()) + " (default: md)",
    )
    report.add_argument("--out", type=Path, help="write to this file instead of standard output")
    report.add_argument(
        "--metrics", type=csv_list(str), help="comma-separated metric columns to show, in this order (default: all)"
    )
    report.add_argument("--budget", choices=["smoke", "short", "full"], help="only this budget (default: every budget)")
    report.add_argument("--suite-version", type=int, help="suite version (default: the newest in the store)")
    report.add_argument(
        "--all-versions",
        action="store_true",
        help="show every version of your models' code (rows name@digest), not only the newest",
    )
    report.add_argument(
        "--curves", action="store_true", help="add each run's training curves (loss means per checkpoint interval)"
    )
    report.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help=f"SQLite result store (default: {DEFAULT_STORE})"
    )
    add_score_parser(sub)
    add_check_parser(sub)
    add_t2i_parsers(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    set_data_dir(args.data_dir)
    if args.vgg_weights:  # read where the model is built, in this process or a worker (which inherits it)
        os.environ[VGG19.env_var] = str(args.vgg_weights)
    suite = load_trainable_suite(args.suite)
    budget = suite.budget(args.budget)
    entries = resolve_models(suite, args.models)
    device = resolve_device(args.device)
    seeds = tuple(dict.fromkeys(args.seeds)) if args.seeds else None  # None: each model's budget's seeds
    cells = make_cells(suite, entries, budget, seeds)
    default_jobs = 1 if device.type == "cuda" else os.cpu_count() or 1
    jobs = min(default_jobs if args.jobs is None else args.jobs, len(cells))
    if jobs < 1:
        raise BenchboxError(f"--jobs {args.jobs} is not a positive number", "pass --jobs 1 or more")
    for task, n in {(c.task, c.budget.n_eval or suite.n_eval) for c in cells}:
        suite.evaluation.prepare(task, n)  # bad data or sample counts are refused before the store is made
    preflight_users(suite, cells, device)  # and so is a user's model that cannot run
    store = ResultStore(args.store)
    log.info(
        "suite %s v%d, budget %s: %d runs (%d models × %d tasks × their seeds) on %s",
        suite.name,
        suite.version,
        budget.name,
        len(cells),
        len(entries),
        len(suite.tasks),
        device,
    )
    runner = Runner(suite, store, device, resume=args.resume)
    outcomes = runner.run(cells, jobs=jobs, suite_ref=args.suite)
    print(summarize_outcomes(outcomes), file=sys.stderr)
    print(markdown_report(store, suite.name, suite.version, budget.name), end="")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    scored = scored_suite(args.suite)  # a scored-only suite shows its papers' rows before any store exists
    if not args.store.exists() and scored is None:
        raise BenchboxError(f"store '{args.store}' does not exist", "run `benchbox run` first, or pass --store")
    store = ResultStore(args.store) if args.store.exists() else None
    view = View(all_versions=args.all_versions, curves=args.curves)
    try:
        text = render_report(store, args.suite, args.format, args.suite_version, args.budget, args.metrics, view)
    finally:
        if store is not None:  # closed, so that a refused report leaves no -wal/-shm files beside the store
            store.close()
    if args.out:
        write_text_atomic(args.out, text)
    else:
        print(text, end="")
    return 0


COMMANDS = {
    "list": cmd_list,
    "run": cmd_run,
    "report": cmd_report,
    "score": cmd_score,
    "check": cmd_check,
    "t2i-captions": cmd_t2i_captions,
    "score-t2i": cmd_score_t2i,
}


def import_plugins(names: list[str]) -> None:
    """Import the user's modules that register entries of their own (where they are defined, as the built-ins do)."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any error in user code is reported in one line, not as a traceback
            raise BenchboxError(
                f"cannot import plugin '{name}' ({type(exc).__name__}: {exc})",
                "give a module importable from the current folder or PYTHONPATH",
            ) from exc


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no space, over quota, over the file size limit


def main(argv: Sequence[str] | None = None) -> int:
    if os.getcwd() not in sys.path and "" not in sys.path:  # the `benchbox` script finds module:factory here too,
        sys.path.insert(0, os.getcwd())  # as `python -m benchbox` does
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        import_plugins(args.plugins)
        return COMMANDS[args.command](args)
    except BenchboxError as exc:
        print(f"benchbox: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `benchbox ... | head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        where = f" writing '{exc.filename}'" if exc.filename else ""
        print(f"benchbox: error: {exc.strerror or exc}{where}; free disk space, then rerun (--resume)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("benchbox: interrupted; checkpoints are kept, rerun with --resume to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The runner, split by responsibility: `cells` (what one run is, its model and protocol hash), `training` (the loop,
checkpoints, resume, divergence), `records` (values and run status with provenance), `describe` (the suite's typed
description for reports), `parallel` (worker processes) and `run` (the Runner that ties them together)."""

from benchbox.device import resolve_device
from benchbox.runner.cells import (
    DATA_SEED_OFFSET,
    EVAL_SEED_OFFSET,
    Cell,
    RunOutcome,
    cell_protocol_hash,
    make_cells,
    resolve_models,
)
from benchbox.runner.run import Runner, preflight_users, summarize_outcomes

__all__ = [
    "DATA_SEED_OFFSET",
    "EVAL_SEED_OFFSET",
    "Cell",
    "RunOutcome",
    "Runner",
    "cell_protocol_hash",
    "make_cells",
    "preflight_users",
    "resolve_device",
    "resolve_models",
    "summarize_outcomes",
]

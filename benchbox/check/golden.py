"""The engine canary's golden file, and the comparison of the engine's values now with it.

The file (reports/baselines/engine.json in the repository) states its tolerances: a value moved when
|now − golden| > atol + rtol·|golden| for its group's tolerance class; equal infinities (and NaN against NaN) are equal,
a finite value against a non-finite one is moved. A feature space whose weights hash differs from the golden's
(its classifier trained under another torch build or CPU) is not compared, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import benchbox
from benchbox.check.engine import (
    FAMILIES,
    JACKKNIFE_GROUPS,
    N_FAKE,
    N_IMAGES,
    N_REAL,
    SEED,
    SETTINGS,
    SKIPPED,
    SPACES,
    Group,
    canary_environment,
    features_group,
    points_group,
    reconstruction_group,
    space_available,
    space_group,
    uncovered_families,
)
from benchbox.check.jsonfile import decode_number, encode_number, read_json, write_json
from benchbox.check.table import grid
from benchbox.errors import BenchboxError
from benchbox.provenance import git_commit

FORMAT = "benchbox-engine-golden/1"
DEFAULT_GOLDEN = Path(benchbox.__file__).resolve().parent.parent / "reports" / "baselines" / "engine.json"
TOLERANCES = {
    "float64": {
        "rtol": 1e-6,
        "atol": 1e-12,
        "applies_to": "metric values computed in float64 from fixed float64 inputs: only round-off moves them",
    },
    "float32": {
        "rtol": 1e-4,
        "atol": 1e-6,
        "applies_to": "values that pass through float32 tensors (a classifier's features on one thread, torchmetrics)",
    },
}
FIX = "write it with `benchbox check --engine --update-golden` (and commit it)"
BUILDERS = {"features": features_group, "points": points_group, "reconstruction": reconstruction_group}


@dataclass(frozen=True)
class Moved:
    group: str
    name: str
    golden: float
    now: float | None  # None: not computed any more
    rtol: float
    atol: float


def close(now: float, golden: float, rtol: float, atol: float) -> bool:
    """|now − golden| <= atol + rtol·|golden|; equal infinities and NaN against NaN are close."""
    if not (math.isfinite(now) and math.isfinite(golden)):
        return now == golden or (math.isnan(now) and math.isnan(golden))
    return abs(now - golden) <= atol + rtol * abs(golden)


def build(name: str) -> Group:
    """One group of values computed now ("space:<dataset>" for a feature space)."""
    return space_group(name.removeprefix("space:")) if name.startswith("space:") else BUILDERS[name]()


def compute_all() -> tuple[dict[str, Group], dict[str, str]]:
    """Every group, and every space left out with the reason."""
    skipped = dict(SKIPPED)
    names = list(BUILDERS)
    for dataset in SPACES:
        reason = space_available(dataset)
        if reason:
            skipped[f"space:{dataset}"] = reason
        else:
            names.append(f"space:{dataset}")
    return {name: build(name) for name in names}, skipped


def golden_json(groups: dict[str, Group], skipped: dict[str, str]) -> dict[str, Any]:
    inputs = (
        f"numpy default_rng({SEED} + offset): {N_FAKE} generated and {N_REAL} real float64 8-d features and 10-class "
        f"logits (families {', '.join(FAMILIES)}, {SETTINGS}, {JACKKNIFE_GROUPS} jackknife groups); 2-D points "
        f"near the ring8 and grid25 modes; 4 16×16 images for PSNR/SSIM; {N_IMAGES} + {N_IMAGES} uint8 block "
        "images per feature space"
    )
    out: dict[str, Any] = {
        "format": FORMAT,
        "inputs": inputs,
        "tolerances": TOLERANCES,
        "environment": {
            "benchbox_version": benchbox.__version__,
            "git_commit": git_commit(),
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "skipped": skipped,
        "groups": {},
    }
    for name, group in groups.items():
        entry: dict[str, Any] = {"tolerance": group.tolerance}
        if group.weights_sha256:
            entry["weights_sha256"] = group.weights_sha256
        entry["values"] = {k: encode_number(v) for k, v in group.values.items()}
        out["groups"][name] = entry
    return out


def compare_golden(golden: dict[str, Any], where: str) -> tuple[int, list[Moved], list[str], list[str]]:
    """(values compared, values moved, notes, warnings) of the engine now against a golden file's object."""
    if golden.get("format") != FORMAT or not isinstance(golden.get("groups"), dict):
        raise BenchboxError(f"golden file '{where}' is not a {FORMAT} file", FIX)
    tolerances = golden.get("tolerances", {})
    compared, moved, notes, warnings = 0, [], [], []
    for name, entry in golden["groups"].items():
        if not isinstance(entry, dict):
            raise BenchboxError(f"golden file '{where}' group {name} is not an object", FIX)
        if name not in BUILDERS and not (name.startswith("space:") and name.removeprefix("space:") in SPACES):
            notes.append(f"{name} is not a group of this canary: not compared")
            continue
        if name.startswith("space:") and (reason := space_available(name.removeprefix("space:"))):
            notes.append(f"{name} not compared: {reason}")
            continue
        tol = tolerances.get(entry.get("tolerance"))
        if not isinstance(tol, dict) or not {"rtol", "atol"} <= set(tol):
            raise BenchboxError(f"golden file '{where}' group {name} has no stated tolerance", FIX)
        group = build(name)
        if entry.get("weights_sha256", "") != group.weights_sha256:
            warnings.append(
                f"{name} not compared: its weights are {group.weights_sha256[:12]} here, "
                f"{str(entry.get('weights_sha256'))[:12]} in the golden file (another torch build or CPU trained it)"
            )
            continue
        for key, raw in entry.get("values", {}).items():
            value = decode_number(raw, f"golden file '{where}' {name} {key}", FIX)
            now = group.values.get(key)
            compared += 1
            if now is None or not close(now, value, float(tol["rtol"]), float(tol["atol"])):
                moved.append(Moved(name, key, value, now, float(tol["rtol"]), float(tol["atol"])))
        new = sorted(set(group.values) - set(entry.get("values", {})))
        if new:
            notes.append(f"{name}: not in the golden file, not compared: {', '.join(new)}")
    for family in uncovered_families():
        notes.append(f"metric family '{family}' is registered but not scored by the canary")
    return compared, moved, notes, warnings


def moved_table(moved: list[Moved], fmt: str) -> str:
    rows = []
    for m in moved:
        now = "not computed" if m.now is None else repr(m.now)
        comparable = m.now is not None and math.isfinite(m.now - m.golden) and m.golden != 0
        change = f"{(m.now - m.golden) / abs(m.golden):+.2e}" if comparable else "—"  # type: ignore[operator]
        rows.append((m.group, m.name, repr(m.golden), now, change, f"rtol {m.rtol:g}, atol {m.atol:g}"))
    return grid(("group", "value", "golden", "now", "relative change", "tolerance"), rows, fmt)


def engine_check(path: Path | None, update: bool, fmt: str) -> tuple[str, int, str]:
    """(standard output, exit code, the error line for stderr) of `benchbox check --engine`."""
    path = path or DEFAULT_GOLDEN
    with canary_environment():
        if update:
            groups, skipped = compute_all()
            write_json(path, golden_json(groups, skipped), "--golden")
            lines = [f"wrote {path}: " + ", ".join(f"{k} ({len(g.values)} values)" for k, g in groups.items())]
            lines += [f"skipped {k}: {why}" for k, why in skipped.items()]
            return "\n".join(lines) + "\n", 0, ""
        golden = read_json(path, "golden file", FIX)
        compared, moved, notes, warnings = compare_golden(golden, str(path))
    heading = f"engine canary against {path.name}: {compared} values compared, {len(moved)} moved"
    out = [f"### {heading}" if fmt == "md" else heading, ""]
    if moved:
        out.append(moved_table(moved, fmt))
    prefix = ("> **warning:** ", "> note: ") if fmt == "md" else ("warning: ", "note: ")
    out += [prefix[0] + w for w in warnings] + [prefix[1] + n for n in notes]
    out += [prefix[1] + f"skipped {k}: {why}" for k, why in golden.get("skipped", {}).items()]
    if not moved:
        return "\n".join(out) + "\n", 0, ""
    names = ", ".join(f"{m.group} {m.name}" for m in moved)
    return "\n".join(out) + "\n", 1, f"benchbox: engine check failed: values moved: {names}"

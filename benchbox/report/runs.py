"""What the report reads from the runs table beside the values: runs that left no scores, users' models (their code
and batch), the newest version of each user model, and the training curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from benchbox.store import ResultRecord, RunRecord, split_row_name


def newest_user_versions(
    records: list[ResultRecord], runs: list[RunRecord]
) -> tuple[list[ResultRecord], list[RunRecord], int]:
    """Of each user model (rows 'package.module:factory@digest'), only the rows of its newest code; also returns how
    many older versions were left out."""
    names = {m: split_row_name(m) for m in {r.model for r in [*records, *runs]}}  # once per row name, not per record
    if not any(digest for _, digest in names.values()):
        return list(records), list(runs), 0
    latest: dict[str, tuple[str, str]] = {}  # spec -> (newest created_at, its digest)
    for r in [*records, *runs]:
        spec, digest = names[r.model]
        if digest and (spec not in latest or r.created_at > latest[spec][0]):
            latest[spec] = (r.created_at, digest)

    def keep(model: str) -> bool:
        spec, digest = names[model]
        return not digest or latest[spec][1] == digest

    hidden = {r.model for r in [*records, *runs] if not keep(r.model)}
    return [r for r in records if keep(r.model)], [r for r in runs if keep(r.model)], len(hidden)


def unfinished_lines(runs: Sequence[RunRecord]) -> list[str]:
    """The runs that left no scores: diverged (at their step) and failed (with their error)."""
    diverged = sorted((r.task, r.model, r.seed, r.step, r.detail) for r in runs if r.status == "diverged")
    failed = sorted((r.task, r.model, r.seed, r.detail) for r in runs if r.status == "failed")
    out = []
    if diverged:
        out.append(
            "**Diverged runs** (non-finite loss; no scores recorded, last good checkpoint kept): "
            + ", ".join(f"{t}/{m}/seed{s} at step {step}" + (f" ({d})" if d else "") for t, m, s, step, d in diverged)
        )
    if failed:
        out.append(
            "**Failed runs** (no scores recorded): " + ", ".join(f"{t}/{m}/seed{s}: {d}" for t, m, s, d in failed)
        )
    return out


def user_model_lines(runs: Sequence[RunRecord], hidden_versions: int) -> list[str]:
    """Users' models in the table: their code (files and hashes) and their own batch, which the budget's heading
    (written for the suite's models) does not describe."""
    users: dict[str, RunRecord] = {}
    for r in runs:
        if r.user_code:
            users.setdefault(r.model, r)
    if not users:
        return []
    lines = [
        "**User models** (your code, trained and scored under this suite's protocol; the budget's nets and batch "
        "size describe the suite's own models):"
    ]
    for name, r in sorted(users.items()):
        files = json.loads(r.user_code)
        code = ", ".join(f"{Path(f['file']).name} `{f['sha256'][:12]}`" for f in files.values())
        lines.append(f"- `{name}`: {r.examples_per_step} examples per training step; code: {code}")
    if hidden_versions:
        lines.append(f"- {hidden_versions} older version(s) of these models' code hidden; `--all-versions` shows them")
    return ["\n".join(lines)]


def curve_lines(runs: Sequence[RunRecord], task: str) -> list[str]:
    """A text summary of the training curves kept with each run: each logged value's first and last interval mean,
    and where it was lowest."""
    rows = []
    for r in sorted((r for r in runs if r.task == task and r.history), key=lambda r: (r.model, r.seed)):
        history = json.loads(r.history)
        names = [k for k in history[0] if k != "step"]
        parts = []
        for name in names:
            points = [(h["step"], h[name]) for h in history if name in h]
            low_step, low = min(points, key=lambda p: p[1])
            parts.append(f"{name} {points[0][1]:.4g} → {points[-1][1]:.4g} (lowest {low:.4g} at step {low_step})")
        rows.append(
            f"- `{r.model}` seed {r.seed}, {len(history)} intervals to step {history[-1]['step']}: " + "; ".join(parts)
        )
    return (
        ["**Training curves** (mean of each logged value per checkpoint interval):\n\n" + "\n".join(rows)]
        if rows
        else []
    )

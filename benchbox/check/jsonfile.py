"""The JSON of the check's files: human-readable (one key a line, lists of numbers on one line), in the order the
writer builds (stable: the writers sort what has no order of its own), strict JSON (non-finite numbers are the strings
"inf", "-inf" and "nan"), written atomically, and read back with one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchbox.errors import BenchboxError
from benchbox.io import write_text_atomic

NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def encode_number(x: float) -> float | str:
    """A float as JSON holds it: itself when finite, else "inf", "-inf" or "nan"."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def decode_number(x: Any, what: str, fix: str) -> float:
    """A number written by `encode_number` (a BenchboxError naming `what`, with `fix`, for anything else)."""
    if isinstance(x, bool) or not isinstance(x, int | float | str) or (isinstance(x, str) and x not in NON_FINITE):
        raise BenchboxError(f"{what} is {x!r}, not a number", fix)
    return NON_FINITE[x] if isinstance(x, str) else float(x)


def dumps(value: Any, indent: int = 0) -> str:
    """JSON text with dicts one key a line and lists of scalars on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple):
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return "[" + ", ".join(dumps(v) for v in value) + "]"
        return "[\n" + ",\n".join(f"{inner}{dumps(v, indent + 1)}" for v in value) + f"\n{pad}]"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("encode non-finite numbers with encode_number first")
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def write_json(path: Path, value: Any, option: str) -> None:
    """Write `value` to `path` atomically; `option` names the CLI option that gave the path, for the error."""
    try:
        write_text_atomic(path, dumps(value) + "\n")
    except BenchboxError as exc:
        raise BenchboxError(exc.problem, f"pass {option} with a writable path") from exc


def read_json(path: Path, what: str, fix: str) -> dict[str, Any]:
    """A JSON object from `path`; a missing, unreadable or malformed file is a one-line error with `fix`."""
    if not path.is_file():
        raise BenchboxError(f"{what} '{path}' does not exist", fix)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchboxError(f"{what} '{path}' is not readable JSON ({exc})", fix) from exc
    if not isinstance(data, dict):
        raise BenchboxError(f"{what} '{path}' holds a JSON {type(data).__name__}, not an object", fix)
    return data

"""A user's model given as `package.module:factory`: the factory and every source file of the user's code behind it.

The factory's module and, transitively, every module its import statements name that lives outside the standard
library, site-packages and benchbox itself are hashed file by file. The digest of them all goes into the protocol
hash and names the row (`mymodule:factory@3f2a9c1e`), so an edit in any of those files (a learning rate in a module
the factory's module imports) gives new rows, never a mix with the old ones; the files and their hashes are recorded
with each run.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import json
import site
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchbox.errors import BenchboxError
from benchbox.store import VERSION_MARK

OURS = ("benchbox", "reference_models", "benchmarks")  # covered by benchbox's version and commit in provenance


@dataclass(frozen=True)
class UserFactory:
    """A user's model factory with the digest of its code; calling it builds the model."""

    spec: str  # "package.module:factory"
    factory: Callable[..., Any]
    sources: tuple[tuple[str, str, str], ...]  # (module, file, sha256), sorted by module

    @property
    def digest(self) -> str:
        """SHA-256 over the modules' names and contents (not their paths: a clone elsewhere hashes the same)."""
        return hashlib.sha256(repr([(m, h) for m, _, h in self.sources]).encode()).hexdigest()

    @property
    def row_name(self) -> str:
        return f"{self.spec}{VERSION_MARK}{self.digest[:8]}"

    def identity(self) -> tuple[Any, ...]:
        """What of the user's code goes into a cell's protocol hash."""
        return ("user code", self.spec, self.digest)

    def files_json(self) -> str:
        return json.dumps({m: {"file": f, "sha256": h} for m, f, h in self.sources}, sort_keys=True)

    def __call__(self, ctx: Any) -> Any:
        return self.factory(ctx)


def import_callable(spec: str, what: str, takes: str) -> tuple[ModuleType, Callable[..., Any]]:
    """The module and function of the user's 'package.module:function' (from the current folder or PYTHONPATH); any
    problem, an error the user's module raises on import included, is one line naming `what` the function is."""
    module_name, sep, attr = spec.partition(":")
    if not (sep and module_name and attr):
        raise BenchboxError(f"{what} '{spec}' is not module:function", "give 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except Exception as exc:  # an import error or any error the user's module raises on import
        raise BenchboxError(
            f"cannot import {what} '{spec}' ({type(exc).__name__}: {exc})",
            "give 'package.module:function' importable from the current folder or PYTHONPATH",
        ) from exc
    if not callable(fn):
        raise BenchboxError(f"{what} '{spec}' is not callable", f"point to a function taking {takes}")
    return module, fn


def load_user_factory(spec: str) -> UserFactory:
    """Import 'package.module:factory' and hash the user's code behind it."""
    module, factory = import_callable(spec, "model factory", "a ModelContext")
    return UserFactory(spec, factory, user_sources(module))


def user_sources(module: ModuleType) -> tuple[tuple[str, str, str], ...]:
    """(module, file, sha256) of the module and of every user module reachable through import statements."""
    found: dict[str, ModuleType] = {}
    stack = [module]
    while stack:
        current = stack.pop()
        if current.__name__ in found or not is_user_module(current):
            continue
        found[current.__name__] = current
        stack += [sys.modules[n] for n in imported_names(current) if n in sys.modules]
    return tuple(
        (name, str(Path(m.__file__).resolve()), hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest())
        for name, m in sorted(found.items())
    )


def is_user_module(module: ModuleType) -> bool:
    """A module of the user's own code: a .py file outside the standard library, site-packages and benchbox."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py") or module.__name__.split(".")[0] in OURS:
        return False
    path = Path(file).resolve()
    return not any(path.is_relative_to(root) for root in _library_roots())


def imported_names(module: ModuleType) -> set[str]:
    """The modules a module's import statements name (anywhere in the file), with their parent packages."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    package = module.__package__ or ""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else (node.module or "")
            )
            names |= {base, *(f"{base}.{a.name}" for a in node.names)}
    return {prefix for n in names for prefix in _prefixes(n)}


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _library_roots() -> list[Path]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= set(site.getsitepackages()) | {site.getusersitepackages()}
    return [Path(p).resolve() for p in paths if p]

"""The package's import structure: no cycles between benchbox's modules, no imports of our own modules hidden inside
functions, and registries that fill only by explicit imports (a look-up imports nothing)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchbox", "reference_models", "benchmarks")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, ast.Module]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "perf" not in p.parts]
    return {module_name(p): ast.parse(p.read_text()) for p in files}


def imported(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """Our modules an import statement loads (a `from package import name` of a submodule counts as that module)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        names = [base, *(f"{base}.{a.name}" for a in node.names)]
    return {n for n in names if n in modules}


def test_module_imports_have_no_cycle():
    trees = sources()
    modules = set(trees)
    graph = {
        name: {
            m for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for m in imported(node, modules)
        }
        for name, tree in trees.items()
    }
    for name in graph:
        graph[name].discard(name)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, " -> ".join([*path[path.index(nxt) :], nxt]) if nxt in path else nxt
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_import_of_our_own_modules_inside_a_function():
    modules = set(sources())
    hidden = []
    for name, tree in sources().items():
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import | ast.ImportFrom) and imported(node, modules):
                        hidden.append(f"{name}.{fn.name}")
    assert hidden == []


def test_a_registry_look_up_imports_nothing():
    code = (
        "import sys; from benchbox.registry import MODELS; from benchbox.errors import UnknownNameError\n"
        "try:\n    MODELS.get_or_fail('dcgan')\nexcept UnknownNameError as e:\n    print('refused:', e)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('benchmarks', 'reference_models', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    refused, loaded = out.stdout.splitlines()
    assert refused.startswith("refused: unknown model 'dcgan'") and loaded == "[]"

"""Names given on the command line are looked up, never evaluated: a suite, model, metric or feature name that is
Python, shell or a path out of the folder is refused in one line, and nothing it asks for happens.

`--models module:factory`, `--plugins MODULE` and a suite file given by path are the user's code by design
(README, "Trust"): they are imported with importlib, never passed to eval, exec or a shell.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import benchbox
from benchbox.store import ResultStore
from benchbox.testing import fails_with, result_record, run_record

NAMES = [
    "__import__('os').system('touch pwned')",
    "x; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "| touch pwned",
    "../../etc/passwd",
    "/etc/passwd",
    "x' OR '1'='1",  # SQL: the store's queries take names as parameters
]


@pytest.fixture()
def folder(tmp_path, offline_cache, monkeypatch):
    """cwd with two small image files and a store holding one toy2d record; a shell would touch `pwned` here."""
    monkeypatch.chdir(tmp_path)
    g = np.random.default_rng(0)
    for name in ("real", "fake"):
        np.save(tmp_path / f"{name}.npy", g.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8))
    ResultStore(tmp_path / "r.db").put([result_record()], [run_record()])
    return tmp_path


SMOKE = ["--budget", "smoke", "--store", "new.db"]
COMMANDS = {
    "run --suite": lambda name: ["run", "--suite", name, *SMOKE],
    "run --models": lambda name: ["run", "--suite", "toy2d", "--models", name, *SMOKE],
    "report --suite": lambda name: ["report", "--suite", name, "--store", "r.db"],
    "score --feature": lambda name: ["score", "real.npy", "fake.npy", "--feature", name, "--metrics", "kid"],
    "score --metrics": lambda name: ["score", "real.npy", "fake.npy", "--feature", "pixels", "--metrics", name],
    "list --suite": lambda name: ["list", "--suite", name],
    "--plugins": lambda name: ["--plugins", name, "list"],
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_name_is_refused_in_one_line_and_never_run(command, name, folder, capsys):
    def files():  # SQLite's -wal and -shm files of the store that `report` opens aside
        return sorted(p for p in folder.rglob("*") if not p.name.startswith("r.db-"))

    before = files()
    fails_with(capsys, COMMANDS[command](name))
    assert not list(folder.rglob("pwned")) and not Path("/etc/pwned").exists()
    assert files() == before  # no store, file or folder made on the way (new.db included)


@pytest.mark.parametrize("spec", ["os:__import__('os').system('touch pwned')", "os.system('touch pwned'):f"])
def test_a_model_factory_spec_is_imported_not_evaluated(spec, folder, capsys):
    """module:factory is looked up as a module and an attribute of it; what does not name one is refused."""
    line = fails_with(capsys, COMMANDS["run --models"](spec), "cannot import model factory")
    assert ("AttributeError" in line) if spec.startswith("os:") else ("ModuleNotFoundError" in line)
    assert not list(folder.rglob("pwned"))


def forbidden_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of each call that evaluates a string or starts a shell: eval/exec/compile/__import__ (not a
    method such as net.eval()), os.system/os.popen, and any call with shell=True."""
    found = []
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        builtin = call.func.id if isinstance(call.func, ast.Name) else ""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        shell = any(k.arg == "shell" and getattr(k.value, "value", False) for k in call.keywords)
        if builtin in ("eval", "exec", "compile", "__import__") or method in ("system", "popen") or shell:
            found.append((call.lineno, builtin or method))
    return found


def test_the_scan_finds_what_it_looks_for():
    source = "net.eval()\neval(s)\nos.system(c)\nsubprocess.run(c, shell=True)\nre.compile(p)\nexec(code)\n"
    assert forbidden_calls(ast.parse(source)) == [(2, "eval"), (3, "system"), (4, "run"), (6, "exec")]


def test_the_package_never_calls_eval_exec_or_a_shell():
    """User code is imported (importlib, and the suite file's spec.loader.exec_module); nothing evaluates a string."""
    root = Path(benchbox.__file__).parent
    files = sorted(root.rglob("*.py"))
    found = [(str(p.relative_to(root)), *hit) for p in files for hit in forbidden_calls(ast.parse(p.read_text()))]
    assert found == [] and len(files) > 50  # and the scan saw the package

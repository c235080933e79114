"""The layout is the architecture: what ships to students and what runs in the sandbox
imports nothing it cannot have there."""

import ast
import sys
from pathlib import Path

import pytest

from grader.client import paths

GRADER = paths.KIT_ROOT / "grader"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (absolute names)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def outside(names, allowed_packages, allowed_modules=()):
    """The names that are not the standard library, NumPy or an allowed package/module."""
    def ok(name):
        top = name.split(".")[0]
        return (top in STDLIB or top == "numpy" or name in allowed_modules
                or any(name == p or name.startswith(p + ".") for p in allowed_packages))
    return sorted(name for name in names if not ok(name))


SHIPPED = sorted((GRADER / "core").glob("*.py")) + sorted((GRADER / "client").glob("*.py"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(GRADER)))
def test_shipped_modules_import_only_the_standard_library_numpy_and_themselves(path):
    allowed = ["grader.core"] if path.parent.name == "core" else ["grader.core", "grader.client"]
    in_sandbox = ("calling",) if path.name == "wire.py" else ()  # its fallback beside the worker
    assert outside(imported_modules(path), allowed, in_sandbox) == []


@pytest.mark.parametrize("name", ["calling.py", "wire.py", "archive.py"])
def test_the_call_path_and_wire_format_stand_alone_in_the_sandbox(name):
    # wire.py reads the status names from calling.py, as grader.core.calling in the kit
    # and as a plain `calling` beside it in the sandbox; calling.py needs nothing at all.
    allowed = ("grader.core.calling", "calling") if name == "wire.py" else ()
    assert outside(imported_modules(GRADER / "core" / name), [], allowed) == []


IN_SANDBOX = ("zygote.py", "worker.py", "task_child.py", "kit_code.py", "uid_processes.py",
              "isolation.py", "seccomp_filter.py")


@pytest.mark.parametrize("name", IN_SANDBOX)
def test_what_runs_in_the_sandbox_imports_only_the_stdlib_and_its_siblings(name):
    """Copied into the sandbox's bin/ and run there: no grader package to import."""
    siblings = tuple(n[:-3] for n in IN_SANDBOX) + ("calling", "wire", "archive")
    path = GRADER / "classgrade" / "sandbox" / name
    assert outside(imported_modules(path), [], siblings) == []


def test_every_program_of_the_sandbox_is_staged(tmp_path):
    from grader.classgrade.sandbox.staging import write_bin
    from grader.classgrade.sandbox.warm import ZYGOTE
    write_bin(tmp_path / "bin", ZYGOTE)
    assert {n for n in IN_SANDBOX} <= {p.name for p in (tmp_path / "bin").iterdir()}


def test_the_sandbox_runs_the_kits_own_call_path(tmp_path):
    from grader.classgrade.sandbox.staging import WORKER, write_bin
    write_bin(tmp_path / "bin", WORKER)
    for name in ("calling.py", "wire.py", "archive.py"):
        assert (tmp_path / "bin" / name).read_bytes() == (GRADER / "core" / name).read_bytes()


def test_one_calling_module_in_the_kit():
    """No second copy of the call path anywhere in grader/."""
    copies = [p for p in GRADER.rglob("*.py") if "def call_once" in p.read_text(encoding="utf-8")]
    assert copies == [GRADER / "core" / "calling.py"]


@pytest.mark.parametrize("path", sorted(GRADER.rglob("*.py")), ids=lambda p: str(p.relative_to(GRADER)))
def test_modules_stay_small(path):
    """About 300 lines at most (STYLE.md); past 350 a module has more than one job."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 350, path

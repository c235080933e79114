"""The layout is the architecture: each package imports only what the first line of its
``__init__.py`` says (RULES), so what ships to students and what runs in the sandbox import
nothing they cannot have there, and imports point down (no circle: tests/test_import_graph.py)."""

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.client import paths

GRADER = paths.KIT_ROOT / "grader"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (absolute names; ``from grader import
    notebooks`` is ``grader.notebooks``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            folder = paths.KIT_ROOT.joinpath(*node.module.split("."))
            names |= ({f"{node.module}.{alias.name}" for alias in node.names}
                      if node.module.startswith("grader") and folder.is_dir() else {node.module})
    return names


def outside(names, allowed_packages, allowed_modules=(), *, any_other=False):
    """The names that are not the standard library, NumPy or an allowed package/module
    (with ``any_other``, every name outside grader/ is allowed too)."""
    def ok(name):
        top = name.split(".")[0]
        return (top in STDLIB or top == "numpy" or name in allowed_modules
                or (any_other and top != "grader" and name not in SIBLINGS)
                or any(name == p or name.startswith(p + ".") for p in allowed_packages))
    return sorted(name for name in names if not ok(name))


INSIDE = GRADER / "classgrade" / "sandbox" / "inside"
CORE_IN_BIN = ("calling", "wire", "archive")  # core's modules, copied beside inside/'s
SIBLINGS = {path.stem for path in INSIDE.glob("*.py")} - {"__init__"} | set(CORE_IN_BIN)


@dataclass(frozen=True)
class Rule:
    """What the modules directly in a package may import (its sub-packages have their own).

    Attributes:
        grader: the grader packages and modules allowed, by dotted prefix.
        others: the modules allowed outside grader/ beyond the standard library and NumPy;
            None: any installed package.
        by_module: ``{file name: more allowed names}`` for single modules.
    """

    grader: tuple[str, ...]
    others: tuple[str, ...] | None = None
    by_module: dict = field(default_factory=dict)


C = "grader.classgrade"
TRUSTED = tuple(f"{C}.sandbox.{path.stem}" for path in INSIDE.parent.glob("*.py")  # not inside/
                if path.stem != "__init__")
RULES = {  # package folder: its rule, as its __init__.py's first line says it
    "core": Rule(("grader.core",), (), {"wire.py": ("calling",)}),  # wire's fallback in bin/
    "client": Rule(("grader.core", "grader.client"), ()),
    "classgrade": Rule(("grader.core", "grader.client", "grader.notebooks", C)),
    "classgrade/exports": Rule(("grader.core", "grader.client", f"{C}.exports", f"{C}.console",
                                f"{C}.failures", f"{C}.submission", f"{C}.submissions")),
    "classgrade/sandbox": Rule(("grader.core", "grader.client", "grader.notebooks", "grader.syntax",
                                f"{C}.submissions", *TRUSTED)),
    "classgrade/sandbox/inside": Rule((), tuple(sorted(SIBLINGS)), {
        "execute_worker.py": ("nbclient", "nbformat", "jupyter_client")}),  # the kernel's
    "classgrade/similarity": Rule(("grader.core", "grader.client", "grader.notebooks",
                                   "grader.magics", f"{C}.similarity", f"{C}.class_folder",
                                   f"{C}.lms_downloads", f"{C}.exports.files")),
    "server": Rule(("grader.core", "grader.client", "grader.docstrings", "grader.server",
                    f"{C}.gradebook_schema", f"{C}.exports", f"{C}.course")),  # export.py's
    "release": Rule(("grader.core", "grader.client", "grader.notebooks", "grader.references",
                     "grader.release")),
}
PACKAGES = sorted(path.parent for path in GRADER.rglob("__init__.py"))


def package_key(folder: Path) -> str:
    return folder.relative_to(GRADER).as_posix()


def held_to(path: Path, rule: Rule) -> list[str]:
    """What ``path`` imports that ``rule`` does not allow."""
    allowed = (*rule.grader, *(rule.others or ()), *rule.by_module.get(path.name, ()))
    return outside(imported_modules(path), allowed, any_other=rule.others is None)


def ruled_modules():
    for key, rule in RULES.items():
        for path in sorted((GRADER / key).glob("*.py")):
            yield pytest.param(path, rule, id=str(path.relative_to(GRADER)))


@pytest.mark.parametrize("path, rule", list(ruled_modules()))
def test_every_module_imports_only_what_its_package_may(path, rule):
    assert held_to(path, rule) == [], (f"{path.relative_to(GRADER)} imports "
                                       f"{held_to(path, rule)}: see its package's rule")


def test_every_package_has_a_rule():
    assert {package_key(folder) for folder in PACKAGES} - {"."} == set(RULES)


@pytest.mark.parametrize("folder", PACKAGES, ids=package_key)
def test_every_package_says_in_one_line_what_it_is_and_may_import(folder):
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
    first = (doc or "").split("\n")[0]
    assert len(first) > 40 and ": " in first and "import" in first, (
        f"{folder.relative_to(GRADER.parent)}/__init__.py must open with one line: what the "
        f"package is, then what it may import; it says {first!r}")


@pytest.mark.parametrize("module, want", [
    ("grader.cli", ["__main__.py"]),  # on top of everything
    (f"{C}.sandbox.inside", []),  # copied into the sandbox as files, never imported
])
def test_who_imports(module, want):
    importers = [path.relative_to(GRADER).as_posix() for path in sorted(GRADER.rglob("*.py"))
                 if any(name == module or name.startswith(module + ".")
                        for name in imported_modules(path))]
    assert importers == want


@pytest.mark.parametrize("name", ["calling.py", "wire.py", "archive.py"])
def test_the_call_path_and_wire_format_stand_alone_in_the_sandbox(name):
    # wire.py reads the status names from calling.py, as grader.core.calling in the kit
    # and as a plain `calling` beside it in the sandbox; calling.py needs nothing at all.
    allowed = ("grader.core.calling", "calling") if name == "wire.py" else ()
    assert outside(imported_modules(GRADER / "core" / name), [], allowed) == []


@pytest.mark.parametrize("path, package, want", [
    ("classgrade/sandbox/inside/zygote.py", "classgrade/sandbox/inside", []),
    ("classgrade/sandbox/inside/execute_worker.py", "classgrade/sandbox/inside", []),
    ("classgrade/sandbox/inside/execute_worker.py", "classgrade/sandbox", ["worker"]),
    ("classgrade/sandbox/staging.py", "classgrade/sandbox/inside", ["grader.core.calling"]),
    ("classgrade/run.py", "classgrade/sandbox", ["grader.classgrade.gradebook"]),
    ("classgrade/run.py", "classgrade/exports", ["grader.classgrade.sandbox.limits"]),
    ("cli.py", "server", ["grader.classgrade.run", "grader.release"]),
    ("server/store.py", "release", ["grader.classgrade.gradebook_schema"]),
    ("client/messages.py", "core", ["grader.client"]),
])
def test_a_rule_names_what_it_forbids(path, package, want):
    """The check itself: a module held to another package's rule fails, naming the import."""
    found = held_to(GRADER / path, RULES[package])
    assert all(any(name.startswith(w) for name in found) for w in want), found
    assert bool(found) == bool(want)


def test_everything_inside_is_staged_and_nothing_trusted(tmp_path):
    from grader.classgrade.sandbox.execute import EXECUTE_WORKER
    from grader.classgrade.sandbox.staging import write_bin
    from grader.classgrade.sandbox.warm import ZYGOTE
    write_bin(tmp_path / "warm", ZYGOTE)
    write_bin(tmp_path / "execute", EXECUTE_WORKER)
    staged = {p.name for p in (tmp_path / "warm").iterdir()} | {
        p.name for p in (tmp_path / "execute").iterdir()}
    inside = {p.name for p in INSIDE.glob("*.py")} - {"__init__.py"}
    trusted = {p.name for p in INSIDE.parent.glob("*.py")} - {"__init__.py"}
    assert inside <= staged and not trusted & staged
    assert {ZYGOTE.parent, EXECUTE_WORKER.parent} == {INSIDE}


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

"""The leak check of the student kit: nothing a student must not get.

Refused: the kit's instructor folders (``solutions/``, examples, gradebooks ...),
any file or notebook cell that contains a reference's distinctive code lines or
imports ``solutions``, a solved stub, and notebook outputs.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from grader import notebooks as nb
from grader.client import paths
from grader.core.tasks import TASKS, THIS_WEEK

ROOT = paths.KIT_ROOT
FORBIDDEN_NAMES = {"solutions", "examples", "grading", "progress", "tests", ".venv", "build",
                   "classgrade", "release", "references.py", "cli.py",
                   "notebooks.py", "__pycache__"}


def _reference_functions() -> list:
    """Every function defined in a module of the ``solutions`` package.

    More than ``solutions.__all__``: the fast paths beside the references (e.g.
    ``solutions.fast_convolution``) and private helpers are reference code too.
    """
    import solutions
    functions = []
    for info in pkgutil.iter_modules(solutions.__path__, prefix="solutions."):
        module = importlib.import_module(info.name)
        functions += [function for _, function in inspect.getmembers(module, inspect.isfunction)
                      if function.__module__ == module.__name__]
    return functions


def _reference_fingerprints() -> set[str]:
    """Distinctive code lines of every reference, except lines Blocks.py shows anyway."""
    public = {line.strip() for line in (ROOT / "Blocks.py").read_text().splitlines()}
    prints = set()
    for reference in _reference_functions():
        function = ast.parse(inspect.getsource(reference)).body[0]
        body = function.body[1:] if ast.get_docstring(function) else function.body
        for statement in body:
            for line in ast.unparse(statement).splitlines():
                line = line.strip()
                if len(line) >= 24 and not line.startswith(("#", "raise ", "if ", "for ")) \
                        and line not in public:
                    prints.add(line)
    return prints


def _normalised_code(path: Path) -> set[str]:
    """Code lines of a .py file or a notebook's code cells, as ast.unparse writes them."""
    if path.suffix == ".ipynb":
        sources = [source for _, source in nb.code_cells(nb.load_notebook(path))]
    else:
        sources = [path.read_text(encoding="utf-8", errors="replace")]
    lines = set()
    for source in sources:
        try:
            tree = ast.parse(nb.python_source(source))
        except SyntaxError:
            lines |= {line.strip() for line in source.splitlines()}
            continue
        lines |= {line.strip() for line in ast.unparse(tree).splitlines()}
    return lines


def find_leaks(folder) -> list[str]:
    """Everything in ``folder`` a student must not get; empty when clean."""
    folder = Path(folder)
    findings = []
    fingerprints = _reference_fingerprints()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if FORBIDDEN_NAMES & set(relative.parts):
            findings.append(f"{relative}: not part of a student kit")
            continue
        if path.suffix in (".sqlite", ".db") or path.name == "gradebook.csv":
            findings.append(f"{relative}: a gradebook")
        if path.suffix not in (".py", ".ipynb") or not path.is_file():
            continue
        code = _normalised_code(path)
        imports = [line for line in code if line.startswith(("import solutions", "from solutions"))]
        findings += [f"{relative}: imports the references ({line})" for line in imports]
        findings += [f"{relative}: contains reference code: {line}"
                     for line in sorted(code & fingerprints)]
    notebook_path = folder / "assignment.ipynb"
    if notebook_path.is_file():
        findings += _notebook_leaks(notebook_path)
    else:
        findings.append("assignment.ipynb is missing")
    return findings


def _notebook_leaks(path: Path) -> list[str]:
    notebook = nb.load_notebook(path)
    findings = [f"assignment.ipynb cell {i}: has outputs" for i, cell in enumerate(notebook.cells)
                if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    stubs = nb.stub_cells(notebook)
    for task in TASKS:
        if task.week == THIS_WEEK and task.name not in stubs:
            findings.append(f"assignment.ipynb: {task.name} is not a stub (a solved cell?)")
    return findings

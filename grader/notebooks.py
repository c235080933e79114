"""Read notebooks: the assignment's graded stubs and check cells, a student's definitions.

Also loads a student's functions into this process (``python -m grader check``); class
grading never does that in the grader's process: it uses the sandbox.

Conventions of ``assignment.ipynb``:
    * a graded function lives in a code cell whose body is fenced by
      ``### YOUR CODE ###`` banners and raises ``NotImplementedError``;
    * a check cell calls ``am.test_student_function(username, fn, [arg names])``.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import json
import re
import sys
import types
from pathlib import Path

STUB_BANNER = "### YOUR CODE ###"
_MAGIC = re.compile(r"^(\s*)([%!?]|\w+\s*=\s*[%!])")


class NotebookError(ValueError):
    """A notebook that cannot be read; the message names the file and the problem."""


def load_notebook(path):
    """Read an nbformat-4 notebook.

    Raises:
        NotebookError: missing file, invalid JSON, or not a notebook.
    """
    import nbformat  # imported here: `python -m grader progress` does not need it

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook") from None
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path}: not UTF-8 text ({error})") from None
    try:
        return nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise NotebookError(f"{path}: not valid notebook JSON ({str(error)[:200]})") from None
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(f"{path}: not a Jupyter notebook ({type(error).__name__}: "
                            f"{str(error)[:200]})") from None


def python_source(source: str) -> str:
    """Cell source with IPython magics and shell escapes commented out, so it parses.

    Only a line at which Python itself reports a syntax error, and which looks
    like a magic (``%...``, ``!...``, ``x = !...``), is commented out, one at a
    time; valid Python (a continuation line starting with ``%`` included) is
    never touched. Lines are split at ``\\n`` only, as Python does.
    """
    lines = source.split("\n")
    for _ in range(len(lines)):
        try:
            ast.parse("\n".join(lines))
            break
        except SyntaxError as error:
            index = (error.lineno or 0) - 1
            match = _MAGIC.match(lines[index]) if 0 <= index < len(lines) else None
            if match is None:
                break
            lines[index] = f"{match.group(1)}pass  # {lines[index].strip()}"
    return "\n".join(lines)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(python_source(source))
    except SyntaxError:
        return None


def code_cells(notebook) -> list[tuple[int, str]]:
    """``(index, source)`` of every code cell."""
    return [(i, cell.source) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def definitions_only(source: str) -> str:
    """Only the imports, function and class definitions of a cell's source.

    Training loops, plots, prints and magics are dropped (their lines are left
    blank, so line numbers still match the cell's); a cell that does not parse
    yields nothing (the caller reports the syntax error).
    """
    tree = _parse(source)
    if tree is None:
        return ""
    kept = [node for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                 ast.AsyncFunctionDef, ast.ClassDef))]
    lines = python_source(source).split("\n")
    kept_lines = [""] * len(lines)  # blank elsewhere, so line numbers match the cell
    for node in kept:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept_lines[start - 1:node.end_lineno] = lines[start - 1:node.end_lineno]
    return "\n".join(kept_lines).rstrip() if kept else ""


def syntax_errors(notebook) -> list[str]:
    """One line per code cell that does not parse."""
    problems = []
    for index, source in code_cells(notebook):
        try:
            ast.parse(python_source(source))
        except SyntaxError as error:
            problems.append(f"cell {index}: SyntaxError: {error.msg} (line {error.lineno})")
    return problems


def defined_functions(source: str) -> list[str]:
    """Names of the top-level functions a cell defines."""
    tree = _parse(source)
    return [] if tree is None else [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def stub_cells(notebook) -> dict[str, int]:
    """``{function name: cell index}`` of every fenced stub."""
    found = {}
    for index, source in code_cells(notebook):
        if STUB_BANNER in source:
            for name in defined_functions(source):
                found[name] = index
    return found


def check_calls(notebook) -> list[tuple[int, str, list]]:
    """``(cell index, function name, arg_keys)`` of every ``test_student_function`` call."""
    calls = []
    for index, source in code_cells(notebook):
        tree = _parse(source)
        for node in ast.walk(tree) if tree is not None else ():
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "test_student_function"):
                continue
            given = dict(zip(("username", "function", "arg_keys"), node.args))
            given.update({k.arg: k.value for k in node.keywords if k.arg})
            if not isinstance(given.get("function"), ast.Name) or "arg_keys" not in given:
                continue
            try:
                arg_keys = ast.literal_eval(given["arg_keys"])
            except ValueError:
                arg_keys = None
            calls.append((index, given["function"].id, arg_keys))
    return calls


def replace_function(source: str, name: str, new_definition: str) -> str:
    """``source`` with the top-level ``def name`` replaced by ``new_definition``.

    Raises:
        NotebookError: if the source does not define ``name``.
    """
    tree = _parse(source)
    nodes = [n for n in (tree.body if tree else []) if isinstance(n, ast.FunctionDef) and n.name == name]
    if not nodes:
        raise NotebookError(f"no top-level function {name!r} in this cell")
    node = nodes[0]
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = source.split("\n")
    end = node.end_lineno
    # Indented comments right after the body (the closing banner) belong to the function.
    while end < len(lines) and lines[end][:1].isspace() and lines[end].lstrip().startswith("#"):
        end += 1
    new_lines = lines[:start - 1] + new_definition.rstrip("\n").split("\n") + lines[end:]
    return "\n".join(new_lines)


def solve(notebook, references: dict):
    """A copy of the notebook with every stub replaced by its reference.

    Args:
        notebook: the stub notebook.
        references: ``{function name: reference function}``; a stub without
            a reference is left as it is.

    Returns:
        A new notebook; the input is not modified.
    """
    solved = copy.deepcopy(notebook)
    for name, index in stub_cells(solved).items():
        if name in references:
            cell = solved.cells[index]
            cell.source = replace_function(cell.source, name, inspect.getsource(references[name]))
    return solved


def tagged_sources(notebook, tag: str) -> list[str]:
    """Sources of the code cells carrying ``tag`` in their metadata, in order."""
    return [cell.source for cell in notebook.cells
            if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", [])]


# ------------------------------------------------- loading into this process
def _with_path(folder: Path):
    class _Ctx:
        def __enter__(self):
            sys.path.insert(0, str(folder))

        def __exit__(self, *exc):
            if sys.path and sys.path[0] == str(folder):
                sys.path.pop(0)
    return _Ctx()


def load_namespace(path) -> dict:
    """The names defined by a ``.py`` file, or by a notebook's definition cells.

    From a notebook only imports, functions and classes are taken (see
    :func:`definitions_only`); training loops do not run.
    The file's folder is put first on ``sys.path`` so ``from Blocks import *``
    finds the student's own Blocks.py.

    Raises:
        FileNotFoundError, grader.notebook.NotebookError, or whatever the code raises.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; give a .py module or an .ipynb notebook")
    with _with_path(path.resolve().parent):
        if path.suffix == ".ipynb":
            notebook = load_notebook(path)
            namespace: dict = {"__name__": "__submission__"}
            for index, source in code_cells(notebook):
                code = definitions_only(source)
                if code:
                    exec(compile(code, f"<{path.name} cell {index}>", "exec"), namespace)
            return namespace
        spec = importlib.util.spec_from_file_location(f"_student_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return vars(module) if isinstance(module, types.ModuleType) else {}

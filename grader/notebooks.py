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
import contextlib
import copy
import functools
import importlib.util
import inspect
import json
import os
import re
import stat
import sys
import types
from json.decoder import scanstring
from pathlib import Path

from grader.magics import python_source
from grader.syntax import parse_python

STUB_BANNER = "### YOUR CODE ###"
MAX_NOTEBOOK_BYTES = 20 << 20   # checked on the file's size, before it is read
MAX_CELLS = 10_000              # the assignment has 46
MAX_CODE_CHARS = 1_000_000      # all code cells together (the assignment: 14,000)
MAX_CELL_CHARS = 100_000        # one cell: parsing costs ~600 bytes of memory per character
MAX_JSON_CONTAINERS = 100_000   # lists and objects (the assignment: 600), ~300 bytes each parsed
MAX_JSON_TOKENS = 2_000_000     # strings, commas, lists and objects (the assignment: 2,500)
_JSON_TOKEN = re.compile(r'["\[{,]')


class NotebookError(ValueError):
    """A notebook that cannot be read; the message names the file and the problem."""


def load_notebook(path):
    """Read an nbformat-4 notebook, refusing one too big to handle.

    Limits: :data:`MAX_NOTEBOOK_BYTES` (checked before reading), :data:`MAX_CELLS` and
    :data:`MAX_CODE_CHARS`.

    Raises:
        NotebookError: missing, too big, not UTF-8, invalid JSON, or not a notebook.
    """
    path = Path(path)
    try:
        text = _read_bounded(path).decode("utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook") from None
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path}: not UTF-8 text ({error})") from None
    except OSError as error:
        raise NotebookError(f"{path}: cannot be read ({error.strerror or error})") from None
    return parse_notebook(text, str(path))


def parse_notebook(text: str, name: str):
    """An nbformat-4 notebook from its JSON text, within :data:`MAX_CELLS` and :data:`MAX_CODE_CHARS`.

    Raises:
        NotebookError: invalid JSON (nested too deeply included), or not a notebook;
            the message starts with ``name``.
    """
    # jsonschema, under nbformat, imports rfc3987_syntax when it is installed (Jupyter brings
    # it), which builds a Lark grammar at import: 0.85 s in every grading process, for IRI
    # formats that notebook validation never checks. Marked absent, jsonschema skips it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat  # imported here: `python -m grader progress` does not need it

    try:
        _check_json_size(text)
        notebook = nbformat.convert(nbformat.reader.reads(text), 4)
        _check_cells(notebook)
        try:
            nbformat.validate(notebook)
        except nbformat.ValidationError as error:  # logged, not raised, as nbformat.reads does
            nbformat.get_logger().error("Notebook JSON is invalid: %s", error)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise NotebookError(f"{name}: not valid notebook JSON ({str(error)[:200]})") from None
    except (RecursionError, MemoryError):
        raise NotebookError(f"{name}: not valid notebook JSON (nested too deeply)") from None
    except NotebookError as error:  # from _check_cells
        raise NotebookError(f"{name}: {error}") from None
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        raise NotebookError(f"{name}: not a Jupyter notebook ({type(error).__name__}: "
                            f"{str(error)[:200]})") from None
    return notebook


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_NOTEBOOK_BYTES`, sized before reading."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)  # no FIFO wait
    with os.fdopen(os.open(path, flags), "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        size = max(info.st_size, len(data := handle.read(MAX_NOTEBOOK_BYTES + 1)))
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path}: {size:,} bytes, more than the {MAX_NOTEBOOK_BYTES:,} "
                            f"({MAX_NOTEBOOK_BYTES >> 20} MB) a notebook may have")
    return data


def _check_json_size(text: str) -> None:
    """Refuse JSON that would take too much memory to parse: 20 MB of ``{},`` take 1.3 GB.

    Counts its tokens outside strings in one pass, which stops at the limits. Counting
    the token characters everywhere, strings included, can only count more: when even
    that stays within the limits (any real notebook), the pass is not needed.
    """
    opening = text.count("[") + text.count("{")
    if opening <= MAX_JSON_CONTAINERS and \
            opening + text.count(",") + text.count('"') <= MAX_JSON_TOKENS:
        return
    containers = tokens = i = 0
    while containers <= MAX_JSON_CONTAINERS and tokens <= MAX_JSON_TOKENS:
        token = _JSON_TOKEN.search(text, i)
        if token is None:
            return
        try:  # a string is skipped by json's own scanner: C, linear, no backtracking
            i = scanstring(text, token.end())[1] if token.group() == '"' else token.end()
        except ValueError:
            return  # an unterminated or invalid string: json.loads says so
        tokens, containers = tokens + 1, containers + (token.group() in "[{")
    raise NotebookError(f"not a Jupyter notebook (more than {MAX_JSON_CONTAINERS:,} lists and "
                        f"objects or {MAX_JSON_TOKENS:,} JSON tokens)")


def _check_cells(notebook) -> None:
    """Every cell has a text type and source; not too many cells, not too much code."""
    if len(notebook.cells) > MAX_CELLS:
        raise NotebookError(f"{len(notebook.cells):,} cells, more than the {MAX_CELLS:,} a notebook "
                            "may have")
    code = 0
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell.get("cell_type"), str) or not isinstance(cell.get("source"), str):
            raise NotebookError(f"not a Jupyter notebook (cell {index}: its source or type "
                                "is not text)")
        code += len(cell.source) if cell.cell_type == "code" else 0
    if code > MAX_CODE_CHARS:
        raise NotebookError(f"its code cells hold {code:,} characters, more than the "
                            f"{MAX_CODE_CHARS:,} a notebook may have")


@functools.lru_cache(maxsize=256)
def parse_cell(source: str) -> tuple[ast.Module | None, str]:
    """A cell's syntax tree (magics commented out), or None and why not (one line).

    A cell over :data:`MAX_CELL_CHARS` is not parsed; code too deep for the parser
    (``RecursionError``, ``MemoryError``) fails only this cell. The last cells parsed
    are remembered (grading parses each twice): treat the tree as read-only.
    """
    if len(source) > MAX_CELL_CHARS:
        return None, (f"the cell has {len(source):,} characters, more than the "
                      f"{MAX_CELL_CHARS:,} a cell may have")
    try:
        return parse_python(python_source(source)), ""
    except SyntaxError as error:
        return None, f"SyntaxError: {error.msg} (line {error.lineno})"
    except (RecursionError, MemoryError, ValueError):
        return None, "the code is nested too deeply to parse"


def _parse(source: str) -> ast.Module | None:
    return parse_cell(source)[0]


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
    """One line per code cell that does not parse (or is too big or too deep to)."""
    return [f"cell {index}: {why}" for index, source in code_cells(notebook)
            if (why := parse_cell(source)[1])]


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
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
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
@contextlib.contextmanager
def _with_path(folder: Path):
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        if sys.path and sys.path[0] == str(folder):
            sys.path.pop(0)


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

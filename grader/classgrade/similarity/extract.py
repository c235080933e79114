"""Each student's own code for each graded function: its definition and the helpers it calls.

The functions are found as the grader finds them: the student's ``.py`` files first (the
notebook starts with ``from Blocks import *``), then the notebook's code cells in order, a
later definition replacing an earlier one. A graded function's code is its ``def`` as the
student wrote it (comments included, for the evidence), followed by each function of the
student's it calls, directly or not: not another graded function (compared on its own), not
a name the course's notebook or ``Blocks.py`` defines (the course's code).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grader.magics import python_source
from grader.notebooks import NotebookError, code_cells, load_notebook, parse_cell

MAX_HELPERS = 20          # helpers taken per graded function, nearest first
MAX_PY_BYTES = 1 << 20    # a .py file larger than this is not read


@dataclass(frozen=True)
class Definition:
    """One top-level function as the student wrote it.

    Attributes:
        name: the function's name.
        source: its text, decorators included.
        reads: every name its body reads (the candidates for helpers).
    """

    name: str
    source: str
    reads: frozenset[str]


def definitions_in(source: str) -> dict[str, Definition]:
    """The top-level functions of a cell or module, by name (a later one replaces an earlier).

    A source that does not parse yields nothing (grading reports its syntax error).
    """
    if "def " not in source:
        return {}
    tree, _ = parse_cell(source)
    if tree is None:
        return {}
    lines = python_source(source).split("\n")
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            reads = frozenset(n.id for n in ast.walk(node)
                              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
            found[node.name] = Definition(node.name, "\n".join(lines[start - 1:node.end_lineno]),
                                          reads)
    return found


def read_definitions(notebook: Path | None, py_files=()) -> tuple[dict[str, Definition], list[str]]:
    """Every top-level function of a submission, and a line for each file that could not be read.

    Args:
        notebook: the notebook graded (None: only the .py files).
        py_files: the student's ``.py`` files, read first.
    """
    found: dict[str, Definition] = {}
    problems = []
    for path in sorted(py_files):
        try:
            data = Path(path).read_bytes()[:MAX_PY_BYTES + 1]
        except OSError as error:
            problems.append(f"{Path(path).name}: cannot be read ({error.strerror})")
            continue
        if len(data) > MAX_PY_BYTES:
            problems.append(f"{Path(path).name}: more than {MAX_PY_BYTES >> 20} MB, not compared")
            continue
        found.update(definitions_in(data.decode("utf-8", errors="replace")))
    if notebook is not None:
        try:
            cells = code_cells(load_notebook(notebook))
        except NotebookError as error:
            why = str(error).split(": ", 1)[-1]  # the message starts with the (staging) path
            problems.append(f"{Path(notebook).name}: {why}")
            cells = []
        for _, source in cells:
            found.update(definitions_in(source))
    return found, problems


def graded_code(definitions: dict[str, Definition], task_names, *,
                kit_names=frozenset()) -> dict[str, str]:
    """``{graded function: its code}``: its definition, then the student's helpers it calls.

    Args:
        definitions: the student's functions (:func:`read_definitions`).
        task_names: the graded functions to look for; those not defined are left out.
        kit_names: names the course's code defines: never taken as a helper.
    """
    graded = set(task_names)
    code = {}
    for name in task_names:
        if name not in definitions:
            continue
        taken, queue = [name], [name]
        while queue and len(taken) <= MAX_HELPERS:
            reads = sorted(definitions[queue.pop(0)].reads)
            for helper in reads:
                if (helper in definitions and helper not in taken and helper not in graded
                        and helper not in kit_names and len(taken) <= MAX_HELPERS):
                    taken.append(helper)
                    queue.append(helper)
        code[name] = "\n\n".join(definitions[n].source for n in taken)
    return code

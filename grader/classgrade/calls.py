"""Which graded functions each of a student's functions calls, read from the source.

The notebook's check finds the graded functions a function uses from the live
function (``inspect.getclosurevars``: the global names its code reads) and
checks each again (``grader.client.automark_api``). Class grading has every
function's verdict at hand but no live function on this side of the sandbox,
so it reads the same fact from the student's definitions: the graded names a
top-level ``def`` reads. The feedback then says "box_blur calls conv_matrix,
which fails: fix conv_matrix first" exactly where the notebook would.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from grader.notebooks import parse_cell


def graded_calls(sources: Iterable[str], graded: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``{function: graded functions it reads}`` for every graded function defined.

    Args:
        sources: the definitions, in the order they run (a later ``def`` replaces an
            earlier one of the same name, as running them would).
        graded: the names of the graded functions.

    Returns:
        For each graded function defined at the top level of ``sources``, the other
        graded names its body reads, sorted; a source that does not parse adds nothing.
    """
    names = set(graded)
    found: dict[str, tuple[str, ...]] = {}
    for source in sources:
        tree, _ = parse_cell(source)
        for node in tree.body if tree is not None else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
                read = {child.id for child in ast.walk(node)
                        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)}
                found[node.name] = tuple(sorted((read & names) - {node.name}))
    return found

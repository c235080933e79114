"""What is not a student's own: the course's code, and what many students of a class share.

The course's code is every code cell of the assignment notebook as handed out (the stubs
and their docstrings, the provided layers) and the kit's ``Blocks.py``: every run of
:data:`~grader.classgrade.similarity.fingerprint.K` tokens in it, each cell and each of its
functions normalised on its own as a student's function is. What many students share is a
fingerprint found in the code of one function of more than :func:`shared_limit` students of
one class: the code the task forces (a one-line ``reshape``), the obvious loop everybody
writes, a function from an older version of the notebook.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.classgrade.similarity.extract import definitions_in
from grader.classgrade.similarity.fingerprint import kgram_hashes
from grader.classgrade.similarity.normalize import token_ids, tokens
from grader.client import paths
from grader.notebooks import code_cells, load_notebook, parse_cell

KIT_NOTEBOOK = paths.KIT_ROOT / "assignment.ipynb"
KIT_BLOCKS = paths.KIT_ROOT / "Blocks.py"
SHARED_FRACTION = 0.05   # a fingerprint in more than 5 % of a class's students is shared code
SHARED_AT_LEAST = 3      # ... and in more than 3 students (a class of 20: in 4 or more)


@dataclass(frozen=True)
class KitCode:
    """The course's code.

    Attributes:
        hashes: every k-gram hash of it (not only the winnowed ones).
        names: the names it defines (functions and classes): never a student's helper.
    """

    hashes: frozenset[int]
    names: frozenset[str]


def kit_code(notebook: Path | None = KIT_NOTEBOOK, blocks: Path | None = KIT_BLOCKS,
             extra_sources=()) -> KitCode:
    """The course's code from the stub notebook, ``Blocks.py`` and any other given sources.

    Raises:
        NotebookError: the notebook cannot be read; OSError: ``blocks`` cannot be read.
    """
    sources = list(extra_sources)
    if notebook is not None:
        sources += [source for _, source in code_cells(load_notebook(notebook))]
    if blocks is not None:
        sources.append(Path(blocks).read_text(encoding="utf-8"))
    hashes: set[int] = set()
    names: set[str] = set()
    for source in sources:
        definitions = definitions_in(source)
        names |= set(definitions)
        for piece in [source] + [d.source for d in definitions.values()]:
            hashes.update(kgram_hashes(token_ids(tokens(piece))))
        tree, _ = parse_cell(source)
        names |= {node.name for node in (tree.body if tree else [])
                  if isinstance(node, ast.ClassDef)}
    return KitCode(frozenset(hashes), frozenset(names))


def shared_limit(n_students: int) -> int:
    """How many students of a class may share a fingerprint before it counts as shared code."""
    return max(SHARED_AT_LEAST, int(SHARED_FRACTION * n_students))


def shared_hashes(sets, *, limit: int | None = None) -> frozenset[int]:
    """The hashes found in more than ``limit`` of ``sets`` (default: :func:`shared_limit`).

    Args:
        sets: one set of hashes per student of one class, for one function.
    """
    sets = list(sets)
    limit = shared_limit(len(sets)) if limit is None else limit
    counts = Counter(h for hashes in sets for h in hashes)
    return frozenset(h for h, count in counts.items() if count > limit)

"""Parsing Python into a syntax tree, safely from any thread.

Standard library only.
"""

from __future__ import annotations

import ast
import threading

# CPython 3.11 keeps the syntax-tree converter's recursion count in the interpreter, not the
# thread: a conversion in one thread while another converts too failed with "SystemError: AST
# constructor recursion depth mismatch", and a correct notebook came back not graded (a Dask
# worker grading two submissions in two threads, in a fresh-clone CI run). The other converter
# need not be ours: Python 3.11's traceback module parses a line of source to draw its ^^^
# markers whenever a traceback is formatted. So: one of ours at a time, and a conversion that
# failed that way is tried again (it depends on the other thread's timing, not on the code).
AST_LOCK = threading.Lock()
AST_TRIES = 5


def parse_python(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time, again when another thread's conversion got
    in the way (:data:`AST_LOCK`, :data:`AST_TRIES`)."""
    with AST_LOCK:
        for attempt in range(AST_TRIES):
            try:
                return ast.parse(source)
            except SystemError as error:
                if "recursion depth mismatch" not in str(error) or attempt == AST_TRIES - 1:
                    raise

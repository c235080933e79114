"""Load a student's functions from a ``.py`` module or a notebook, in this process.

For a student checking their own work (``python -m grader check``). Class
grading never does this in the grader's process: it uses the sandbox.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from grader import notebook as nb


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
    :func:`grader.notebook.definitions_only`); training loops do not run.
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
            notebook = nb.load_notebook(path)
            namespace: dict = {"__name__": "__submission__"}
            for index, source in nb.code_cells(notebook):
                code = nb.definitions_only(source)
                if code:
                    exec(compile(code, f"<{path.name} cell {index}>", "exec"), namespace)
            return namespace
        spec = importlib.util.spec_from_file_location(f"_student_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return vars(module) if isinstance(module, types.ModuleType) else {}

"""Helpers for tests that read or execute the assignment notebook."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import solutions
from grader import notebooks as nb

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "assignment.ipynb"


def provided_namespace(extra: dict | None = None) -> dict:
    """The notebook's provided cells executed with the references as the student's functions."""
    import numpy as np

    import Blocks
    namespace = {name: getattr(Blocks, name) for name in Blocks.__all__}
    namespace.update({"np": np, "__name__": "__provided__"})
    namespace.update({name: getattr(solutions, name) for name in solutions.__all__})
    namespace.update(extra or {})
    for source in nb.tagged_sources(nb.load_notebook(NOTEBOOK), "provided"):
        exec(compile(source, "<provided cell>", "exec"), namespace)
    return namespace


def execute(notebook, *, allow_errors: bool, timeout: int = 120):
    """Run a notebook in a fresh kernel with the repository as working folder.

    Returns:
        (executed notebook, seconds taken).
    """
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            allow_errors=allow_errors, resources={"metadata": {"path": str(ROOT)}})
    start = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - start


def cell_text(cell) -> str:
    """Everything a code cell printed (streams and text results)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def errors(notebook) -> list[str]:
    """``cell N: Name: value`` for every cell that raised."""
    return [f"cell {i}: {o.ename}: {o.evalue}" for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for o in cell.get("outputs", []) if o.output_type == "error"]


def read() -> nbformat.NotebookNode:
    return nb.load_notebook(NOTEBOOK)

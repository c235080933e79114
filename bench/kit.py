"""The kit's code as the notebook runs it: the provided cells with the references.

The notebook's provided cells (ConvLayer, MaxPool2x2, FlattenLayer,
iterate_minibatches, build_cnn, accuracy) are executed in a namespace where
the student's functions are the references from ``solutions`` and the names
of ``from Blocks import *`` are defined, exactly what a student with every
task solved runs. Cells are read at run time, so the bench measures the
notebook as it is now.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "assignment.ipynb"


def tagged_sources(tag: str, notebook_path: Path = NOTEBOOK) -> list[str]:
    """Sources of the code cells carrying ``tag``, in notebook order."""
    import nbformat
    notebook = nbformat.read(str(notebook_path), as_version=4)
    return [cell.source for cell in notebook.cells
            if cell.cell_type == "code" and tag in cell.get("metadata", {}).get("tags", [])]


def provided_namespace(extra: dict | None = None, notebook_path: Path = NOTEBOOK) -> dict:
    """The provided cells executed with the references as the student's functions.

    Returns:
        The namespace: ``np``, every name of ``Blocks.__all__``, every reference,
        and whatever the provided cells define (``ConvLayer``, ``build_cnn``, ...).
    """
    import numpy as np

    import Blocks
    import solutions
    namespace = {name: getattr(Blocks, name) for name in Blocks.__all__}
    namespace.update({"np": np, "__name__": "__provided__"})
    namespace.update({name: getattr(solutions, name) for name in solutions.__all__})
    namespace.update(extra or {})
    for source in tagged_sources("provided", notebook_path):
        exec(compile(source, "<provided cell>", "exec"), namespace)
    return namespace


def training_cell(notebook_path: Path = NOTEBOOK) -> str:
    """The experiment cell that trains the CNN (the one that sets ``n_epochs``).

    Raises:
        LookupError: if no experiment cell sets ``n_epochs``.
    """
    for source in tagged_sources("experiment", notebook_path):
        if "n_epochs" in source and "build_cnn" in source:
            return source
    raise LookupError(f"{notebook_path}: no 'experiment' cell sets n_epochs and calls build_cnn")


def run_cell(source: str, namespace: dict) -> str:
    """Execute one cell's source in ``namespace``; returns what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "<experiment cell>", "exec"), namespace)
    return printed.getvalue()


def training_data(n_max: int = 1000):
    """The notebook's training set: the first ``n_max`` zeros and ones of MNIST.

    Returns:
        (x (n, 1, 28, 28) float64, y (n,) int64 in {-1, 1}, a line naming the source).
    """
    import dataset_utils
    images, labels = dataset_utils.load_mnist_arrays("training")
    x, y = dataset_utils.binary_digits(images, labels, n_max=n_max)
    return x, y, dataset_utils.describe_source().splitlines()[0]

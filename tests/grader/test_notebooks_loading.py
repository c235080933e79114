"""grader.notebooks.load_namespace: a student's functions from a .py module or a notebook."""

import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader import notebooks as nb
from grader.notebooks import load_namespace


@pytest.fixture
def blocks_beside(tmp_path):
    """A student's Blocks.py next to their work, as in the kit."""
    (tmp_path / "MyBlocks.py").write_text("def relu_forward(x_input):\n    return x_input\n",
                                          encoding="utf-8")
    yield tmp_path
    sys.modules.pop("MyBlocks", None)


def test_module_is_executed(blocks_beside):
    path = blocks_beside / "work.py"
    path.write_text("from MyBlocks import *\nLIMIT = 3\n\ndef conv_matrix(matrix, kernel):\n"
                    "    return matrix\n", encoding="utf-8")
    before = list(sys.path)
    namespace = load_namespace(path)
    assert namespace["LIMIT"] == 3 and callable(namespace["conv_matrix"])
    assert namespace["relu_forward"](5) == 5  # found through the file's folder
    assert sys.path == before


def test_notebook_gives_definitions_only(blocks_beside):
    path = blocks_beside / "work.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("%matplotlib inline\nfrom MyBlocks import *\nLIMIT = 3"),
        new_code_cell("def conv_matrix(matrix, kernel):\n    return matrix"),
        new_code_cell("raise RuntimeError('SHOULD NOT RUN')"),
        new_code_cell("def broken(:\n    pass"),
    ]), str(path))
    before = list(sys.path)
    namespace = load_namespace(path)
    assert callable(namespace["conv_matrix"]) and callable(namespace["relu_forward"])
    assert "LIMIT" not in namespace and "broken" not in namespace
    assert namespace["conv_matrix"].__code__.co_filename == "<work.ipynb cell 1>"
    assert sys.path == before


@pytest.mark.parametrize("name, want", [("missing.py", FileNotFoundError),
                                        ("missing.ipynb", FileNotFoundError)])
def test_missing_file(tmp_path, name, want):
    with pytest.raises(want, match="no such file"):
        load_namespace(tmp_path / name)


def test_broken_notebook_is_a_notebook_error(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(nb.NotebookError):
        load_namespace(path)


def test_sys_path_is_restored_when_the_module_raises(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("raise ValueError('student bug')\n", encoding="utf-8")
    before = list(sys.path)
    with pytest.raises(ValueError, match="student bug"):
        load_namespace(path)
    assert sys.path == before

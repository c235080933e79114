"""The committed notebook: valid, clean, and in step with the grader's task list."""

import ast

import nbformat
import pytest
from notebook_support import read

import Blocks
import solutions
from grader import notebooks as nb
from grader import task_cells
from grader.core.tasks import TASKS

WEEK3 = {task.name: task for task in TASKS if task.week == 3}


def test_notebook_is_valid_nbformat4_without_outputs():
    notebook = read()
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_notebook_is_in_step_with_the_declared_tasks():
    """A declared task without its stub or check cell, or a stray stub, is named with the
    cell to add (``python -m grader new-task-cells NAME`` prints it)."""
    problems = task_cells.out_of_step(read())
    assert not problems, "assignment.ipynb is out of step with grader/core/tasks.py:\n\n" + \
        "\n\n".join(problems)
    assert set(nb.stub_cells(read())) == set(WEEK3)


def test_every_check_cell_names_a_task_with_its_arg_keys_and_follows_its_stub():
    notebook = read()
    stubs = nb.stub_cells(notebook)
    calls = nb.check_calls(notebook)
    checked = {name for _, name, _ in calls}
    assert checked == set(WEEK3)
    for index, name, arg_keys in calls:
        assert arg_keys == list(WEEK3[name].arg_names), name
        assert index > stubs[name], f"the check of {name} comes before its stub"


@pytest.mark.parametrize("name", sorted(WEEK3))
def test_stub_is_fenced_and_raises_not_implemented(name):
    notebook = read()
    source = notebook.cells[nb.stub_cells(notebook)[name]].source
    tree = ast.parse(source)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    assert [a.arg for a in function.args.args] == list(WEEK3[name].arg_names)
    assert ast.get_docstring(function), f"{name} stub has no docstring"
    lines = source.splitlines()[function.lineno - 1:]
    body = "\n".join(lines[:lines.index("    ### END OF YOUR CODE ###") + 1])
    assert body.count("### YOUR CODE ###") == 1
    assert "raise NotImplementedError" in body


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_every_task_has_a_documented_reference_and_a_home(task):
    assert task.reference is getattr(solutions, task.name)
    assert task.reference.__doc__, f"the reference of {task.name} has no docstring"
    assert task.summary
    if task.week == 2:
        assert callable(getattr(Blocks, task.name)), f"Blocks.py lacks {task.name}"
    else:
        assert task.name in nb.stub_cells(read())


def test_solve_replaces_every_stub_with_its_reference():
    notebook = read()
    references = {name: getattr(solutions, name) for name in solutions.__all__}
    solved = nb.solve(notebook, references)
    assert nb.stub_cells(solved) == {}
    assert "raise NotImplementedError" not in "".join(
        c.source for c in solved.cells if c.cell_type == "code")
    assert "### YOUR CODE ###" not in "".join(c.source for c in solved.cells if c.cell_type == "code")
    assert len(solved.cells) == len(notebook.cells)
    assert nb.stub_cells(notebook), "solve must not modify its input"


def test_notebook_text_mentions_the_worked_examples():
    text = "".join(c.source for c in read().cells if c.cell_type == "markdown")
    for fragment in ["7 & 10 & 3", "1 & 2 & 1", "im2col", "MNIST"]:
        assert fragment in text

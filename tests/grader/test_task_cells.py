"""grader.task_cells: a task's notebook cells from its declaration, and the notebook in step."""

import ast
import copy
import inspect
from dataclasses import replace

import nbformat
import pytest
from notebook_support import read

from grader import notebooks as nb
from grader import task_cells
from grader.cli import main
from grader.core import tasks

NOTEBOOK_TASKS = task_cells.notebook_tasks()
IDS = [task.name for task in NOTEBOOK_TASKS]


def without_cells_of(notebook, name):
    """The notebook less the stub and check cells of ``name`` (other functions of its stub
    cell are kept)."""
    notebook = copy.deepcopy(notebook)
    index = nb.stub_cells(notebook)[name]
    others = [f for f in nb.defined_functions(notebook.cells[index].source) if f != name]
    checks = {i for i, called, _ in nb.check_calls(notebook) if called == name}
    if others:
        tree = ast.parse(notebook.cells[index].source)
        lines = notebook.cells[index].source.split("\n")
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
        notebook.cells[index].source = "\n".join(lines[:node.lineno - 1] + lines[node.end_lineno + 1:])
    else:
        checks.add(index)
    notebook.cells = [c for i, c in enumerate(notebook.cells) if i not in checks]
    return notebook


def test_the_committed_notebook_is_in_step():
    assert task_cells.out_of_step(read()) == []
    assert IDS == [t.name for t in tasks.TASKS if t.week == 3] and IDS


@pytest.mark.parametrize("task", NOTEBOOK_TASKS, ids=IDS)
def test_a_missing_task_is_reported_with_both_cells_to_add(task):
    problems = task_cells.out_of_step(without_cells_of(read(), task.name))
    assert len(problems) == 2
    assert problems[0].startswith(f"{task.name} is declared but assignment.ipynb has no stub")
    assert problems[0].endswith(task_cells.stub_source(task))
    assert problems[1].endswith(task_cells.check_source(task))


@pytest.mark.parametrize("task", NOTEBOOK_TASKS, ids=IDS)
def test_the_appended_cells_put_the_notebook_back_in_step(task):
    restored = task_cells.append_cells(without_cells_of(read(), task.name), task)
    assert task_cells.out_of_step(restored) == []
    nbformat.validate(restored)
    assert restored.cells[-2].metadata.tags == ["stub"] and restored.cells[-1].metadata.tags == ["check"]


@pytest.mark.parametrize("task", NOTEBOOK_TASKS, ids=IDS)
def test_the_stub_has_the_declared_signature_and_raises_not_implemented(task):
    namespace = {}
    exec(task_cells.stub_source(task), namespace)
    function = namespace[task.name]
    assert tuple(function.__code__.co_varnames[:function.__code__.co_argcount]) == task.arg_names
    assert inspect.getdoc(function) == inspect.getdoc(task.reference)  # it gives the shapes
    with pytest.raises(NotImplementedError, match=task.name):
        function(*[None] * len(task.arg_names))


def test_a_task_without_a_reference_gets_a_docstring_to_complete():
    task = replace(tasks.get_task("maxpool_forward"), name="no_such_reference")
    source = task_cells.stub_source(task)
    assert "x_input: TODO its type and shape." in source and "2x2 max pooling" in source


@pytest.mark.parametrize("change, want", [
    (lambda t: replace(t, arg_names=t.arg_names + ("extra",)), "passes arg_keys"),
    (lambda t: replace(t, week=2), "which no task of week 3 declares"),
], ids=["arg-keys-differ", "undeclared-stub"])
def test_other_drifts_are_named(change, want):
    changed = [change(t) if t.name == "conv_matrix" else t for t in NOTEBOOK_TASKS]
    problems = task_cells.out_of_step(read(), [t for t in changed if t.week == 3])
    assert len(problems) == 1 and want in problems[0] and "conv_matrix" in problems[0]


def test_the_command_prints_the_cells(capsys):
    assert main(["new-task-cells", "box_blur"]) == 0
    out = capsys.readouterr().out
    task = tasks.get_task("box_blur")
    assert task_cells.stub_source(task) in out and task_cells.check_source(task) in out


def test_the_command_appends_the_cells_once(tmp_path, capsys):
    path = tmp_path / "assignment.ipynb"
    nbformat.write(without_cells_of(read(), "box_blur"), str(path))
    assert main(["new-task-cells", "box_blur", "--write", "--notebook", str(path)]) == 0
    assert task_cells.out_of_step(nb.load_notebook(path)) == []
    assert main(["new-task-cells", "box_blur", "--write", "--notebook", str(path)]) == 1
    assert "already has a stub for box_blur" in capsys.readouterr().err


def test_the_command_refuses_an_undeclared_task(capsys):
    assert main(["new-task-cells", "box_blurr"]) == 1
    assert "Did you mean 'box_blur'?" in capsys.readouterr().err

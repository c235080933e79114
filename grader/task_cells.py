"""The notebook's cells of a task, written from its declaration.

Every task of this week (``week == 3`` in :data:`grader.core.tasks.TASKS`) has two cells in
``assignment.ipynb``: a stub tagged ``stub`` (the signature in ``arg_keys`` order, the
reference's docstring, the ``### YOUR CODE ###`` fence and ``raise NotImplementedError``) and
a check tagged ``check`` (``am.test_student_function(username, name, [arg_keys])``).
:func:`out_of_step` lists what is missing or stray, with the cell to add, and
``python -m grader new-task-cells NAME`` prints the two cells or appends them to the notebook.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from pathlib import Path

import nbformat

from grader import notebooks as nb
from grader.core import tasks
from grader.core.tasks import Task

NOTEBOOK_WEEK = tasks.THIS_WEEK
END_BANNER = "### END OF YOUR CODE ###"


def notebook_tasks() -> list[Task]:
    """The tasks whose cells are in ``assignment.ipynb`` (this week's), in declaration order."""
    return [task for task in tasks.TASKS if task.week == NOTEBOOK_WEEK]


def _docstring(task: Task) -> str:
    """The reference's docstring (it gives every array's shape), else one built from the
    declaration for the teaching assistant to complete."""
    try:
        text = inspect.getdoc(task.reference)
    except LookupError:
        text = None
    if not text:
        args = "\n".join(f"    {name}: TODO its type and shape." for name in task.arg_names)
        text = f"{task.summary or task.name}.\n\nArgs:\n{args}\n\nReturns:\n    TODO its shape."
    return text.replace('"""', "'''")


def stub_source(task: Task) -> str:
    """The stub cell's source: signature, docstring, the fenced ``raise NotImplementedError``."""
    docstring = textwrap.indent(_docstring(task), "    ").strip()
    return (f"def {task.name}({', '.join(task.arg_names)}):\n"
            f'    """{docstring}\n    """\n'
            f"    {nb.STUB_BANNER}\n"
            f'    raise NotImplementedError("{task.name}: replace this line with your code")\n'
            f"    {END_BANNER}")


def check_source(task: Task) -> str:
    """The check cell's source, e.g. ``am.test_student_function(username, f, ['x_input'])``."""
    return f"am.test_student_function(username, {task.name}, {list(task.arg_names)!r})"


def cells_text(task: Task) -> str:
    """Both cells, as a teaching assistant pastes them, with their tags."""
    return (f"# --- code cell, tag 'stub' ---\n{stub_source(task)}\n\n"
            f"# --- code cell, tag 'check' (after the stub) ---\n{check_source(task)}\n")


def out_of_step(notebook, task_list=None) -> list[str]:
    """What keeps the notebook from matching the declarations, one message each.

    Args:
        notebook: the assignment notebook (nbformat).
        task_list: the tasks that must have cells (default: :func:`notebook_tasks`).

    Returns:
        Messages naming the task and, for a missing cell, the cell to add; [] when in step.
    """
    task_list = notebook_tasks() if task_list is None else list(task_list)
    declared = {task.name: task for task in task_list}
    stubs = nb.stub_cells(notebook)
    calls = {name: (index, arg_keys) for index, name, arg_keys in nb.check_calls(notebook)}
    problems = []
    for name, task in declared.items():
        if name not in stubs:
            problems.append(f"{name} is declared but assignment.ipynb has no stub for it; add "
                            f"this code cell (tag 'stub'):\n{stub_source(task)}")
        if name not in calls:
            problems.append(f"{name} is declared but assignment.ipynb never checks it; add this "
                            f"code cell (tag 'check') after its stub:\n{check_source(task)}")
        elif calls[name][1] != list(task.arg_names):
            problems.append(f"the check of {name} passes arg_keys {calls[name][1]!r}, its "
                            f"declaration {list(task.arg_names)!r}; make the cell:\n"
                            f"{check_source(task)}")
        elif name in stubs and calls[name][0] < stubs[name]:
            problems.append(f"the check of {name} (cell {calls[name][0]}) comes before its stub "
                            f"(cell {stubs[name]}); move it after")
    for name in sorted(set(stubs) - set(declared)):
        problems.append(f"assignment.ipynb has a stub for {name}, which no task of week "
                        f"{NOTEBOOK_WEEK} declares: declare it in grader/core/tasks.py or "
                        f"remove the stub (cell {stubs[name]})")
    return problems


def append_cells(notebook, task: Task):
    """The notebook with the task's stub and check cells appended (ids from the name)."""
    for kind, source in (("stub", stub_source(task)), ("check", check_source(task))):
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [kind]})
        cell.id = f"{task.name}-{kind}"[-64:]
        notebook.cells.append(cell)
    return notebook


def cmd_new_task_cells(args) -> int:
    task = tasks.find_task(args.name)
    if task is None:
        print(f"Error: {tasks.unknown_task_message(args.name)} Declare it in "
              f"grader/core/tasks.py first.", file=sys.stderr)
        return 1
    if not args.write:
        print(cells_text(task), end="")
        return 0
    path = Path(args.notebook)
    notebook = nb.load_notebook(path)
    if task.name in nb.stub_cells(notebook):
        print(f"Error: {path} already has a stub for {task.name}; nothing written.",
              file=sys.stderr)
        return 1
    nbformat.write(append_cells(notebook, task), str(path))
    print(f"Appended the stub and check cells of {task.name} to {path}; move them (and write "
          f"the lesson's text) where the task belongs.")
    return 0


def add_command(sub, command) -> None:
    """``new-task-cells NAME [--write] [--notebook PATH]`` on the CLI's subparsers."""
    from grader.client import paths
    parser = command(sub, "new-task-cells", cmd_new_task_cells,
                     "print (or append) a declared task's stub and check cells")
    parser.add_argument("name", help="the task's name, as declared in grader/core/tasks.py")
    parser.add_argument("--write", action="store_true",
                        help="append the two cells to the notebook instead of printing them")
    parser.add_argument("--notebook", default=str(paths.KIT_ROOT / "assignment.ipynb"),
                        help="the notebook --write appends to (default: %(default)s)")

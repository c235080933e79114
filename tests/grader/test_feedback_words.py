"""Class feedback says what the notebook says (issue 19, point 13).

An argument changed in place, a function failing because a graded function it
calls fails, a name missing because its import failed to load, text such as
``<module>`` that Markdown must show as written, where ``--execute`` stopped, and
a last line the student understands (the grader's limits and hash stay with the
instructor).
"""

import re
import textwrap

import mistune
import nbformat
import pytest
from student_code import CONV_MATRIX

from grader.classgrade import exports
from grader.classgrade.calls import graded_calls
from grader.classgrade.runinfo import RunInfo
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import SKIPPED, grade_submission
from grader.classgrade.submissions import Submission
from grader.client import messages
from grader.client.roster import Student
from grader.core import results, tasks
from grader.core.results import CaseResult, SubmissionResult, TaskResult

POINTS = {"conv_matrix": 1.0, "box_blur": 1.0, "relu_forward": 1.0, "maxpool_forward": 1.0}
SKIMAGE_NOTE = ("notebook cell 1, line 1: ModuleNotFoundError: No module named 'skimage' "
                "(line 1 of <module>: import skimage)" + SKIPPED)
RUN = RunInfo(started_at="2026-12-06T10:00:00+00:00", grader_version="0123456789abcdef",
              sandbox_mode="bwrap", sandbox="bwrap (bubblewrap 0.11.0 from system)",
              tasks=tuple(POINTS), limits={"call_seconds": 5.0, "memory_mb": 1024.0},
              points=POINTS)


def task(name, *kinds, message="values differ at [0, 1]", mutated=(), calls=()):
    return TaskResult(name, "grade", tuple(
        CaseResult(i, kind, "" if kind == results.OK else message, mutated=mutated)
        for i, kind in enumerate(kinds)), calls=calls)


def feedback(*task_results, notes=(), run=None) -> str:
    result = SubmissionResult("ada", "h", tuple(task_results), notes=notes)
    [grade] = exports.grades(students=[Student("ada", "Ada")], results={"ada": result},
                             points={t.task: POINTS[t.task] for t in task_results})
    return exports.feedback_text(grade, points=POINTS, run=run)


def section(text: str, name: str) -> str:
    """The part of the feedback under ``name``'s heading."""
    return text.split(f"] {name}: ", 1)[1].split("\n## ", 1)[0]


# -- an argument changed in place ---------------------------------------------------------------
@pytest.mark.parametrize("kinds", [(results.OK, results.OK), (results.OK, results.MISMATCH)])
def test_an_argument_changed_in_place_is_warned_about_as_in_the_notebook(kinds):
    text = feedback(task("relu_forward", *kinds, mutated=("x_input",)))
    assert messages.mutation_warning("relu_forward", ["x_input"]) in section(text, "relu_forward")


def test_only_the_functions_own_argument_names_are_shown():
    """The names come back from the sandbox: one that is no argument of the task is dropped."""
    text = feedback(task("relu_forward", results.OK, mutated=("x_input", "`<b>x</b>`")))
    assert "<b>" not in text and messages.mutation_warning("relu_forward", ["x_input"]) in text


# -- a graded function it calls fails -----------------------------------------------------------
FIX_FIRST = ("Note: box_blur calls conv_matrix, which fails its own cases (graded above): fix "
             "conv_matrix first, then check box_blur again.")


@pytest.mark.parametrize("conv, box_message, calls, want", [
    (task("conv_matrix", results.MISMATCH), "values differ", ("conv_matrix",), 1),
    (task("conv_matrix", results.OK), "values differ", ("conv_matrix",), 0),  # it passes
    (task("conv_matrix", results.MISMATCH), "values differ", (), 0),  # box_blur does not call it
    (task("conv_matrix", results.NOT_IMPLEMENTED, message="stub"),  # the case said it already
     "calls conv_matrix, which is not implemented yet (...): write conv_matrix first, then "
     "check box_blur again", ("conv_matrix",), 0),
])
def test_fix_conv_matrix_first_is_said_once_when_it_is_true(conv, box_message, calls, want):
    box = task("box_blur", results.EXCEPTION, message=box_message, calls=calls)
    text = feedback(conv, box)
    assert text.count(FIX_FIRST) == want
    assert text.count("conv_matrix first") == want + ("write conv_matrix first" in box_message)
    if want:
        assert FIX_FIRST in section(text, "box_blur")


@pytest.mark.parametrize("sources, want", [
    (["def box_blur(image, box_size):\n    return conv_matrix(image, k)"],
     {"box_blur": ("conv_matrix",)}),
    (["def box_blur(image, box_size):\n    f = conv_matrix\n    return f(image, k)",
      "def box_blur(image, box_size):\n    return image"], {"box_blur": ()}),  # the last def runs
    (["def conv_matrix(matrix, kernel):\n    return conv_matrix(matrix, kernel)\n"
      "def helper():\n    return box_blur"], {"conv_matrix": ()}),  # itself, and not a helper's
    (["def box_blur(image, box_size):\n    conv_matrix = 1\n    return relu_forward(image)"],
     {"box_blur": ("relu_forward",)}),  # a name it only assigns is no call
    (["def box_blur(:"], {}),
])
def test_graded_calls_are_read_from_the_source(sources, want):
    assert graded_calls(sources, tasks.task_names()) == want


# -- a name from a failed import ----------------------------------------------------------------
def test_a_name_from_a_failed_import_links_to_that_import():
    box = task("box_blur", results.EXCEPTION, message="raised NameError: name 'skimage' is not "
               "defined (line 2 of box_blur: return skimage.filters.gaussian(image))")
    other = task("maxpool_forward", results.EXCEPTION,
                 message="raised NameError: name 'pooling' is not defined")
    text = feedback(box, other, notes=(SKIMAGE_NOTE,))
    link = ("`skimage` is not defined because the statement that defines it failed to load: "
            "notebook cell 1, line 1 (see Notes below).")
    assert link in section(text, "box_blur")
    assert "is not defined because" not in section(text, "maxpool_forward")  # no such import


# -- Markdown that reads as written -------------------------------------------------------------
def test_the_markdown_shows_module_as_written():
    text = feedback(task("box_blur", results.OK), notes=(SKIMAGE_NOTE,))
    assert "&lt;" not in text and r"line 1 of \<module\>: import skimage" in text
    rendered = mistune.create_markdown(escape=True)(text)
    assert "line 1 of &lt;module&gt;: import skimage" in rendered  # the page shows <module>
    assert "<module>" not in rendered


# -- the last line ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["graded", "no submission"])
def test_feedback_ends_with_a_line_a_student_understands(kind):
    if kind == "graded":
        text = feedback(task("box_blur", results.OK), run=RUN)
    else:
        [grade] = exports.grades(students=[Student("ada")], results={}, points={"box_blur": 1.0})
        text = exports.feedback_text(grade, points=POINTS, run=RUN)
    last = text.rstrip("\n").splitlines()[-1]
    assert last in (exports.closing_line(RUN), "No submission was received. If you handed one "
                    "in, tell your instructor.")
    for internal in ("0123456789abcdef", "call_seconds", "memory_mb", "bubblewrap", "Limits"):
        assert internal not in text
    assert "Graded on 2026-12-06 by the course's automatic grader" in exports.closing_line(RUN)


def test_gradescope_ends_with_the_same_line():
    result = SubmissionResult("ada", "h", (task("box_blur", results.OK),))
    output = exports.gradescope_results(result, points={"box_blur": 1.0}, run=RUN)["output"]
    assert output.rstrip().endswith(exports.closing_line(RUN))
    assert "0123456789abcdef" not in output and "call_seconds" not in output


# -- through the sandbox ------------------------------------------------------------------------
NOTEBOOK = [
    "import numpy as np",
    "import skimage",
    CONV_MATRIX.replace("np.zeros(matrix.shape)", "np.zeros_like(matrix)"),  # int images truncated
    """
    def box_blur(image, box_size):
        return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)
    """,
    """
    def relu_forward(x_input):
        x_input[x_input < 0] = 0.0
        return x_input
    """,
    """
    def maxpool_forward(x_input):
        return skimage.measure.block_reduce(x_input, (1, 1, 2, 2), np.max)
    """,
]


@pytest.mark.sandbox
def test_class_feedback_tells_what_the_notebook_tells(tmp_path):
    folder = tmp_path / "ada"
    folder.mkdir()
    cells = [nbformat.v4.new_code_cell(textwrap.dedent(source)) for source in NOTEBOOK]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(folder / "assignment.ipynb"))
    graded = grade_submission(Submission("ada", folder / "assignment.ipynb"),
                              [tasks.get_task(name) for name in POINTS],
                              limits=Limits(call_seconds=1, task_seconds=5), mode="bwrap")
    [grade] = exports.grades(students=[Student("ada")], results={"ada": graded}, points=POINTS)
    text = exports.feedback_text(grade, points=POINTS)
    assert graded.task("box_blur").calls == ("conv_matrix",)
    assert FIX_FIRST in section(text, "box_blur")
    assert messages.mutation_warning("relu_forward", ["x_input"]) in section(text, "relu_forward")
    assert re.search(r"`skimage` is not defined because the statement that defines it failed to "
                     r"load: notebook cell 1, line 1 \(see Notes below\)\.",
                     section(text, "maxpool_forward"))
    assert r"line 1 of \<module\>: import skimage" in text

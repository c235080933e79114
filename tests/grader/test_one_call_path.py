"""The notebook's check and class grading tell a student the same thing about the same code.

Each function below goes once through ``am.test_student_function``'s library
form (the student's process) and once through ``make grade``'s path (a
notebook graded in the sandbox, judged on the trusted side); both must reach
the same AutoMark state, and a function is completed (or scores) only when
every local and hidden case passed.
"""

import linecache
import textwrap

import nbformat
import pytest
from student_code import CONV_MATRIX

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.client.automark_api import run_check
from grader.client.progress import ProgressStore
from grader.core import checking, results, tasks

LIMITS = Limits(call_seconds=0.5, task_seconds=3, load_seconds=20, submission_seconds=120)

# name: (task, source of the student's function, want state, want kind of the first failure)
FUNCTIONS = {
    "correct": ("relu_forward", """
        def relu_forward(x_input):
            return np.maximum(x_input, 0.0)
        """, "completed", None),
    "wrong-parameter-names": ("relu_forward", """
        def relu_forward(x):
            return np.maximum(x, 0.0)
        """, "attempted", results.EXCEPTION),
    "parameters-in-the-wrong-order": ("conv_matrix", CONV_MATRIX.replace(
        "def conv_matrix(matrix, kernel):", "def conv_matrix(kernel, matrix):"), "attempted", None),
    "stub": ("relu_forward", """
        def relu_forward(x_input):
            raise NotImplementedError
        """, "not attempted", results.NOT_IMPLEMENTED),
    "mutates-its-input": ("relu_forward", """
        def relu_forward(x_input):
            x_input[x_input < 0] = 0.0
            return x_input
        """, "completed", None),
    "returns-none": ("relu_forward", """
        def relu_forward(x_input):
            np.maximum(x_input, 0.0)
        """, "attempted", results.WRONG_TYPE),
    "too-slow": ("relu_forward", """
        def relu_forward(x_input):
            while True:
                pass
        """, "attempted", results.TIMEOUT),
    "raises": ("maxpool_forward", """
        def maxpool_forward(x_input):
            return x_input[::2, ::2] + undefined_name
        """, "attempted", results.EXCEPTION),
    "placeholder-returned-unfilled": ("relu_forward", """
        def relu_forward(x_input):
            output = np.zeros(x_input.shape)
            return output
        """, "not attempted", results.NOT_IMPLEMENTED),
    "placeholder-return-untouched": ("relu_forward", """
        def relu_forward(x_input):
            ### YOUR CODE HERE
            return output
        """, "not attempted", results.NOT_IMPLEMENTED),
    "calls-a-stub": ("box_blur", """
        def conv_matrix(matrix, kernel):
            raise NotImplementedError("conv_matrix: replace this line with your code")

        def box_blur(image, box_size):
            return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)
        """, "attempted", results.EXCEPTION),
    "correct-with-three-arguments": ("dense_forward", """
        def dense_forward(x_input, W, b):
            return x_input @ W + b
        """, "completed", None),
}


def _source(body: str) -> str:
    return "import numpy as np\n\n" + textwrap.dedent(body).strip() + "\n"


def notebook_state(task, source):
    # IPython keeps each cell's source in linecache, so an error can show the student's line
    linecache.cache["<student cell>"] = (len(source), None, source.splitlines(True), "<student cell>")
    namespace = {}
    exec(compile(source, "<student cell>", "exec"), namespace)
    check = checking.check_function(task, namespace[task.name], "alice",
                                    call_seconds=LIMITS.call_seconds,
                                    task_seconds=LIMITS.task_seconds)
    state = ("completed" if check.passed else
             "not attempted" if check.not_implemented else "attempted")
    cases = check.local.cases + check.remote.cases
    first = next((c for c in cases if not c.passed), None)
    return state, first


def class_state(task, source, tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(notebook, str(folder / "assignment.ipynb"))
    submission = Submission("alice", folder / "assignment.ipynb")
    result = grade_submission(submission, [task], limits=LIMITS, mode="bwrap").task(task.name)
    return result.state, result.first_failure, result


@pytest.mark.sandbox
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_the_notebook_and_class_grading_agree(name, tmp_path):
    task_name, body, want_state, want_kind = FUNCTIONS[name]
    task = tasks.get_task(task_name)
    source = _source(body)
    in_notebook, first_in_notebook = notebook_state(task, source)
    in_class, first_in_class, graded = class_state(task, source, tmp_path)
    assert in_notebook == in_class == want_state
    kinds = {first_in_notebook.kind if first_in_notebook else None,
             first_in_class.kind if first_in_class else None}
    assert len(kinds) == 1
    if want_kind is not None:
        assert kinds == {want_kind}
    assert graded.passed is (want_state == "completed")


def test_a_function_completed_in_the_notebook_is_recorded_as_completed(tmp_path):
    namespace = {}
    exec(_source(FUNCTIONS["wrong-parameter-names"][1]), namespace)
    task, check = run_check("alice", namespace["relu_forward"], ["x_input"])
    assert check.remote.passed and not check.passed
    assert ProgressStore().states("alice") == {"relu_forward": "attempted"}

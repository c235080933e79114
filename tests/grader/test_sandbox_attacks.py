"""Attacks on the sandbox's supervisor and channels: each is contained, and every verdict
already earned is kept. (Hostile fixtures of our own, one per finding of the red team.)"""

import os
import textwrap
import time

import nbformat
import pytest
from grader_fixtures import grade_one_cell

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.core import results, tasks

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the supervisor keeps a uid of its own "
                               "only when grading as root")

CORRECT_POOL = """
def maxpool_forward(x_input):
    h, w = x_input.shape
    return x_input.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
"""
CORRECT_FLATTEN = """
def flatten_forward(x_input):
    return x_input.reshape(x_input.shape[0], -1)
"""
TASKS = [tasks.get_task(n) for n in ("conv_matrix", "maxpool_forward", "flatten_forward")]


def grade(tmp_path, attack, limits=None, task_list=TASKS):
    source = "import os, signal, time, sys\nimport numpy as np\n" + textwrap.dedent(attack) \
        + CORRECT_POOL + CORRECT_FLATTEN
    start = time.monotonic()
    result = grade_one_cell(tmp_path, source, task_list,
                            limits or Limits(call_seconds=1, task_seconds=3, load_seconds=10,
                                             submission_seconds=60))
    return result, time.monotonic() - start


def assert_others_graded(result):
    assert result.task("maxpool_forward").passed and result.task("flatten_forward").passed


@root_only
def test_stopping_the_supervisor_does_not_stop_the_clock(tmp_path):
    result, seconds = grade(tmp_path, """
        def conv_matrix(matrix, kernel):
            try:
                os.kill(os.getppid(), signal.SIGSTOP)
            except OSError:
                pass
            signal.signal(signal.SIGALRM, signal.SIG_IGN)   # no per-call alarm either
            while True:
                pass
        """)
    conv = result.task("conv_matrix")
    assert conv.first_failure.kind == results.TIMEOUT
    assert "within 3 s" in conv.first_failure.message
    assert seconds < 40
    assert_others_graded(result)


@root_only
def test_killing_the_supervisor_is_refused(tmp_path):
    result, _ = grade(tmp_path, """
        def conv_matrix(matrix, kernel):
            os.kill(os.getppid(), signal.SIGKILL)
            return matrix
        """)
    assert "PermissionError" in result.task("conv_matrix").first_failure.message
    assert_others_graded(result)


def test_the_inputs_and_the_code_are_read_only(tmp_path):
    result, _ = grade(tmp_path, """
        def conv_matrix(matrix, kernel):
            for path in ("/sandbox/io/forged.json", "/sandbox/code/Blocks.py",
                         "/sandbox/bin/calling.py"):
                try:
                    open(path, "w").write("forged")
                except OSError:
                    continue
                raise RuntimeError("wrote " + path)
            raise ValueError("nothing writable")
        """)
    assert "ValueError: nothing writable" in result.task("conv_matrix").first_failure.message
    assert_others_graded(result)


@root_only
def test_a_left_behind_process_cannot_touch_the_next_function(tmp_path):
    result, _ = grade(tmp_path, """
        def conv_matrix(matrix, kernel):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:           # a daemon: forges records into every pipe it finds
                    head = b'{"case": 0, "status": "exception", "message": "forged!!!!"}'
                    forged = b"AMC1" + len(head).to_bytes(4, "little") + head
                    for _ in range(400):
                        for pid in os.listdir("/proc"):
                            try:
                                for fd in os.listdir(f"/proc/{pid}/fd"):
                                    os.write(os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY), forged)
                            except OSError:
                                pass
                        time.sleep(0.01)
                os._exit(0)
            return matrix
        """)
    assert result.task("conv_matrix").first_failure is not None
    assert_others_graded(result)
    assert "forged" not in " ".join(c.message for t in result.tasks for c in t.cases)


def test_finished_functions_keep_their_verdicts_when_the_submission_runs_out_of_time(tmp_path):
    limits = Limits(call_seconds=30, task_seconds=30, load_seconds=10, submission_seconds=8)
    task_list = [tasks.get_task(n) for n in ("maxpool_forward", "flatten_forward", "conv_matrix")]
    result, seconds = grade(tmp_path, """
        def conv_matrix(matrix, kernel):
            while True:
                pass
        """, limits=limits, task_list=task_list)
    assert_others_graded(result)
    assert not result.task("conv_matrix").passed
    assert seconds < 30


@root_only
@pytest.mark.parametrize("module", ["matplotlib", "numpy", "json", "signal"])
def test_a_students_module_named_like_a_library_never_runs_as_root(tmp_path, module):
    """Only the uid imports from the student's folder: a shadowing module there must not
    run in the root supervisor (it could forge every verdict from there)."""
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / f"{module}.py").write_text(
        "import os\nif os.getuid() == 0:\n    os._exit(0)\n", encoding="utf-8")
    source = "import matplotlib.pyplot as plt\nimport numpy as np\n" + CORRECT_POOL \
        + CORRECT_FLATTEN
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(notebook, str(folder / "assignment.ipynb"))
    submission = Submission("mallory", folder / "assignment.ipynb", (folder / f"{module}.py",))
    result = grade_submission(submission, TASKS[1:], mode="bwrap",
                              limits=Limits(load_seconds=10, submission_seconds=60))
    assert result.error == ""
    assert_others_graded(result)

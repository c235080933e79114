"""This week's table, and last week's functions told as class grading tells them (issue 19.15).

``get_progress(username)`` lists this assignment's functions; last week's (Blocks.py)
only with ``last_week=True``. A graded function whose code is the kit's own Blocks.py
is "not submitted" in the notebook, in class grading's words, and is not recorded.
"""

import importlib.util
import json
import shutil
import sys

import nbformat
import pytest

import automark as am
from grader.classgrade import exports
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.client import kit_files, paths
from grader.client.progress import ProgressStore
from grader.core import results, tasks, vectors
from grader.core.calling import not_submitted_message
from grader.core.results import SubmissionResult

THIS_WEEK = [task.label for task in tasks.ordered_for_progress() if task.week == 3]
NOT_SUBMITTED = not_submitted_message("relu_forward", "Blocks.py")


def labels(text: str) -> list[str]:
    return [line[2:26].rstrip() for line in text.splitlines() if line.startswith("| [")]


def blocks_module(path, name="student_blocks"):
    """``path`` (a Blocks.py) imported as a module of its own."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("call, want", [
    (lambda: am.get_progress("alice"), THIS_WEEK),
    (lambda: am.get_progress(username="alice"), THIS_WEEK),
    (lambda: am.get_progress("alice", last_week=True), [t.label for t in tasks.ordered_for_progress()]),
    (lambda: am.get_progress("alice", True), [t.label for t in tasks.ordered_for_progress()]),
])
def test_the_table_shows_this_weeks_functions_unless_last_weeks_are_asked_for(capsys, call, want):
    assert call() is None
    text = capsys.readouterr().out
    assert labels(text) == want
    assert ("Last week's, from Blocks.py:" in text) is (len(want) > len(THIS_WEEK))


def test_class_progress_tables_list_the_graded_tasks(tmp_path):
    written = exports.write_progress_tables(tmp_path, students=[], results={
        "ada": SubmissionResult("ada", "h", ())})
    assert labels(written[0].read_text()) == THIS_WEEK  # by default this week's, as the notebook
    written = exports.write_progress_tables(tmp_path, students=[], results={
        "ada": SubmissionResult("ada", "h", ())}, task_names=["relu_forward", "conv_matrix"])
    assert labels(written[0].read_text()) == ["[MAN] conv_matrix", "[MAN] relu_forward"]


def test_a_function_from_the_kits_own_blocks_is_not_submitted(capsys):
    kit = blocks_module(paths.KIT_ROOT / "Blocks.py")
    assert am.test_student_function("alice", kit.relu_forward, ["x_input"]) is None
    assert capsys.readouterr().out.strip() == NOT_SUBMITTED
    assert ProgressStore().states("alice") == {}  # nothing recorded


def test_the_students_own_blocks_is_checked(tmp_path, capsys):
    own = tmp_path / "Blocks.py"
    own.write_text((paths.KIT_ROOT / "Blocks.py").read_text() + "\n# mine\n")
    module = blocks_module(own)
    am.test_student_function("alice", module.relu_forward, ["x_input"])
    assert "Test was successful. Congratulations!" in capsys.readouterr().out
    assert ProgressStore().states("alice") == {"relu_forward": "completed"}


@pytest.mark.parametrize("digests, want", [
    ("same", NOT_SUBMITTED),      # the release's fingerprint of the kit's copy matches
    ("other", ""),                # the student's Blocks.py differs from the kit's
    (None, ""),                   # an older student kit without fingerprints: no rule
])
def test_a_student_kit_knows_its_own_blocks_by_the_shipped_fingerprint(tmp_path, monkeypatch,
                                                                         digests, want):
    folder = tmp_path / "vectors"
    folder.mkdir()
    (folder / vectors.PHASE_FILES["local"]).write_bytes(b"")
    blocks = shutil.copyfile(paths.KIT_ROOT / "Blocks.py", tmp_path / "Blocks.py")
    if digests is not None:
        digest = kit_files.kit_digests()["Blocks.py"] if digests == "same" else "0" * 64
        (folder / kit_files.DIGESTS_FILE).write_text(json.dumps({"Blocks.py": digest}))
    monkeypatch.setenv(vectors.VECTORS_ENV, str(folder))
    assert kit_files.from_the_kit(blocks_module(blocks).relu_forward, "relu_forward") == want


@pytest.mark.sandbox
@pytest.mark.parametrize("hand_in_blocks", [False, True])
def test_class_grading_says_the_same_words(tmp_path, hand_in_blocks, capsys):
    """Handed in without Blocks.py, or with the kit's copy unchanged: not submitted, in the
    words the notebook printed."""
    folder = tmp_path / "ada"
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("from Blocks import *\nimport numpy as np")
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "assignment.ipynb"))
    if hand_in_blocks:
        shutil.copyfile(paths.KIT_ROOT / "Blocks.py", folder / "Blocks.py")
    submission = Submission("ada", folder / "assignment.ipynb",
                            py_files=(folder / "Blocks.py",) if hand_in_blocks else ())
    graded = grade_submission(submission, [tasks.get_task("relu_forward")],
                              limits=Limits(call_seconds=1, task_seconds=5), mode="bwrap")
    result = graded.task("relu_forward")
    assert (result.error, result.error_kind) == (NOT_SUBMITTED, results.NOT_SUBMITTED)
    sys.modules.pop("Blocks", None)
    kit = blocks_module(paths.KIT_ROOT / "Blocks.py", "Blocks")
    am.test_student_function("ada", kit.relu_forward, ["x_input"])
    assert capsys.readouterr().out.strip() == result.error

"""Several notebooks (issue 19.2): every notebook a student handed in is graded, the best is
kept (most functions passed, then most cases; a tie goes to the newest), and a note says which
was graded and how each other one did."""

import os
from dataclasses import replace

import pytest

from grader.classgrade import submission as grading
from grader.classgrade.class_folder import take_in
from grader.classgrade.submissions import NOTEBOOK_NOTE
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

TASKS = ("conv_matrix", "box_blur")


def judged(username, content_hash, passes):
    """A result whose tasks pass or fail as ``passes`` says: ``{task: (n passed, n cases)}``."""
    tasks = tuple(TaskResult(name, "grade", tuple(
        CaseResult(i, results.OK if i < good else results.MISMATCH, "") for i in range(total)))
        for name, (good, total) in passes.items())
    return SubmissionResult(username, content_hash, tasks, seconds=1.0)


# what each notebook of the table scores, by its content
SCORES = {"stub": {"conv_matrix": (0, 3), "box_blur": (0, 3)},
          "half": {"conv_matrix": (3, 3), "box_blur": (1, 3)},
          "half+": {"conv_matrix": (3, 3), "box_blur": (2, 3)},
          "full": {"conv_matrix": (3, 3), "box_blur": (3, 3)}}


@pytest.fixture
def fake_sandbox(monkeypatch):
    """Grade a notebook by its content (a key of SCORES), without a sandbox."""
    graded = []

    def grade_one(submission, tasks, **kwargs):
        graded.append(submission.notebook.name)
        assert submission.other_notebooks == ()
        if submission.notebook.read_text() == "broken":
            return SubmissionResult.crashed(submission.username, "h", "not valid JSON", TASKS)
        return judged(submission.username, "h", SCORES[submission.notebook.read_text()])
    monkeypatch.setattr(grading, "grade_one_notebook", grade_one)
    return graded


def hand_in(tmp_path, files):
    """``files``: ``(name, content)`` oldest first."""
    folder = tmp_path / "alice"
    folder.mkdir()
    for age, (name, content) in enumerate(files):
        (folder / name).write_text(content)
        os.utime(folder / name, ns=((age + 1) * 10**18, (age + 1) * 10**18))
    [alice] = take_in(tmp_path).submissions
    return alice


@pytest.mark.parametrize("files, want, others", [
    ([("assignment.ipynb", "stub"), ("assignment_final.ipynb", "full")],
     "assignment_final.ipynb (2 of 2 functions passed)", "assignment.ipynb (0 of 2 functions passed)"),
    ([("assignment_final.ipynb", "full"), ("assignment.ipynb", "stub")],      # the stub is newer
     "assignment_final.ipynb (2 of 2 functions passed)", "assignment.ipynb (0 of 2 functions passed)"),
    ([("v1.ipynb", "half"), ("v2.ipynb", "half+")],                          # more cases passed
     "v2.ipynb (1 of 2 functions passed)", "v1.ipynb (1 of 2 functions passed)"),
    ([("old.ipynb", "full"), ("new.ipynb", "full")],                         # a tie: the newest
     "new.ipynb (2 of 2 functions passed)", "old.ipynb (2 of 2 functions passed)"),
    ([("good.ipynb", "half"), ("bad.ipynb", "broken")],
     "good.ipynb (1 of 2 functions passed)", "bad.ipynb (could not be graded)"),
])
def test_the_best_notebook_is_kept_and_named(tmp_path, fake_sandbox, files, want, others):
    alice = hand_in(tmp_path, files)
    result = grading.grade_submission(alice, [], limits=None, mode="plain")
    assert sorted(fake_sandbox) == sorted(name for name, _ in files)
    assert result.notes[0] == (f"{NOTEBOOK_NOTE}{want}; also handed in, graded and not kept: "
                               f"{others}; the best notebook is kept")
    assert result.content_hash == alice.content_hash() and result.seconds >= 1.0


def test_one_notebook_is_graded_once_with_no_note(tmp_path, fake_sandbox):
    alice = hand_in(tmp_path, [("whatever.ipynb", "half")])
    result = grading.grade_submission(alice, [], limits=None, mode="plain")
    assert fake_sandbox == ["whatever.ipynb"] and result.notes == ()


def test_the_note_reaches_the_report(tmp_path, fake_sandbox):
    from grader.classgrade.exports.grades import grades
    from grader.classgrade.exports.report_tables import handed_in_section
    from grader.client.roster import Student
    alice = hand_in(tmp_path, [("assignment.ipynb", "stub"), ("final.ipynb", "full")])
    result = grading.grade_submission(alice, [], limits=None, mode="plain")
    lines = grades(students=[Student("alice")], results={"alice": replace(result, username="alice")},
                   points={"conv_matrix": 1.0, "box_blur": 1.0})
    section = handed_in_section(lines, (), {})
    assert "alice: final.ipynb (2 of 2 functions passed); also handed in" in section


def test_a_cluster_worker_gets_every_notebook(tmp_path):
    from grader.classgrade.distributed import Shipped
    alice = hand_in(tmp_path, [("assignment.ipynb", "stub"), ("final.ipynb", "full")])
    (tmp_path / "worker").mkdir()
    copy = Shipped.pack(alice).unpack(tmp_path / "worker")
    assert (copy.notebook.name, [p.name for p in copy.other_notebooks]) == (
        alice.notebook.name, [p.name for p in alice.other_notebooks])
    assert copy.content_hash() == alice.content_hash()

"""A broken setup is not a grade: when the grader's own machinery fails, no score is written,
the run says so, and the next run grades the submission again without --force.

A student's code that crashes is still a grade (its verdicts); only the grader's failures (the
sandbox that does not start, a damaged stream from its supervisor, an exception in the grader)
leave a submission "not graded"."""

import csv
import sqlite3
import sys

import pytest
from grader_fixtures import EXAMPLES, FAST, class_folder, grade_conv  # noqa: F401

from grader.classgrade import failures
from grader.classgrade import run as classrun
from grader.classgrade.failures import GradingFailed, is_not_graded, not_graded
from grader.classgrade.sandbox import runner, warm
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submissions import Submission
from grader.core.results import CaseResult, SubmissionResult, TaskResult

BWRAP_SAYS = "bwrap: setting up uid map: Permission denied"


grade = grade_conv


def rows(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def a_sandbox_that_cannot_start(self, settings, tmp_mb):
    """What bwrap does on a machine that forbids it: a line on stderr, exit status 1."""
    return [sys.executable, "-c", f"import sys; sys.stderr.write({BWRAP_SAYS!r}); sys.exit(1)"], {}


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_sandbox_that_cannot_start_writes_no_score_and_the_next_run_grades(
        class_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(warm.WarmSandbox, "_command", a_sandbox_that_cannot_start)
    with pytest.raises(GradingFailed, match=r"could not grade any of the 2 submission\(s\) \(.*"
                       r"sandbox ended twice before it took the submission: .*Permission denied"
                       ) as error:
        grade(class_folder, out)
    assert "without --force" in str(error.value)
    for written in ("gradebook.csv", "lms/canvas.csv", "lms/brightspace.csv", "feedback",
                    "gradescope"):
        assert not (out / written).exists(), written
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
    monkeypatch.undo()  # the setup is fixed: a plain rerun grades everyone
    again = grade(class_folder, out)
    assert again.graded == ("ada_correct", "ben_flipped_kernel") and again.skipped_unchanged == ()
    scores = {row[0]: row[4] for row in rows(out / "gradebook.csv")[1:]}
    assert scores == {"ada_correct": "1", "ben_flipped_kernel": "0"}


def graded_by_a_grader_that_fails_on_ben(submission, tasks, **kwargs):
    if submission.username.startswith("ben"):
        raise runner.SandboxFailed(f"the sandbox ended twice before it took the submission: "
                                   f"{BWRAP_SAYS}")
    cases = (CaseResult(index=0, kind="ok"),)
    return SubmissionResult(submission.username, submission.content_hash(),
                            tuple(TaskResult(t.name, "grade", cases) for t in tasks))


def test_one_submission_the_grader_failed_on_is_not_graded_never_zero(
        class_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(classrun, "grade_submission", graded_by_a_grader_that_fails_on_ben)
    first = grade(class_folder, out, jobs=1)
    assert first.graded == ("ada_correct",) and first.not_graded == ("ben_flipped_kernel",)
    table = {row[0]: row for row in rows(out / "gradebook.csv")[1:]}
    # username, name, email, conv_matrix, score, possible, percent, status
    assert table["ada_correct"][3:7] == ["1", "1", "1", "100.0"]
    assert table["ben_flipped_kernel"][3:7] == ["", "", "1", ""]
    assert table["ben_flipped_kernel"][7].startswith("not graded: the grader failed: SandboxFailed")
    canvas = {row[3]: row[5] for row in rows(out / "lms" / "canvas.csv")[2:]}
    brightspace = {row[1]: row[2] for row in rows(out / "lms" / "brightspace.csv")[1:]}
    assert canvas == brightspace == {"ada_correct": "1", "ben_flipped_kernel": ""}
    feedback = (out / "feedback" / "ben_flipped_kernel.md").read_text()
    assert "Score: not graded yet" in feedback and "## Not graded yet" in feedback
    assert "0 / 1" not in feedback and "Could not be graded" not in feedback
    assert "not graded" in (out / "progress" / "ben_flipped_kernel.txt").read_text()
    assert not (out / "gradescope" / "ben_flipped_kernel" / "results.json").exists()
    assert "not graded: the grader failed" in classrun.class_table(first, width=200)
    report = (out / "report.html").read_text()
    assert "Not graded (the grader failed; the next run grades them)</dt><dd>1<" in report
    monkeypatch.undo()
    monkeypatch.setattr(classrun, "grade_submission", lambda s, t, **k: SubmissionResult(
        s.username, s.content_hash(), tuple(TaskResult(x.name, "grade", (CaseResult(0, "ok"),))
                                            for x in t)))
    second = grade(class_folder, out, jobs=1)  # no --force: ben was never stored
    assert second.graded == ("ben_flipped_kernel",) and second.skipped_unchanged == ("ada_correct",)
    assert second.not_graded == ()
    table = {row[0]: row for row in rows(out / "gradebook.csv")[1:]}
    assert table["ben_flipped_kernel"][4] == "1" and table["ben_flipped_kernel"][7] == "graded"


@pytest.mark.parametrize("raised, want_not_graded", [
    (runner.SandboxFailed("the sandbox ended twice before it took the submission"), True),
    (OSError(24, "Too many open files"), True),             # the grader's own resources
    (None, False),                                           # the student's crash: a verdict
])
def test_only_the_graders_failures_are_not_graded(tmp_path, monkeypatch, raised, want_not_graded):
    def grade_submission(submission, tasks, **kwargs):
        if raised is not None:
            raise raised
        return SubmissionResult.crashed(submission.username, "h", "the notebook could not be "
                                        "read: not valid JSON", [t.name for t in tasks])
    monkeypatch.setattr(classrun, "grade_submission", grade_submission)
    (tmp_path / "ada.ipynb").write_text("{}")
    result = classrun._grade_one(Submission("ada", tmp_path / "ada.ipynb"), ["conv_matrix"],
                                 FAST, "bwrap", None)
    assert is_not_graded(result) is want_not_graded
    assert [t.task for t in result.tasks] == ["conv_matrix"]


class FakeSandbox:
    """A warm sandbox that feeds the demux what a supervisor sent, or was found ended."""

    def __init__(self, folder, sent=b"", gone=False):
        self.folder, self.sent, self.gone, self.tries = folder, sent, gone, 0

    def new_folder(self):
        self.tries += 1
        path = self.folder / str(self.tries)
        path.mkdir()
        return path, str(path)

    def grade(self, folder, demux, seconds):
        if self.gone:
            raise warm.SandboxGone(f"the sandbox had ended: {BWRAP_SAYS}")
        demux.feed(self.sent)
        return ""


@pytest.mark.parametrize("sent, gone, want", [
    (b"", True, "ended twice before it took the submission: the sandbox had ended: bwrap"),
    (b"X" + bytes(16), False, "supervisor sent a damaged stream: the worker's pipe carried a "
                              "malformed chunk"),
    (b"D" * ((1 << 20) + 1), False, None),   # sent back too much: the submission's doing
])
def test_the_sandbox_runner_tells_its_own_failure_from_the_submissions(
        tmp_path, monkeypatch, sent, gone, want):
    sandbox = FakeSandbox(tmp_path, sent, gone)
    monkeypatch.setattr(warm, "sandbox_for", lambda *args: sandbox)
    monkeypatch.setattr(runner, "stage", lambda *args, **kwargs: None)
    limits = Limits(return_mb=1)
    if want is None:
        run = runner.run_in_sandbox(Submission("ada", None), [], {}, limits, mode="bwrap")
        assert "sent back more than 1 MB" in run.error
        return
    with pytest.raises(runner.SandboxFailed, match=want):
        runner.run_in_sandbox(Submission("ada", None), [], {}, limits, mode="bwrap")
    assert sandbox.tries == (2 if gone else 1)


def test_a_run_stops_only_when_every_submission_failed_in_the_grader():
    failed = [not_graded(name, "h", "the grader failed: SandboxFailed: bwrap", ["conv_matrix"])
              for name in ("ada", "ben")]
    failures.check_run([], 0)
    failures.check_run(failed[:1], 2)  # one of two: recorded as not graded, the run goes on
    with pytest.raises(GradingFailed, match=r"any of the 2 submission\(s\) \(the same reason for "
                       r"all: the grader failed: SandboxFailed: bwrap\)"):
        failures.check_run(failed, 2)

"""Re-grading is correct and controllable: what changes a verdict re-grades, nothing else does,
and every output says how it was graded."""

import json
import sqlite3

import pytest
from grader_fixtures import EXAMPLES, FAST, class_folder, grade_conv  # noqa: F401

from grader.classgrade import exports
from grader.classgrade.sandbox.limits import Limits

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


grade = grade_conv


def result_rows(out):
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return db.execute("SELECT s.username, r.task FROM results r JOIN submissions s "
                          "ON s.id = r.submission_id ORDER BY r.rowid").fetchall()


def test_an_added_task_is_graded_alone_and_nothing_says_not_graded(class_folder, tmp_path):
    out = tmp_path / "out"
    grade(class_folder, out)
    second = grade(class_folder, out, task_names=["conv_matrix", "box_blur"])
    assert second.graded == ("ada_correct", "ben_flipped_kernel")
    # the second run stored only the new task: conv_matrix was reused, not graded again
    assert sorted(result_rows(out)[2:]) == [("ada_correct", "box_blur"),
                                            ("ben_flipped_kernel", "box_blur")]
    assert [t.task for t in second.results["ada_correct"].tasks] == ["conv_matrix", "box_blur"]
    for path in (out / "feedback").glob("*.md"):
        assert "Not graded" not in path.read_text()
    third = grade(class_folder, out, task_names=["conv_matrix", "box_blur"])
    assert third.graded == () and len(third.skipped_unchanged) == 2


def test_changed_limits_regrade_and_never_mix_settings(class_folder, tmp_path):
    out = tmp_path / "out"
    first = grade(class_folder, out)
    slower = Limits(call_seconds=3, task_seconds=5, load_seconds=10, submission_seconds=120)
    second = grade(class_folder, out, limits=slower)
    assert second.graded == ("ada_correct", "ben_flipped_kernel")
    assert second.run.settings_key != first.run.settings_key
    assert len(result_rows(out)) == 4


def test_a_changed_notebook_is_regraded(class_folder, tmp_path):
    out = tmp_path / "out"
    grade(class_folder, out)
    notebook = class_folder / "ben_flipped_kernel" / "assignment.ipynb"
    notebook.write_text(notebook.read_text().replace("kernel[::-1, ::-1]", "kernel"))
    again = grade(class_folder, out)
    assert again.graded == ("ben_flipped_kernel",) and again.skipped_unchanged == ("ada_correct",)


def test_force_and_only(class_folder, tmp_path):
    out = tmp_path / "out"
    grade(class_folder, out)
    assert grade(class_folder, out, only=["ben_flipped_kernel"]).graded == ("ben_flipped_kernel",)
    assert grade(class_folder, out, force=True).graded == ("ada_correct", "ben_flipped_kernel")
    with pytest.raises(ValueError, match="--only names zed, who submitted nothing"):
        grade(class_folder, out, only=["zed"])


def test_every_output_says_how_it_was_graded(class_folder, tmp_path):
    out = tmp_path / "out"
    run = grade(class_folder, out)
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        (sandbox, tasks, limits, finished), = db.execute(
            "SELECT sandbox, tasks, limits, finished_at FROM runs").fetchall()
    assert sandbox == run.sandbox and sandbox.startswith("bwrap (bubblewrap")
    assert json.loads(tasks) == ["conv_matrix"] and json.loads(limits)["call_seconds"] == 2
    assert finished
    companion = json.loads((out / "gradebook.run.json").read_text())
    assert companion["sandbox"] == run.sandbox and companion["grader_version"] == run.run.grader_version
    assert companion["settings_key"] == run.run.settings_key
    report = (out / "report.html").read_text()
    assert "How this was graded" in report and run.run.grader_version in report
    # the student reads when and by which rule; the grader's limits and hash are the instructor's
    feedback = (out / "feedback" / "ada_correct.md").read_text()
    gradescope = json.loads((out / "gradescope" / "ada_correct" / "results.json").read_text())
    for text in (feedback, gradescope["output"]):
        assert text.rstrip().endswith(exports.closing_line(run.run))
        assert run.run.started_at[:10] in exports.closing_line(run.run)
        assert run.run.grader_version not in text and run.sandbox not in text
        assert "call_seconds" not in text and "Limits" not in text

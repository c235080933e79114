"""Points and the LMS item's name are the course's settings (course.toml): one file, every
export of a run agrees with it, and changing it never runs student code again."""

import csv
import io
import shutil

import pytest

from grader.classgrade import run as classrun
from grader.classgrade.course import COURSE_FILE, Course, load_course
from grader.client import paths
from grader.core.results import CaseResult, SubmissionResult, TaskResult
from grader.core.tasks import TASKS

EXAMPLES = paths.KIT_ROOT / "examples" / "submissions"
WEEK_3 = [task for task in TASKS if task.week == 3]


def write(tmp_path, text):
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, want", [
    ("", Course()),
    ('assignment = "Lab 3: CNN"\n[points]\nmandatory = 2\noptional = 1\n[points.tasks]\n'
     "conv_matrix = 4\n",
     Course(assignment="Lab 3: CNN", mandatory=2.0, optional=1.0, points={"conv_matrix": 4.0})),
])
def test_a_course_file_is_read(tmp_path, text, want):
    path = write(tmp_path, text)
    assert load_course(path) == Course(**{**want.__dict__, "source": str(path)})


@pytest.mark.parametrize("text, want", [
    ("points = [", "is not a valid TOML course file"),
    ("asignment = 'x'",
     "unknown setting(s) 'asignment' in the top level; known: assignment, deadline, late_policy, "
     "lms_timezone, packages, points"),
    ("[points]\nmandatry = 1", "unknown setting(s) 'mandatry' in [points]"),
    ("[points.tasks]\nconv_matrx = 1", "Did you mean 'conv_matrix'?"),
    ("[points.tasks]\nconv_matrix = -1", "points of conv_matrix must be a number >= 0, got -1"),
    ("[points]\noptional = nan", "points of optional must be a number >= 0, got nan"),
    ("[points]\nmandatory = true", "points of mandatory must be a number >= 0, got True"),
    ("assignment = ''", "assignment must be the LMS item's name on one line"),
    ('assignment = "a\\nb"', "assignment must be the LMS item's name on one line"),
    ("points = 3", "[points] must be a table of settings"),
])
def test_a_bad_course_file_is_one_clear_error(tmp_path, text, want):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_course(path)
    assert str(error.value).startswith(str(path)) and want in str(error.value)


def test_the_kits_course_file_holds_the_defaults_and_a_missing_one_is_an_error(tmp_path):
    assert load_course() == Course(source=str(COURSE_FILE) if COURSE_FILE.exists() else "")
    with pytest.raises(ValueError, match="no such course file"):
        load_course(tmp_path / "none.toml")


def test_the_courses_points_then_this_runs():
    course = Course(mandatory=2.0, optional=1.0, points={"conv_matrix": 5.0, "relu_forward": 7.0})
    points = course.points_for(WEEK_3)
    assert points["conv_matrix"] == 5.0 and "relu_forward" not in points  # not graded this run
    assert {points[t.name] for t in WEEK_3 if t.name != "conv_matrix"} <= {2.0, 1.0}
    assert course.points_for(WEEK_3, mandatory=3.0, overrides={"conv_matrix": 1.0})[
        "conv_matrix"] == 1.0
    assert not hasattr(TASKS[0], "points")  # one place for points: the grader's code has none


def graded_without_a_sandbox(submission, tasks, **kwargs):
    """Every task passes: what is under test is the run, not the sandbox."""
    return SubmissionResult(submission.username, submission.content_hash(), tuple(
        TaskResult(task.name, "grade", (CaseResult(0, "ok"),)) for task in tasks))


def rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_changed_points_rewrite_every_export_and_grade_nothing_again(tmp_path, monkeypatch):
    monkeypatch.setattr(classrun, "grade_submission", graded_without_a_sandbox)
    folder, out, log = tmp_path / "subs", tmp_path / "out", io.StringIO()
    shutil.copytree(EXAMPLES / "ada_correct", folder / "ada_correct")
    course = write(tmp_path, 'assignment = "Lab 3"\n')

    def grade(**kwargs):
        return classrun.grade_class(submissions_dir=folder, out_dir=out, jobs=1, log=log,
                                    task_names=["conv_matrix", "box_blur"], course=course,
                                    **kwargs)
    first = grade()
    assert first.graded == ("ada_correct",) and first.points == {"conv_matrix": 1.0,
                                                                  "box_blur": 1.0}
    course.write_text('assignment = "Lab 3"\n[points.tasks]\nconv_matrix = 3\n')
    second = grade()
    assert second.graded == () and second.skipped_unchanged == ("ada_correct",)
    assert second.points == {"conv_matrix": 3.0, "box_blur": 1.0}
    assert rows(out / "gradebook.csv")[1][3:7] == ["3", "1", "4", "4"]
    assert rows(out / "lms" / "canvas.csv")[:2] == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 3"],
        ["    Points Possible", "", "", "", "", "4"]]
    assert rows(out / "lms" / "brightspace.csv")[0][2] == "Lab 3 Points Grade"
    assert "Score: 4 / 4 points" in (out / "feedback" / "ada_correct.md").read_text()
    assert '"score": 4.0' in (out / "gradescope" / "ada_correct" / "results.json").read_text()
    # a run with other points (--points) says so, and names the file that keeps points
    third = grade(points={"conv_matrix": 1.0, "box_blur": 1.0})
    assert third.notes[0] == (f"points changed since the last run (conv_matrix 3 -> 1): every "
                              f"export now uses this run's; to keep points for every run, set "
                              f"them in {course}")
    assert third.graded == ()

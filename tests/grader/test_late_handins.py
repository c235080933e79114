"""Late hand-ins in class grading: when each LMS download says a student handed in, judged
against the student's own deadline by grader.core.deadlines' policy, and what every export
then says and scores.

The downloads are made up here as each LMS names its files (grader/classgrade/lms_times.py
says what each one carries and where that was checked); the class is graded by hand-made
results, so no sandbox runs except in the last, slow test.
"""

import csv
import io
import json
import os
import re
import shutil
import sqlite3

import pytest
from grader_fixtures import write_files

from grader.classgrade import gradebook, late_handins
from grader.classgrade.course import Course, load_course
from grader.classgrade.exports.grades import Lateness
from grader.classgrade.gradebook import Gradebook
from grader.classgrade.lms_downloads import read_download
from grader.classgrade.lms_times import moodle_time, parse_zone
from grader.classgrade.run import write_exports
from grader.classgrade.runinfo import RunInfo
from grader.classgrade.submissions import Submission
from grader.client import paths
from grader.client.roster import Student
from grader.core import results
from grader.core.deadlines import LatePolicy
from grader.core.results import CaseResult, SubmissionResult, TaskResult

DEADLINE = "2026-12-11T23:59+01:00"
POINTS = {"conv_matrix": 2.0, "box_blur": 1.0}
ROSTER = {"ada": Student("ada", "Ada Lovelace", canvas_id="101", moodle_id="7001"),
          "ben": Student("ben", "Ben Okri", canvas_id="102", moodle_id="7002", extension="3d"),
          "cy": Student("cy", "Cy Twombly", canvas_id="103", moodle_id="7003"),
          "dee": Student("dee", "Dee Dee", canvas_id="104", moodle_id="7004",
                         extension="2026-12-20T12:00+01:00")}


make = write_files


def by_user(intake):
    return {s.username: (s.handed_in, s.marked_late) for s in intake.submissions}


# -- what each download says about the time ---------------------------------------------------
def test_canvas_marks_late_files_and_gives_no_time(tmp_path):
    folder = make(tmp_path / "submissions", {
        "lovelaceada_101_5001_assignment.ipynb": "{}",
        "lovelaceada_101_5001_Blocks-1.py": "x = 1",
        "okriben_LATE_102_5002_assignment.ipynb": "{}",
        "okriben_LATE_102_5002_Blocks.py": "x = 2",
        "twomblycy_103_5003_assignment-2.ipynb": "{}",
        "twomblycy_LATE_103_5003_Blocks.py": "y = 1",   # one file late: the whole is late
        "notes.txt": ""})
    intake = read_download(folder, lms="canvas", roster=ROSTER)
    assert by_user(intake) == {"ada": ("", False), "ben": ("", True), "cy": ("", True)}


def test_moodle_times_come_from_its_grading_worksheet_beside_the_folders(tmp_path):
    worksheet = io.StringIO(newline="")
    writer = csv.writer(worksheet)
    writer.writerow(["Identifier", "Full name", "Email address", "Status", "Grade",
                     "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                     "Last modified (grade)", "Feedback comments"])
    writer.writerow(["Participant 7001", "Ada Lovelace", "", "Submitted for grading", "", "3",
                     "Yes", "Friday, 11 December 2026, 11:58 PM", "-", ""])
    writer.writerow(["Participant 7002", "Ben Okri", "", "Submitted for grading", "", "3",
                     "Yes", "Sunday, 13 December 2026, 9:05 AM", "-", ""])
    writer.writerow(["Participant 7003", "Cy Twombly", "", "Submitted", "", "3", "Yes",
                     "vendredi 11 décembre 2026, 23:58", "-", ""])     # another language
    writer.writerow(["Participant 7004", "Dee Dee", "", "No submission", "", "3", "Yes", "-",
                     "-", ""])
    folder = make(tmp_path / "dl", {
        "Ada Lovelace_7001_assignsubmission_file_/assignment.ipynb": "{}",
        "Ada Lovelace_7001_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>",
        "Ben Okri_7002_assignsubmission_file_/assignment.ipynb": "{}",
        "Ben Okri_7002_assignsubmission_file_/Blocks.py": "x = 1",
        "Cy Twombly_7003_assignsubmission_file_assignment.ipynb": "{}",
        "Grades-CNN-Assignment 3-77.csv": "\ufeff" + worksheet.getvalue()})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert by_user(intake) == {"ada": ("2026-12-11T23:58:00", False),
                               "ben": ("2026-12-13T09:05:00", False), "cy": ("", False)}
    assert [line for line in intake.ignored if "Participant 7003" in line] == [
        "Grades-CNN-Assignment 3-77.csv: Participant 7003: 'vendredi 11 décembre 2026, 23:58' "
        "is not a time Moodle writes in English; that student's hand-in time is unknown"]


def test_a_worksheet_that_is_a_link_is_never_read(tmp_path):
    secret = make(tmp_path, {"elsewhere.csv": "Identifier,Last modified (submission)\n"
                                               "Participant 7001,\"Friday, 11 December 2026, 11:58 PM\"\n"})
    folder = make(tmp_path / "dl", {"Ada Lovelace_7001_assignsubmission_file_/a.ipynb": "{}"})
    os.symlink(secret / "elsewhere.csv", folder / "worksheet.csv")
    os.link(secret / "elsewhere.csv", folder / "hard.csv")
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert by_user(intake) == {"ada": ("", False)}
    assert "hard.csv: cannot be read (a hard link to a file that also has a name outside the " \
           "submissions folder, not read as Moodle's grading worksheet), ignored" in intake.ignored
    assert "worksheet.csv: not named as Moodle names a submission, ignored" in intake.ignored


def test_brightspace_times_are_in_its_folder_names(tmp_path):
    make(tmp_path / "dl" / "Assignment 3 Download Dec 14, 2026 1002 AM", {
        "index.html": "<html></html>",
        "39786-640693 - Lovelace, Ada - Dec 11, 2026 1158 PM/assignment.ipynb": '{"a": 1}',
        "39790-640693 - Lovelace, Ada - Dec 12, 2026 1230 AM/assignment.ipynb": '{"a": 2}',
        "39787-640694 - Ben Okri - Dec 13, 2026 905 AM - assignment.ipynb": "{}"})
    intake = read_download(tmp_path / "dl", lms="brightspace", roster=ROSTER)
    assert by_user(intake) == {"ada": ("2026-12-12T00:30:00", False),   # the latest attempt
                               "ben": ("2026-12-13T09:05:00", False)}


@pytest.mark.parametrize("text, want", [
    ("Friday, 11 December 2026, 11:59 PM", "2026-12-11T23:59:00"),
    ("Tuesday, 1 December 2026, 9:05 AM", "2026-12-01T09:05:00"),
    ("1 December 2026, 09:05 PM", "2026-12-01T21:05:00"),
    ("Friday, 11 December 2026, 23:59", "2026-12-11T23:59:00"),
    ("-", ""), ("11/12/2026", ""), ("Friday, 31 February 2026, 11:59 PM", ""),
])
def test_moodle_time(text, want):
    assert moodle_time(text) == want


@pytest.mark.parametrize("text, want_hours", [
    ("+01:00", 1.0), ("-05:30", -5.5), ("UTC+2", 2.0), ("Z", 0.0), ("UTC", 0.0),
])
def test_lms_timezone_as_an_offset(text, want_hours):
    from datetime import datetime
    assert parse_zone(text).utcoffset(datetime(2026, 12, 11)).total_seconds() / 3600 == want_hours


def test_a_bad_lms_timezone_is_named():
    with pytest.raises(ValueError, match=r"LMS time zone 'Mars/Olympus' is neither a time zone"):
        parse_zone("Mars/Olympus")


# -- each case against each policy ------------------------------------------------------------
PENALTY = "penalty:10%/day,max 50%"


@pytest.mark.parametrize("lms, username, handed_in, marked, policy, zone, want", [
    # a minute early, and 31 minutes late read in the deadline's own offset (+01:00)
    ("brightspace", "ada", "2026-12-11T23:58:00", False, PENALTY, "", (0, 1.0, "")),
    ("brightspace", "ada", "2026-12-12T00:30:00", False, PENALTY, "",
     (1, 0.9, "handed in 1 day late: 10%/day, max 50%, -10%")),
    # the same folder name read in UTC is 1 h 31 min late: still one started day
    ("brightspace", "ada", "2026-12-12T00:30:00", False, PENALTY, "UTC",
     (1, 0.9, "handed in 1 day late: 10%/day, max 50%, -10%")),
    # in New York the same clock time is 6 hours later still: still 1 day
    ("brightspace", "cy", "2026-12-11T18:30:00", False, PENALTY, "America/New_York",
     (1, 0.9, "handed in 1 day late: 10%/day, max 50%, -10%")),
    ("moodle", "cy", "2026-12-13T23:30:00", False, "penalty:10%/day", "",
     (2, 0.8, "handed in 2 days late: 10%/day, -20%")),
    ("moodle", "cy", "2026-12-20T09:00:00", False, PENALTY, "",
     (9, 0.5, "handed in 9 days late: 10%/day, max 50%, -50% (the most taken)")),
    ("moodle", "cy", "2026-12-13T09:05:00", False, "count", "",
     (2, 1.0, "handed in 2 days late: late work counts in full")),
    ("moodle", "cy", "2026-12-13T09:05:00", False, "ignore", "",
     (2, 0.0, "handed in 2 days late: late work does not count (0 points)")),
    # extensions: 3 days more (ben), a deadline of one's own (dee)
    ("moodle", "ben", "2026-12-13T09:05:00", False, PENALTY, "", (0, 1.0, "")),
    ("moodle", "ben", "2026-12-15T09:05:00", False, PENALTY, "",
     (1, 0.9, "handed in 1 day late: 10%/day, max 50%, -10%")),
    ("brightspace", "dee", "2026-12-20T11:59:00", False, "ignore", "", (0, 1.0, "")),
    # Canvas: a mark, no time
    ("canvas", "cy", "", False, PENALTY, "", (0, 1.0, "")),
    ("canvas", "cy", "", True, PENALTY, "",
     (1, 0.9, "marked late by Canvas (its download gives no time: counted as 1 day late, the "
              "least it can be): 10%/day, max 50%, -10%")),
    ("canvas", "cy", "", True, "ignore", "",
     (1, 0.0, "marked late by Canvas (its download gives no time: counted as 1 day late, the "
              "least it can be): late work does not count (0 points)")),
    ("canvas", "ben", "", True, PENALTY, "", (0, 1.0, "")),     # an extension: not penalised
    ("moodle", "cy", "", False, PENALTY, "", (0, 1.0, "")),     # no time known: on time
])
def test_lateness(lms, username, handed_in, marked, policy, zone, want):
    deadlines = late_handins.Deadlines.read(DEADLINE, policy, zone)
    submission = Submission(username, None, handed_in=handed_in, marked_late=marked)
    found, notes, lines = late_handins.lateness([submission], ROSTER, deadlines, lms)
    late = found[username]
    assert (late.days, late.factor, late.words) == want
    unknown = (lms != "canvas" and not handed_in) or (lms == "canvas" and marked and
                                                       ROSTER[username].extension)
    # one more line, for the run: zone-less times read at the deadline's fixed offset
    warned = lms != "canvas" and bool(handed_in) and not zone
    assert bool(notes) is bool(unknown) and len(lines) == len(notes) + warned
    assert any("--lms-timezone" in line for line in lines) is warned


@pytest.mark.parametrize("submission, lms, for_student, for_instructor", [
    (Submission("cy", None), "moodle",
     "when you handed in is not in the download; counted as on time",
     "cy: the download has no hand-in time for cy; counted as on time"),
    (Submission("cy", None, handed_in="0001-01-01T00:00:00"), "brightspace",
     "the download's hand-in time 0001-01-01T00:00:00 lies outside 1970-9998, so when you "
     "handed in is not known; counted as on time",
     "cy: the download's hand-in time 0001-01-01T00:00:00 lies outside 1970-9998, so when cy "
     "handed in is not known; counted as on time"),
    (Submission("ben", None, marked_late=True), "canvas",
     "Canvas marks this submission late, but you have an extension and Canvas's download gives "
     "no time to compare with it: not penalised (your instructor checks the time in Canvas)",
     "ben: Canvas marks ben's submission late, but ben has an extension (3d on the roster) and "
     "Canvas's download gives no time to compare with it: not penalised; check ben's hand-in "
     "time in Canvas"),
])
def test_the_student_is_told_in_the_feedback_and_the_instructor_about_the_student(
        submission, lms, for_student, for_instructor):
    """The feedback speaks to the student; the terminal's line names them (it said "you")."""
    found, notes, lines = late_handins.lateness(
        [submission], ROSTER, late_handins.Deadlines.read(DEADLINE, PENALTY, "UTC"), lms)
    assert notes == {submission.username: (for_student,)}
    assert lines == [for_instructor]
    assert found[submission.username].factor == 1.0
    assert not re.search(r"\byour?\b", for_instructor)


def test_the_recorded_times_are_utc_and_the_deadline_is_the_students_own():
    deadlines = late_handins.Deadlines.read(DEADLINE, PENALTY, "Europe/Amsterdam")
    found, _, _ = late_handins.lateness(
        [Submission("ben", None, handed_in="2026-12-15T09:05:00")], ROSTER, deadlines, "moodle")
    assert found["ben"].handed_in == "2026-12-15T08:05:00+00:00"
    assert found["ben"].deadline == "2026-12-14T22:59:00+00:00"   # 3 days more


# -- the settings: command line, course.toml ---------------------------------------------------
@pytest.mark.parametrize("given, course, lms, want", [
    ({}, Course(), "moodle", None),
    ({"deadline": DEADLINE}, Course(), "moodle", (DEADLINE, str(LatePolicy()), "")),
    ({}, Course(deadline=DEADLINE, late_policy=PENALTY, lms_timezone="Europe/Amsterdam"),
     "brightspace", (DEADLINE, PENALTY, "Europe/Amsterdam")),
    ({"late_policy": "count"}, Course(deadline=DEADLINE, late_policy=PENALTY), "canvas",
     (DEADLINE, "count", "")),
    # an explicit --deadline for plain folders stops, saying where the deadline came from
    ({"deadline": DEADLINE}, Course(), None, "--deadline 2026-12-11T23:59.01:00, given on the "
     "command line, needs an LMS download"),
    ({"deadline": DEADLINE}, Course(deadline=DEADLINE), None, "given on the command line"),
    # course.toml's deadline for plain folders: not applied (not_applied says so), no error
    ({}, Course(deadline=DEADLINE, late_policy=PENALTY), None, None),
    # an empty flag clears course.toml's value, for this run
    ({"deadline": ""}, Course(deadline=DEADLINE, late_policy=PENALTY), "moodle", None),
    ({"deadline": ""}, Course(deadline=DEADLINE), None, None),
    ({"late_policy": ""}, Course(deadline=DEADLINE, late_policy=PENALTY), "moodle",
     (DEADLINE, "ignore", "")),
    ({"lms_timezone": ""}, Course(deadline=DEADLINE, lms_timezone="UTC"), "moodle",
     (DEADLINE, "ignore", "")),
    ({"late_policy": "count"}, Course(), "moodle", "--late-policy and --lms-timezone need a"),
    ({"deadline": "2026-12-11T23:59"}, Course(), "moodle", "has no UTC offset"),
    ({"deadline": DEADLINE, "late_policy": "half"}, Course(), "moodle",
     "late policy 'half' is not one of"),
])
def test_settings_for_a_run(given, course, lms, want):
    kwargs = {"deadline": None, "late_policy": None, "lms_timezone": None, **given}
    if isinstance(want, str):
        with pytest.raises(ValueError, match=want):
            late_handins.for_run(course, lms=lms, **kwargs)
        return
    found = late_handins.for_run(course, lms=lms, **kwargs)
    assert (found if found is None else
            (found.deadline, str(found.policy), found.lms_timezone)) == want


@pytest.mark.parametrize("text, want", [
    (f'deadline = "{DEADLINE}"\nlate_policy = "{PENALTY}"\nlms_timezone = "+01:00"\n',
     (DEADLINE, PENALTY, "+01:00")),
    ('late_policy = "count"\n', ("", "count", "")),
    ('deadline = "tomorrow"\n', "course.toml: deadline 'tomorrow' is not an ISO 8601 time"),
    ("deadline = 2026-12-11T23:59:00+01:00\n", "deadline must be a string"),
    ('lms_timezone = "Mars"\n', "LMS time zone 'Mars' is neither"),
])
def test_course_file_deadline_keys(tmp_path, text, want):
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    if isinstance(want, str):
        with pytest.raises(ValueError, match=want):
            load_course(path)
        return
    course = load_course(path)
    assert (course.deadline, course.late_policy, course.lms_timezone) == want


@pytest.mark.parametrize("given, course, lms, want", [
    ({}, Course(deadline=DEADLINE, source="/c/course.toml"), None,
     {"not_applied": DEADLINE, "source": "/c/course.toml"}),
    ({}, Course(deadline=DEADLINE), None, {"not_applied": DEADLINE, "source": "course.toml"}),
    ({}, Course(deadline=DEADLINE), "canvas", {}),          # applied
    ({"deadline": ""}, Course(deadline=DEADLINE), None, {}),   # cleared: nothing to say
    ({}, Course(), None, {}),
])
def test_a_course_deadline_not_applied_is_recorded(given, course, lms, want):
    found = late_handins.not_applied(course, lms=lms, **{"deadline": None, **given})
    assert {key: found[key] for key in want} == want and set(found) <= {*want, "why"}
    assert ("why" in found) is bool(want)
    if want:  # the why says what is missing and how to apply it
        assert "carry no submission times" in found["why"] and "--lms" in found["why"]


def test_grade_flags_reach_grade_class(monkeypatch):
    from grader import cli
    from grader.classgrade import run as classrun
    args = cli.build_parser().parse_args(["grade", "--lms", "moodle", "--deadline", DEADLINE,
                                          "--late-policy", PENALTY, "--lms-timezone", "UTC"])
    calls = []
    monkeypatch.setattr(classrun, "grade_class",
                        lambda **kwargs: calls.append(kwargs) or classrun.ClassRun())
    assert args.run(args) == 0
    assert {key: calls[0][key] for key in ("deadline", "late_policy", "lms_timezone")} == {
        "deadline": DEADLINE, "late_policy": PENALTY, "lms_timezone": "UTC"}


def test_a_deadline_for_plain_folders_is_refused_before_anything_is_written(tmp_path):
    from grader.classgrade.run import grade_class
    make(tmp_path / "class", {"ada/assignment.ipynb": "{}"})
    with pytest.raises(ValueError, match="given on the command line, needs an LMS download"):
        grade_class(submissions_dir=tmp_path / "class", out_dir=tmp_path / "out",
                    sandbox="plain", deadline=DEADLINE, log=open(os.devnull, "w"))
    assert not (tmp_path / "out").exists()


@pytest.mark.sandbox
def test_plain_folders_are_graded_without_course_tomls_deadline_and_the_run_says_so(tmp_path):
    """course.toml's deadline (as docs/grading-a-class.md shows it) for <username> folders:
    graded, one warning line, and the run's record claims no deadline (it used to stop with
    "--deadline needs an LMS download", a flag never given)."""
    from grader.classgrade.run import grade_class
    make(tmp_path / "class", {"ada/assignment.ipynb": "{}", "ben/assignment.ipynb": "{}"})
    course = Course(deadline=DEADLINE, late_policy=PENALTY, source=str(tmp_path / "course.toml"))
    log = io.StringIO()
    run = grade_class(submissions_dir=tmp_path / "class", out_dir=tmp_path / "out", jobs=1,
                      course=course, task_names=["conv_matrix"], log=log)
    assert run.graded == ("ada", "ben") and run.late == {}
    warned = [line for line in log.getvalue().splitlines() if DEADLINE in line]
    assert len(warned) == 1 and "not applied" in warned[0] and "--lms" in warned[0]
    assert str(tmp_path / "course.toml") in warned[0]
    record = json.loads((tmp_path / "out" / "gradebook.run.json").read_text())["deadlines"]
    assert "deadline" not in record and record["not_applied"] == DEADLINE
    assert "Deadline: none applied" in (tmp_path / "out" / "report.html").read_text()
    assert "days_late" not in rows(tmp_path / "out" / "gradebook.csv")[0]


# -- what the exports say and score ------------------------------------------------------------
def task(name, passed):
    return TaskResult(name, "grade", (CaseResult(0, results.OK if passed else results.MISMATCH,
                                                 "" if passed else "values differ"),))


CLASS = {"ada": SubmissionResult("ada", "h1", (task("conv_matrix", True), task("box_blur", True))),
         "ben": SubmissionResult("ben", "h2", (task("conv_matrix", True), task("box_blur", False))),
         "cy": SubmissionResult("cy", "h3", (task("conv_matrix", True), task("box_blur", True)))}
LATE = {"ada": Lateness("2026-12-11T22:58:00+00:00", "2026-12-11T22:59:00+00:00", 0, 1.0),
        "ben": Lateness("2026-12-13T08:05:00+00:00", "2026-12-11T22:59:00+00:00", 2, 0.8,
                        "handed in 2 days late: 10%/day, -20%"),
        "cy": Lateness("2026-12-20T08:05:00+00:00", "2026-12-11T22:59:00+00:00", 9, 0.0,
                       "handed in 9 days late: late work does not count (0 points)")}


@pytest.fixture
def exported(tmp_path):
    run = RunInfo.now(sandbox_mode="plain", sandbox="plain", tasks=list(POINTS), limits={},
                      points=POINTS, deadlines={"deadline": DEADLINE, "late_policy": "penalty:"
                                                "10%/day", "lms_timezone": ""})
    write_exports(tmp_path, students=list(ROSTER.values()), results=CLASS, points=POINTS,
                  run=run, lms_ids={"canvas": {}, "moodle": {"ada": "7001", "ben": "7002",
                                                             "cy": "7003"}, "brightspace": {}},
                  late=LATE)
    return tmp_path


def rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_gradebook_csv_scores_and_records_the_lateness(exported):
    table = {row["username"]: row for row in rows(exported / "gradebook.csv")}
    assert [(u, table[u]["score"], table[u]["percent"], table[u]["days_late"])
            for u in ("ada", "ben", "cy", "dee")] == [
        ("ada", "3", "100.0", "0"), ("ben", "1.6", "53.3", "2"), ("cy", "0", "0.0", "9"),
        ("dee", "0", "0.0", "")]
    assert table["ben"]["conv_matrix"] == "1.6"
    assert table["ben"]["handed_in"] == "2026-12-13T08:05:00+00:00"
    assert table["ben"]["late"] == "handed in 2 days late: 10%/day, -20%"
    assert table["dee"]["status"] == "no submission"


def test_lms_imports_carry_the_late_score_and_moodle_says_why(exported):
    canvas = list(csv.reader(io.StringIO((exported / "lms" / "canvas.csv").read_text())))
    assert [row[-1] for row in canvas[2:]] == ["3", "1.6", "0", ""]
    moodle = {row["Identifier"]: row for row in rows(exported / "lms" / "moodle.csv")}
    assert moodle["Participant 7002"]["Grade"] == "1.60"
    assert moodle["Participant 7002"]["Feedback comments"] == (
        "1.6 / 3 points. Passed: conv_matrix. Failed: box_blur. Handed in 2 days late: "
        "10%/day, -20%.")
    assert moodle["Participant 7001"]["Feedback comments"].endswith("Failed: none.")
    brightspace = list(csv.reader(io.StringIO((exported / "lms" / "brightspace.csv").read_text())))
    assert [row[2] for row in brightspace[1:]] == ["3", "1.6", "0", ""]


def test_feedback_report_and_gradescope_say_it(exported):
    ben = (exported / "feedback" / "ben.md").read_text()
    assert "Score: 1.6 / 3 points (53.3%)" in ben
    assert ("Handed in 2026-12-13 08:05:00+00:00 (UTC); your deadline 2026-12-11 22:59:00+00:00 "
            "(UTC). Handed in 2 days late: 10%/day, -20%. Before the late policy: 2 points."
            ) in ben
    assert "late" not in (exported / "feedback" / "ada.md").read_text().split("##")[0].lower()
    report = (exported / "report.html").read_text()
    assert "<li>ben: handed in 2 days late: 10%/day, -20% (handed in 2026-12-13T08:05:00+00:00" in report
    assert "ada:" not in report.split('id="late"')[1].split("</ul>")[0]
    assert "Deadline: 2026-12-11T23:59+01:00, late policy penalty:10%/day" in report
    ben_json = json.loads((exported / "gradescope" / "ben" / "results.json").read_text())
    assert ben_json["score"] == pytest.approx(1.6)
    assert "Handed in 2 days late: 10%/day, -20%." in ben_json["output"]


# -- the gradebook records them ---------------------------------------------------------------
def test_the_gradebook_records_each_runs_handins_and_deadline(tmp_path):
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.add_students(ROSTER.values())
        info = RunInfo.now(sandbox_mode="plain", sandbox="plain", tasks=list(POINTS), limits={},
                           points=POINTS, deadlines={"deadline": DEADLINE})
        run_id = book.start_run(info)
        book.record_handins(run_id, LATE, {"ada": "h1", "ben": "h2", "cy": "h3"})
        assert book.runs()[-1]["deadlines"] == {"deadline": DEADLINE}
        found = book.handins(run_id)
    assert (found["ben"]["handed_in"], found["ben"]["days_late"], found["ben"]["factor"],
            found["ben"]["content_hash"]) == ("2026-12-13T08:05:00+00:00", 2, 0.8, "h2")


def test_a_new_deadline_regrades_nothing():
    """Like points, the deadline only weighs verdicts: it is not part of the settings key."""
    def info(deadlines):
        return RunInfo(started_at="2026-12-14T10:00:00+00:00", grader_version="v", sandbox_mode="plain",
                       sandbox="plain", tasks=tuple(POINTS), limits={}, points=POINTS,
                       deadlines=deadlines)
    plain, late = info({}), info({"deadline": DEADLINE, "late_policy": PENALTY})
    assert plain.settings_key == late.settings_key
    assert late.describe()[-1] == ("Deadline: 2026-12-11T23:59+01:00, late policy penalty:10%/day,"
                                   "max 50%, download times read in UTC+01:00, the deadline's "
                                   "fixed offset (an hour off across a daylight-saving change: "
                                   "give a zone name, e.g. --lms-timezone Europe/Amsterdam)")
    assert plain.describe()[-1].startswith("Limits:")


def test_a_version_2_gradebook_is_upgraded_to_record_handins(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(gradebook.SCHEMA)
        db.execute(gradebook.RUNS)
        for statement in gradebook.MIGRATIONS[2]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO runs (started_at, grader_version, sandbox, settings_key, tasks, "
                   "limits, points) VALUES ('2026-01-01', 'v', 'plain', 'k', '[]', '{}', '{}')")
    with Gradebook(path) as book:
        assert book.runs()[0]["deadlines"] == {} and book.handins(1) == {}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == gradebook.SCHEMA_VERSION == 3


# -- the whole round trip, graded in the sandbox ----------------------------------------------
@pytest.mark.sandbox
@pytest.mark.slow
def test_a_late_brightspace_download_is_graded_and_penalised(tmp_path):
    from grader.classgrade.run import grade_class
    from grader.classgrade.sandbox.limits import Limits
    examples = paths.KIT_ROOT / "examples" / "submissions"
    download = tmp_path / "download"
    for name, when, source in [("Ada Example", "Dec 11, 2026 1130 PM", "ada_correct"),
                               ("Ben Example", "Dec 13, 2026 1000 AM", "ada_correct")]:
        folder = download / f"1-2 - {name} - {when}"
        folder.mkdir(parents=True)
        shutil.copy(examples / source / "assignment.ipynb", folder / "assignment.ipynb")
    (download / "index.html").write_text("<html></html>")
    roster = tmp_path / "students.csv"
    roster.write_text("username,name,email,extension\nada,Ada Example,,\nben,Ben Example,,\n"
                      "cy,Cy Example,,2d\n", encoding="utf-8")
    out = tmp_path / "out"
    run = grade_class(submissions_dir=download, out_dir=out, roster_path=roster,
                      lms="brightspace", task_names=["conv_matrix"], jobs=2,
                      log=open(os.devnull, "w"), deadline=DEADLINE, late_policy=PENALTY,
                      lms_timezone="Europe/Amsterdam",
                      limits=Limits(call_seconds=2, task_seconds=5, load_seconds=10,
                                    submission_seconds=120))
    assert run.graded == ("ada", "ben")
    table = {row["username"]: row for row in rows(out / "gradebook.csv")}
    assert [(u, table[u]["score"], table[u]["days_late"]) for u in ("ada", "ben", "cy")] == [
        ("ada", "1", "0"), ("ben", "0.8", "2"), ("cy", "0", "")]
    with Gradebook(out / "gradebook.sqlite") as book:
        assert book.handins(book.runs()[-1]["id"])["ben"]["factor"] == pytest.approx(0.8)


def test_an_extension_past_any_calendar_stops_the_run_before_anything_is_graded(tmp_path):
    """A course deadline late in 9998 and a roster extension of days past it: refused naming
    the student before grading (it used to raise after every submission was graded)."""
    from grader.classgrade.run import grade_class
    download = make(tmp_path / "download", {
        "1-2 - Ada Example - Dec 11, 2026 1130 PM/assignment.ipynb": "{}",
        "index.html": "<html></html>"})
    roster = tmp_path / "students.csv"
    roster.write_text("username,name,email,extension\nada,Ada Example,,3650d\n", encoding="utf-8")
    with pytest.raises(ValueError, match="extension of ada: .*outside 1970-9998"):
        grade_class(submissions_dir=download, out_dir=tmp_path / "out", roster_path=roster,
                    lms="brightspace", deadline="9998-06-01T00:00Z", late_policy="count")
    assert not (tmp_path / "out" / "gradebook.sqlite").exists()

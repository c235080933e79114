"""LMS downloads a second red team made up: Brightspace attempts handed in the same minute, and
download times at the ends of the calendar.

Each case is one that changed a grade or stopped a run after grading; the downloads are made up
here, named as each LMS names its files (grader/classgrade/lms_layouts.py).
"""

import pytest
from grader_fixtures import write_files

from grader.classgrade import late_handins
from grader.classgrade.lms_downloads import read_download
from grader.classgrade.lms_layouts import read_brightspace
from grader.classgrade.lms_times import moodle_time
from grader.classgrade.submissions import Submission
from grader.client.roster import Student

BOB = {"bob": Student("bob", "Bob Smith")}
MINUTE = "Bob Smith - Dec 11, 2026 1158 PM"


def graded(intake):
    """``{username: the graded notebook's text}``."""
    return {s.username: s.notebook.read_text() for s in intake.submissions}


# -- 1. two attempts in one minute --------------------------------------------------------------
@pytest.mark.parametrize("files, newest, older", [
    ({f"100-8 - {MINUTE}/assignment.ipynb": "old", f"100-9 - {MINUTE}/assignment.ipynb": "new"},
     "100-9", ["100-8"]),
    # 10 > 9 as numbers, though "100-10" sorts before "100-9" as text
    ({f"100-10 - {MINUTE}/assignment.ipynb": "new", f"100-9 - {MINUTE}/assignment.ipynb": "old"},
     "100-10", ["100-9"]),
    ({f"99-7 - {MINUTE}/assignment.ipynb": "old", f"100-7 - {MINUTE}/assignment.ipynb": "new"},
     "100-7", ["99-7"]),
    # flat files (older downloads): one attempt is every file with the same name before " - "
    ({f"100-8 - {MINUTE} - assignment.ipynb": "old", f"100-8 - {MINUTE} - Blocks.py": "x = 1",
      f"100-11 - {MINUTE} - assignment.ipynb": "new"}, "100-11", ["100-8"]),
    ({f"100-1 - {MINUTE}/assignment.ipynb": "old",
      f"100-2 - {MINUTE}/assignment.ipynb": "older",
      f"100-003 - {MINUTE}/assignment.ipynb": "new"}, "100-003", ["100-1", "100-2"]),
])
def test_attempts_of_one_minute_stay_apart_and_the_latest_is_graded(tmp_path, files, newest,
                                                                    older):
    folder = write_files(tmp_path / "dl", {"index.html": "<html></html>", **files})
    intake = read_download(folder, lms="brightspace", roster=BOB)
    assert graded(intake) == {"bob": "new"}
    assert [s.py_files for s in intake.submissions] == [()]   # nothing of an older attempt
    note, = intake.notes["bob"]
    assert note.startswith(f"{len(older) + 1} attempts handed in the same minute "
                           "(2026-12-11T23:58:00): graded ")
    assert f"{newest} - {MINUTE}" in note
    assert all(f"{number} - {MINUTE}" in note.split("not graded:")[1] for number in older)
    assert "bob: " + note in intake.ignored
    assert not any("a second file of that name" in line for line in intake.ignored)


def test_one_attempt_per_folder_even_within_a_minute(tmp_path):
    folder = write_files(tmp_path / "dl", {f"100-8 - {MINUTE}/assignment.ipynb": "a",
                                           f"100-9 - {MINUTE}/assignment.ipynb": "b",
                                           f"100-10 - {MINUTE} - assignment.ipynb": "c",
                                           f"100-10 - {MINUTE} - Blocks.py": "d"})
    entries, _ = read_brightspace(folder)
    assert sorted((e.label, len(e.files)) for e in entries) == [
        (f"100-10 - {MINUTE}", 2), (f"100-8 - {MINUTE}", 1), (f"100-9 - {MINUTE}", 1)]


def test_undated_attempts_stay_apart_and_the_note_says_so(tmp_path):
    folder = write_files(tmp_path / "dl", {
        "100-9 - Bob Smith - Feb 30, 2026 1157 PM/assignment.ipynb": "old",
        "100-10 - Bob Smith - Dec 11, 2026 1360 PM/assignment.ipynb": "new"})
    intake = read_download(folder, lms="brightspace", roster=BOB)
    assert graded(intake) == {"bob": "new"}
    assert intake.notes["bob"][0].startswith("2 attempts without a readable date: graded 100-10")


def test_attempts_of_different_minutes_need_no_note(tmp_path):
    folder = write_files(tmp_path / "dl", {
        "100-9 - Bob Smith - Dec 11, 2026 1157 PM/assignment.ipynb": "old",
        f"100-8 - {MINUTE}/assignment.ipynb": "new"})   # the time decides, not the numbers
    intake = read_download(folder, lms="brightspace", roster=BOB)
    assert graded(intake) == {"bob": "new"} and "bob" not in intake.notes


def test_a_submission_number_of_200_digits_is_compared_as_a_number(tmp_path):
    big = "9" * 200
    folder = write_files(tmp_path / "dl", {f"100-{big} - {MINUTE}/assignment.ipynb": "new",
                                           f"100-8 - {MINUTE}/assignment.ipynb": "old"})
    intake = read_download(folder, lms="brightspace", roster=BOB)
    assert graded(intake) == {"bob": "new"}


# -- 2. times at the ends of the calendar ---------------------------------------------------------
@pytest.mark.parametrize("handed_in, zone", [
    ("9999-12-31T23:59:00", "-12:00"),   # year 10000 in UTC
    ("9999-12-31T23:59:00", "+14:00"),   # still past 9998
    ("0001-01-01T00:00:00", "+14:00"),   # year 0 in UTC
    ("0001-01-01T12:00:00", "-12:00"),   # a real instant, long before 1970
    ("1969-12-31T23:00:00", "+00:00"),
    ("9999-01-01T00:00:00", "+00:00"),
    ("9999-12-31T23:59:00", "Etc/GMT+12"),         # zone names too (Etc/GMT+12 is UTC-12)
    ("0001-01-01T00:00:00", "Pacific/Kiritimati"),
    ("0001-01-01T00:00:00", "Europe/Amsterdam"),
])
def test_a_time_outside_1970_9998_is_unknown_not_a_crash(handed_in, zone):
    deadlines = late_handins.Deadlines.read("2026-12-11T23:59+01:00", "penalty:10%/day,max 50%",
                                            zone)
    found, notes, lines = late_handins.lateness([Submission("ada", None, handed_in=handed_in)],
                                                {}, deadlines, "brightspace")
    assert (found["ada"].handed_in, found["ada"].days, found["ada"].factor) == ("", 0, 1.0)
    note, = notes["ada"]
    assert note.startswith(f"the download's hand-in time {handed_in} lies outside 1970-9998")
    assert "counted as on time" in note
    assert f"ada: {note.replace('when you', 'when ada')}" in lines   # the instructor's line


@pytest.mark.parametrize("handed_in, days", [
    ("1970-01-01T12:00:00", 0), ("9998-12-30T12:00:00", 2911732)])
def test_times_just_inside_the_bounds_are_judged(handed_in, days):
    deadlines = late_handins.Deadlines.read("2026-12-11T23:59+01:00", "count", "+00:00")
    found, notes, _ = late_handins.lateness([Submission("ada", None, handed_in=handed_in)], {},
                                            deadlines, "moodle")
    assert found["ada"].days == days and found["ada"].handed_in and "ada" not in notes


@pytest.mark.parametrize("cell", ["Friday, 31 December 9999, 11:59 PM",
                                  "Monday, 1 January 0001, 12:00 AM"])
def test_moodle_cells_at_the_ends_of_the_calendar_end_as_unknown(cell):
    deadlines = late_handins.Deadlines.read("2026-12-11T23:59+01:00", "ignore", "-12:00")
    found, notes, _ = late_handins.lateness([Submission("ada", None, handed_in=moodle_time(cell))],
                                            {}, deadlines, "moodle")
    assert found["ada"].factor == 1.0 and "outside 1970-9998" in notes["ada"][0]


# -- 1b. the sibling in Canvas: a file uploaded again, -1, -2 ... -10 ---------------------------
ADA = {"ada": Student("ada", "Ada Lovelace", canvas_id="101")}


@pytest.mark.parametrize("suffixes, latest", [
    (["", "-1"], "-1"),
    (["-1", "-2"], "-2"),        # "-1" sorts first by name, yet -2 is the later upload
    (["-9", "-10"], "-10"),
    (["", "-2", "-10", "-9"], "-10"),
])
def test_canvas_grades_the_file_uploaded_last(tmp_path, suffixes, latest):
    files = {f"lovelaceada_101_5001_Blocks{s}.py": f"v{s}" for s in suffixes}
    folder = write_files(tmp_path / "dl", {"lovelaceada_101_5001_assignment.ipynb": "{}", **files})
    intake = read_download(folder, lms="canvas", roster=ADA)
    submission, = intake.submissions
    blocks = {p.name: p.read_text() for p in submission.py_files}
    assert blocks["Blocks.py"] == f"v{latest}"


@pytest.mark.parametrize("date, want", [
    ("Jun 24, 2026 1121 PM", "2026-06-24T23:21:00"),
    ("Jun 24, 2026 11:21 PM", "2026-06-24T23:21:00"),     # the form other downloads show
    ("Jun 4, 2026 9:05 AM", "2026-06-04T09:05:00"),
    ("Jun 24, 2026 11:61 PM", ""),
])
def test_brightspace_times_with_or_without_a_colon(date, want):
    from grader.classgrade import lms_layouts
    match = lms_layouts._BRIGHTSPACE.fullmatch(f"100-9 - Bob Smith - {date}")
    assert match is not None and lms_layouts._when(match["date"]) == want

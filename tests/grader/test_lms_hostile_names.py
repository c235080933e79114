"""LMS downloads whose names a student chose: a file named like a classmate's entry, a CSV shaped
like Moodle's grading worksheet, a worksheet of junk; and download times that carry no zone,
read across a daylight-saving change.

Each case is one a red team found changing a grade; the downloads are made up here, named as
each LMS names its files (grader/classgrade/lms_layouts.py).
"""

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from grader_fixtures import write_files

from grader.classgrade import late_handins
from grader.classgrade.lms_downloads import read_download
from grader.classgrade.lms_times import read_worksheet, unix_time
from grader.classgrade.runinfo import RunInfo
from grader.classgrade.submissions import Submission
from grader.client.roster import Student

ROSTER = {"zoe": Student("zoe", "Zoe Victim", moodle_id="11"),
          "abe": Student("abe", "Abe Attacker", moodle_id="12")}
ZOE_NB, ABE_NB, PLANTED = '{"zoe": 1}', '{"abe": 1}', '{"planted": 1}'
HEADER = "Identifier,Full name,Last modified (submission)\n"


make = write_files


def own_files(intake):
    """``{username: {file name: text}}`` of what each graded submission holds."""
    found = {}
    for s in intake.submissions:
        files = ([s.notebook] if s.notebook else []) + list(s.py_files) + list(s.other_notebooks)
        found[s.username] = {p.name: p.read_text() for p in files}
    return found


def worksheet(*rows):
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return HEADER + out.getvalue()


# -- 1. a file the student named like a classmate's entry --------------------------------------
@pytest.mark.parametrize("planted", [
    "Abe Attacker_12_assignsubmission_file_x_11_assignsubmission_file_assignment.ipynb",
    "Abe Attacker_12_assignsubmission_file_x_11_assignsubmission_file_Blocks.py",
    "Abe Attacker_12_assignsubmission_file__11_assignsubmission_file_assignment.ipynb",
    "Abe Attacker_12_assignsubmission_file_a_11_assignsubmission_onlinetext_Blocks.py",
])
def test_a_moodle_file_named_like_a_classmates_entry_is_refused(tmp_path, planted):
    folder = make(tmp_path / "dl", {
        "Zoe Victim_11_assignsubmission_file_assignment.ipynb": ZOE_NB,
        "Abe Attacker_12_assignsubmission_file_assignment.ipynb": ABE_NB,
        planted: PLANTED})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert own_files(intake) == {"zoe": {"assignment.ipynb": ZOE_NB},
                                 "abe": {"assignment.ipynb": ABE_NB}}
    refused = [line for line in intake.ignored if line.startswith(planted)]
    assert len(refused) == 1 and "names a Moodle entry twice" in refused[0], intake.ignored
    own_part = planted.split("_assignsubmission_file_", 1)[1]
    assert intake.notes.get("abe") == (
        f"{own_part}: not graded, its name holds _<id>_assignsubmission_ like another entry's; "
        "rename it and hand it in again",)
    assert "zoe" not in intake.notes


def test_a_moodle_folder_named_twice_is_refused_and_the_first_id_counts_elsewhere(tmp_path):
    folder = make(tmp_path / "dl", {
        "Zoe Victim_11_assignsubmission_file_/assignment.ipynb": ZOE_NB,
        "Abe_11_assignsubmission_file_ Attacker_12_assignsubmission_file_/assignment.ipynb":
            PLANTED,
        # a file name of the student's own with digits and underscores is still theirs
        "Abe Attacker_12_assignsubmission_file_v_2_final_3.py": "x = 3"})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert own_files(intake) == {"zoe": {"assignment.ipynb": ZOE_NB},
                                 "abe": {"v_2_final_3.py": "x = 3"}}
    assert any(line.startswith("Abe_11_assignsubmission_file_ Attacker_12") and
               "names a Moodle entry twice" in line for line in intake.ignored)


def test_the_canvas_and_brightspace_names_keep_a_students_own_file_part(tmp_path):
    roster = {"ada": Student("ada", "Ada Lovelace", canvas_id="11"),
              "zed": Student("zed", "Zed Attacker", canvas_id="12")}
    folder = make(tmp_path / "canvas", {
        "lovelaceada_11_900_assignment.ipynb": ZOE_NB,
        "attackerzed_12_901_assignment.ipynb": ABE_NB,
        "attackerzed_12_901_x_LATE_11_5_Blocks.py": "x = 1",
        "attackerzed_12_901_lovelaceada_LATE_11_900_assignment.ipynb": PLANTED})
    intake = read_download(folder, lms="canvas", roster=roster)
    found = own_files(intake)
    assert found["ada"] == {"assignment.ipynb": ZOE_NB}
    assert [s.marked_late for s in intake.submissions] == [False, False]
    roster = {"bob": Student("bob", "Bob Smith"), "cat": Student("cat", "Cat Jones")}
    folder = make(tmp_path / "bs", {
        "index.html": "",
        "1-1 - Bob Smith - Dec 11, 2026 1100 PM - assignment.ipynb": ZOE_NB,
        "1-2 - Cat Jones - Dec 11, 2026 1000 PM - x - Jan 01, 2030 1159 PM - assignment.ipynb":
            PLANTED,
        "1-2 - Cat Jones - Dec 11, 2026 1000 PM - assignment.ipynb": ABE_NB})
    intake = read_download(folder, lms="brightspace", roster=roster)
    assert [(s.username, s.handed_in, s.notebook.read_text()) for s in intake.submissions] == [
        ("bob", "2026-12-11T23:00:00", ZOE_NB), ("cat", "2026-12-11T22:00:00", ABE_NB)]


# -- 2. the grading worksheet is the instructor's, not a student's -----------------------------
REAL = worksheet(["Participant 11", "Zoe Victim", "Friday, 11 December 2026, 10:00 PM"],
                 ["Participant 12", "Abe Attacker", "Monday, 14 December 2026, 9:00 AM"])
FORGED = worksheet(["Participant 12", "Abe Attacker", "Friday, 11 December 2026, 9:00 PM"],
                   ["Participant 11", "Zoe Victim", "Friday, 18 December 2026, 11:00 PM"])


def times_of(intake):
    return {s.username: s.handed_in for s in intake.submissions}


@pytest.mark.parametrize("forged_at", [
    "Abe Attacker_12_assignsubmission_file_times.csv",          # flat: Abe's own file
    "Abe Attacker_12_assignsubmission_file_/times.csv",         # in Abe's folder
    "Abe Attacker_12_assignsubmission_file_/sub/Grades.csv",
])
def test_a_students_own_csv_is_never_the_worksheet(tmp_path, forged_at):
    folder = make(tmp_path / "dl", {
        "A grades.csv": REAL,     # sorts before the forged one: last-wins would take Abe's
        "Zoe Victim_11_assignsubmission_file_assignment.ipynb": ZOE_NB,
        "Abe Attacker_12_assignsubmission_file_assignment.ipynb": ABE_NB,
        forged_at: FORGED})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert times_of(intake) == {"zoe": "2026-12-11T22:00:00", "abe": "2026-12-14T09:00:00"}


def test_two_worksheets_give_no_times_and_one_line_naming_both(tmp_path):
    folder = make(tmp_path / "dl", {
        "Grades-A.csv": REAL, "Grades-B.csv": FORGED,
        "Zoe Victim_11_assignsubmission_file_assignment.ipynb": ZOE_NB,
        "Abe Attacker_12_assignsubmission_file_assignment.ipynb": ABE_NB})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert times_of(intake) == {"zoe": "", "abe": ""}
    said = [line for line in intake.ignored if "Grades-A.csv" in line]
    assert len(said) == 1 and "Grades-B.csv" in said[0] and "no hand-in times" in said[0]


def test_a_participant_twice_in_the_worksheet_has_no_time(tmp_path):
    text = worksheet(["Participant 11", "Zoe Victim", "Friday, 11 December 2026, 10:00 PM"],
                     ["Participant 12", "Abe Attacker", "Friday, 11 December 2026, 9:00 PM"],
                     ["Participant 12", "Abe Attacker", "Monday, 14 December 2026, 9:00 AM"],
                     ["Participant 13", "Una Known", "Monday, 14 December 2026, 9:00 AM"],
                     ["Participant 14", "No Body", "-"])
    folder = make(tmp_path / "dl", {
        "Grades.csv": text,
        "Zoe Victim_11_assignsubmission_file_assignment.ipynb": ZOE_NB,
        "Abe Attacker_12_assignsubmission_file_assignment.ipynb": ABE_NB})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert times_of(intake) == {"zoe": "2026-12-11T22:00:00", "abe": ""}
    assert "Grades.csv: Participant 12 has 2 rows; that participant's hand-in time is unknown" \
        in intake.ignored
    assert ("Grades.csv: Participant 13 has a hand-in time but no entry in the download"
            in intake.ignored)
    assert not any("Participant 14" in line for line in intake.ignored)


def test_a_participant_id_of_5000_digits_is_a_line_not_a_crash(tmp_path):
    huge = "9" * 5000
    folder = make(tmp_path / "dl", {
        "Grades.csv": worksheet([f"Participant {huge}", "X", "Friday, 11 December 2026, 9:00 PM"],
                                [f"Participant {huge}", "X", "Friday, 11 December 2026, 9:00 PM"],
                                ["Participant 11", "Zoe Victim", "Friday, 11 December 2026, 9:00 PM"]),
        "Zoe Victim_11_assignsubmission_file_assignment.ipynb": ZOE_NB})
    intake = read_download(folder, lms="moodle", roster=ROSTER)
    assert times_of(intake) == {"zoe": "2026-12-11T21:00:00"}
    assert any(f"Participant {huge} has 2 rows" in line for line in intake.ignored)


def test_a_worksheet_of_bad_rows_is_a_few_lines_and_a_count(tmp_path):
    path = tmp_path / "Grades.csv"
    path.write_text(HEADER + "".join(f"Participant {i},X,Friday 11 December 2026 23:59 xx\n"
                                     for i in range(5000)))
    times, lines = read_worksheet(path)
    assert times == {}
    assert len(lines) == 21
    assert lines[-1] == ("Grades.csv: 4980 more rows whose time is not a time Moodle writes in "
                         "English (not listed); those students' hand-in times are unknown")


# -- 3. times without a zone --------------------------------------------------------------------
def cat(handed_in):
    return [Submission("cat", None, handed_in=handed_in)]


CATS = {"cat": Student("cat", "Cat Ontime", extension="3d")}


@pytest.mark.parametrize("zone, days, warned", [
    ("", 1, True),                    # read at +01:00, the deadline's: an hour off after 29 Mar
    ("Europe/Amsterdam", 0, False),   # 00:30 CEST = 22:30 UTC, before 22:59 UTC
    ("+02:00", 0, False),
])
def test_zone_less_times_across_a_dst_change(zone, days, warned):
    deadlines = late_handins.Deadlines.read("2026-03-27T23:59+01:00", "ignore", zone)
    found, _, lines = late_handins.lateness(cat("2026-03-31T00:30:00"), CATS, deadlines,
                                            "brightspace")
    assert found["cat"].days == days
    warnings = [line for line in lines if "--lms-timezone" in line]
    assert warnings == ([
        "download times carry no time zone: read at UTC+01:00, the deadline's fixed offset "
        "(no --lms-timezone given), an hour off across a daylight-saving change; where one "
        "applies, give the zone's name, e.g. --lms-timezone Europe/Amsterdam"] if warned else [])


@pytest.mark.parametrize("lms, handed_in", [("canvas", ""), ("moodle", "")])
def test_no_zone_warning_when_the_download_has_no_times(lms, handed_in):
    deadlines = late_handins.Deadlines.read("2026-03-27T23:59+01:00", "ignore")
    _, _, lines = late_handins.lateness(cat(handed_in), CATS, deadlines, lms)
    assert not any("--lms-timezone" in line for line in lines)


def test_the_report_names_the_offset_and_the_zone_flag():
    run = RunInfo.now(sandbox_mode="plain", sandbox="plain", tasks=["box_blur"], limits={},
                      points={"box_blur": 1.0},
                      deadlines={"deadline": "2026-03-27T23:59+01:00", "late_policy": "ignore",
                                 "lms_timezone": ""})
    line = run.describe()[-1]
    assert "UTC+01:00, the deadline's fixed offset" in line and "--lms-timezone" in line
    run = RunInfo.now(sandbox_mode="plain", sandbox="plain", tasks=["box_blur"], limits={},
                      points={"box_blur": 1.0},
                      deadlines={"deadline": "2026-03-27T23:59+01:00", "late_policy": "ignore",
                                 "lms_timezone": "Europe/Amsterdam"})
    assert run.describe()[-1].endswith("download times read in Europe/Amsterdam")


@pytest.mark.parametrize("local, want_utc", [
    ("2026-10-25T02:30:00", "2026-10-25T00:30:00"),   # fall back: twice; the first (CEST)
    ("2026-03-29T02:30:00", "2026-03-29T01:30:00"),   # spring forward: never; read at CET
    ("2026-10-25T03:30:00", "2026-10-25T02:30:00"),
])
def test_a_zone_name_reads_the_dst_hours_the_same_way_every_time(local, want_utc):
    want = datetime.fromisoformat(want_utc).replace(tzinfo=timezone.utc).timestamp()
    assert unix_time(local, ZoneInfo("Europe/Amsterdam")) == want


@pytest.mark.parametrize("handed_in, days", [
    ("2026-10-27T22:58:00", 0),   # CET: 21:58 UTC, before 24 Oct 21:59 UTC + 3 x 24 h
    ("2026-10-27T23:30:00", 1),   # before 23:59 on the wall clock, yet after 3 x 24 h
])
def test_an_extension_of_days_is_24_hours_each_across_a_dst_change(handed_in, days):
    deadlines = late_handins.Deadlines.read("2026-10-24T23:59+02:00", "ignore", "Europe/Amsterdam")
    found, _, _ = late_handins.lateness(cat(handed_in), CATS, deadlines, "brightspace")
    assert (found["cat"].deadline, found["cat"].days) == ("2026-10-27T21:59:00+00:00", days)

"""The LMS round trip: Canvas, Moodle and Brightspace downloads read as submissions of roster
usernames, and their grade imports written with each LMS's documented columns.

The downloads are made up here, named as each LMS names its files (see the docstring of
grader/classgrade/lms_downloads.py); the headers are those of each LMS's documentation.
"""

import csv
import io
import os
import shutil

import pytest
from grader_fixtures import write_files

from grader.classgrade import exports
from grader.classgrade.class_folder import discover
from grader.classgrade.exports import lms
from grader.classgrade.lms_downloads import name_keys, read_download
from grader.client import paths
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

POINTS = {"conv_matrix": 2.0, "box_blur": 1.0}
ROSTER = {"ada": Student("ada", "Ada Lovelace", "ada@example.org", canvas_id="101",
                         brightspace_id="20067930"),
          "ben": Student("ben", "Ben Okri", "ben@example.org"),
          "cy": Student("cy", "=Cy Twombly", "cy@example.org", moodle_id="7003"),
          "dee": Student("dee", "Dee Dee")}


def task(name, passed):
    return TaskResult(name, "grade", (CaseResult(0, results.OK if passed else results.MISMATCH,
                                                 "" if passed else "values differ"),))


CLASS = {"ada": SubmissionResult("ada", "h1", (task("conv_matrix", True), task("box_blur", True))),
         "ben": SubmissionResult("ben", "h2", (task("conv_matrix", False), task("box_blur", True))),
         "cy": SubmissionResult.crashed("cy", "h3", "not valid JSON", tuple(POINTS))}
IDS = {"canvas": {"ada": "101", "ben": "102"}, "moodle": {"ben": "7002", "cy": "7003"},
       "brightspace": {"ada": "20067930"}}


def rows_of(path, bom=False):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeff") is bom
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.fixture
def written(tmp_path):
    paths_ = exports.write_lms_imports(tmp_path / "lms", students=ROSTER, results=CLASS,
                                       points=POINTS, lms_ids=IDS)
    return {path.stem: path for path in paths_}


# -- the grade imports, against each LMS's documented header ------------------------------------
@pytest.mark.parametrize("name, bom, want", [
    ("canvas", False, ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", lms.ITEM]),
    ("moodle", True, ["Identifier", "Full name", "Email address", "Status", "Grade",
                      "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                      "Last modified (grade)", "Feedback comments"]),
    ("brightspace", False, ["OrgDefinedId", "Username", f"{lms.ITEM} Points Grade",
                            "End-of-Line Indicator"]),
])
def test_each_import_has_its_documented_header(written, name, bom, want):
    assert sorted(written) == ["brightspace", "canvas", "moodle"]
    assert rows_of(written[name], bom)[0] == want


def test_canvas_gradebook_rows(written):
    rows = rows_of(written["canvas"])
    assert rows[1] == ["    Points Possible", "", "", "", "", "3"]
    assert rows[2:] == [["Ada Lovelace", "101", "", "ada", "", "3"],
                        ["Ben Okri", "102", "", "ben", "", "1"],
                        ["'=Cy Twombly", "", "", "cy", "", "0"],   # not gradable: 0
                        ["Dee Dee", "", "", "dee", "", ""]]       # no submission: left alone


def test_moodle_worksheet_rows_only_for_known_participants(written):
    rows = rows_of(written["moodle"], bom=True)
    assert [row[:7] for row in rows[1:]] == [
        ["Participant 7002", "Ben Okri", "ben@example.org", "Submitted for grading", "1.00",
         "3.00", "Yes"],
        ["Participant 7003", "'=Cy Twombly", "cy@example.org", "Submitted for grading", "0.00",
         "3.00", "Yes"]]
    assert rows[1][7:] == ["-", "-", "1 / 3 points. Passed: box_blur. Failed: conv_matrix."]
    assert rows[2][9] == "Could not be graded: 0 / 3 points; see your feedback file."


def test_brightspace_rows_end_with_the_indicator(written):
    assert rows_of(written["brightspace"])[1:] == [["20067930", "ada", "3", "#"],
                                                   ["", "ben", "1", "#"], ["", "cy", "0", "#"],
                                                   ["", "dee", "", "#"]]


def test_the_item_is_named_once_for_every_import(tmp_path):
    written = exports.write_lms_imports(tmp_path, students=ROSTER, results={}, points=POINTS,
                                        item="Lab 3")
    named = {path.stem: path for path in written}  # no moodle.csv: no participant id known
    assert rows_of(named["canvas"])[0][-1] == "Lab 3"
    assert rows_of(named["brightspace"])[0][2] == "Lab 3 Points Grade"


def test_known_ids_come_from_the_roster_and_the_download_wins():
    from grader.classgrade.submissions import Submission
    download = [Submission("cy", None, lms_id="9999"), Submission("dee", None, lms_id="7004")]
    ids = exports.known_ids(ROSTER.values(), download, "moodle")
    assert ids == {"canvas": {"ada": "101"}, "moodle": {"cy": "9999", "dee": "7004"},
                   "brightspace": {"ada": "20067930"}}
    assert exports.known_ids(ROSTER.values())["moodle"] == {"cy": "7003"}


# -- reading each LMS's download -----------------------------------------------------------------
make = write_files


def read(folder, lms_name, roster=ROSTER):
    intake = read_download(folder, lms=lms_name, roster=roster)
    return list(intake.submissions), list(intake.ignored)


def found(submissions):
    return {s.username: (s.lms_id, s.notebook.name if s.notebook else None,
                         [p.name for p in s.py_files]) for s in submissions}


def test_canvas_flat_files(tmp_path):
    folder = make(tmp_path / "dl", {
        "lovelaceada_101_5001_assignment.ipynb": "{}",
        "lovelaceada_101_5001_Blocks-1.py": "x = 1",           # uploaded again: Blocks.py
        "okriben_LATE_102_5002_my_work.ipynb": "{}",           # by name, late
        "someoneelse_103_5003_assignment.ipynb": "{}",         # not on the roster
        "notes.txt": ""})
    submissions, ignored = read(folder, "canvas")
    assert found(submissions) == {"ada": ("101", "assignment.ipynb", ["Blocks.py"]),
                                  "ben": ("102", "my_work.ipynb", [])}
    assert ignored == [
        "notes.txt: not named as Canvas names a submission's files, ignored",
        "someoneelse_103_5003_assignment.ipynb: no roster row has its id or the name "
        "'someoneelse'; "
        "ignored (fill in the roster's canvas_id column)"]
    assert submissions[0].py_files[0].read_text() == "x = 1"


def test_moodle_folders_and_flat_files(tmp_path):
    folder = make(tmp_path / "dl", {
        "Ada Lovelace_7001_assignsubmission_file_/assignment.ipynb": "{}",
        "Ada Lovelace_7001_assignsubmission_file_/Blocks.py": "x = 1",
        "Ada Lovelace_7001_assignsubmission_file_/report.pdf": "",
        "Ada Lovelace_7001_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>",
        "Ben Okri_7002_assignsubmission_file_assignment.ipynb": "{}",
        "Somebody Else_7003_assignsubmission_file_/assignment.ipynb": "{}"})  # cy's moodle_id
    submissions, ignored = read(folder, "moodle")
    assert found(submissions) == {"ada": ("7001", "assignment.ipynb", ["Blocks.py"]),
                                  "ben": ("7002", "assignment.ipynb", []),
                                  "cy": ("7003", "assignment.ipynb", [])}
    assert ignored == ["ada: report.pdf: not a notebook, .py file or zip archive, not graded"]


def test_brightspace_folders_grade_each_students_latest_attempt(tmp_path):
    make(tmp_path / "dl" / "Assignment 3", {  # inside the one folder of the zip
        "index.html": "<html></html>",
        "39786-640693 - Lovelace, Ada - Oct 10, 2025 1022 AM/assignment.ipynb": '{"a": 1}',
        "39790-640693 - Lovelace, Ada - Oct 11, 2025 922 AM/assignment.ipynb": '{"a": 2}',
        "39787-640694 - Ben Okri - Oct 9, 2025 1130 PM - assignment.ipynb": "{}",  # older, flat
        "39788-640695 - Nobody Known - Oct 9, 2025 1130 PM/assignment.ipynb": "{}"})
    submissions, ignored = read(tmp_path / "dl", "brightspace")
    assert found(submissions) == {"ada": ("", "assignment.ipynb", []),
                                  "ben": ("", "assignment.ipynb", [])}
    assert submissions[0].notebook.read_text() == '{"a": 2}'   # Oct 11 is the latest
    assert ignored == [
        "39788-640695 - Nobody Known - Oct 9, 2025 1130 PM: no roster row has the name "
        "'Nobody Known'; ignored (fill in the roster's brightspace_id column or name)",
        "39786-640693 - Lovelace, Ada - Oct 10, 2025 1022 AM: an earlier submission of ada, "
        "ignored (the latest is graded)"]


def test_two_roster_names_alike_match_no_one(tmp_path):
    roster = {"a1": Student("a1", "Sam Lee"), "a2": Student("a2", "Lee, Sam")}
    folder = make(tmp_path, {"Sam Lee_1_assignsubmission_file_/assignment.ipynb": "{}"})
    submissions, ignored = read(folder, "moodle", roster)
    assert submissions == [] and "2 roster names match 'Sam Lee'" in ignored[0]


def test_links_in_a_download_are_never_copied(tmp_path):
    folder = make(tmp_path / "dl", {"lovelaceada_101_5001_assignment.ipynb": "{}"})
    secret = make(tmp_path, {"solutions.py": "answers"}) / "solutions.py"
    os.symlink(secret, folder / "lovelaceada_101_5001_Blocks.py")
    os.link(secret, folder / "lovelaceada_101_5001_helpers.py")
    submissions, ignored = read(folder, "canvas")
    assert found(submissions) == {"ada": ("101", "assignment.ipynb", [])}
    assert ignored == ["ada: Blocks.py: a symbolic link, not used (only the student's own "
                       "regular files are graded)",
                       "ada: helpers.py: a hard link to a file that also has a name outside the "
                       "submissions folder, not used (only the student's own regular files are "
                       "graded)"]


@pytest.mark.parametrize("lms_name, roster, files, want", [
    ("blackboard", ROSTER, {}, "unknown LMS 'blackboard': choose among canvas, moodle"),
    ("canvas", None, {}, "needs the roster (students.csv with username, name and canvas_id"),
    ("canvas", ROSTER, {"ada/assignment.ipynb": "{}", "ben.ipynb": "{}"},
     "holds no canvas download: expected Canvas files named <lastfirst>_<user id>_"),
    ("moodle", ROSTER, {"lovelaceada_101_5001_assignment.ipynb": "{}"},
     "holds no moodle download"),
])
def test_what_is_not_such_a_download_is_a_clear_error(tmp_path, lms_name, roster, files, want):
    make(tmp_path, files)
    with pytest.raises(ValueError, match=want.replace("(", r"\(")):
        read_download(tmp_path, lms=lms_name, roster=roster)


def test_discover_reads_a_download_only_when_told(tmp_path):
    make(tmp_path, {"lovelaceada_101_5001_assignment.ipynb": "{}", "ben.ipynb": "{}"})
    with pytest.raises(ValueError, match=r"looks like a canvas download \(1 of 2 entries .*: "
                                         "add --lms canvas, with the roster's canvas_id"):
        discover(tmp_path)
    assert [s.username for s in discover(tmp_path, lms="canvas", roster=ROSTER)[0]] == ["ada"]


@pytest.mark.parametrize("files, want", [
    ({"lovelaceada_101_5001_assignment.ipynb": "{}", "lovelaceada_101_5001_Blocks.py": "",
      "okriben_LATE_102_5002_assignment.zip": ""}, "canvas"),
    ({"Ada Lovelace_7001_assignsubmission_file_/assignment.ipynb": "{}",
      "Ben Okri_7002_assignsubmission_onlinetext_/onlinetext.html": ""}, "moodle"),
    ({"Lab 3/index.html": "", "Lab 3/1-2 - Ada Lovelace - Oct 10, 2025 1022 AM/a.ipynb": "{}"},
     "brightspace"),
    ({"ada/assignment.ipynb": "{}", "ben.ipynb": "{}", "cy_1_x.ipynb": "{}", "students.csv": ""},
     None),   # a plain class, one odd name in it
])
def test_a_forgotten_lms_flag_is_one_line_naming_it(tmp_path, files, want):
    from grader.classgrade.lms_layouts import looks_like
    make(tmp_path, files)
    said = looks_like(tmp_path)
    assert (said is None) if want is None else (f"add --lms {want}," in said and "\n" not in said)


@pytest.mark.parametrize("roster_name, want", [
    ("Ada Lovelace", {"adalovelace", "lovelaceada"}),
    ("Lovelace, Ada", {"adalovelace", "lovelaceada"}),
    ("Zoë  de la Cruz", {"zoedelacruz", "delacruzzoe", "lacruzzoede", "cruzzoedela"}),
    ("Plato", {"plato"}),
    ("", set()),
])
def test_name_keys(roster_name, want):
    assert name_keys(roster_name) == want


# -- the whole round trip, graded in the sandbox ---------------------------------------------------
@pytest.mark.sandbox
@pytest.mark.slow
def test_a_canvas_download_is_graded_and_comes_back_as_its_import(tmp_path):
    from grader.classgrade.run import grade_class
    from grader.classgrade.sandbox.limits import Limits
    examples = paths.KIT_ROOT / "examples" / "submissions"
    download = tmp_path / "download"
    download.mkdir()
    shutil.copy(examples / "ada_correct" / "assignment.ipynb",
                download / "exampleada_101_5001_assignment.ipynb")
    shutil.copy(examples / "ben_flipped_kernel" / "assignment.ipynb",
                download / "exampleben_LATE_102_5002_assignment-1.ipynb")
    roster = tmp_path / "students.csv"
    roster.write_text("username,name,email,canvas_id\nada_correct,Ada Example,,101\n"
                      "ben_flipped_kernel,Ben Example,,\n", encoding="utf-8")
    out = tmp_path / "out"
    run = grade_class(submissions_dir=download, out_dir=out, roster_path=roster, lms="canvas",
                      task_names=["conv_matrix"], jobs=2, log=open(os.devnull, "w"),
                      limits=Limits(call_seconds=2, task_seconds=5, load_seconds=10,
                                    submission_seconds=120))
    assert run.graded == ("ada_correct", "ben_flipped_kernel")
    assert rows_of(out / "lms" / "canvas.csv")[2:] == [
        ["Ada Example", "101", "", "ada_correct", "", "1"],
        ["Ben Example", "102", "", "ben_flipped_kernel", "", "0"]]  # 102: from the file name
    assert (out / "feedback" / "ben_flipped_kernel.md").is_file()


# -- the command line ----------------------------------------------------------------------------
def test_grade_lms_reaches_grade_class(monkeypatch):
    from grader import cli
    from grader.classgrade import run as classrun
    default = classrun.grade_class.__kwdefaults__["lms"]
    parsed = [(cli.build_parser().parse_args(["grade", *argv]), want)
              for argv, want in [([], default), (["--lms", "moodle"], "moodle")]]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["grade", "--lms", "blackboard"])
    calls = []
    monkeypatch.setattr(classrun, "grade_class",
                        lambda **kwargs: calls.append(kwargs) or classrun.ClassRun())
    for args, want in parsed:
        assert args.run(args) == 0 and calls.pop()["lms"] == want


def test_grade_of_a_download_without_a_roster_is_one_line(tmp_path, capsys):
    from grader import cli
    make(tmp_path / "dl", {"lovelaceada_101_5001_assignment.ipynb": "{}"})
    assert cli.main(["grade", str(tmp_path / "dl"), "--lms", "canvas", "--out",
                     str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: reading a canvas download needs the roster") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()

"""LMS downloads as they come: an id beats a name, two users behind one name grade no one,
and no name, however odd, stops the run (issue 18.14, 18.15).

The names are those each LMS writes (see grader/classgrade/lms_downloads.py) with what real
downloads hold: late and re-uploaded files, accents in both Unicode forms, names with
underscores, apostrophes and commas, and hostile ones (control characters, bidirectional
overrides, dates that are no dates, digits from other scripts, bytes that are not UTF-8).
"""

import os
import unicodedata

import numpy as np
import pytest

from grader.classgrade.console import printable
from grader.classgrade.lms_downloads import READERS, read_download
from grader.client.roster import Student

ROSTER = {"ada": Student("ada", "Ada Lovelace", canvas_id="101", moodle_id="7001"),
          "ben": Student("ben", "Ben Okri"),
          "zoe": Student("zoe", "Zoë de la Cruz")}


def make(root, names):
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    return root


# -- an id beats a name ---------------------------------------------------------------------------
@pytest.mark.parametrize("lms, victim, impostor", [
    ("canvas", "lovelaceada_101_5001_assignment.ipynb", "lovelaceada_666_6001_assignment.ipynb"),
    ("canvas", "lovelaceada_101_5001_assignment.ipynb", "lovelaceada_LATE_999_9_assignment.ipynb"),
    ("moodle", "Ada Lovelace_7001_assignsubmission_file_/assignment.ipynb",
     "Ada Lovelace_7666_assignsubmission_file_/assignment.ipynb"),
])
def test_another_user_with_the_victims_name_never_replaces_the_victim(tmp_path, lms, victim,
                                                                      impostor):
    folder = make(tmp_path / "dl", [victim])
    (folder / impostor).parent.mkdir(exist_ok=True)
    (folder / impostor).write_text('{"impostor": 1}')
    intake = read_download(folder, lms=lms, roster=ROSTER)
    [ada] = intake.submissions
    assert (ada.username, ada.notebook.read_text()) == ("ada", "{}")
    assert ada.lms_id == ("101" if lms == "canvas" else "7001")
    [line] = intake.ignored
    assert "its id" in line and "is not on the roster" in line and "earlier" not in line


@pytest.mark.parametrize("lms, names", [
    ("canvas", ["okriben_102_5002_assignment.ipynb", "okriben_LATE_103_5003_assignment.ipynb"]),
    ("moodle", ["Ben Okri_7002_assignsubmission_file_/assignment.ipynb",
                "Okri, Ben_7003_assignsubmission_file_assignment.ipynb"]),
])
def test_two_lms_users_behind_one_name_are_both_ambiguous(tmp_path, lms, names):
    intake = read_download(make(tmp_path / "dl", names), lms=lms, roster=ROSTER)
    assert [s.username for s in intake.submissions] == []
    [line] = intake.ignored
    assert line.startswith(f"ben: 2 {lms} users match this student's name, none graded")
    [note] = intake.notes["ben"]
    assert note.startswith(f"not graded: 2 {lms} entries match your name")
    assert all(name.split("/")[0] in line and name.split("/")[0] in note for name in names)


def test_brightspace_attempts_of_one_name_are_still_the_latest(tmp_path):
    folder = make(tmp_path / "dl", [
        "1-9 - Ben Okri - Oct 10, 2025 1022 AM/assignment.ipynb",
        "2-9 - Ben Okri - Oct 11, 2025 1022 AM/assignment.ipynb"])
    intake = read_download(folder, lms="brightspace", roster=ROSTER)
    assert [s.username for s in intake.submissions] == ["ben"]
    assert intake.ignored == ("1-9 - Ben Okri - Oct 10, 2025 1022 AM: an earlier submission of "
                              "ben, ignored (the latest is graded)",)


# -- one odd name never stops the run -------------------------------------------------------------
def test_a_date_that_is_no_date_is_a_note_and_the_rest_is_graded(tmp_path):
    folder = make(tmp_path / "dl", [
        "1-2 - Ada Lovelace - Feb 30, 2025 1022 AM - assignment.ipynb",   # the flat layout
        "3-4 - Ben Okri - Oct 9, 2025 1130 PM - assignment.ipynb"])
    intake = read_download(folder, lms="brightspace", roster=ROSTER)
    assert [s.username for s in intake.submissions] == ["ada", "ben"]
    assert intake.ignored == ("1-2 - Ada Lovelace - Feb 30, 2025 1022 AM - assignment.ipynb: its "
                              "date 'Feb 30, 2025 1022 AM' is not a date; taken as older than any "
                              "dated attempt of the same name",)


ODD_NAMES = {
    "canvas": [
        "lovelaceada_101_5001_assignment.ipynb", "lovelaceada_LATE_101_5001_Blocks-1.py",
        "lovelaceada_late_101_5001_Blocks-2.py", "okriben_102_5002_my_work (1).ipynb",
        "_103_5003_assignment.ipynb", "x_104_5004_", "obrien-smithpat_99999999999999999999_1_a.py",
        "lovelaceada_１０１_5001_a.ipynb", "delacruzzoë_105_1_assignment.ipynb",
        unicodedata.normalize("NFD", "delacruzzoë_106_1_assignment.ipynb"),
        "esc\x1b[2J_107_1_a.ipynb", "rtl\u202egnp.ipynb_108_1_b.ipynb", "nl\nx_109_1_c.ipynb",
        "a" * 200 + "_110_1_d.ipynb", os.fsdecode(b"caf\xe9_111_1_e.ipynb"), "notes.txt",
        "lovelaceada_101_5001_submission.zip", "..._112_1_.ipynb"],
    "moodle": [
        "Ada Lovelace_7001_assignsubmission_file_/assignment.ipynb",
        "Ann_Marie O'Neil_7004_assignsubmission_file_/assignment.ipynb",
        "Zoë de la Cruz_7005_assignsubmission_file_assignment.ipynb",
        unicodedata.normalize("NFD", "Zoë de la Cruz_7006_assignsubmission_file_x.ipynb"),
        "Ben Okri_7002_assignsubmission_onlinetext_/onlinetext.html",
        "Ben Okri_7002_assignsubmission_comments_/c.txt", "_7007_assignsubmission_file_/a.ipynb",
        "Evil\x1b]0;x\x07_7008_assignsubmission_file_/a.ipynb",
        "Ben Okri_٧٠٠٩_assignsubmission_file_/a.ipynb", "Ben Okri_7010_assignsubmission_FILE_/a",
        os.fsdecode(b"B\xe9n_7011_assignsubmission_file_/a.ipynb"), "index.html"],
    "brightspace": [
        "index.html", "1-2 - Ada Lovelace - Feb 30, 2025 1022 AM - assignment.ipynb",
        "1-3 - Ada Lovelace - Oct 10, 2025 1322 PM/assignment.ipynb",
        "1-4 - Ada Lovelace - Oct 10, 2025 1060 AM/assignment.ipynb",
        "1-5 - Ada Lovelace - Oct ٣, 2025 1022 AM/assignment.ipynb",
        "1-6 - Ada Lovelace - Abc 10, 2025 1022 AM/assignment.ipynb",
        "1-7 - Okri, Ben - Oct 10, 0000 1022 AM/assignment.ipynb",
        "1-8 - Lovelace - Ada - Oct 10, 2025 1022 AM/assignment.ipynb",
        "1-9 - \u202eecalevoL adA - Oct 10, 2025 1022 AM/assignment.ipynb",
        "1-10 - Zoë de la Cruz - Oct 10, 2025 1022 AM - Blocks.py",
        "1-11 - Ben Okri - Oct 10, 2025 1022 AM - ",
        os.fsdecode(b"1-12 - B\xe9n - Oct 10, 2025 1022 AM/a.ipynb")],
}


def _accounted(folder, entries, ignored):
    """Every visible name is in an entry's files or named in an ignored line."""
    used = {path for entry in entries for _, path in entry.files}
    used |= {path.parent for path in used}
    lines = "\n".join(ignored)
    return [path.name for path in folder.iterdir()
            if path not in used and printable(path.name) not in lines
            and path.name not in ("index.html",) and "onlinetext" not in path.name
            and "comments" not in path.name]


@pytest.mark.parametrize("lms", sorted(ODD_NAMES))
def test_every_odd_name_is_read_or_named_never_fatal(tmp_path, lms):
    folder = make(tmp_path / "dl", ODD_NAMES[lms])
    entries, ignored = READERS[lms](folder)
    assert _accounted(folder, entries, ignored) == []
    intake = read_download(folder, lms=lms, roster=ROSTER)
    assert "ada" in {s.username for s in intake.submissions}
    assert all("\x1b" not in line and "\n" not in line for line in intake.ignored)


@pytest.mark.parametrize("seed", range(6))
def test_names_mixed_at_random_never_stop_a_reader(tmp_path, seed):
    """Pieces of real and hostile names, joined at random: no reader may raise."""
    rng = np.random.default_rng(seed)
    pieces = ["_", " - ", "-", "101", "7001", "1-2", "Ada", "Lovelace, Ada", "assignsubmission",
              "file", "onlinetext", "LATE", "Feb 30, 2025", "Oct 10, 2025", "1022 AM", "13 PM",
              ".ipynb", ".py", ".zip", "٣", "１", "\u202e", "\x1b", "é", "..", ",", " "]
    names = {"".join(rng.choice(pieces, size=rng.integers(1, 9))).strip() or "x"
             for _ in range(60)}
    names = [name.replace("/", "_") for name in names if name not in (".", "..")]
    folder = make(tmp_path / "dl", names)
    for lms, reader in READERS.items():
        entries, ignored = reader(folder)
        assert _accounted(folder, entries, ignored) == [], lms

"""grader.roster: the class roster students.csv (username, name, email; LMS ids optional)."""

import pytest
from grader_fixtures import alice_registered, write_roster  # noqa: F401

from grader.client.roster import Roster, Student, load_roster, read_roster


def test_no_roster_file_means_no_roster(tmp_path):
    assert load_roster(tmp_path / "students.csv") is None
    assert load_roster(tmp_path) is None  # a folder is not a roster
    assert load_roster() is None  # the conftest points AUTOMARK_ROSTER at a missing file


def test_roster_from_the_environment(alice_registered):
    roster = load_roster()
    assert roster == {"alice": Student("alice", "Alice Liddell", "alice@example.org"),
                      "bob": Student("bob", "", "")}


@pytest.mark.parametrize("text, want", [
    ("username,name,email\nalice,Alice,a@x.org\n", {"alice": Student("alice", "Alice", "a@x.org")}),
    ("username\nalice\nbob\n", {"alice": Student("alice"), "bob": Student("bob")}),
    ("email,username,group,name\na@x.org,alice,3,Alice\n",
     {"alice": Student("alice", "Alice", "a@x.org")}),
    ("\ufeffusername,name\nalice,Alice\n", {"alice": Student("alice", "Alice")}),
    ("username,name\n  alice  ,  Alice  \n", {"alice": Student("alice", "Alice")}),
    ("username,name\nalice,Alice\n,Nobody\n   ,Blank\n", {"alice": Student("alice", "Alice")}),
    ('username,name\nalice,"Liddell, Alice"\n', {"alice": Student("alice", "Liddell, Alice")}),
    ("username,name,email\nalice\n", {"alice": Student("alice")}),
    ("username,name\r\nalice,Alice\r\n", {"alice": Student("alice", "Alice")}),
    ("username,name\n", {}),
])
def test_load_roster(tmp_path, text, want):
    path = tmp_path / "students.csv"
    path.write_text(text, encoding="utf-8")
    assert load_roster(path) == want


@pytest.mark.parametrize("text, want", [
    ("user,name\nalice,Alice\n", "the roster needs a 'username' column, found columns "
                                 "['user', 'name']"),
    ("", "the roster needs a 'username' column, found columns []"),
    ("username;name;email\nalice;Alice;a@x.org\n", "separates its columns with ';': save it as "
                                                  "comma-separated CSV"),   # a spreadsheet's
])
def test_bad_roster_is_a_clear_value_error(tmp_path, text, want):
    path = tmp_path / "students.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_roster(path)
    assert want in str(caught.value) and str(path) in str(caught.value)


# A row an LMS export gets wrong is left out and reported; the rows around it stay.
@pytest.mark.parametrize("text, want_students, want_problems", [
    ("username,name\nalice,Alice\nbob smith,Bob\ncarol,Carol\n", ["alice", "carol"],
     ["row 3: username 'bob smith' is not a valid username"]),
    ("username,name\nalice,Alice\nbob,Bob\nalice,Other\n", ["alice", "bob"],
     ["row 4: username 'alice' appears twice (row 2 is kept)"]),
    ("username\nalice\n alice \n", ["alice"], ["row 3: username 'alice' appears twice"]),
    ("username,name\n,Nobody\nalice,A\n,\n", ["alice"], ["row 2: it has no username"]),
    ('username,name\nalice,"Liddell,\nAlice"\nbob smith,B\n', ["alice"],
     ["row 3: username 'bob smith'"]),                  # rows as a spreadsheet counts them
    ("username,name\n../evil,E\n\x1b[2J,F\ndave,D\n", ["dave"],
     ["row 2: username '../evil'", "row 3: username '\\x1b[2J'"]),
])
def test_bad_rows_are_left_out_and_reported(tmp_path, text, want_students, want_problems):
    path = tmp_path / "students.csv"
    path.write_text(text, encoding="utf-8")
    roster = read_roster(path)
    assert list(roster.students) == want_students
    assert len(roster.problems) == len(want_problems)
    for problem, want in zip(roster.problems, want_problems):
        assert problem.startswith(f"{path}, {want}") and problem.endswith("that row is left out")
        assert "\n" not in problem and "\x1b" not in problem
    assert load_roster(path) == roster.students


def test_a_clean_roster_reports_nothing(tmp_path):
    path = tmp_path / "students.csv"
    path.write_text("username,name\nalice,Alice\n", encoding="utf-8")
    assert read_roster(path) == Roster({"alice": Student("alice", "Alice")}, (),
                                       ("username", "name"))
    assert read_roster(tmp_path / "missing.csv") is None


@pytest.mark.parametrize("header", ["Username,Name", " username , NAME ", "USERNAME,name"])
def test_column_names_are_read_whatever_their_case_and_spaces(tmp_path, header):
    """An LMS or a spreadsheet capitalises the header: the columns are the same ones."""
    path = tmp_path / "students.csv"
    path.write_text(f"{header}\nalice,Alice\n", encoding="utf-8")
    roster = read_roster(path)
    assert roster.students == {"alice": Student("alice", "Alice")}
    assert roster.columns == ("username", "name")


# Optional LMS id columns: one per LMS, read when present, repeated ids refused.
@pytest.mark.parametrize("text, want", [
    ("username,name,canvas_id\nalice,Alice,101\nbob,Bob,\n",
     {"alice": Student("alice", "Alice", canvas_id="101"), "bob": Student("bob", "Bob")}),
    ("username,moodle_id,brightspace_id,canvas_id\nalice, 7001 ,20067930,101\n",
     {"alice": Student("alice", canvas_id="101", moodle_id="7001", brightspace_id="20067930")}),
])
def test_lms_id_columns(tmp_path, text, want):
    path = tmp_path / "students.csv"
    path.write_text(text, encoding="utf-8")
    assert load_roster(path) == want
    assert [s.lms_id("canvas") for s in want.values()] == [s.canvas_id for s in want.values()]


def test_a_repeated_lms_id_leaves_its_row_out(tmp_path):
    path = tmp_path / "students.csv"
    path.write_text("username,canvas_id,moodle_id\nalice,101,7\nbob,101,\ncarol,,7\ndan,,\n",
                    encoding="utf-8")
    roster = read_roster(path)
    assert list(roster.students) == ["alice", "dan"]
    assert roster.problems == (
        f"{path}, row 3: canvas_id '101' is also alice's (row 2 is kept); that row is left out",
        f"{path}, row 4: moodle_id '7' is also alice's (row 2 is kept); that row is left out")

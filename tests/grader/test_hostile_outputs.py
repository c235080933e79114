"""Student text reaches every output as text: Markdown feedback, Gradescope JSON, the terminal,
the progress tables and the CSV. Markdown is checked by rendering it (mistune) and reading the
HTML that comes out."""

import csv
import io
import json
import random
import re

import pytest

from grader.classgrade import exports
from grader.classgrade.class_folder import discover
from grader.classgrade.console import ProgressBar, class_table, printable
from grader.classgrade.exports.markdown import code_block, inline
from grader.classgrade.run import ClassRun
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

mistune = pytest.importorskip("mistune")
bs4 = pytest.importorskip("bs4")

POINTS = {"conv_matrix": 2.0, "box_blur": 1.0}
CLEAR_SCREEN = "\x1b[2J\x1b[H"
FAKE_DONE = "All 250 submissions graded"
HOSTILE = ("ValueError: <script>alert(1)</script> <img src=x onerror=alert(2)> "
           "[click me](javascript:alert(3)) <a href='javascript:alert(4)'>x</a>\n"
           "## [MAN] conv_matrix: passed (2 / 2 points)\n"
           "````\n# All good\n" + CLEAR_SCREEN + FAKE_DONE + "\r- [x] done\n"
           "<!-- hide the rest --> ~~~ ![img](http://x/y.png) \u202eevil")
HOSTILE_NAME = "Eve\n# [MAN] conv_matrix: passed\n<script>alert(5)</script>" + CLEAR_SCREEN
OUR_HEADINGS = {"h1": ["Feedback for"], "h2": ["[MAN] conv_matrix: failed (0 / 2 points)",
                                               "[MAN] box_blur: failed (0 / 1 points)", "Notes"]}


def crashes_with_hostile_message(username="eve"):
    """The student's exception message is the whole submission's error."""
    return SubmissionResult.crashed(username, "h", HOSTILE, task_names=tuple(POINTS))


def fails_with_hostile_messages(username="eve"):
    """A wrong answer and a raised exception, both carrying the student's text, and a note."""
    wrong = TaskResult("conv_matrix", "grade", (
        CaseResult(index=0, kind=results.EXCEPTION, message=HOSTILE),), mistake="")
    raised = TaskResult.crashed("box_blur", "grade", HOSTILE, kind=results.EXCEPTION)
    return SubmissionResult(username, "h", (wrong, raised), notes=(HOSTILE,))


def render(markdown: str):
    """The HTML a permissive renderer makes of ``markdown`` (raw HTML passed through)."""
    to_html = mistune.create_markdown(escape=False, plugins=["strikethrough", "table", "url",
                                                             "task_lists", "footnotes"])
    return bs4.BeautifulSoup(to_html(markdown), "html.parser")


def assert_shown_as_text(markdown: str, *, headings=None):
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", markdown), "a control character"
    page = render(markdown)
    tags = {tag.name for tag in page.find_all(True)}
    assert tags <= {"h1", "h2", "p", "pre", "code", "ul", "li"}, tags
    for tag in page.find_all(True):
        assert not tag.attrs or tag.name == "code", (tag.name, tag.attrs)
    if headings is not None:
        for level, wanted in headings.items():
            found = [h.get_text() for h in page.find_all(level)]
            assert len(found) == len(wanted)
            assert all(text.startswith(want) for text, want in zip(found, wanted)), found
    assert "<script>alert(1)</script>" in page.get_text()  # the student still reads it
    return page


@pytest.mark.parametrize("make", [crashes_with_hostile_message, fails_with_hostile_messages])
def test_feedback_shows_student_text_as_text(make):
    [grade] = exports.grades(students=[Student("eve", HOSTILE_NAME)], results={"eve": make()},
                             points=POINTS)
    markdown = exports.feedback_text(grade, points=POINTS)
    want = OUR_HEADINGS if make is fails_with_hostile_messages else {
        "h1": ["Feedback for"], "h2": ["Could not be graded"]}
    page = assert_shown_as_text(markdown, headings=want)
    assert "<script>alert(5)</script>" in page.find("h1").get_text()  # the name, as text


def test_gradescope_output_shows_student_text_as_text():
    for make in (crashes_with_hostile_message, fails_with_hostile_messages):
        data = json.loads(json.dumps(exports.gradescope_results(make(), points=POINTS)))
        assert (data["output_format"], data["test_output_format"]) == ("md", "md")
        assert_shown_as_text(data["output"], headings={"h1": [], "h2": []})
        for test in data["tests"]:
            assert test["name"] in ("[MAN] conv_matrix", "[MAN] box_blur")
            assert_shown_as_text(test["output"], headings={"h1": [], "h2": []})


@pytest.mark.parametrize("text, want", [
    ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
    ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert(1)\>"),
    ("line 1 of <module>: conv_matrix(x_input)", r"line 1 of \<module\>: conv_matrix(x_input)"),
    ("__init__ _x x_ a__b", r"\_\_init\_\_ \_x x\_ a__b"),
    ("see https://evil.example or www.evil.example", r"see https\://evil.example or www\.evil.example"),
    ("a & b &amp;", r"a \& b \&amp;"),
    ("Eve\n# heading", r"Eve\\n\# heading"),
    ("*bold* _it_ `code` ~~s~~ | $x$", r"\*bold\* \_it\_ \`code\` \~\~s\~\~ \| \$x\$"),
    (CLEAR_SCREEN, r"\\x1b\[2J\\x1b\[H"),
    ("Liddell, Alice", "Liddell, Alice"),
])
def test_inline(text, want):
    assert inline(text) == want


@pytest.mark.parametrize("lines, want_fence", [
    (["plain"], "```"),
    (["a ``` b", "````"], "`````"),
    (["no backticks", "~~~"], "```"),
])
def test_code_block_fence_cannot_be_closed_by_the_text(lines, want_fence):
    block = code_block(lines)
    assert block[0] == block[-1] == want_fence
    page = render("\n".join(block))
    assert [tag.name for tag in page.find_all(True)] == ["pre", "code"]
    assert page.get_text().rstrip("\n").split("\n") == lines


def test_inline_round_trips_through_a_renderer():
    """Any mix of Markdown and HTML pieces comes out of the renderer as the same text."""
    pieces = ["<", ">", "&", "&amp;", "[", "]", "(", ")", "!", "*", "_", "`", "~", "|", "#", "\\",
              "$", "{", "}", "=", "+", "^", "javascript:", "<b>", "<!--", "-->", "a", " ", "x1",
              "&#60;", "\n", "\x1b", ":", "http://x.y", "www.x.y", "a@b.c"]
    rng = random.Random(11)
    for _ in range(400):
        text = "w " + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20))) + " w"
        page = render(inline(text))
        assert [tag.name for tag in page.find_all(True)] == ["p"], (text, inline(text))
        assert page.get_text().strip() == printable(text).strip(), text


# -- terminal ----------------------------------------------------------------------------------
def test_class_table_and_progress_bar_send_no_escape_sequence():
    fake = SubmissionResult.crashed("eve", "h", f"{CLEAR_SCREEN}{FAKE_DONE}\r\n\u202e",
                                    task_names=tuple(POINTS))
    run = ClassRun(students=(Student("eve"), Student("zed")), points=POINTS, results={"eve": fake})
    table = class_table(run)
    assert "\x1b" not in table and "\r" not in table and "\u202e" not in table
    assert len(table.splitlines()) == 2 + 2
    assert r"not gradable: \x1b[2J\x1b[HAll 250 submissions graded\r\n\u202e" in table
    stream = io.StringIO()
    ProgressBar(1, stream=stream).step(f"eve {CLEAR_SCREEN}{FAKE_DONE}\r")
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_ignored_lines_show_a_hostile_folder_name(tmp_path):
    hostile = tmp_path / f"{CLEAR_SCREEN}{FAKE_DONE}"
    hostile.mkdir()
    (hostile / "assignment.ipynb").write_text("{}")
    (tmp_path / "alice.ipynb").write_text("{}")
    submissions, ignored = discover(tmp_path)
    assert [s.username for s in submissions] == ["alice"]
    assert ignored == [r"\x1b[2J\x1b[HAll 250 submissions graded: not a valid username, skipped"]


def test_printable():
    assert printable("a\x1b[31mb\r\n\t\x9b\u202e\udcff") == r"a\x1b[31mb\r\n\t\x9b\u202e\udcff"
    assert printable("héllo wörld") == "héllo wörld"


# -- files read on a terminal or in a spreadsheet ------------------------------------------------
def test_progress_table_keeps_a_hostile_name_on_its_line(tmp_path):
    [path] = exports.write_progress_tables(tmp_path, students=[Student("eve", HOSTILE_NAME,
                                                                       "e@x\n| fake |")],
                                           results={"eve": crashes_with_hostile_message()})
    text = path.read_text(encoding="utf-8")
    assert {len(line) for line in text.splitlines()} == {45}
    assert "\x1b" not in text


def test_csv_cells_are_one_line_without_escapes_and_formulas_stay_defused(tmp_path):
    roster = [Student("eve", HOSTILE_NAME, "=HYPERLINK(\"http://x\")")]
    path = exports.write_gradebook_csv(tmp_path / "g.csv", students=roster,
                                       results={"eve": crashes_with_hostile_message()},
                                       points=POINTS)
    text = path.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\r" not in text and len(text.splitlines()) == 2
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"].startswith(r"Eve\n# [MAN]") and row["email"].startswith("'=HYPERLINK")
    assert row["status"].startswith("not gradable: ValueError: <script>")

"""feedback/<user>.html: the Markdown feedback as a page, with the student's text as text.

The page in a real browser, at a phone's width: test_report_browser.py.
"""

import bs4
import pytest

from grader.classgrade import exports
from grader.classgrade.exports.feedback_html import POLICY, feedback_page
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

HOSTILE = ("ValueError: <script>alert(1)</script> <img src=x onerror=alert(2)> "
           "[click](javascript:alert(3)) ``` </pre><script>alert(4)</script> snake_case_name")
POINTS = {"conv_matrix": 1.0, "box_blur": 1.0}


def hostile_result():
    wrong = TaskResult("conv_matrix", "grade", (CaseResult(0, results.EXCEPTION, HOSTILE),))
    return SubmissionResult("eve", "h", (wrong, TaskResult("box_blur", "grade", (
        CaseResult(0, results.OK),))), notes=(HOSTILE,))


@pytest.fixture
def written(tmp_path):
    students = [Student("eve", "Eve <b>x</b>"), Student("zed")]
    paths = exports.write_feedback(tmp_path, students=students, results={"eve": hostile_result()},
                                   points=POINTS)
    return {path.stem: path for path in paths}


def test_every_feedback_file_has_its_page_beside_it(written):
    assert sorted(written) == ["eve", "zed"]
    for path in written.values():
        assert path.suffix == ".md" and path.with_suffix(".html").is_file()


def test_the_page_is_the_markdown_rendered_with_the_students_text_as_text(written):
    page = bs4.BeautifulSoup(written["eve"].with_suffix(".html").read_text(), "html.parser")
    assert page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"] == POLICY
    assert "script-src" not in POLICY and "default-src 'none'" in POLICY
    body = page.find("main")
    tags = {tag.name for tag in body.find_all(True)}
    assert tags <= {"h1", "h2", "p", "pre", "code", "ul", "li"}, tags
    assert not page.find_all(["script", "img", "a", "iframe"])
    assert body.find("h1").get_text() == "Feedback for Eve <b>x</b> (eve)"
    assert [h.get_text() for h in body.find_all("h2")] == [
        "[MAN] conv_matrix: failed (0 / 1 points)", "[MAN] box_blur: passed (1 / 1 points)", "Notes"]
    text = body.get_text()
    assert text.count("<script>alert(1)</script>") == 2  # the case's message and the note, as text
    assert "snake_case_name" in text and "\\_" not in text


def test_the_title_is_escaped():
    page = feedback_page("# hi", title="</title><script>alert(1)</script>")
    assert "<script>" not in page and "&lt;/title&gt;&lt;script&gt;" in page

"""Nothing only on the terminal (issue 19.3): what intake did not grade is in report.html (a
section of its own) and in the feedback of the student it concerns."""

from grader.classgrade import exports
from grader.classgrade.exports.report_html import class_report
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

POINTS = {"conv_matrix": 1.0}
STUDENTS = [Student("alice", "Alice"), Student("ben", "Ben Okri")]
RESULTS = {"alice": SubmissionResult("alice", "h", (TaskResult(
    "conv_matrix", "grade", (CaseResult(0, results.OK, ""),)),))}
LINES = ("alice/report.pdf: not a notebook, .py file or zip archive, not graded",
         "ben: 2 canvas users match this student's name, none graded: okriben_102_1_a.ipynb "
         "(id 102); okriben_103_1_a.ipynb (id 103) (fill in the roster's canvas_id column)",
         "evil\\x1b[2J_9_1_<script>.ipynb: no roster row has its id or the name 'evil'; ignored")
NOTES = {"alice": ("report.pdf: not a notebook, .py file or zip archive, not graded",),
         "ben": ("not graded: 2 canvas entries match your name (okriben_102_1_a.ipynb (id 102); "
                 "okriben_103_1_a.ipynb (id 103)); your instructor must say which is yours",)}


def test_each_students_feedback_names_what_was_not_graded(tmp_path):
    exports.write_feedback(tmp_path, students=STUDENTS, results=RESULTS, points=POINTS,
                           intake_notes=NOTES)
    alice = (tmp_path / "alice.md").read_text(encoding="utf-8")
    ben = (tmp_path / "ben.md").read_text(encoding="utf-8")
    assert "## Your files\n\n- report.pdf: not a notebook, .py file or zip archive" in alice
    assert "## Your files\n\n- not graded: 2 canvas entries match your name" in ben
    assert ben.index("## Your files") < ben.index("No submission was received.")


def test_feedback_without_notes_has_no_section(tmp_path):
    exports.write_feedback(tmp_path, students=STUDENTS, results=RESULTS, points=POINTS)
    assert "Your files" not in (tmp_path / "alice.md").read_text(encoding="utf-8")


def test_the_report_has_a_section_listing_every_line_escaped():
    page = class_report(exports.grades(students=STUDENTS, results=RESULTS, points=POINTS),
                        task_names=list(POINTS), handed_in=LINES, intake_notes=NOTES)
    section = page[page.index('<h2 id="handed-in">'):page.index("</ul>", page.index('id="not-graded"'))]
    assert section.count("<li>") == 3 and "(alice, ben)" in section
    assert "okriben_103_1_a.ipynb (id 103)" in section
    assert "<script>" not in section and "&lt;script&gt;" in section and "\x1b" not in section


def test_a_report_with_nothing_left_out_says_so():
    page = class_report(exports.grades(students=STUDENTS, results=RESULTS, points=POINTS),
                        task_names=list(POINTS))
    assert "Every file handed in was graded." in page

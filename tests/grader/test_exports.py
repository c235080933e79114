"""grader.exports (and grader.report_html): CSV, progress tables, feedback, HTML, Gradescope.

The report in a real browser: test_report_browser.py; the LMS imports: test_lms.py."""

import base64
import csv
import hashlib
import html
import json
import re

import pytest

from grader.classgrade import exports
from grader.classgrade.exports import report_tables
from grader.client.roster import Student
from grader.core import results, tasks
from grader.core.results import CaseResult, SubmissionResult, TaskResult

POINTS = {"conv_matrix": 2.0, "box_blur": 1.0, "mse_forward": 0.5}
HOSTILE_NAME = '<script>alert("x")</script> & Co'
FLIP = "true convolution (kernel flipped) instead of cross-correlation"


def task(name, *kinds, mistake="", message="values differ at [0, 1]"):
    cases = tuple(CaseResult(index=i, kind=k, message="" if k == results.OK else message)
                  for i, k in enumerate(kinds))
    return TaskResult(task=name, phase="grade", cases=cases, mistake=mistake)


def passes_all(username="alice"):
    return SubmissionResult(username=username, content_hash="h-" + username, tasks=(
        task("conv_matrix", results.OK, results.OK), task("box_blur", results.OK),
        task("mse_forward", results.OK)))


def fails_conv(username="bob"):
    return SubmissionResult(username=username, content_hash="h-" + username, tasks=(
        task("conv_matrix", results.OK, results.MISMATCH, results.MISMATCH, mistake=FLIP),
        task("box_blur", results.OK),
        task("mse_forward", results.NOT_IMPLEMENTED)),
        notes=("cell 7 has a syntax error and was skipped",))


def not_gradable(username="carol"):
    return SubmissionResult.crashed(username, "h-" + username, "assignment.ipynb is not valid JSON",
                                    task_names=tuple(POINTS))


ROSTER = [Student("alice", "Alice Liddell", "alice@example.org"), Student("bob", "Bob"),
          Student("carol", "Carol", "carol@example.org"),
          Student("dave", "Dave", "dave@example.org")]  # dave: no submission


@pytest.fixture
def class_results():
    return {"alice": passes_all(), "bob": fails_conv(), "carol": not_gradable()}


# -- points -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, want", [
    ({}, {"dense_forward": 1.0, "conv_matrix": 1.0, "mse_forward": 0.5}),
    ({"mandatory": 2, "optional": 0}, {"dense_forward": 2.0, "conv_matrix": 2.0,
                                       "mse_forward": 0.0}),
    ({"overrides": {"conv_matrix": 3.0}}, {"dense_forward": 1.0, "conv_matrix": 3.0,
                                           "mse_forward": 0.5}),
])
def test_points_for(kwargs, want):
    points = exports.points_for(tasks.TASKS, **kwargs)
    assert list(points) == list(tasks.task_names())
    assert {name: points[name] for name in want} == want


@pytest.mark.parametrize("kwargs, want", [
    ({"overrides": {"conv_matrx": 2.0, "nope": 1.0}}, r"unknown tasks: 'conv_matrx', 'nope'"),
    ({"mandatory": -1}, r"mandatory must be a finite number >= 0, got -1"),
    ({"optional": float("nan")}, r"optional must be a finite number >= 0"),
    ({"overrides": {"conv_matrix": "2"}}, r"conv_matrix must be a finite number >= 0, got '2'"),
])
def test_points_for_refuses(kwargs, want):
    with pytest.raises(ValueError, match=want):
        exports.points_for(tasks.TASKS, **kwargs)


# -- CSV ------------------------------------------------------------------------------------------
def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("weights, want_alice, want_bob, want_possible", [
    ({}, ("1", "1", "0.5", "2.5", "100.0"), ("0", "1", "0", "1", "40.0"), "2.5"),
    ({"mandatory": 2.0, "optional": 1.0}, ("2", "2", "1", "5", "100.0"),
     ("0", "2", "0", "2", "40.0"), "5"),
    ({"overrides": {"conv_matrix": 3.0}}, ("3", "1", "0.5", "4.5", "100.0"),
     ("0", "1", "0", "1", "22.2"), "4.5"),
])
def test_gradebook_csv(tmp_path, class_results, weights, want_alice, want_bob, want_possible):
    chosen = [tasks.get_task(name) for name in ("conv_matrix", "box_blur", "mse_forward")]
    points = exports.points_for(chosen, **weights)
    path = exports.write_gradebook_csv(tmp_path / "gradebook.csv", students=ROSTER,
                                       results=class_results, points=points)
    rows = read_csv(path)
    assert list(rows[0]) == ["username", "name", "email", "conv_matrix", "box_blur",
                             "mse_forward", "score", "possible", "percent", "status"]
    assert [row["username"] for row in rows] == ["alice", "bob", "carol", "dave"]
    columns = ("conv_matrix", "box_blur", "mse_forward", "score", "percent")
    by_name = {row["username"]: row for row in rows}
    assert tuple(by_name["alice"][c] for c in columns) == want_alice
    assert tuple(by_name["bob"][c] for c in columns) == want_bob
    assert {row["possible"] for row in rows} == {want_possible}
    assert [row["status"] for row in rows] == [
        "graded", "graded", "not gradable: assignment.ipynb is not valid JSON", "no submission"]
    assert by_name["dave"]["score"] == "0" and by_name["dave"]["email"] == "dave@example.org"


def test_csv_includes_unknown_students_and_defuses_formulas(tmp_path):
    roster = {"alice": Student("alice", "=HYPERLINK(\"http://x\")", "")}
    path = exports.write_gradebook_csv(tmp_path / "g.csv", students=roster,
                                       results={"zed": passes_all("zed")}, points=POINTS)
    rows = read_csv(path)
    assert [row["username"] for row in rows] == ["alice", "zed"]
    assert rows[0]["name"] == "'=HYPERLINK(\"http://x\")"
    assert (rows[1]["score"], rows[1]["percent"]) == ("3.5", "100.0")


@pytest.mark.parametrize("result, want_status, want_score", [
    (passes_all(), "graded", 3.5),
    (fails_conv("alice"), "graded", 1.0),
    (not_gradable("alice"), "not gradable: assignment.ipynb is not valid JSON", 0.0),
    (SubmissionResult("alice", "h", error="line one\n  line two"), "not gradable: line one line two",
     0.0),
    (SubmissionResult("alice", "", error="no notebook in the folder"), "no submission", 0.0),
    (None, "no submission", 0.0),
])
def test_grade_status(result, want_status, want_score):
    [grade] = exports.grades(students=[Student("alice")],
                             results={"alice": result} if result else {}, points=POINTS)
    assert (grade.status, grade.score, grade.possible) == (want_status, want_score, 3.5)
    assert grade.submitted is (want_status != "no submission")


@pytest.mark.parametrize("worth, want_earned, want_score", [
    (None, (2.0, 1.0, 0.5), 3.5),
    ({"conv_matrix": 0.7}, (1.4, 1.0, 0.5), 2.9),                   # a late penalty
    ({"conv_matrix": 0.0, "mse_forward": 0.5}, (0.0, 1.0, 0.25), 1.25),
])
def test_worth_scales_a_passed_tasks_points(tmp_path, worth, want_earned, want_score):
    shares = {"alice": worth, "bob": {"conv_matrix": 0.5}} if worth else None
    lines = exports.grades(students=ROSTER[:2], results={"alice": passes_all(), "bob": fails_conv()},
                           points=POINTS, worth=shares)
    alice, bob = lines
    assert tuple(value for _, value in alice.earned) == pytest.approx(want_earned)
    assert alice.score == pytest.approx(want_score)
    assert bob.score == 1.0  # a failed task earns nothing, whatever it is worth
    rows = read_csv(exports.write_gradebook_csv(tmp_path / "g.csv", students=ROSTER[:1],
                                                results={"alice": passes_all()}, points=POINTS,
                                                worth=shares))
    assert rows[0]["score"] == exports.number(want_score)


def test_worth_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match=r"worth of 'conv_matrix' for 'alice' must be a fraction"):
        exports.grades(students=ROSTER[:1], results={"alice": passes_all()}, points=POINTS,
                       worth={"alice": {"conv_matrix": 1.5}})


# -- progress tables and feedback -------------------------------------------------------------
def test_progress_tables(tmp_path, class_results):
    written = exports.write_progress_tables(tmp_path / "progress", students=ROSTER,
                                            results=class_results,
                                            task_names=list(tasks.task_names()))
    assert [path.name for path in written] == ["alice.txt", "bob.txt", "carol.txt", "dave.txt"]
    tables = {path.stem: path.read_text(encoding="utf-8") for path in written}
    for text in tables.values():
        assert {len(line) for line in text.splitlines()} == {45}
        assert sum(line.startswith("| [") for line in text.splitlines()) == len(tasks.TASKS)
    assert "Alice Liddell" in tables["alice"] and "alice@example.org" in tables["alice"]
    state = {name: dict(re.findall(r"\| (\[\w+\] \w+)\s*\| (\w[\w ]*?)\s*\|", text))
             for name, text in tables.items()}
    assert state["alice"]["[MAN] conv_matrix"] == "completed"
    assert state["alice"]["[MAN] dense_forward"] == "not attempted"  # no result for it
    assert state["bob"]["[MAN] conv_matrix"] == "attempted"
    assert state["bob"]["[OPT] mse_forward"] == "not attempted"
    assert set(state["dave"].values()) == {"not attempted"}


def test_feedback(tmp_path, class_results):
    written = exports.write_feedback(tmp_path / "feedback", students=ROSTER,
                                     results=class_results, points=POINTS)
    text = {path.stem: path.read_text(encoding="utf-8") for path in written}
    assert "Score: 1 / 3.5 points (28.6%)" in text["bob"]
    assert "## [MAN] conv_matrix: failed (0 / 2 points)" in text["bob"]
    assert "2 of 3 cases failed." in text["bob"]
    assert "First failure: values differ at [0, 1]" in text["bob"]
    assert f"Recognised mistake: {FLIP}" in text["bob"]
    assert "## [MAN] box_blur: passed (1 / 1 points)" in text["bob"]
    assert "## [OPT] mse_forward: failed" in text["bob"] and "not implemented yet" in text["bob"]
    assert "cell 7 has a syntax error" in text["bob"]
    assert "Score: 3.5 / 3.5 points (100.0%)" in text["alice"]
    assert "assignment.ipynb is not valid JSON" in text["carol"]
    assert "No submission was received." in text["dave"]
    again = exports.write_feedback(tmp_path / "again", students=ROSTER, results=class_results,
                                   points=POINTS)
    assert [path.read_text(encoding="utf-8") for path in again] == list(text.values())


@pytest.mark.parametrize("write, suffix", [
    (exports.write_feedback, ".md"),
    (lambda folder, **kw: exports.write_progress_tables(folder, students=kw["students"],
                                                        results=kw["results"]), ".txt"),
])
def test_bad_usernames_never_become_paths_and_stop_no_one(tmp_path, write, suffix):
    folder = tmp_path / "out" / "files"
    students = [Student("../evil"), Student("bob smith"), Student("alice")]
    written = write(folder, students=students, results={}, points=POINTS)
    assert [path.name for path in written] == [f"alice{suffix}"]
    beside = [f"alice{suffix}", "alice.html"] if suffix == ".md" else [f"alice{suffix}"]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == sorted(beside + ["files"])


@pytest.mark.parametrize("task_result, want", [
    (None, ["Not graded: no result for this task."]),
    (task("box_blur", results.OK, results.OK), ["2 of 2 cases passed."]),
    (task("box_blur", results.OK, results.WRONG_SHAPE, message="expected (3, 3), got (2, 2)"),
     ["1 of 2 cases failed.", "First failure: expected (3, 3), got (2, 2)"]),
    (task("box_blur", results.MISMATCH, mistake="box blur not normalised"),
     ["1 of 1 cases failed.", "First failure: values differ at [0, 1]",
      "Recognised mistake: box blur not normalised"]),
    (TaskResult.crashed("box_blur", "grade", "timed out after 10 s", kind=results.TIMEOUT),
     ["timed out after 10 s"]),
])
def test_explain(task_result, want):
    assert exports.explain(task_result) == want


# -- HTML report ----------------------------------------------------------------------------------
def test_class_report(tmp_path, class_results):
    roster = ROSTER + [Student("eve", HOSTILE_NAME, "<b>eve</b>@example.org")]
    hostile = SubmissionResult.crashed("eve", "h", "<img src=x onerror=alert(1)>",
                                       task_names=tuple(POINTS))
    path = exports.write_class_report(tmp_path / "report" / "class.html", students=roster,
                                      results={**class_results, "eve": hostile}, points=POINTS)
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["class.html"]
    page = path.read_text(encoding="utf-8")
    assert len(re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)) == 2
    assert not re.search(r'(src|href)="(http|//|file:)', page) and "<link" not in page
    assert page.count("<script") == 1 and "<script>alert" not in page  # only the sorting
    assert "<b>eve" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert re.search(r"<dt>Students</dt><dd>5</dd>.*<dt>Graded</dt><dd>2</dd>", page)
    assert "<dt>Mean percent (submissions)</dt><dd>32.1</dd>" in page  # (100 + 28.6 + 0 + 0) / 4
    assert page.count("<tr data-username=") == 5
    script = re.search(r"<script>(.*?)</script>", page, re.S)[1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page


def student_row(page, username):
    return re.search(rf'<tr data-username="{username}">(.*?)</tr>', page, re.S)[1]


def test_class_report_explains_each_cell_and_links_the_feedback(class_results):
    page = exports.class_report(exports.grades(students=ROSTER, results=class_results,
                                               points=POINTS), task_names=list(POINTS))
    bob = student_row(page, "bob")
    assert '<a href="feedback/bob.html" title="feedback of bob">bob</a>' in bob
    # a click on a failed mark (no hover needed) leads to why, in the feedback's words
    links = re.findall(r'<td class="fail"[^>]*><a href="#([^"]+)"', page)
    assert "why-bob-conv_matrix" in links and len(links) == page.count('<td class="fail"')
    for anchor in links:
        assert page.count(f'id="{anchor}"') == 1
    why = re.search(r'<div class="why" id="why-bob-conv_matrix"><h3>(.*?)</h3><pre>(.*?)</pre>',
                    page, re.S)
    assert why[1] == "bob: [MAN] conv_matrix"
    assert html.unescape(why[2]).splitlines() == exports.explain(class_results["bob"].task(
        "conv_matrix"))
    conv = re.search(r'<td class="fail" data-task="conv_matrix"[^>]*title="([^"]*)"', bob)[1]
    assert conv == ("conv_matrix failed:\n2 of 3 cases failed.\nFirst failure: values differ at "
                    f"[0, 1]\nRecognised mistake: {FLIP}")
    assert 'data-task="box_blur" data-sort="2" title="box_blur: passed (1 cases)"' in bob
    carol = student_row(page, "carol")
    assert '<td class="status" data-sort="1" title="assignment.ipynb is not valid JSON">' \
        'not gradable</td>' in carol
    assert 'title="conv_matrix: no submission"' in student_row(page, "dave")
    tasks_rows = dict(re.findall(r'<tr data-task="(\w+)">(.*?)</tr>', page, re.S))
    assert re.findall(r"<td[^>]*>([^<]*)</td>", tasks_rows["conv_matrix"])[1:] == [
        "1", "2", "0", "33%", f"1 x {FLIP}"]  # carol's crash fails every task
    assert re.findall(r"<td[^>]*>([^<]*)</td>", tasks_rows["mse_forward"])[1:] == [
        "1", "1", "1", "33%", ""]


def test_mistakes_are_counted_per_task():
    flipped = "true convolution (kernel flipped): use the kernel as it is"
    unpadded = "no padding: pad the matrix with zeros first"
    results_ = {f"s{i}": SubmissionResult(f"s{i}", f"h{i}", tasks=(
        task("conv_matrix", results.MISMATCH, mistake=mistake),)) for i, mistake in
        enumerate([flipped, unpadded, flipped, flipped, ""])}
    lines = exports.grades(students=[], results=results_, points={"conv_matrix": 1.0})
    assert report_tables.mistake_counts(lines, "conv_matrix") == (
        "3 x true convolution (kernel flipped), 1 x no padding")


def test_feedback_links_only_for_usernames_that_name_files():
    lines = exports.grades(students=[Student("alice"), Student("../evil")], results={},
                           points=POINTS)
    page = exports.class_report(lines, task_names=list(POINTS))
    assert 'href="feedback/alice.html"' in page and "evil.html" not in page
    assert "href=" not in exports.class_report(lines, task_names=list(POINTS), feedback=None)


def test_a_hostile_reason_stays_in_its_title():
    hostile = SubmissionResult("eve", "h", tasks=(TaskResult.crashed(
        "conv_matrix", "grade", '"><script>alert(1)</script>\x1b[2J' + "x " * 500),))
    page = exports.class_report(exports.grades(students=[], results={"eve": hostile},
                                               points={"conv_matrix": 1.0}),
                                task_names=["conv_matrix"])
    title = re.search(r'data-task="conv_matrix" data-sort="0" title="([^"]*)"', page)[1]
    assert title.startswith("conv_matrix failed:\n&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
                            "\\x1b[2J") and title.endswith("x...")
    assert len(html.unescape(title)) <= report_tables.MAX_TITLE
    assert page.count("<script") == 1


def test_class_report_of_an_empty_class(tmp_path):
    path = exports.write_class_report(tmp_path / "class.html", students=[Student("dave")],
                                      results={}, points=POINTS)
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and "n/a" in page


# -- Gradescope -----------------------------------------------------------------------------------
def test_gradescope_results_of_a_failing_submission(tmp_path):
    data = exports.gradescope_results(fails_conv(), points=POINTS)
    assert (data["score"], data["visibility"], data["stdout_visibility"]) == (
        1.0, "after_due_date", "hidden")
    assert "cell 7 has a syntax error" in data["output"]
    assert [(t["name"], t["score"], t["max_score"], t["status"]) for t in data["tests"]] == [
        ("[MAN] conv_matrix", 0.0, 2.0, "failed"), ("[MAN] box_blur", 1.0, 1.0, "passed"),
        ("[OPT] mse_forward", 0.0, 0.5, "failed")]
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    conv = data["tests"][0]["output"]
    assert "First failure: values differ at [0, 1]" in conv and FLIP in conv
    assert data["score"] == sum(t["score"] for t in data["tests"])


@pytest.mark.parametrize("make, want_score, want_in_output", [
    (passes_all, 3.5, "Score: 3.5 / 3.5 points (100.0%)"),
    (not_gradable, 0.0, "could not be graded:\n\n```\nassignment.ipynb is not valid JSON\n```"),
])
def test_gradescope_json_file(tmp_path, make, want_score, want_in_output):
    path = exports.write_gradescope_json(tmp_path / "results" / "results.json", result=make(),
                                         points=POINTS)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == want_score and want_in_output in data["output"]
    assert sum(t["max_score"] for t in data["tests"]) == 3.5
    assert set(data) == {"score", "output", "output_format", "test_output_format",
                         "test_name_format", "visibility", "stdout_visibility", "tests"}
    assert (data["output_format"], data["test_output_format"]) == ("md", "md")
    assert all(set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
               for t in data["tests"])


# -- Moodle's worksheet without participant ids (issue 19.8) -----------------------------------
@pytest.mark.parametrize("moodle_ids, want_file, want_problem", [
    ({}, False, "lms/moodle.csv not written: no student has a Moodle participant id (grade "
                "Moodle's download with --lms moodle, or add a moodle_id column to students.csv)"),
    ({"alice": "7001"}, True, "lms/moodle.csv: 2 submission(s) left out, no Moodle participant "
                              "id: bob, carol"),
    ({"alice": "7001", "bob": "7002", "carol": "7003"}, True, None),
])
def test_a_moodle_worksheet_without_ids_is_not_written_and_says_why(
        tmp_path, class_results, moodle_ids, want_file, want_problem):
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "moodle.csv").write_text("an earlier run's worksheet")  # never left behind stale
    written = exports.write_lms_imports(folder, students=ROSTER, results=class_results,
                                        points=POINTS, lms_ids={"moodle": moodle_ids})
    assert ((folder / "moodle.csv") in written) is want_file
    assert (folder / "moodle.csv").exists() is want_file
    problems = exports.lms_problems(folder, results=class_results, lms_ids={"moodle": moodle_ids})
    assert problems == ([want_problem.replace("lms/", f"{folder}/")] if want_problem else [])

"""Exports of the gradebook: CSV for an LMS, progress tables, feedback, Gradescope JSON.

Every function takes the class as ``students`` (``Student`` records, or a
``load_roster`` dict) and ``results`` (``{username: SubmissionResult}``, e.g.
``Gradebook.latest_results()``); a student in either appears in the exports, so
roster students who submitted nothing get a row marked ``no submission``. Points
come from :func:`points_for`. Output is deterministic: no times, stable order.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader import paths, report_html, tasks
from grader.messages import progress_table
from grader.results import SubmissionResult, TaskResult
from grader.roster import Student

GRADED = "graded"
NO_SUBMISSION = "no submission"
NOT_GRADABLE = "not gradable"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Grade:
    """One student's line of the gradebook.

    Attributes:
        student: the roster's record (username only when the roster lacks the student).
        result: the latest graded submission, or None when nothing was submitted.
        earned: ``(task name, points earned)`` for every task of ``points``, in its order.
        score, possible: points earned, points available.
        percent: ``score / possible * 100`` rounded to 1 decimal (0 when nothing is possible).
        status: ``"graded"``, ``"no submission"`` or ``"not gradable: <error>"``.
    """

    student: Student
    result: SubmissionResult | None
    earned: tuple[tuple[str, float], ...]
    score: float
    possible: float
    percent: float
    status: str

    @property
    def submitted(self) -> bool:
        return self.status != NO_SUBMISSION


def points_for(task_list, *, mandatory: float = 1.0, optional: float = 0.5,
               overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Points of every task: its class weight times ``Task.points``, unless overridden.

    Args:
        task_list: ``Task`` declarations, e.g. ``grader.tasks.TASKS``.
        mandatory: weight of a ``[MAN]`` task.
        optional: weight of an ``[OPT]`` task.
        overrides: points for named tasks, e.g. ``{"conv_matrix": 2.0}``.

    Returns:
        ``{task name: points}`` in the order of ``task_list``.

    Raises:
        ValueError: for a negative or non-finite weight, or override names that are not
            among the tasks (all of them are named).
    """
    overrides = dict(overrides or {})
    for label, value in [("mandatory", mandatory), ("optional", optional), *overrides.items()]:
        _check_weight(label, value)
    task_list = list(task_list)
    unknown = sorted(set(overrides) - {task.name for task in task_list})
    if unknown:
        raise ValueError(f"points overrides name unknown tasks: {', '.join(map(repr, unknown))}; "
                         f"known tasks: {', '.join(sorted(task.name for task in task_list))}")
    return {task.name: float(overrides.get(
                task.name, (mandatory if task.mandatory else optional) * task.points))
            for task in task_list}


def _check_weight(label: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"points for {label} must be a finite number >= 0, got {value!r}")


def grades(*, students, results: Mapping[str, SubmissionResult],
           points: Mapping[str, float]) -> list[Grade]:
    """One :class:`Grade` per student of the roster or the results, by username."""
    for name, value in points.items():
        _check_weight(repr(name), value)
    possible = float(sum(points.values()))
    lines = []
    for student in everyone(students, results):
        result = results.get(student.username)
        passed = {t.task for t in result.tasks if t.passed} if result else set()
        earned = tuple((name, float(value) if name in passed else 0.0)
                       for name, value in points.items())
        score = float(sum(value for _, value in earned))
        percent = round(score / possible * 100, 1) if possible else 0.0
        lines.append(Grade(student, result, earned, score, possible, percent, _status(result)))
    return lines


def everyone(students, results: Mapping[str, SubmissionResult]) -> list[Student]:
    """The roster's students plus anyone with a result, by username."""
    roster = students.values() if isinstance(students, Mapping) else students
    known = {student.username: student for student in roster}
    for username in results:
        known.setdefault(username, Student(username))
    return [known[username] for username in sorted(known)]


def _status(result: SubmissionResult | None) -> str:
    if result is None or not result.content_hash:  # "" means nothing was submitted
        return NO_SUBMISSION
    return f"{NOT_GRADABLE}: {_one_line(result.error)}" if result.error else GRADED


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def number(value: float) -> str:
    """``2``, ``0.5``, ``1.25``: points without trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_gradebook_csv(path, *, students, results: Mapping[str, SubmissionResult],
                        points: Mapping[str, float]) -> Path:
    """``gradebook.csv``: one row per student, a column of points earned per task.

    Columns: username, name, email, one per task of ``points`` (named by the task),
    score, possible, percent, status. UTF-8, header row, ordered by username.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "name", "email", *points, "score", "possible", "percent",
                         "status"])
        for grade in grades(students=students, results=results, points=points):
            student = grade.student
            writer.writerow([_cell(student.username), _cell(student.name), _cell(student.email),
                             *(number(value) for _, value in grade.earned), number(grade.score),
                             number(grade.possible), f"{grade.percent:.1f}", grade.status])
    return path


def _student_file(folder: Path, username: str, suffix: str) -> Path:
    try:
        paths.check_username(username)
    except ValueError as exc:
        raise ValueError(f"cannot name a file after username {username!r}: {exc}") from None
    return folder / f"{username}{suffix}"


def write_progress_tables(folder, *, students, results: Mapping[str, SubmissionResult]) -> list[Path]:
    """``<username>.txt``: the student's AutoMark progress table (45 characters wide).

    A task without a result is ``not attempted``.

    Returns:
        The files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in everyone(students, results):
        result = results.get(student.username)
        rows = []
        for task in tasks.ordered_for_progress():
            task_result = result.task(task.name) if result else None
            rows.append((task.label, task_result.state if task_result else "not attempted"))
        path = _student_file(folder, student.username, ".txt")
        path.write_text(progress_table(student.username, student, rows) + "\n", encoding="utf-8")
        written.append(path)
    return written


def task_label(name: str) -> str:
    """``"[MAN] conv_matrix"`` for a known task, else the name itself."""
    task = tasks.find_task(name)
    return task.label if task else name


def explain(task_result: TaskResult | None) -> list[str]:
    """What happened to one task, deterministic, one item per line."""
    if task_result is None:
        return ["Not graded: no result for this task."]
    n_cases = len(task_result.cases)
    if task_result.passed:
        lines = [f"{n_cases} of {n_cases} cases passed."]
    elif task_result.not_implemented:
        lines = ["Not attempted: " + (task_result.error or
                                      "the function still raises NotImplementedError.")]
    elif task_result.error:
        lines = [f"Could not run: {task_result.error}"]
    else:
        lines = [f"{task_result.n_passed} of {n_cases} cases passed."]
        first = task_result.first_failure
        if first is not None and first.message:
            lines.append(f"First failure: {first.message}")
    if task_result.mistake:
        lines.append(f"Recognised mistake: {task_result.mistake}")
    return lines


def feedback_text(grade: Grade, *, points: Mapping[str, float]) -> str:
    """The Markdown feedback of one student."""
    student, result = grade.student, grade.result
    who = f"{student.name} ({student.username})" if student.name else student.username
    lines = [f"# Feedback for {who}", "",
             f"Score: {number(grade.score)} / {number(grade.possible)} points "
             f"({grade.percent:.1f}%)", ""]
    if not grade.submitted:
        return "\n".join(lines + ["No submission was received.", ""])
    if result.error:
        lines += ["## Could not be graded", "", *_block(result.error), ""]
    else:
        for name, earned in grade.earned:
            task_result = result.task(name)
            verdict = "passed" if task_result is not None and task_result.passed else "failed"
            lines += [f"## {task_label(name)}: {verdict} "
                      f"({number(earned)} / {number(points[name])} points)", ""]
            lines += [item for line in explain(task_result) for item in _block(line)] + [""]
    if result.notes:
        lines += ["## Notes", ""] + [f"- {_one_line(note)}" for note in result.notes] + [""]
    return "\n".join(lines)


def _block(text: str) -> list[str]:
    """One line as it is; several as an indented (code) block, so Markdown keeps them."""
    text_lines = str(text).splitlines() or [""]
    return text_lines if len(text_lines) == 1 else [""] + ["    " + line for line in text_lines]


def write_feedback(folder, *, students, results: Mapping[str, SubmissionResult],
                   points: Mapping[str, float]) -> list[Path]:
    """``<username>.md``: score, then every task's verdict and why; notes and error.

    Returns:
        The files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for grade in grades(students=students, results=results, points=points):
        path = _student_file(folder, grade.student.username, ".md")
        path.write_text(feedback_text(grade, points=points), encoding="utf-8")
        written.append(path)
    return written


def write_class_report(path, *, students, results: Mapping[str, SubmissionResult],
                       points: Mapping[str, float]) -> Path:
    """One self-contained HTML page: summary, pass rate per task, score histogram, table.

    Returns:
        The path written.
    """
    page = report_html.class_report(grades(students=students, results=results, points=points),
                                    task_names=list(points))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def gradescope_results(result: SubmissionResult, *, points: Mapping[str, float]) -> dict:
    """Gradescope's autograder ``results.json`` for one submission.

    One test per task of ``points`` (named by its ``[MAN]``/``[OPT]`` label); the
    top-level score is the sum of the tests' scores.
    """
    grade = grades(students=[], results={result.username: result}, points=points)[0]
    tests = []
    for name, earned in grade.earned:
        task_result = result.task(name)
        passed = task_result is not None and task_result.passed
        tests.append({"name": task_label(name), "score": earned, "max_score": float(points[name]),
                      "status": "passed" if passed else "failed",
                      "output": "\n".join(explain(task_result)), "visibility": "visible"})
    output = [f"Score: {number(grade.score)} / {number(grade.possible)} points "
              f"({grade.percent:.1f}%)"]
    if result.error:
        output.append(f"Your submission could not be graded: {result.error}")
    output += list(result.notes)
    return {"score": grade.score, "output": "\n".join(output), "visibility": "after_due_date",
            "stdout_visibility": "hidden", "tests": tests}


def write_gradescope_json(path, *, result: SubmissionResult,
                          points: Mapping[str, float]) -> Path:
    """Write :func:`gradescope_results` to ``path`` (e.g. ``/autograder/results/results.json``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(gradescope_results(result, points=points), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path

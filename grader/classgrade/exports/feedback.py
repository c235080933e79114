"""What each student reads: the Markdown feedback and the AutoMark progress table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import Grade, everyone, grades, number, student_file
from grader.classgrade.exports.markdown import code_block, inline
from grader.client import messages
from grader.client.messages import progress_table
from grader.client.roster import Student
from grader.core import tasks
from grader.core.results import SubmissionResult, TaskResult


def write_progress_tables(folder, *, students, results: Mapping[str, SubmissionResult]) -> list[Path]:
    """``<username>.txt``: the student's AutoMark progress table (45 characters wide).

    A task without a result is ``not attempted``; a name or email shows its control
    characters as escapes, so it stays on its line. A username that cannot name a
    file gets none (:func:`student_file`).

    Returns:
        The files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in everyone(students, results):
        path = student_file(folder, student.username, ".txt")
        if path is None:
            continue
        result = results.get(student.username)
        rows = []
        for task in tasks.ordered_for_progress():
            task_result = result.task(task.name) if result else None
            rows.append((task.label, task_result.state if task_result else "not attempted"))
        shown = Student(student.username, printable(student.name), printable(student.email))
        written.append(write_atomically(path, progress_table(student.username, shown, rows) + "\n"))
    return written


def task_label(name: str) -> str:
    """``"[MAN] conv_matrix"`` for a known task, else the name itself."""
    task = tasks.find_task(name)
    return task.label if task else name


def explain(task_result: TaskResult | None) -> list[str]:
    """What happened to one task, in the notebook's words (:func:`messages.explain`)."""
    if task_result is None:
        return ["Not graded: no result for this task."]
    if task_result.passed:
        n_cases = len(task_result.cases)
        return [f"{n_cases} of {n_cases} cases passed."]
    return messages.explain(task_result)


def feedback_text(grade: Grade, *, points: Mapping[str, float], run=None) -> str:
    """The Markdown feedback of one student; ``run`` (a ``RunInfo``) adds how it was graded.

    What the student or the roster wrote (a name, an exception's message, a note)
    is shown as text: escaped within a line, or in a fenced code block
    (:mod:`.markdown`); only our own headings start a line.
    """
    student, result = grade.student, grade.result
    who = (f"{inline(student.name)} ({inline(student.username)})" if student.name
           else inline(student.username))
    lines = [f"# Feedback for {who}", "",
             f"Score: {number(grade.score)} / {number(grade.possible)} points "
             f"({grade.percent:.1f}%)", ""]
    if not grade.submitted:
        return "\n".join(lines + ["No submission was received.", ""])
    if result.error:
        lines += ["## Could not be graded", "", *code_block([result.error]), ""]
    else:
        for name, earned in grade.earned:
            task_result = result.task(name)
            verdict = "passed" if task_result is not None and task_result.passed else "failed"
            lines += [f"## {task_label(name)}: {verdict} "
                      f"({number(earned)} / {number(points[name])} points)", ""]
            lines += explanation(task_result) + [""]
    if result.notes:
        lines += ["## Notes", ""] + [f"- {inline(note)}" for note in result.notes] + [""]
    if run is not None:
        lines += ["## How this was graded", ""] + [f"- {line}" for line in run.describe()] + [""]
    return "\n".join(lines)


def explanation(task_result: TaskResult | None) -> list[str]:
    """:func:`explain` as Markdown: our own words as they are, a failure's (which quote the
    student's code and messages) in a fenced code block."""
    if task_result is None or task_result.passed:
        return explain(task_result)
    return code_block(explain(task_result))


def write_feedback(folder, *, students, results: Mapping[str, SubmissionResult],
                   points: Mapping[str, float], run=None) -> list[Path]:
    """``<username>.md``: score, then every task's verdict and why; notes and error.

    Returns:
        The files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for grade in grades(students=students, results=results, points=points):
        path = student_file(folder, grade.student.username, ".md")
        if path is not None:
            written.append(write_atomically(path, feedback_text(grade, points=points, run=run)))
    return written

"""What each student reads: the Markdown feedback and the AutoMark progress table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.exports.grades import Grade, everyone, grades, number, one_line, student_file
from grader.client import messages
from grader.client.messages import progress_table
from grader.core import tasks
from grader.core.results import SubmissionResult, TaskResult


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
        path = student_file(folder, student.username, ".txt")
        path.write_text(progress_table(student.username, student, rows) + "\n", encoding="utf-8")
        written.append(path)
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
    """The Markdown feedback of one student; ``run`` (a ``RunInfo``) adds how it was graded."""
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
        lines += ["## Notes", ""] + [f"- {one_line(note)}" for note in result.notes] + [""]
    if run is not None:
        lines += ["## How this was graded", ""] + [f"- {line}" for line in run.describe()] + [""]
    return "\n".join(lines)


def _block(text: str) -> list[str]:
    """One line as it is; several as an indented (code) block, so Markdown keeps them."""
    text_lines = str(text).splitlines() or [""]
    return text_lines if len(text_lines) == 1 else [""] + ["    " + line for line in text_lines]


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
        path.write_text(feedback_text(grade, points=points, run=run), encoding="utf-8")
        written.append(path)
    return written

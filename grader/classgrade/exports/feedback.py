"""What each student reads: the Markdown feedback and the AutoMark progress table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from grader.classgrade import failures
from grader.classgrade.console import printable
from grader.classgrade.exports.feedback_html import write_feedback_page
from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import (
    Grade,
    Lateness,
    everyone,
    grades,
    number,
    student_file,
)
from grader.classgrade.exports.markdown import code_block, inline
from grader.classgrade.submission import SKIPPED
from grader.client import messages
from grader.client.automark_api import shown_tasks
from grader.client.messages import progress_table
from grader.client.roster import Student
from grader.core import tasks
from grader.core.results import SubmissionResult, TaskResult

_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def write_progress_tables(folder, *, students, results: Mapping[str, SubmissionResult],
                          task_names=None) -> list[Path]:
    """``<username>.txt``: the student's AutoMark progress table (45 characters wide).

    It lists ``task_names`` (the run's graded tasks; default: this week's, as the
    notebook's ``get_progress`` does), in the table's order.
    A task without a result is ``not attempted``; a name or email shows its control
    characters as escapes, so it stays on its line. A username that cannot name a
    file gets none (:func:`student_file`).

    Returns:
        The files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    listed = ([task for task in tasks.ordered_for_progress() if task.name in set(task_names)]
              if task_names is not None else shown_tasks())
    for student in everyone(students, results):
        path = student_file(folder, student.username, ".txt")
        if path is None:
            continue
        result = results.get(student.username)
        rows = []
        for task in listed:
            task_result = result.task(task.name) if result else None
            state = task_result.state if task_result else "not attempted"
            if task_result is not None and task_result.error_kind == failures.GRADER_FAILURE:
                state = "not graded"
            rows.append((task.label, state))
        shown = Student(student.username, printable(student.name), printable(student.email))
        written.append(write_atomically(path, progress_table(student.username, shown, rows) + "\n"))
    return written


def task_label(name: str) -> str:
    """``"[MAN] conv_matrix"`` for a known task, else the name itself."""
    task = tasks.find_task(name)
    return task.label if task else name


def explain(task_result: TaskResult | None) -> list[str]:
    """What happened to one task, in the notebook's words (:func:`messages.explain`); an
    argument changed in place is warned about as the notebook warns, passed or not."""
    if task_result is None:
        return ["Not graded: no result for this task."]
    if task_result.passed:
        n_cases = len(task_result.cases)
        mutated = _mutated(task_result)
        return [f"{n_cases} of {n_cases} cases passed."] + (
            [messages.mutation_warning(task_result.task, mutated)] if mutated else [])
    return messages.explain(replace(task_result, cases=tuple(
        replace(case, mutated=tuple(n for n in case.mutated if n in _arguments(task_result)))
        for case in task_result.cases)))


def _arguments(task_result: TaskResult) -> tuple[str, ...]:
    task = tasks.find_task(task_result.task)
    return task.arg_names if task else ()


def _mutated(task_result: TaskResult) -> tuple[str, ...]:
    """The arguments changed in place: the task's own argument names only (what comes back
    from the sandbox is the student's, and the warning is outside a code block)."""
    return tuple(name for name in task_result.mutated if name in _arguments(task_result))


def closing_line(run=None) -> str:
    """The last line of a student's feedback: when and by which rule it was graded.

    The grader's own settings (limits, version hash, sandbox) are the instructor's: they
    are in ``gradebook.run.json`` and the report, not here.
    """
    when = f"Graded on {run.started_at[:10]} by" if run is not None else "Graded by"
    return (f"{when} the course's automatic grader, with the rule of the notebook's check "
            "(`am.test_student_function`): a function earns its points when every one of its "
            "local and hidden cases passes. Questions about this feedback: ask your instructor.")


def feedback_text(grade: Grade, *, points: Mapping[str, float], run=None, intake=(),
                  late: Lateness | None = None) -> str:
    """The Markdown feedback of one student, ending with :func:`closing_line` (``run``, a
    ``RunInfo``, gives it the date).

    ``intake`` lists what was not graded of what the student handed in, and why (files
    refused or ignored, LMS entries that could be theirs): it comes first, under "Your files".
    ``late`` (a run with a deadline) says under the score when it was handed in and what the
    late policy took: the score is already what it left (``grades(worth=...)``).

    What the student or the roster wrote (a name, an exception's message, a note)
    is shown as text: escaped within a line, or in a fenced code block
    (:mod:`.markdown`); only our own headings start a line.
    """
    student, result = grade.student, grade.result
    who = (f"{inline(student.name)} ({inline(student.username)})" if student.name
           else inline(student.username))
    lines = [f"# Feedback for {who}", "",
             f"Score: {number(grade.score)} / {number(grade.possible)} points "
             f"({grade.percent:.1f}%)" if grade.scored or not grade.submitted else
             f"Score: not graded yet (out of {number(grade.possible)} points)", ""]
    if late is not None and grade.submitted and (late.words or late.handed_in):
        lines += _late_lines(late, grade) + [""]
    if intake:
        lines += ["## Your files", ""] + [f"- {inline(note)}" for note in intake] + [""]
    if not grade.submitted:
        return "\n".join(lines + ["No submission was received. If you handed one in, tell your "
                                  "instructor.", ""])
    if not grade.scored:
        lines += ["## Not graded yet", "", "The grader failed on this submission; this is not "
                  "a verdict on your work, and it will be graded again.", ""]
    elif result.error:
        lines += ["## Could not be graded", "", *code_block([result.error]), ""]
    else:
        for name, earned in grade.earned:
            task_result = result.task(name)
            verdict = "passed" if task_result is not None and task_result.passed else "failed"
            lines += [f"## {task_label(name)}: {verdict} "
                      f"({number(earned)} / {number(points[name])} points)", ""]
            lines += explanation(task_result, result) + [""]
    if result.notes:
        lines += ["## Notes", ""] + [f"- {inline(note)}" for note in result.notes] + [""]
    return "\n".join(lines + [closing_line(run), ""])


def _late_lines(late: Lateness, grade: Grade) -> list[str]:
    """Under the score: when it was handed in against the deadline, and what that cost."""
    when = (f"Handed in {late.handed_in.replace('T', ' ')} (UTC); your deadline "
            f"{late.deadline.replace('T', ' ')} (UTC)." if late.handed_in else "")
    before = sum(value for _, value in grade.earned) / late.factor if late.factor else None
    cost = (f" Before the late policy: {number(before)} points." if late.words and grade.scored
            and before is not None and late.factor < 1 else "")
    said = f"{late.words[0].upper()}{late.words[1:]}." if late.words else ""
    return [" ".join(part for part in (when, said) if part) + cost]


def explanation(task_result: TaskResult | None, result: SubmissionResult | None = None) -> list[str]:
    """:func:`explain` as Markdown: our own words as they are, a failure's (which quote the
    student's code and messages) in a fenced code block, then what the rest of ``result``
    explains: a graded function it calls that failed too (:func:`callee_notes`), a name
    it lacks because a statement failed to load (:func:`load_links`)."""
    if task_result is None or task_result.passed:
        return explain(task_result)
    lines = code_block(explain(task_result))
    if result is not None:
        lines += callee_notes(task_result, result) + load_links(task_result, result)
    return lines


def _said(task_result: TaskResult) -> str:
    return "\n".join([task_result.error] + [case.message for case in task_result.cases])


def callee_notes(task_result: TaskResult, result: SubmissionResult) -> list[str]:
    """"box_blur calls conv_matrix, which fails ...: fix conv_matrix first", the notebook's
    note, for each graded function the failed task calls that failed in the same grading;
    once: not when a case's message already says so (a stub callee)."""
    said = _said(task_result)
    failing = [(name, callee.not_implemented) for name in task_result.calls
               if (callee := result.task(name)) is not None and not callee.passed
               and f"write {name} first" not in said]
    return [""] + messages.dependency_note(task_result.task, failing,
                                           checked=messages.GRADED_TOO) if failing else []


def load_links(task_result: TaskResult, result: SubmissionResult) -> list[str]:
    """For ``name 'skimage' is not defined``: the statement that would have defined it and
    failed to load (its note under "Notes"), found by the name in that note."""
    lines = []
    for name in sorted(set(_UNDEFINED.findall(_said(task_result)))):
        origins = [note.partition(": ")[0] for note in result.notes if note.endswith(SKIPPED)
                   and re.search(rf"\b{re.escape(name)}\b", note)]
        if origins:
            lines.append(f"`{name}` is not defined because the statement that defines it "
                         f"failed to load: {inline(origins[0])} (see Notes below).")
    return [""] + lines if lines else []


def write_feedback(folder, *, students, results: Mapping[str, SubmissionResult],
                   points: Mapping[str, float], run=None,
                   intake_notes: Mapping[str, tuple[str, ...]] | None = None,
                   worth: Mapping[str, Mapping[str, float]] | None = None,
                   late: Mapping[str, Lateness] | None = None) -> list[Path]:
    """``<username>.md``: score, then every task's verdict and why; notes and error; and
    beside it ``<username>.html``, the same text as a page (:mod:`.feedback_html`).

    ``intake_notes`` (``{username: lines}``): what was not graded of each student's files;
    ``worth`` and ``late`` (:func:`feedback_text`): a late policy's share and its words.

    Returns:
        The Markdown files written, by username.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for grade in grades(students=students, results=results, points=points, worth=worth):
        path = student_file(folder, grade.student.username, ".md")
        if path is not None:
            intake = (intake_notes or {}).get(grade.student.username, ())
            text = feedback_text(grade, points=points, run=run, intake=intake,
                                 late=(late or {}).get(grade.student.username))
            written.append(write_atomically(path, text))
            write_feedback_page(path.with_suffix(".html"), text,
                                title=f"Feedback for {grade.student.username}")
    return written

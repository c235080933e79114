"""``gradebook.csv``: one row per student, for a spreadsheet or an LMS."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import Lateness, grades, number
from grader.core.results import SubmissionResult

LATE_COLUMNS = ("handed_in", "deadline", "days_late", "late")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula, on one line, with no control
    character a terminal would obey (shown as an escape: :func:`printable`)."""
    text = printable(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_gradebook_csv(path, *, students, results: Mapping[str, SubmissionResult],
                        points: Mapping[str, float], run=None,
                        worth: Mapping[str, Mapping[str, float]] | None = None,
                        late: Mapping[str, Lateness] | None = None) -> Path:
    """``gradebook.csv``: one row per student, a column of points earned per task.

    Columns: username, name, email, one per task of ``points`` (named by the task),
    score, possible, percent, status (``worth``: the share of a passed task's points each
    student earns, :func:`~grader.classgrade.exports.grades.grades`). UTF-8, header row,
    ordered by username. A submission the grader failed on (status ``not graded: ...``) has
    empty points, score and percent: never a 0 it did not earn. With
    ``run`` (a ``RunInfo``), its companion ``<name>.run.json`` says how it was graded.
    Both are replaced whole (:func:`write_atomically`). With ``late`` (a class run with a
    deadline), four more columns: handed_in (UTC, empty when unknown), deadline (the
    student's own), days_late and late (what the policy did, in the feedback's words).

    Returns:
        The path written.
    """
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["username", "name", "email", *points, "score", "possible", "percent",
                     "status"] + (list(LATE_COLUMNS) if late is not None else []))
    for grade in grades(students=students, results=results, points=points, worth=worth):
        student = grade.student
        shown = (grade.scored or not grade.submitted)
        writer.writerow([cell(student.username), cell(student.name), cell(student.email),
                         *(number(value) if shown else "" for _, value in grade.earned),
                         number(grade.score) if shown else "", number(grade.possible),
                         f"{grade.percent:.1f}" if shown else "", cell(grade.status),
                         *(_late_cells(late.get(student.username)) if late is not None else ())])
    path = write_atomically(path, text.getvalue())
    if run is not None:
        write_atomically(path.with_name(path.stem + ".run.json"),
                         json.dumps(run.to_dict(), indent=2) + "\n")
    return path


def _late_cells(late: Lateness | None) -> list[str]:
    if late is None:
        return ["", "", "", ""]
    return [late.handed_in, late.deadline, str(late.days), cell(late.words)]

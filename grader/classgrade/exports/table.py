"""``gradebook.csv``: one row per student, for a spreadsheet or an LMS."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.exports.grades import grades, number
from grader.core.results import SubmissionResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_gradebook_csv(path, *, students, results: Mapping[str, SubmissionResult],
                        points: Mapping[str, float], run=None) -> Path:
    """``gradebook.csv``: one row per student, a column of points earned per task.

    Columns: username, name, email, one per task of ``points`` (named by the task),
    score, possible, percent, status. UTF-8, header row, ordered by username. With
    ``run`` (a ``RunInfo``), its companion ``<name>.run.json`` says how it was graded.

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
    if run is not None:
        companion = path.with_name(path.stem + ".run.json")
        companion.write_text(json.dumps(run.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path

"""Grade import files for three LMSes: ``lms/canvas.csv``, ``lms/moodle.csv``, ``lms/brightspace.csv``.

All three are written on every run, each with the columns its LMS documents for a grade
import, one grade per student (the total score) for one gradebook item:

    canvas.csv       Canvas's gradebook CSV (Grades > Import): ``Student, ID, SIS User ID,
                     SIS Login ID, Section``, then a column named after the assignment, and a
                     ``Points Possible`` row as Canvas's own export has. Canvas finds a student
                     by ``ID`` (the Canvas user id) or, when it is blank, by the SIS ids; the
                     ``SIS Login ID`` cell holds the username. A column that names no
                     assignment of the course is matched to one (or created) in Canvas's
                     import preview.
    moodle.csv       Moodle's offline grading worksheet (the assignment's "Upload grading
                     worksheet"): ``Identifier, Full name, Email address, Status, Grade,
                     Maximum Grade, Grade can be changed, Last modified (submission),
                     Last modified (grade), Feedback comments``. Moodle finds a student by
                     ``Identifier`` alone (``Participant <id>``, the assignment's own id), so
                     only students whose participant id is known (from the download, or the
                     roster's ``moodle_id``) get a row; with no id known at all the file is
                     not written (:func:`lms_problems` says why). UTF-8 with a byte order
                     mark, as Moodle's worksheet.
    brightspace.csv  Brightspace's grade import (Grades > Import): ``OrgDefinedId, Username,
                     <item> Points Grade, End-of-Line Indicator`` (``#`` on every row).
                     Brightspace needs the OrgDefinedId or the Username; both are given when
                     known (``brightspace_id``; the username).

Relied on: Canvas's guide "How do I import grades in the Gradebook?" and its gradebook
export; Moodle's assignment strings (``Identifier``, ``Participant``, ``Grade can be
changed``) and the worksheets it writes; D2L's "Importing grades" page and its
``Grades_Sample_Import_File.csv`` (OrgDefinedId, Username, ``<item> Points Grade``,
``End-of-Line Indicator``).

A student with no submission, or whose submission the grader failed on (``not graded``),
gets an empty grade (an import leaves it as it is); everyone else gets their score, a
not-gradable submission 0. Points are this run's: set the LMS item's
maximum to the run's total (or scale there). The LMS ids come from the roster columns
(``canvas_id``, ``moodle_id``, ``brightspace_id``) and from the run's download (``--lms``),
which wins: Moodle's participant ids change with every assignment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import Grade, Lateness, grades, number
from grader.classgrade.exports.table import cell
from grader.core.results import SubmissionResult

ITEM = "CNN assignment"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments")
BRIGHTSPACE_COLUMNS = ("OrgDefinedId", "Username", "{item} Points Grade", "End-of-Line Indicator")
POINTS_POSSIBLE = "    Points Possible"
NOT_SET = "-"


def _grade(grade: Grade, text=number) -> str:
    return text(grade.score) if grade.scored else ""


def canvas_rows(lines: list[Grade], ids: Mapping[str, str], item: str = ITEM) -> list[list[str]]:
    """Canvas's gradebook import: header, ``Points Possible``, one row per student."""
    possible = number(lines[0].possible) if lines else ""
    rows = [[*CANVAS_COLUMNS, item], [POINTS_POSSIBLE, "", "", "", "", possible]]
    for grade in lines:
        student = grade.student
        rows.append([cell(student.name or student.username), cell(ids.get(student.username, "")),
                     "", cell(student.username), "", _grade(grade)])
    return rows


def moodle_rows(lines: list[Grade], ids: Mapping[str, str],
                late: Mapping[str, Lateness] | None = None) -> list[list[str]]:
    """Moodle's grading worksheet: header, one row per student with a participant id; a late
    hand-in's words (``late``) end its feedback comment."""
    rows = [list(MOODLE_COLUMNS)]
    for grade in lines:
        student, participant = grade.student, ids.get(grade.student.username, "")
        if not participant:
            continue
        rows.append([f"Participant {cell(participant)}", cell(student.name),
                     cell(student.email),
                     "Submitted for grading" if grade.submitted else "No submission",
                     _grade(grade, "{:.2f}".format), f"{grade.possible:.2f}", "Yes", NOT_SET,
                     NOT_SET, _late_summary(grade, (late or {}).get(student.username))])
    return rows


def _summary(grade: Grade) -> str:
    """Our own words only (task names, numbers): the feedback file has the details."""
    if not grade.submitted:
        return ""
    if not grade.scored:
        return "Not graded yet (a failure of the grader, not of your work): no grade is given."
    if grade.result is None or grade.result.error:
        return f"Could not be graded: 0 / {number(grade.possible)} points; see your feedback file."
    passed = [name for name, earned in grade.earned if _passed(grade, name)]
    failed = [name for name, _ in grade.earned if name not in passed]
    return (f"{number(grade.score)} / {number(grade.possible)} points. "
            f"Passed: {', '.join(passed) or 'none'}. Failed: {', '.join(failed) or 'none'}.")


def _late_summary(grade: Grade, late: Lateness | None) -> str:
    said = _summary(grade)
    if late is None or not late.words or not grade.scored:
        return said
    return f"{said} {late.words[0].upper()}{late.words[1:]}."


def _passed(grade: Grade, name: str) -> bool:
    task = grade.result.task(name) if grade.result is not None else None
    return task is not None and task.passed


def brightspace_rows(lines: list[Grade], ids: Mapping[str, str],
                     item: str = ITEM) -> list[list[str]]:
    """Brightspace's grade import: header, one row per student, ``#`` ending each."""
    header = [column.format(item=item) for column in BRIGHTSPACE_COLUMNS]
    return [header] + [[cell(ids.get(grade.student.username, "")), cell(grade.student.username),
                        _grade(grade), "#"] for grade in lines]


def _csv(rows, bom: bool = False) -> str:
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    return ("\ufeff" if bom else "") + text.getvalue()


def write_lms_imports(folder, *, students, results: Mapping[str, SubmissionResult],
                      points: Mapping[str, float],
                      lms_ids: Mapping[str, Mapping[str, str]] | None = None,
                      item: str = ITEM,
                      worth: Mapping[str, Mapping[str, float]] | None = None,
                      late: Mapping[str, Lateness] | None = None) -> list[Path]:
    """Write ``canvas.csv``, ``moodle.csv`` and ``brightspace.csv`` into ``folder``.

    Args:
        students, results, points: the class, as for every export.
        lms_ids: ``{"canvas": {username: id}, "moodle": ..., "brightspace": ...}``.
        item: the gradebook item's name (Canvas's column, Brightspace's ``<item> Points Grade``).
        worth: ``{username: {task: fraction}}`` of a passed task's points (a late penalty).
        late: ``{username: Lateness}``: its words end the student's Moodle comment (Canvas's
            and Brightspace's imports carry the grade only).

    Returns:
        The files written (each replaced whole).
    """
    folder, lms_ids = Path(folder), lms_ids or {}
    lines = grades(students=students, results=results, points=points, worth=worth)
    moodle = moodle_rows(lines, lms_ids.get("moodle", {}), late)
    files = {"canvas.csv": _csv(canvas_rows(lines, lms_ids.get("canvas", {}), item)),
             "moodle.csv": _csv(moodle, bom=True) if len(moodle) > 1 else None,
             "brightspace.csv": _csv(brightspace_rows(lines, lms_ids.get("brightspace", {}), item))}
    if files["moodle.csv"] is None:  # header only: Moodle would match no one
        (folder / "moodle.csv").unlink(missing_ok=True)
    return [write_atomically(folder / name, text) for name, text in files.items() if text]


def lms_problems(folder, *, results: Mapping[str, SubmissionResult],
                 lms_ids: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """What keeps an LMS file from taking every submission's grade, one line each.

    Moodle finds a student only by the participant id: without any, ``moodle.csv`` is not
    written; without some, those students are left out of it.
    """
    known = (lms_ids or {}).get("moodle", {})
    submitted = sorted(name for name, result in results.items() if result.content_hash)
    missing = [name for name in submitted if name not in known]
    path = Path(folder) / "moodle.csv"
    if missing and len(missing) == len(submitted):
        return [f"{path} not written: no student has a Moodle participant id (grade Moodle's "
                "download with --lms moodle, or add a moodle_id column to students.csv)"]
    if missing:
        return [f"{path}: {len(missing)} submission(s) left out, no Moodle participant id: "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}"]
    return []


def known_ids(roster_students, submissions=(), lms: str | None = None) -> dict[str, dict[str, str]]:
    """``{lms: {username: id}}`` from the roster's columns, and the download's ids for ``lms``."""
    ids = {name: {s.username: s.lms_id(name) for s in roster_students if s.lms_id(name)}
           for name in ("canvas", "moodle", "brightspace")}
    if lms is not None:
        ids[lms].update({s.username: s.lms_id for s in submissions if s.lms_id})
    return ids

"""The class roster: ``students.csv`` with columns username, name, email.

Optional columns give each student's id in a learning management system, for
reading its submission downloads and writing its grade import (class grading,
``--lms``): ``canvas_id`` (the Canvas user id: the number in Canvas's download
file names and the ``ID`` column of its gradebook), ``moodle_id`` (the
participant id of the Moodle assignment: ``Participant 123`` in its grading
worksheet, the number in its download folders) and ``brightspace_id`` (the
OrgDefinedId). A column per LMS, so one roster can serve a course taught on two. An
optional ``extension`` column gives a student more time (``3d``, ``2``, or a deadline of their
own with its offset, ``2026-12-20T12:00+01:00``: :func:`grader.core.deadlines.own_deadline`).

LMS exports are messy: a row whose username cannot be one (``bob smith``), that
repeats an earlier row, or that repeats another row's LMS id is left out and
reported, one line each, by :func:`read_roster`; everyone else is on the roster.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.client import paths
from grader.core.deadlines import check_extension

LMS_COLUMNS = {"canvas": "canvas_id", "moodle": "moodle_id", "brightspace": "brightspace_id"}


@dataclass(frozen=True)
class Student:
    """One row of the roster.

    Attributes:
        username, name, email: the student.
        canvas_id, moodle_id, brightspace_id: their ids in each LMS ("" when unknown).
        extension: more time than the course's deadline ("" for none; see the module).
    """

    username: str
    name: str = ""
    email: str = ""
    canvas_id: str = ""
    moodle_id: str = ""
    brightspace_id: str = ""
    extension: str = ""

    def lms_id(self, lms: str) -> str:
        """The student's id in ``lms`` (``"canvas"``, ``"moodle"``, ``"brightspace"``), or ""."""
        return getattr(self, LMS_COLUMNS[lms])


@dataclass(frozen=True)
class Roster:
    """A roster file, read.

    Attributes:
        students: by username, in the file's order.
        problems: one line per row left out (or extension cell not kept), naming the file,
            the row (as a spreadsheet numbers it: the header is row 1) and why.
        columns: the header's column names (stripped, lower case): a column the file does not
            have is not a column of empty cells (re-importing a list without ``extension``
            keeps the extensions granted).
    """

    students: dict[str, Student]
    problems: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()


def read_roster(path: Path | None = None) -> Roster | None:
    """The roster at ``path`` (default :func:`paths.roster_path`), or None when there is none.

    Raises:
        ValueError: if the file has no ``username`` column (no row can be read).
    """
    path = Path(path) if path is not None else paths.roster_path()
    if not path.is_file():
        return None
    students: dict[str, Student] = {}
    first_rows: dict[str, int] = {}
    lms_ids: dict[tuple[str, str], str] = {}
    problems = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        found = reader.fieldnames or []
        reader.fieldnames = columns = [(name or "").strip().lower() for name in found]
        if "username" not in columns:
            hint = ("; the file separates its columns with ';': save it as comma-separated CSV"
                    if any(";" in name for name in columns) else "")
            raise ValueError(f"{path}: the roster needs a 'username' column, "
                             f"found columns {found}{hint}")
        for row_number, row in enumerate(reader, start=2):
            username = (row.get("username") or "").strip()
            cells = {key: _text(row.get(key)) for key in ("name", "email", *LMS_COLUMNS.values())}
            problem = (_row_problem(username, row, first_rows)
                       or _lms_id_problem(username, cells, lms_ids, first_rows))
            if problem:
                problems.append(f"{path}, row {row_number}: {problem}; that row is left out")
            elif username:
                cells["extension"], problem = _extension(row.get("extension"))
                if problem:  # the student stays on the roster, with the course's deadline
                    problems.append(f"{path}, row {row_number}: {problem}")
                first_rows[username] = row_number
                students[username] = Student(username, **cells)
                lms_ids.update({(column, cells[column]): username for column in LMS_COLUMNS.values()
                                if cells[column]})
    return Roster(students, tuple(problems), tuple(columns))


def _text(cell) -> str:
    return cell.strip() if isinstance(cell, str) else ""


def _extension(cell) -> tuple[str, str]:
    """``(extension, problem)``: the cell when valid, else "" and why it was not kept."""
    try:
        return check_extension(_text(cell)), ""
    except ValueError as error:
        return "", f"{error}; the course's deadline applies until the cell is fixed"


def _lms_id_problem(username: str, cells: dict, lms_ids: dict[tuple[str, str], str],
                    first_rows: dict[str, int]) -> str:
    """Why a row's LMS id cannot be kept (an earlier row has it), or ""."""
    for column in LMS_COLUMNS.values():
        holder = lms_ids.get((column, cells[column]))
        if username and holder is not None:
            return (f"{column} {cells[column]!r} is also {holder}'s (row {first_rows[holder]} "
                    "is kept)")
    return ""


def _row_problem(username: str, row: dict, first_rows: dict[str, int]) -> str:
    """Why a row cannot be on the roster, or "" when it can (or is blank)."""
    if not username:
        filled = any(isinstance(v, str) and v.strip() for k, v in row.items() if k is not None)
        return "it has no username" if filled else ""
    if not valid_username(username):
        return (f"username {username!r} is not a valid username (at most 64 letters, digits "
                "and . _ @ + -, starting with a letter or digit)")
    if username in first_rows:
        return f"username {username!r} appears twice (row {first_rows[username]} is kept)"
    return ""


def valid_username(username) -> bool:
    """True for a username that can name a student's files (:func:`paths.check_username`)."""
    try:
        paths.check_username(username)
    except ValueError:
        return False
    return True


def load_roster(path: Path | None = None) -> dict[str, Student] | None:
    """Students by username, or None when there is no roster file.

    Rows left out (see :func:`read_roster`) are not in it.

    Raises:
        ValueError: if the file has no ``username`` column.
    """
    roster = read_roster(path)
    return None if roster is None else roster.students

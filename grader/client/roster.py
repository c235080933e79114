"""The class roster: ``students.csv`` with columns username, name, email.

LMS exports are messy: a row whose username cannot be one (``bob smith``) or
repeats an earlier row is left out and reported, one line each, by
:func:`read_roster`; everyone else is on the roster.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.client import paths


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    username: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Roster:
    """A roster file, read.

    Attributes:
        students: by username, in the file's order.
        problems: one line per row left out, naming the file, the row (as a
            spreadsheet numbers it: the header is row 1) and why.
    """

    students: dict[str, Student]
    problems: tuple[str, ...] = ()


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
    problems = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "username" not in reader.fieldnames:
            raise ValueError(f"{path}: the roster needs a 'username' column, "
                             f"found columns {reader.fieldnames}")
        for row_number, row in enumerate(reader, start=2):
            username = (row.get("username") or "").strip()
            problem = _row_problem(username, row, first_rows)
            if problem:
                problems.append(f"{path}, row {row_number}: {problem}; that row is left out")
            elif username:
                first_rows[username] = row_number
                students[username] = Student(username, (row.get("name") or "").strip(),
                                             (row.get("email") or "").strip())
    return Roster(students, tuple(problems))


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

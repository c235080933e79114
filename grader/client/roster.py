"""The class roster: ``students.csv`` with columns username, name, email."""

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


def load_roster(path: Path | None = None) -> dict[str, Student] | None:
    """Students by username, or None when there is no roster file.

    Raises:
        ValueError: if the file has no ``username`` column or repeats a username.
    """
    path = Path(path) if path is not None else paths.roster_path()
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "username" not in reader.fieldnames:
            raise ValueError(f"{path}: the roster needs a 'username' column, "
                             f"found columns {reader.fieldnames}")
        students: dict[str, Student] = {}
        for line, row in enumerate(reader, start=2):
            username = (row.get("username") or "").strip()
            if not username:
                continue
            if username in students:
                raise ValueError(f"{path}, line {line}: username {username!r} appears twice")
            students[username] = Student(username, (row.get("name") or "").strip(),
                                         (row.get("email") or "").strip())
    return students

"""The gradebook: the store of record of class grading, in SQLite.

Every submission is saved in one transaction (its student, the submission and
all its task results), so a run that is killed midway loses nothing already
saved and never leaves half a submission; the next run asks :meth:`is_graded`
and skips what is unchanged. Earlier gradings stay in the tables as history;
:meth:`Gradebook.latest_results` returns the newest one per student.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    students    username PK, name, email
    submissions id PK, username -> students, content_hash, grader_version,
                graded_at (ISO 8601, UTC), sandbox, seconds, error, notes (JSON list)
    results     (submission_id -> submissions, position) PK, task, passed, state,
                n_passed, n_cases, error, mistake, first_failure, details
                (JSON of TaskResult.to_dict())
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from grader.core.results import CaseResult, SubmissionResult, TaskResult
from grader.client.roster import Student

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    username TEXT PRIMARY KEY,
    name     TEXT NOT NULL DEFAULT '',
    email    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL REFERENCES students(username),
    content_hash   TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    graded_at      TEXT NOT NULL,
    sandbox        TEXT NOT NULL DEFAULT '',
    seconds        REAL NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    notes          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS submissions_by_username ON submissions(username, id);
CREATE TABLE IF NOT EXISTS results (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    task          TEXT NOT NULL,
    passed        INTEGER NOT NULL,
    state         TEXT NOT NULL,
    n_passed      INTEGER NOT NULL,
    n_cases       INTEGER NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    mistake       TEXT NOT NULL DEFAULT '',
    first_failure TEXT NOT NULL DEFAULT '',
    details       TEXT NOT NULL,
    PRIMARY KEY (submission_id, position)
);
"""

_INSERT_RESULT = ("INSERT INTO results (submission_id, position, task, passed, state, n_passed, "
                  "n_cases, error, mistake, first_failure, details) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_LATEST = ("SELECT * FROM submissions WHERE id IN "
           "(SELECT MAX(id) FROM submissions GROUP BY username)")


class Gradebook:
    """A gradebook file, opened (and created when missing) on ``path``.

    Use it as a context manager, or call :meth:`close`::

        with Gradebook(path) as book:
            if not book.is_graded(username, digest, grader_version=VERSION):
                book.save(result, grader_version=VERSION)

    Args:
        path: the SQLite file; its folder is created when missing.
        busy_timeout: seconds to wait for another connection's write lock
            before ``sqlite3.OperationalError: database is locked``.

    Raises:
        ValueError: if the file is not a gradebook, or one made by a newer grader.
    """

    def __init__(self, path, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open every transaction ourselves (BEGIN IMMEDIATE).
        self._db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._open_schema(busy_timeout)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ValueError(f"{path} is not a gradebook (SQLite says: {exc})") from None
        except ValueError:
            self._db.close()
            raise

    def _open_schema(self, busy_timeout: float) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(f"{self.path} has gradebook schema version {version}, this grader "
                             f"knows versions up to {SCHEMA_VERSION}: update the kit")
        if version < SCHEMA_VERSION:
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (saved submissions are already committed)."""
        self._db.close()

    def _transaction(self):
        return _Transaction(self._db)

    # -- writing -----------------------------------------------------------------------------
    def add_students(self, students: Iterable[Student]) -> None:
        """Insert roster students, or update the name and email of known ones.

        Args:
            students: ``Student`` records (a ``load_roster`` dict's values).
        """
        rows = [(s.username, s.name or "", s.email or "") for s in students]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO students (username, name, email) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET name = excluded.name, email = excluded.email",
                rows)

    def save(self, result: SubmissionResult, *, grader_version: str,
             graded_at: datetime | None = None) -> int:
        """Store one graded submission, all or nothing.

        Args:
            result: the submission's result; its student is added when unknown.
            grader_version: the version of the grader (and its tasks) that graded it.
            graded_at: the time of grading (default: now); naive times are taken as UTC.

        Returns:
            The new submission's id.

        Raises:
            ValueError: if ``grader_version`` is empty.
            sqlite3.OperationalError: if another process holds the lock longer than
                the busy timeout.
        """
        if not grader_version:
            raise ValueError("grader_version must be a non-empty string, got "
                             f"{grader_version!r}")
        when = (graded_at or datetime.now(timezone.utc))
        when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
        with self._transaction():
            self._db.execute("INSERT OR IGNORE INTO students (username) VALUES (?)",
                             (result.username,))
            cursor = self._db.execute(
                "INSERT INTO submissions (username, content_hash, grader_version, graded_at, "
                "sandbox, seconds, error, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.username, result.content_hash, grader_version,
                 when.astimezone(timezone.utc).isoformat(timespec="seconds"), result.sandbox,
                 float(result.seconds), result.error, json.dumps(list(result.notes))))
            submission_id = cursor.lastrowid
            for position, task in enumerate(result.tasks):
                self._db.execute(_INSERT_RESULT, _result_row(submission_id, position, task))
        return submission_id

    # -- reading -----------------------------------------------------------------------------
    def is_graded(self, username: str, content_hash: str, grader_version: str) -> bool:
        """True when the user's latest grading is of this content by this grader version."""
        row = self._db.execute(
            "SELECT content_hash, grader_version FROM submissions WHERE username = ? "
            "ORDER BY id DESC LIMIT 1", (username,)).fetchone()
        return row is not None and tuple(row) == (content_hash, grader_version)

    def students(self) -> list[Student]:
        """Every known student (roster or submission), by username."""
        rows = self._db.execute("SELECT username, name, email FROM students ORDER BY username")
        return [Student(row["username"], row["name"], row["email"]) for row in rows]

    def latest_results(self) -> dict[str, SubmissionResult]:
        """The newest graded submission of every student who has one, by username."""
        submissions = self._db.execute(_LATEST + " ORDER BY username").fetchall()
        tasks: dict[int, list[TaskResult]] = {row["id"]: [] for row in submissions}
        rows = self._db.execute(
            "SELECT submission_id, details FROM results WHERE submission_id IN "
            f"(SELECT id FROM ({_LATEST})) ORDER BY submission_id, position")
        for row in rows:
            tasks[row["submission_id"]].append(task_from_dict(json.loads(row["details"])))
        return {row["username"]: SubmissionResult(
                    username=row["username"], content_hash=row["content_hash"],
                    tasks=tuple(tasks[row["id"]]), error=row["error"],
                    notes=tuple(json.loads(row["notes"])), sandbox=row["sandbox"],
                    seconds=row["seconds"])
                for row in submissions}

    def count(self, table: str) -> int:
        """Number of rows in ``table`` (``students``, ``submissions`` or ``results``)."""
        if table not in ("students", "submissions", "results"):
            raise ValueError(f"table must be students, submissions or results, got {table!r}")
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` when the block raises.

    IMMEDIATE takes the write lock up front, so a busy database makes SQLite wait
    (busy timeout) instead of failing when a read would be upgraded to a write.
    """

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self):
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._db.execute("COMMIT")
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")


def _result_row(submission_id: int, position: int, task: TaskResult) -> tuple:
    first = task.first_failure
    return (submission_id, position, task.task, int(task.passed), task.state, task.n_passed,
            len(task.cases), task.error, task.mistake,
            first.message if first is not None else "", json.dumps(task.to_dict()))


def _build(cls, data: dict, **converted):
    """``cls(**data)`` keeping only the dataclass's fields (derived keys are dropped)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {key: value for key, value in data.items() if key in names}
    values.update(converted)
    return cls(**values)


def task_from_dict(data: dict) -> TaskResult:
    """A ``TaskResult`` rebuilt from its ``to_dict()``."""
    cases = tuple(_build(CaseResult, case, mutated=tuple(case.get("mutated", ())))
                  for case in data.get("cases", ()))
    return _build(TaskResult, data, cases=cases)

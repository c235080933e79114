"""The gradebook: the store of record of class grading, in SQLite.

Every submission is saved in one transaction (its student, the submission and
all its task results), so a run that is killed midway loses nothing already
saved and never leaves half a submission; the next run asks :meth:`is_graded`
and skips what is unchanged. Earlier gradings stay in the tables as history;
:meth:`Gradebook.latest_results` returns the newest one per student.

Results are kept per task under a *settings key* (grader version, sandbox,
limits): a later run with the same settings skips every task already graded
for the same content and grades only what is new (a task added, a changed
notebook), and never mixes in results graded under other settings.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    runs        id PK, started_at, finished_at, grader_version, sandbox (description),
                settings_key, tasks, limits, points (JSON)
    students    username PK, name, email
    submissions id PK, username -> students, content_hash, grader_version,
                graded_at (ISO 8601, UTC), sandbox, seconds, error, notes (JSON list),
                settings_key, run_id -> runs
    results     (submission_id -> submissions, position) PK, task, passed, state,
                n_passed, n_cases, error, mistake, first_failure, details
                (JSON of TaskResult.to_dict())
    handins     (run_id -> runs, username) PK, content_hash, handed_in (UTC, "" unknown),
                deadline (the student's own), days_late, factor, words: a run with a
                deadline (runs.deadlines, JSON) records each submission's lateness (v3)
"""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from grader.classgrade.gradebook_schema import (
    INSERT_RESULT,
    LATEST,
    MIGRATIONS,
    RUNS,
    SCHEMA,
    Transaction,
    check_file,
    result_row,
    task_from_dict,
)
from grader.classgrade.runinfo import RunInfo
from grader.client.roster import Student, valid_username
from grader.core.results import SubmissionResult, TaskResult

SCHEMA_VERSION = 3
BUSY_TIMEOUT = 30.0

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
        ValueError: if the file is not a gradebook (not SQLite, damaged, another
            program's database), or one made by a newer grader; such a file is only
            read, never changed (:func:`~.gradebook_schema.check_file`).
    """

    def __init__(self, path, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            check_file(self.path, SCHEMA_VERSION)
        # isolation_level=None: we open every transaction ourselves (BEGIN IMMEDIATE).
        try:
            self._db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ValueError(f"{path} cannot be opened as a gradebook (SQLite says: {exc})") from None
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
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(RUNS)
                for step, statements in MIGRATIONS.items():  # from the file's version on
                    for statement in statements if version < step else ():
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

    @contextlib.contextmanager
    def _transaction(self):
        """One transaction; a full disk rolls it back and says so (``OSError`` ENOSPC)."""
        try:
            with Transaction(self._db) as db:
                yield db
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
                raise
            raise OSError(errno.ENOSPC, f"the disk is full: {self.path} could not be written; "
                          "everything saved before is kept. Free some space and run grade "
                          "again: it grades only what is missing") from None

    # -- writing -----------------------------------------------------------------------------
    def add_students(self, students: Iterable[Student]) -> None:
        """Insert roster students, or update the name and email of known ones.

        Args:
            students: ``Student`` records (a ``load_roster`` dict's values).

        Raises:
            ValueError: naming the usernames that could not name a student's file
                (``bob smith``); nothing is added then.
        """
        rows = [(s.username, s.name or "", s.email or "") for s in students]
        bad = [username for username, _, _ in rows if not valid_username(username)]
        if bad:
            raise ValueError(f"not valid usernames: {', '.join(map(repr, bad))} (letters, digits "
                             "and . _ @ + -, starting with a letter or digit); no student added")
        with self._transaction():
            self._db.executemany(
                "INSERT INTO students (username, name, email) VALUES (?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET name = excluded.name, email = excluded.email",
                rows)

    def start_run(self, run: RunInfo) -> int:
        """Record a grading run's settings; returns its id (finish it with :meth:`finish_run`)."""
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (started_at, grader_version, sandbox, settings_key, tasks, "
                "limits, points, deadlines) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run.started_at, run.grader_version, run.sandbox, run.settings_key,
                 json.dumps(list(run.tasks)), json.dumps(run.limits), json.dumps(run.points),
                 json.dumps(run.deadlines)))
        return cursor.lastrowid

    def finish_run(self, run_id: int, finished_at: str | None = None) -> None:
        """Mark a run finished (a run without an end was interrupted)."""
        with self._transaction():
            self._db.execute("UPDATE runs SET finished_at = ? WHERE id = ?",
                             (finished_at or _now(), run_id))

    def runs(self) -> list[dict]:
        """Every run, oldest first, as dicts (JSON columns decoded)."""
        rows = self._db.execute("SELECT * FROM runs ORDER BY id").fetchall()
        return [{**dict(row), "tasks": json.loads(row["tasks"]), "limits": json.loads(row["limits"]),
                 "points": json.loads(row["points"]), "deadlines": json.loads(row["deadlines"])}
                for row in rows]

    def record_handins(self, run_id: int, late, content_hashes) -> None:
        """Record each submission's ``Lateness`` (``{username: Lateness}``) under ``run_id``."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO handins (run_id, username, content_hash, handed_in, "
                "deadline, days_late, factor, words) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, username, content_hashes.get(username, ""), entry.handed_in,
                  entry.deadline, entry.days, entry.factor, entry.words)
                 for username, entry in sorted(late.items())])

    def handins(self, run_id: int) -> dict[str, dict]:
        """``{username: row}`` of the hand-ins a run recorded."""
        rows = self._db.execute("SELECT * FROM handins WHERE run_id = ? ORDER BY username",
                                (run_id,))
        return {row["username"]: dict(row) for row in rows}

    def save(self, result: SubmissionResult, *, grader_version: str,
             graded_at: datetime | None = None, settings_key: str = "",
             run_id: int | None = None) -> int:
        """Store one graded submission, all or nothing.

        Args:
            result: the submission's result; its student is added when unknown.
            grader_version: the version of the grader (and its tasks) that graded it.
            graded_at: the time of grading (default: now); naive times are taken as UTC.
            settings_key: the run's :attr:`RunInfo.settings_key` (its results are reused
                only by runs with the same key).
            run_id: the run it belongs to.

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
                "sandbox, seconds, error, notes, settings_key, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.username, result.content_hash, grader_version,
                 when.astimezone(timezone.utc).isoformat(timespec="seconds"), result.sandbox,
                 float(result.seconds), result.error, json.dumps(list(result.notes)),
                 settings_key, run_id))
            submission_id = cursor.lastrowid
            for position, task in enumerate(result.tasks):
                self._db.execute(INSERT_RESULT, result_row(submission_id, position, task))
        return submission_id

    # -- reading -----------------------------------------------------------------------------
    def is_graded(self, username: str, content_hash: str, grader_version: str) -> bool:
        """True when the user's latest grading is of this content by this grader version."""
        row = self._db.execute(
            "SELECT content_hash, grader_version FROM submissions WHERE username = ? "
            "ORDER BY id DESC LIMIT 1", (username,)).fetchone()
        return row is not None and tuple(row) == (content_hash, grader_version)

    def graded_tasks(self, username: str, content_hash: str, settings_key: str) -> set[str]:
        """Tasks already graded for this content under these settings."""
        rows = self._db.execute(
            "SELECT DISTINCT r.task FROM results r JOIN submissions s ON s.id = r.submission_id "
            "WHERE s.username = ? AND s.content_hash = ? AND s.settings_key = ?",
            (username, content_hash, settings_key))
        return {row["task"] for row in rows}

    def current_results(self, settings_key: str, content_hashes: dict,
                        task_names) -> dict[str, SubmissionResult]:
        """Each student's results for their current content under these settings only.

        Args:
            settings_key: the run's settings.
            content_hashes: ``{username: content hash}`` of the submissions present now.
            task_names: the tasks, in the order the results list them.

        Returns:
            ``{username: SubmissionResult}``; per task the newest result; error and notes
            of only the gradings those results come from (an earlier grading's error does
            not outlive its re-grade), sandbox and time of the newest of them.
        """
        found = {}
        for username, digest in sorted(content_hashes.items()):
            rows = self._db.execute(
                "SELECT * FROM submissions WHERE username = ? AND content_hash = ? AND "
                "settings_key = ? ORDER BY id DESC", (username, digest, settings_key)).fetchall()
            if not rows:
                continue
            by_task, used = {}, {}
            for row in rows:  # newest first: the first result of a task wins
                for detail in self._db.execute(
                        "SELECT task, details FROM results WHERE submission_id = ? "
                        "ORDER BY position", (row["id"],)):
                    if detail["task"] in task_names and detail["task"] not in by_task:
                        by_task[detail["task"]] = detail["details"]
                        used.setdefault(row["id"], row)
            used = list(used.values())  # newest first
            if not used:
                continue
            # error and notes only from the gradings whose task results are shown: a re-grade
            # (--force, --only) replaces an earlier "could not be graded" with what it found
            newest = used[0]
            error = next((row["error"] for row in used if row["error"]), "")
            notes = tuple(dict.fromkeys(n for row in reversed(used) for n in json.loads(row["notes"])))
            found[username] = SubmissionResult(
                username=username, content_hash=digest,
                tasks=tuple(task_from_dict(json.loads(by_task[name]))
                            for name in task_names if name in by_task),
                error=error, notes=notes, sandbox=newest["sandbox"], seconds=newest["seconds"])
        return found

    def students(self) -> list[Student]:
        """Every known student (roster or submission), by username."""
        rows = self._db.execute("SELECT username, name, email FROM students ORDER BY username")
        return [Student(row["username"], row["name"], row["email"]) for row in rows]

    def latest_results(self) -> dict[str, SubmissionResult]:
        """The newest graded submission of every student who has one, by username."""
        submissions = self._db.execute(LATEST + " ORDER BY username").fetchall()
        tasks: dict[int, list[TaskResult]] = {row["id"]: [] for row in submissions}
        rows = self._db.execute(
            "SELECT submission_id, details FROM results WHERE submission_id IN "
            f"(SELECT id FROM ({LATEST})) ORDER BY submission_id, position")
        for row in rows:
            tasks[row["submission_id"]].append(task_from_dict(json.loads(row["details"])))
        return {row["username"]: SubmissionResult(
                    username=row["username"], content_hash=row["content_hash"],
                    tasks=tuple(tasks[row["id"]]), error=row["error"],
                    notes=tuple(json.loads(row["notes"])), sandbox=row["sandbox"],
                    seconds=row["seconds"])
                for row in submissions}

    def count(self, table: str) -> int:
        """Number of rows in ``table`` (``runs``, ``students``, ``submissions`` or ``results``)."""
        if table not in ("runs", "students", "submissions", "results"):
            raise ValueError(f"table must be runs, students, submissions or results, got {table!r}")
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

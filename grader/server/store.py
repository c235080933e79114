"""The server's store of record: one SQLite file in WAL mode.

Every worker process opens its own connection; all state lives in the file, so
several workers (or a restart) see the same users, issued inputs, attempts,
progress and rate-limit windows. A ``check_answer`` is one ``BEGIN IMMEDIATE``
transaction (re-check the window, add the attempt, raise the progress, open the
window): when the response is sent, the attempt is committed. ``synchronous =
NORMAL`` keeps every commit through a crash or ``kill -9`` of the server (the
WAL is in the operating system's cache); only a power cut may lose the last
commits. A trigger refuses any downgrade of a completed function.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`)::

    users     username PK, name, email, added_at, extension (the roster's cell, '' for none) (v4)
    issued    (username, function, ipd) PK, seed, input (the JSON sent), issued_at, answered;
              index issued_outstanding (username, function, issued_at) WHERE answered = 0 (v2)
    attempts  id PK, username, function, ipd, at, success, verdict
    progress  (username, function) PK, state ('attempted' | 'completed'), first_at, completed_at
    windows   username PK, until (Unix time the rate-limit window closes)
    local_checks id PK, username, function, at, passed, mistake ('' or the mistake's name) (v3)
    course    name PK ('deadline' | 'late_policy'), value, set_at: as the server last started (v5)

Times are Unix seconds (``time.time()``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from grader.classgrade.gradebook_schema import Transaction  # the gradebook's: one way to write
from grader.client.roster import Student
from grader.server.schema import MIGRATIONS, RAISE_PROGRESS, statements

SCHEMA_VERSION = 5
APPLICATION_ID = 0x414D5356  # "AMSV": an AutoMark server database
BUSY_TIMEOUT = 30.0
ATTEMPTED, COMPLETED = "attempted", "completed"
USER_FIELDS = ("name", "email", "extension")   # what a roster can update of a known user

class WindowOpen(Exception):
    """A rate-limit window is open for the user; ``seconds_left`` > 0."""

    def __init__(self, seconds_left: float):
        super().__init__(f"window open for {seconds_left:.3f} s")
        self.seconds_left = seconds_left


class AlreadyAnswered(Exception):
    """The input was answered (and judged) by an earlier request; nothing is written."""


@dataclass(frozen=True)
class Issued:
    """One test input handed out by ``get_test_input``."""

    username: str
    function: str
    ipd: int
    seed: int
    input_json: str
    answered: bool = False


class ServerStore:
    """The database file at ``path`` (created with its folder when missing).

    Raises:
        ValueError: the file is not a server database, or one of a newer schema.
    """

    def __init__(self, path, *, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every transaction is opened explicitly (BEGIN IMMEDIATE).
        self.db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        try:
            self._open(busy_timeout)
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise ValueError(f"{path} is not a server database (SQLite says: {error})") from None
        except ValueError:
            self.db.close()
            raise

    def _open(self, busy_timeout: float) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        with Transaction(self.db):
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            tables = self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
                raise ValueError(f"{self.path} is an SQLite file of another program, "
                                 "not an AutoMark server database")
            if version > SCHEMA_VERSION:
                raise ValueError(f"{self.path} has server schema version {version}; this grader "
                                 f"knows versions up to {SCHEMA_VERSION}: update the kit")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in statements(MIGRATIONS[step]):
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def wait_when_busy(self, seconds: float) -> None:
        """How long a statement waits for another process's write lock before
        ``sqlite3.OperationalError`` (see :func:`is_busy`). SQLite waits by sleeping, which
        would stall a whole event loop: the server sets 0 and waits asynchronously instead."""
        self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ServerStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- users ---------------------------------------------------------------------------------
    def add_users(self, students: Iterable[Student], *, now: float,
                  update: Iterable[str] = USER_FIELDS) -> int:
        """Insert students, or update known ones' fields named in ``update`` (of
        :data:`USER_FIELDS`: the columns the roster has); returns how many."""
        fields = [name for name in USER_FIELDS if name in set(update)]
        rows = [(s.username, s.name or "", s.email or "", now, s.extension or "") for s in students]
        on_conflict = ("DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in fields)
                       if fields else "DO NOTHING")
        with Transaction(self.db):
            self.db.executemany(
                "INSERT INTO users (username, name, email, added_at, extension) "
                f"VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) {on_conflict}", rows)
        return len(rows)

    def user(self, username: str) -> Student | None:
        row = self.db.execute("SELECT username, name, email FROM users WHERE username = ?",
                              (username,)).fetchone()
        return None if row is None else Student(*row)

    def users(self) -> list[Student]:
        return [Student(*row) for row in
                self.db.execute("SELECT username, name, email FROM users ORDER BY username")]

    # -- the course's deadline -----------------------------------------------------------------
    def course_settings(self) -> dict[str, str]:
        """``{"deadline": ISO or "", "late_policy": text}`` as the server last started with
        them; empty when it never recorded any."""
        return dict(self.db.execute("SELECT name, value FROM course"))

    def record_course_settings(self, *, deadline: str, late_policy: str, now: float) -> None:
        """Record the deadline ("" for none) and the late policy the server runs with."""
        with Transaction(self.db):
            self.db.executemany(
                "INSERT INTO course (name, value, set_at) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET value = excluded.value, set_at = excluded.set_at",
                [("deadline", deadline, now), ("late_policy", late_policy, now)])

    # -- rate limit ----------------------------------------------------------------------------
    def seconds_left(self, username: str, now: float) -> float:
        """Seconds until the user's window closes (0 when none is open)."""
        row = self.db.execute("SELECT until FROM windows WHERE username = ?", (username,)).fetchone()
        return max(0.0, row[0] - now) if row else 0.0

    def open_window(self, username: str, *, now: float, seconds: float) -> None:
        """Open the user's window for ``seconds`` (one already open is only ever lengthened)."""
        with Transaction(self.db):
            self.db.execute("INSERT INTO windows (username, until) VALUES (?, ?) "
                            "ON CONFLICT (username) DO UPDATE SET until = "
                            "max(until, excluded.until)", (username, now + seconds))

    # -- issued inputs -------------------------------------------------------------------------
    def outstanding(self, username: str, function: str) -> Issued | None:
        """The newest input issued for this function and not answered yet."""
        row = self.db.execute(
            "SELECT username, function, ipd, seed, input, answered FROM issued "
            "WHERE username = ? AND function = ? AND answered = 0 "
            "ORDER BY issued_at DESC LIMIT 1", (username, function)).fetchone()
        return None if row is None else Issued(*row[:5], answered=bool(row[5]))

    def issue(self, issued: Issued, *, now: float) -> Issued:
        """Record ``issued``, unless another unanswered input appeared meanwhile (returned then).

        Raises:
            sqlite3.IntegrityError: the ipd is already taken for this user and function.
        """
        with Transaction(self.db):
            current = self.outstanding(issued.username, issued.function)
            if current is not None:
                return current
            self.db.execute(
                "INSERT INTO issued (username, function, ipd, seed, input, issued_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (issued.username, issued.function, issued.ipd, issued.seed, issued.input_json, now))
        return issued

    def issued(self, username: str, function: str, ipd: int) -> Issued | None:
        row = self.db.execute(
            "SELECT username, function, ipd, seed, input, answered FROM issued "
            "WHERE username = ? AND function = ? AND ipd = ?", (username, function, ipd)).fetchone()
        return None if row is None else Issued(*row[:5], answered=bool(row[5]))

    # -- attempts and progress -----------------------------------------------------------------
    def record_attempt(self, issued: Issued, *, success: bool, verdict: str, now: float,
                       window_seconds: float) -> int:
        """Add one attempt, raise the progress, open the window: one transaction.

        Returns:
            The attempt's id.

        Raises:
            WindowOpen: another request opened the user's window meanwhile; nothing is written.
            AlreadyAnswered: another request answered this input meanwhile; nothing is written.
        """
        user = issued.username
        with Transaction(self.db):
            marked = self.db.execute(
                "UPDATE issued SET answered = 1 WHERE username = ? AND function = ? AND ipd = ? "
                "AND answered = 0", (user, issued.function, issued.ipd)).rowcount
            if window_seconds > 0:
                left = self.seconds_left(user, now)
                if left > 0:
                    raise WindowOpen(left)
                self.db.execute("INSERT INTO windows (username, until) VALUES (?, ?) "
                                "ON CONFLICT (username) DO UPDATE SET until = excluded.until",
                                (user, now + window_seconds))
            if marked != 1:
                raise AlreadyAnswered(f"ipd {issued.ipd} of {issued.function} was answered")
            cursor = self.db.execute(
                "INSERT INTO attempts (username, function, ipd, at, success, verdict) "
                "VALUES (?, ?, ?, ?, ?, ?)", (user, issued.function, issued.ipd, now, int(success),
                                              verdict))
            self.db.execute(RAISE_PROGRESS, {"username": user, "function": issued.function,
                                             "state": COMPLETED if success else ATTEMPTED, "at": now})
        return cursor.lastrowid

    def progress(self, username: str) -> dict[str, str]:
        """``{function: 'attempted' | 'completed'}`` of the functions the user tried."""
        return dict(self.db.execute("SELECT function, state FROM progress WHERE username = ?",
                                    (username,)))

    def class_progress(self) -> dict[str, dict[str, str]]:
        """``{username: {function: state}}`` of every user who tried anything."""
        table: dict[str, dict[str, str]] = {}
        for username, function, state in self.db.execute(
                "SELECT username, function, state FROM progress"):
            table.setdefault(username, {})[function] = state
        return table

    def attempt_counts(self) -> dict[str, tuple[int, int]]:
        """``{username: (attempts, successful attempts)}``."""
        return {row[0]: (row[1], row[2]) for row in self.db.execute(
            "SELECT username, count(*), sum(success) FROM attempts GROUP BY username")}

    def attempts_by_hour(self, *, limit: int = 48) -> list[tuple[float, int, int]]:
        """``(hour start, attempts, successful)`` of the last ``limit`` hours with attempts."""
        rows = self.db.execute(
            "SELECT CAST(at / 3600 AS INTEGER) * 3600 AS hour, count(*), sum(success) "
            "FROM attempts GROUP BY hour ORDER BY hour DESC LIMIT ?", (limit,)).fetchall()
        return [(float(hour), n, ok) for hour, n, ok in reversed(rows)]

    def count(self, table: str) -> int:
        """Rows of one table (for the load test's accounting)."""
        if table not in ("users", "issued", "attempts", "progress", "windows", "local_checks"):
            raise ValueError(f"no table {table!r} in the server database")
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def is_busy(error: BaseException) -> bool:
    """True for SQLite's "database is locked" (another connection holds the write lock)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) if code is not None else \
        "locked" in str(error)

"""The gradebook's SQL: its schema, row conversions and transactions (see :mod:`.gradebook`),
and :func:`check_file`, which tells a gradebook from any other file before it is opened."""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import urllib.parse
from pathlib import Path

from grader.core.results import CaseResult, TaskResult

SCHEMA = """
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

RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL DEFAULT '',
    grader_version TEXT NOT NULL,
    sandbox        TEXT NOT NULL,
    settings_key   TEXT NOT NULL,
    tasks          TEXT NOT NULL,
    limits         TEXT NOT NULL,
    points         TEXT NOT NULL
)
"""
V2_COLUMNS = ("ALTER TABLE submissions ADD COLUMN settings_key TEXT NOT NULL DEFAULT ''",
               "ALTER TABLE submissions ADD COLUMN run_id INTEGER REFERENCES runs(id)")
# version 3: a run's deadline settings, and each run's hand-in times and lateness
V3_CHANGES = ("ALTER TABLE runs ADD COLUMN deadlines TEXT NOT NULL DEFAULT '{}'",
              """CREATE TABLE IF NOT EXISTS handins (
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    username     TEXT NOT NULL REFERENCES students(username),
    content_hash TEXT NOT NULL,
    handed_in    TEXT NOT NULL DEFAULT '',
    deadline     TEXT NOT NULL DEFAULT '',
    days_late    INTEGER NOT NULL DEFAULT 0,
    factor       REAL NOT NULL DEFAULT 1,
    words        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, username)
)""")
MIGRATIONS = {2: V2_COLUMNS, 3: V3_CHANGES}  # version: the statements that reach it

LEAVE_IT = ("the grader leaves it as it is: move it away (or restore the gradebook from a backup), "
            "or grade into another output folder")


@functools.lru_cache(maxsize=None)
def shape(version: int) -> dict[str, frozenset[str]]:
    """``{table: column names}`` of a gradebook of schema ``version`` (1 to 3), from our own DDL."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        if version >= 2:
            db.execute(RUNS)
        for step, statements in MIGRATIONS.items():
            for statement in statements if version >= step else ():
                db.execute(statement)
        return _tables(db)
    finally:
        db.close()


def _tables(db: sqlite3.Connection) -> dict[str, frozenset[str]]:
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: frozenset(row[0] for row in db.execute(
                "SELECT name FROM pragma_table_info(?)", (name,))) for name in names}


def check_file(path: Path, newest: int) -> int:
    """The schema version of the gradebook at ``path`` (0: none yet), reading it only.

    Args:
        path: the file; missing or empty, it becomes a new gradebook.
        newest: the newest schema version this grader knows.

    Raises:
        ValueError: naming the file and why, and changing nothing, when it is not
            SQLite (or is damaged), is another program's database (tables that are
            not ours, or ours with another shape), or comes from a newer grader.
    """
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return 0
    if not path.is_file():
        raise ValueError(f"{path} is not a file, so it cannot be the gradebook: {LEAVE_IT}")
    # Read-only; "immutable" also keeps SQLite from creating -wal and -shm files next to another
    # program's file. With a -wal file present (a database in use) it must read that file too.
    wal = Path(f"{path}-wal").exists()
    mode = "mode=ro" if wal else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"file:{urllib.parse.quote(str(path.resolve()))}?{mode}", uri=True)
    except sqlite3.Error as error:
        raise ValueError(f"{path} cannot be opened (SQLite says: {error}): {LEAVE_IT}") from None
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = _tables(db)
        damage = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{path} is not a gradebook: it is not an SQLite database, or a damaged "
                         f"one (SQLite says: {' '.join(str(error).split())}); {LEAVE_IT}") from None
    finally:
        db.close()
    if damage != ["ok"]:
        raise ValueError(f"{path} is a damaged SQLite database (its check says: "
                         f"{' '.join('; '.join(map(str, damage)).split())}); {LEAVE_IT}")
    _check_shape(path, version, tables, newest)
    return version


def _check_shape(path: Path, version: int, tables: dict, newest: int) -> None:
    listed = ", ".join(sorted(tables)) or "none"
    if version < 0 or (version == 0 and tables):
        raise ValueError(f"{path} is an SQLite database of another program, not a gradebook (its "
                         f"tables: {listed}); {LEAVE_IT}")
    if version > newest:
        if tables and not {"students", "submissions", "results"} <= set(tables):
            raise ValueError(f"{path} is an SQLite database of another program, not a gradebook "
                             f"(user_version {version}, tables: {listed}); {LEAVE_IT}")
        raise ValueError(f"{path} has gradebook schema version {version}, this grader knows "
                         f"versions up to {newest}: update the kit")
    if version == 0:
        return
    wrong = []
    for table, columns in shape(version).items():
        if table not in tables:
            wrong.append(f"no table {table!r}")
        elif tables[table] != columns:
            wrong.append(f"table {table!r} has columns {', '.join(sorted(tables[table]))}, "
                         f"a gradebook's has {', '.join(sorted(columns))}")
    if wrong:
        raise ValueError(f"{path} is not a gradebook of schema version {version} "
                         f"({'; '.join(wrong)}): another program's database, or a damaged "
                         f"gradebook; {LEAVE_IT}")


INSERT_RESULT = ("INSERT INTO results (submission_id, position, task, passed, state, n_passed, "
                  "n_cases, error, mistake, first_failure, details) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
LATEST = ("SELECT * FROM submissions WHERE id IN "
           "(SELECT MAX(id) FROM submissions GROUP BY username)")


class Transaction:
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


def result_row(submission_id: int, position: int, task: TaskResult) -> tuple:
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
    return _build(TaskResult, data, cases=cases, calls=tuple(data.get("calls", ())))

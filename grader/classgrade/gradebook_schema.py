"""The gradebook's SQL: its schema, row conversions and transactions (see :mod:`.gradebook`)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

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
    return _build(TaskResult, data, cases=cases)

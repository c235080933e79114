"""The server database's SQL: the schema of each version and the progress upsert.

Version 1 is the first; version 2 adds the index of unanswered inputs; version 3 the local
checks' outcomes; version 4 each student's deadline extension; version 5 the deadline and late policy the
server was last started with. A later
version adds ``MIGRATIONS[n]`` (the SQL that brings a version n - 1 file to
version n) and raises :data:`grader.server.store.SCHEMA_VERSION`, so every file
is migrated in place when the store opens it.
"""

from __future__ import annotations

import sqlite3

SCHEMA_V1 = """
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    name     TEXT NOT NULL DEFAULT '',
    email    TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL
);
CREATE TABLE issued (
    username  TEXT NOT NULL REFERENCES users(username),
    function  TEXT NOT NULL,
    ipd       INTEGER NOT NULL,
    seed      INTEGER NOT NULL,
    input     TEXT NOT NULL,
    issued_at REAL NOT NULL,
    answered  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (username, function, ipd)
);
CREATE TABLE attempts (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    function TEXT NOT NULL,
    ipd      INTEGER NOT NULL,
    at       REAL NOT NULL,
    success  INTEGER NOT NULL,
    verdict  TEXT NOT NULL
);
CREATE INDEX attempts_by_user ON attempts(username, function);
CREATE TABLE progress (
    username     TEXT NOT NULL REFERENCES users(username),
    function     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('attempted', 'completed')),
    first_at     REAL NOT NULL,
    completed_at REAL,
    PRIMARY KEY (username, function)
);
CREATE TRIGGER progress_never_downgraded BEFORE UPDATE OF state ON progress
    WHEN OLD.state = 'completed' AND NEW.state <> 'completed'
    BEGIN SELECT RAISE(ABORT, 'progress is never downgraded'); END;
CREATE TABLE windows (
    username TEXT PRIMARY KEY REFERENCES users(username),
    until    REAL NOT NULL
);
"""
# Version 2: the unanswered inputs of a (user, function), found without reading the inputs
# already answered. ``outstanding`` ran twice per new input and, with only the primary key,
# read every input ever issued to that user for that function (their JSON included, since
# ``answered`` sits after it): 6 us at 10 issued, 2.7 ms at 4,695. The partial index holds
# only the rows with ``answered = 0`` (at most one per user and function in practice), so the
# cost no longer grows with a student's history.
SCHEMA_V2 = """
CREATE INDEX IF NOT EXISTS issued_outstanding ON issued(username, function, issued_at)
    WHERE answered = 0;
"""
# Version 3: the outcome of each local check a student ran with the kit's client (never the
# code or the answers): whether it passed and the recognised mistake's name, if any. Written
# only through the kit's own endpoint, which AutoMark's clients never call.
SCHEMA_V3 = """
CREATE TABLE local_checks (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    function TEXT NOT NULL,
    at       REAL NOT NULL,
    passed   INTEGER NOT NULL,
    mistake  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX local_checks_by_user ON local_checks(username, function, at);
"""
# Version 4: each student's extension, the roster's ``extension`` cell as written ("" for
# none, "3d", or a deadline of their own: :func:`grader.core.deadlines.own_deadline`). Whether
# an attempt is late is never stored: it is read from ``attempts.at`` and the deadline in force
# (grader/server/deadlines.py), so moving a deadline or granting an extension rewrites nothing.
SCHEMA_V4 = """
ALTER TABLE users ADD COLUMN extension TEXT NOT NULL DEFAULT '';
"""
# Version 5: the course's deadline and late policy as the server was last started with them
# (``name`` 'deadline' or 'late_policy'; '' for no deadline), so that a restart without the
# flags keeps them and the export after the week grades with what the staff page showed.
SCHEMA_V5 = """
CREATE TABLE course (
    name   TEXT PRIMARY KEY CHECK (name IN ('deadline', 'late_policy')),
    value  TEXT NOT NULL,
    set_at REAL NOT NULL
);
"""
# version -> the SQL that brings version - 1 to it
MIGRATIONS = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3, 4: SCHEMA_V4, 5: SCHEMA_V5}

RAISE_PROGRESS = """
INSERT INTO progress (username, function, state, first_at, completed_at)
VALUES (:username, :function, :state, :at, CASE WHEN :state = 'completed' THEN :at END)
ON CONFLICT (username, function) DO UPDATE SET
    state = CASE WHEN progress.state = 'completed' THEN 'completed' ELSE excluded.state END,
    completed_at = COALESCE(progress.completed_at, excluded.completed_at)
"""


def statements(script: str) -> list[str]:
    """Split a schema script into statements (``sqlite3.complete_statement`` keeps trigger
    bodies whole); ``executescript`` would commit the open transaction first."""
    statements, current = [], ""
    for line in script.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements

"""The class list: ``students.csv`` (username,name,email) into the server's ``users`` table.

The kit's roster reader decides who is on the list: a row whose username is not a
safe name (letters, digits and ``. _ @ + -``, as everywhere in the kit) or that
repeats an earlier one is left out and reported, so no path or ``..`` is ever a
user. Importing again updates names, emails and extensions (those the file has a column
for) and keeps every user's progress.
"""

from __future__ import annotations

import time
from pathlib import Path

from grader.client import paths
from grader.client.roster import Roster, read_roster
from grader.server.store import USER_FIELDS, ServerStore


def read_students(path) -> Roster:
    """The roster at ``path``: its students and the rows left out.

    Raises:
        FileNotFoundError: no such file.
        ValueError: no ``username`` column.
    """
    roster = read_roster(Path(path))
    if roster is None:
        raise FileNotFoundError(f"{path}: no such roster file (students.csv: username,name,email)")
    for username in roster.students:  # the reader's rule, checked again where it matters
        paths.check_username(username)
    return roster


def add_users(store: ServerStore, path) -> Roster:
    """Import the roster at ``path`` into ``store``; returns what was read. Of a known user,
    only the fields the file has a column for are updated: a class list without the
    ``extension`` column keeps every extension granted."""
    roster = read_students(path)
    store.add_users(roster.students.values(), now=time.time(),
                    update=[name for name in USER_FIELDS if name in roster.columns])
    return roster

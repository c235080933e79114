"""Deadlines on the server: each student's own, and which attempts were late (read, not stored).

The server records every attempt with its time (``attempts.at``, the server's clock when
the answer was judged) and refuses none for being late. Lateness is derived here, at read
time, from that time and the deadline in force (the course's ``--deadline`` moved by the
student's ``users.extension``), rather than stored with the attempt: a deadline moved or an
extension granted after the fact (the usual case: a student falls ill in the last week) then
changes every page and export at once, with nothing to rewrite and no stored flag that could
disagree with the times. The times are the one truth; the policy (:mod:`grader.core.deadlines`)
turns them into what a completion is worth.

Queries over the store's connection; store.py keeps the writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.core.deadlines import LatePolicy, days_late, factor, own_deadline
from grader.server.store import ServerStore


@dataclass(frozen=True)
class Attempt:
    """One judged answer, with the deadline of its student.

    Attributes:
        username, function: whose, for which function.
        at: when it was judged (Unix seconds).
        success: whether it was right.
        deadline: the student's own deadline (Unix seconds), or None for none.
    """

    username: str
    function: str
    at: float
    success: bool
    deadline: float | None

    @property
    def days_late(self) -> int:
        """Started days after the student's deadline (0 on time)."""
        return days_late(self.at, self.deadline)

    @property
    def late(self) -> bool:
        return self.days_late > 0


def own_deadlines(store: ServerStore, deadline: float | None) -> dict[str, float | None]:
    """``{username: their own deadline}`` for every user: ``deadline`` moved by their extension.

    An extension the roster reader would refuse never reaches the table; one that still
    cannot be read (a file edited by hand) leaves the course's deadline, never none.
    """
    deadlines = {}
    for username, extension in store.db.execute("SELECT username, extension FROM users"):
        try:
            deadlines[username] = own_deadline(extension, deadline)
        except ValueError:
            deadlines[username] = deadline
    return deadlines


def attempts(store: ServerStore, deadline: float | None, *,
             username: str | None = None) -> list[Attempt]:
    """Every attempt (of ``username`` only, when given), in the order they were judged."""
    deadlines = own_deadlines(store, deadline)
    where, arguments = ("WHERE username = ?", (username,)) if username is not None else ("", ())
    rows = store.db.execute(f"SELECT username, function, at, success FROM attempts {where} "
                            "ORDER BY at, id", arguments)
    return [Attempt(user, function, at, bool(success), deadlines.get(user))
            for user, function, at, success in rows]


def late_counts(store: ServerStore, deadline: float | None) -> dict[str, int]:
    """``{username: attempts after their own deadline}``, for users with at least one.

    Counted by SQLite, one pass over the attempts against each user's own deadline (the
    staff page asks every 30 s: a loop in Python took 2.8 s at 300,000 attempts).
    """
    own = [(user, at) for user, at in own_deadlines(store, deadline).items() if at is not None]
    if not own:
        return {}
    store.db.execute("CREATE TEMP TABLE IF NOT EXISTS own_deadline "
                     "(username TEXT PRIMARY KEY, deadline REAL NOT NULL)")
    store.db.execute("DELETE FROM temp.own_deadline")
    store.db.executemany("INSERT INTO temp.own_deadline VALUES (?, ?)", own)
    return dict(store.db.execute(
        "SELECT a.username, count(*) FROM attempts AS a JOIN temp.own_deadline AS d "
        "ON a.username = d.username WHERE a.at > d.deadline GROUP BY a.username"))


def first_times(store: ServerStore, *, successful: bool) -> dict[tuple[str, str], float]:
    """``{(username, function): time}`` of the first attempt (the first right one, when
    ``successful``). A policy's worth never grows with time, so the first right answer is
    the one that counts."""
    condition = "WHERE success = 1" if successful else ""
    return {(user, function): at for user, function, at in store.db.execute(
        f"SELECT username, function, min(at) FROM attempts {condition} "
        "GROUP BY username, function")}


@dataclass(frozen=True)
class Standing:
    """What one student's work on one function is worth under a policy.

    Attributes:
        tried: an attempt counts (on time, or late under a policy that counts late work).
        completed_at: the first right answer's time, or None.
        worth: the share of the function's points earned: the policy's factor at
            ``completed_at`` (0.0 when never completed).
        days_late: started days after the student's deadline of ``completed_at`` (0 on time).
    """

    tried: bool
    completed_at: float | None
    worth: float
    days_late: int


def standings(store: ServerStore, *, deadline: float | None, policy: LatePolicy,
              functions: Iterable[str]) -> dict[str, dict[str, Standing]]:
    """``{username: {function: Standing}}`` of every user who tried one of ``functions``."""
    deadlines = own_deadlines(store, deadline)
    first_try = first_times(store, successful=False)
    first_right = first_times(store, successful=True)
    wanted = set(functions)
    table: dict[str, dict[str, Standing]] = {}
    for (username, function), tried_at in sorted(first_try.items()):
        if function not in wanted:
            continue
        own = deadlines.get(username, deadline)
        done = first_right.get((username, function))
        table.setdefault(username, {})[function] = Standing(
            tried=policy.mode != "ignore" or days_late(tried_at, own) == 0,
            completed_at=done,
            worth=factor(policy, done, own) if done is not None else 0.0,
            days_late=days_late(done, own) if done is not None else 0)
    return table

"""Who is stuck, on what, right now: the staff page's view for a lab session, and its CSV.

A student is **stuck** on a function when they have tried it (a local check recorded
by the kit's client, or a hidden check: an attempt at ``check_answer``), have not
completed it, and their last activity on it is at most :data:`STUCK_WINDOW_SECONDS`
old. Why, from their last activity on that function:

- their last local check failed: the recognised mistake's name ("true convolution
  (kernel flipped)"), else :data:`LOCAL_FAILS`;
- their last hidden check failed (it is newer than the last local check):
  :data:`HIDDEN_FAILS`;
- their last local check passed and no hidden check came after it (the rate limit
  or an unreachable server held it): :data:`HIDDEN_WAITS`.

Per function the page counts the stuck students by reason ("9 students: true
convolution (kernel flipped)") and names them; per student it shows the last
activity on any function (when, and what: local or hidden check, its outcome).
Each (student, function) is read with one index seek into ``local_checks`` and one
into ``attempts`` (their newest row), so the page costs the same on the last day
of a course as on the first.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass

from grader.core.tasks import ordered_for_progress
from grader.server.store import COMPLETED, ServerStore

STUCK_WINDOW_SECONDS = 3600.0
LOCAL, HIDDEN = "local check", "hidden check"
LOCAL_FAILS = "local cases fail, no recognised mistake"
HIDDEN_FAILS = "hidden case fails"
HIDDEN_WAITS = "local cases pass, hidden check not made"

# The newest row of each (user, graded function) in ``table``: one seek per pair on the
# table's index, (username, function, at) for local_checks, (username, function) for
# attempts, whose rowids grow with time (an index's entries are in rowid order within a key).
_NEWEST = """
WITH fns(function) AS (VALUES {values})
SELECT u.username, fns.function, t.at, t.{outcome}{extra}
FROM users AS u CROSS JOIN fns
JOIN {table} AS t ON t.id = (SELECT id FROM {table} WHERE username = u.username
                             AND function = fns.function ORDER BY {order} LIMIT 1)
"""


@dataclass(frozen=True)
class Activity:
    """One check of one function: ``kind`` is :data:`LOCAL` or :data:`HIDDEN`."""

    at: float
    kind: str
    function: str
    passed: bool
    mistake: str = ""

    @property
    def what(self) -> str:
        """e.g. ``"local check of conv_matrix: failed (true convolution (kernel flipped))"``."""
        outcome = "passed" if self.passed else "failed"
        return f"{self.kind} of {self.function}: {outcome}" + (
            f" ({self.mistake})" if self.mistake else "")


@dataclass(frozen=True)
class Reason:
    """The students stuck on one function for one reason."""

    reason: str
    usernames: tuple[str, ...]

    @property
    def text(self) -> str:
        n = len(self.usernames)
        return f"{n} student{'s' if n != 1 else ''}: {self.reason}"


@dataclass(frozen=True)
class FunctionStuck:
    function: str
    label: str
    reasons: tuple[Reason, ...]   # most students first

    @property
    def stuck(self) -> int:
        return sum(len(reason.usernames) for reason in self.reasons)


@dataclass(frozen=True)
class StudentActivity:
    username: str
    name: str
    email: str
    last: Activity | None            # the newest check of any function; None: none yet
    stuck_on: dict                   # {function: reason}, in the progress table's order


@dataclass(frozen=True)
class StuckView:
    now: float
    window_seconds: float
    functions: list[str]
    per_function: list[FunctionStuck]
    students: list[StudentActivity]  # the stuck first, then by last activity, newest first


def newest(store: ServerStore, functions: list[str]) -> dict[tuple[str, str], list[Activity]]:
    """``{(username, function): [newest local check, newest hidden check]}`` (those that exist)."""
    found: dict[tuple[str, str], list[Activity]] = {}
    if not functions:
        return found
    values = ", ".join("(?)" for _ in functions)
    for table, outcome, extra, order, kind in (
            ("local_checks", "passed", ", t.mistake", "at DESC, id DESC", LOCAL),
            ("attempts", "success", "", "id DESC", HIDDEN)):
        sql = _NEWEST.format(values=values, outcome=outcome, extra=extra, order=order, table=table)
        for username, function, at, passed, *mistake in store.db.execute(sql, functions):
            found.setdefault((username, function), []).append(
                Activity(at, kind, function, bool(passed), *mistake))
    return found


def reason(checks: list[Activity]) -> str:
    """Why a student is stuck, from their newest local and hidden check of one function."""
    last = max(checks, key=lambda check: check.at)
    if last.kind == HIDDEN:
        return HIDDEN_FAILS
    if last.passed:
        return HIDDEN_WAITS
    return last.mistake or LOCAL_FAILS


def stuck_view(store: ServerStore, *, now: float | None = None,
               window_seconds: float = STUCK_WINDOW_SECONDS) -> StuckView:
    """Who is stuck on what as of ``now`` (default: the clock), and everyone's last activity."""
    now = time.time() if now is None else now
    tasks = ordered_for_progress()
    functions = [task.name for task in tasks]
    progress, checks = store.class_progress(), newest(store, functions)
    by_function: dict[str, dict[str, list[str]]] = {name: {} for name in functions}
    students = []
    for student in store.users():
        mine = {name: checks.get((student.username, name), []) for name in functions}
        stuck_on = {}
        for name, found in mine.items():
            done = progress.get(student.username, {}).get(name) == COMPLETED
            if found and not done and max(c.at for c in found) >= now - window_seconds:
                stuck_on[name] = reason(found)
                by_function[name].setdefault(stuck_on[name], []).append(student.username)
        last = max((c for found in mine.values() for c in found), key=lambda c: c.at, default=None)
        students.append(StudentActivity(student.username, student.name, student.email, last,
                                        stuck_on))
    students.sort(key=lambda s: (not s.stuck_on, -(s.last.at if s.last else float("-inf")),
                                 s.username))
    per_function = [FunctionStuck(task.name, task.label, tuple(
        Reason(why, tuple(names)) for why, names in
        sorted(by_function[task.name].items(), key=lambda item: (-len(item[1]), item[0]))))
        for task in tasks]
    return StuckView(now, window_seconds, functions, per_function, students)


def when(at: float, now: float) -> str:
    """``"2026-12-06 14:03 UTC (12 min ago)"``."""
    minutes = max(0, int((now - at) // 60))
    ago = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at)) + f" ({ago})"


def stuck_csv_text(view: StuckView, cell) -> str:
    """One row per student: the last activity, then one column per function holding the
    reason the student is stuck on it (empty: not stuck). ``cell`` makes a text cell
    formula-safe (:func:`grader.server.admin._cell`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "name", "email", "last_activity_utc", "last_activity",
                     "stuck_functions", *view.functions])
    for student in view.students:
        last = student.last
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last.at)) if last else ""
        writer.writerow([cell(student.username), cell(student.name), cell(student.email), at,
                         cell(last.what) if last else "", len(student.stuck_on),
                         *(cell(student.stuck_on.get(name, "")) for name in view.functions)])
    return out.getvalue()

"""The deadline and late policy a server runs and exports with: one rule for both commands.

Each of the two is taken from the first place that has it:

1. the command's flag (``--deadline ""`` for no deadline);
2. the server's database: the deadline the server was last started with (recorded at every
   start; a start without one records none, and then the course file's applies);
3. the course file (``course.toml``), as ``grade`` reads it;
4. none.

The late policy is the flag's, else the one recorded or the course file's, taken first from
where the deadline came, else :class:`~grader.core.deadlines.LatePolicy`'s default.

The database comes before the course file so that a restart without the flags keeps the
week's deadline, and so that ``server export`` after the week grades with the deadline the
server and its staff page ran with, even when the export is typed without it. Every
disagreement between the places is said in :attr:`InForce.notes`, never silently resolved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from grader.core.deadlines import (
    LatePolicy,
    format_deadline,
    parse_deadline,
    parse_late_policy,
    shortens,
)
from grader.server.settings import DATABASE_NAME
from grader.server.store import ServerStore


@dataclass(frozen=True)
class InForce:
    """The deadline and the policy chosen, and what the user should be told.

    Attributes:
        deadline: ISO 8601 with its offset, "" for none.
        late_policy: the policy's text (``count``, ``ignore``, ``penalty:...``).
        source: where the deadline came from: ``"--deadline"``, ``"the server's database"``,
            ``"course.toml"`` or ``"none"``.
        notes: one line each for the user: disagreements, a policy without a deadline.
    """

    deadline: str
    late_policy: str
    source: str
    notes: tuple[str, ...] = ()


def recorded(data) -> dict[str, str]:
    """What the server with data folder ``data`` was last started with (``{}`` when it has
    no database yet, or never recorded them); a missing database is not created."""
    database = Path(data) / DATABASE_NAME
    if not database.is_file():
        return {}
    with ServerStore(database) as store:
        return store.course_settings()


def in_force(*, deadline_flag: str | None, policy_flag: str | None, recorded: dict[str, str],
             course) -> InForce:
    """Choose the deadline and policy (the module's order).

    Args:
        deadline_flag, policy_flag: the command's flags, None when not given.
        recorded: :func:`recorded`'s answer.
        course: the :class:`~grader.classgrade.course.Course` read (``.deadline``,
            ``.late_policy``; "" where it has none).

    Raises:
        ValueError: a deadline or policy that cannot be read, naming where it came from.
    """
    course_deadline, course_policy = course.deadline or "", course.late_policy or ""
    kept_deadline, kept_policy = recorded.get("deadline", ""), recorded.get("late_policy", "")
    if deadline_flag is not None:
        deadline, source = deadline_flag, "--deadline"
    elif kept_deadline:   # a start without a deadline recorded "": course.toml's may apply
        deadline, source = kept_deadline, "the server's database"
    else:
        deadline, source = course_deadline, "course.toml"
    try:
        if deadline:
            parse_deadline(deadline)
        same_as_kept = bool(kept_deadline) and _same(deadline, kept_deadline)
        if policy_flag is not None:
            policy = policy_flag
        elif source == "the server's database" or same_as_kept:   # it goes with its deadline
            policy = kept_policy or course_policy
        else:
            policy = course_policy or kept_policy
        policy = policy or str(LatePolicy())
        parse_late_policy(policy)
    except ValueError as error:
        raise ValueError(f"{error} (the deadline and policy came from {source})") from None
    notes = []
    if source == "the server's database" and course_deadline and not _same(course_deadline,
                                                                            deadline):
        notes.append(f"course.toml's deadline {course_deadline} is not the one this server was "
                     f"last started with, {deadline or 'none'}; that one applies (pass "
                     "--deadline to choose)")
    if source == "--deadline" and "deadline" in recorded and not _same(kept_deadline, deadline):
        notes.append(f"the deadline changes from {kept_deadline or 'none'} (as the server last "
                     f"ran) to {deadline or 'none'}")
    if source == "course.toml" and deadline and "deadline" in recorded and not kept_deadline:
        notes.append(f"the server last ran without a deadline; course.toml's {deadline} applies "
                     "(pass --deadline '' for none)")
    if deadline and same_as_kept and kept_policy and policy != kept_policy:
        notes.append(f"the late policy changes from {kept_policy} (as the server last ran with "
                     f"this deadline) to {policy}")
    if not deadline and policy_flag:
        notes.append(f"--late-policy {policy_flag} has no effect without a deadline")
    return InForce(deadline, policy, source if deadline else "none", tuple(notes))


def shortening_extensions(data, deadline: str) -> list[str]:
    """One line per user of the server with data folder ``data`` whose roster extension names
    a time before ``deadline`` (ignored: an extension never shortens; likely a typo)."""
    database = Path(data) / DATABASE_NAME
    if not deadline or not database.is_file():
        return []
    at = parse_deadline(deadline)
    with ServerStore(database) as store:
        rows = store.db.execute("SELECT username, extension FROM users WHERE extension <> '' "
                                "ORDER BY username").fetchall()
    return [f"{username}'s extension {extension} is before the course's deadline {deadline}: "
            "the course's deadline applies to them (fix the roster's cell and run add-users)"
            for username, extension in rows if shortens(extension, at)]


def not_yet_passed(deadline: str, now: float | None = None) -> str:
    """A warning when ``deadline`` is still ahead (grades exported now are not final), else ""."""
    if deadline and parse_deadline(deadline) > (time.time() if now is None else now):
        return (f"the deadline {format_deadline(parse_deadline(deadline))} has not passed yet: "
                "these grades are as of now, not final")
    return ""


def _same(one: str, other: str) -> bool:
    """Whether two deadlines name the same moment ("" for none equals only "")."""
    if not one or not other:
        return one == other
    return parse_deadline(one) == parse_deadline(other)

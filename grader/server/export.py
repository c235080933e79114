"""``python -m grader server export``: the server's grades as of each student's deadline.

The same files as class grading (``gradebook.csv`` and ``lms/`` with the Canvas, Moodle and
Brightspace imports), written by the same export code
(:mod:`grader.classgrade.exports`) from the same points (``course.toml``): the server's
state becomes one :class:`~grader.core.results.SubmissionResult` per student who tried a
graded function, a function passed when it was completed by the student's own deadline (or
later, at the late policy's worth: :mod:`grader.server.deadlines`). A student who only
tried after the deadline, under a policy that ignores late work, handed in nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.classgrade import exports
from grader.classgrade.course import Course, load_course
from grader.classgrade.exports.grades import Lateness
from grader.client.roster import Student
from grader.core import tasks
from grader.core.deadlines import LatePolicy, format_deadline
from grader.core.results import MISMATCH, NOT_IMPLEMENTED, OK, CaseResult, SubmissionResult, TaskResult
from grader.server.deadlines import Standing, own_deadlines, standings
from grader.server.settings import DATABASE_NAME
from grader.server.store import ServerStore

PHASE = "remote"  # the server's hidden check
NOT_BY_DEADLINE = "no right answer to the server's hidden case by the deadline"
NOT_TRIED = "not attempted on the server"


default_task_names = tasks.this_week_names  # as class grading grades by default


@dataclass(frozen=True)
class ExportInfo:
    """How an export was made (``gradebook.run.json``, as class grading's run info).

    Attributes:
        source: the server database read.
        deadline: the course's deadline (ISO 8601, UTC), or "" for none.
        late_policy: the policy's text (``penalty:10%/day,max 50%``).
        points: ``{task: points}``.
    """

    source: str
    deadline: str
    late_policy: str
    points: Mapping[str, float]

    def to_dict(self) -> dict:
        return {**asdict(self), "points": dict(self.points), "graded_by": "server export"}


@dataclass(frozen=True)
class ServerExport:
    """What :func:`export_grades` wrote.

    Attributes:
        files: the files written.
        students: how many rows the gradebook has.
        late: ``(username, function, days late, worth)`` of every completion after its
            student's deadline.
        problems: one line each for what an LMS file could not take (Moodle without ids).
    """

    files: tuple[Path, ...]
    students: int
    late: tuple[tuple[str, str, int, float], ...]
    problems: tuple[str, ...]


def results_as_of(table: Mapping[str, Mapping[str, Standing]],
                  task_names) -> tuple[dict[str, SubmissionResult], dict[str, dict[str, float]]]:
    """``(results, worth)`` for the exports from :func:`~grader.server.deadlines.standings`.

    Returns:
        ``{username: SubmissionResult}`` of the students with a counted attempt, and
        ``{username: {function: worth}}`` of their functions passed for less than full points.
    """
    results, worth = {}, {}
    for username, by_function in table.items():
        if not any(standing.tried for standing in by_function.values()):
            continue  # only late attempts, and late ones do not count: nothing handed in
        graded = []
        for name in task_names:
            standing = by_function.get(name)
            graded.append(_task_result(name, standing))
            if standing is not None and 0 < standing.worth < 1:
                worth.setdefault(username, {})[name] = standing.worth
        results[username] = SubmissionResult(username, content_hash=f"server:{username}",
                                             tasks=tuple(graded), sandbox="server")
    return results, worth


def _task_result(name: str, standing: Standing | None) -> TaskResult:
    if standing is not None and standing.worth > 0:
        return TaskResult(name, PHASE, (CaseResult(0, OK, hidden=True),))
    if standing is not None and standing.tried:
        return TaskResult(name, PHASE, (CaseResult(0, MISMATCH, NOT_BY_DEADLINE, hidden=True),))
    return TaskResult.crashed(name, PHASE, NOT_TRIED, kind=NOT_IMPLEMENTED)


def lateness(table: Mapping[str, Mapping[str, Standing]], deadlines: Mapping[str, float | None],
             policy: LatePolicy, points: Mapping[str, float]) -> dict[str, Lateness]:
    """Each student's :class:`~grader.classgrade.exports.grades.Lateness` for gradebook.csv's late
    columns and the Moodle comment: the last completion as the hand-in, the most days late,
    and every late completion in words (``conv_matrix completed 3 days late: -30%``)."""
    found = {}
    for username, by_function in table.items():
        own = deadlines.get(username)
        done = {name: s for name, s in by_function.items() if s.completed_at is not None
                and name in points}
        full = sum(points[name] for name in done)
        kept = sum(points[name] * s.worth for name, s in done.items())
        words = "; ".join(f"{name} completed {_days(s.days_late)} late: {_what(s.worth, policy)}"
                          for name, s in sorted(done.items()) if s.days_late)
        found[username] = Lateness(
            handed_in=format_deadline(max(s.completed_at for s in done.values())) if done else "",
            deadline=format_deadline(own) if own is not None else "",
            days=max((s.days_late for s in done.values()), default=0),
            factor=round(kept / full, 9) if full else 1.0, words=words)
    return found


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _what(worth: float, policy: LatePolicy) -> str:
    if policy.mode == "count":
        return "late work counts in full"
    if worth == 0:
        return "late work does not count (0 points)"
    return f"-{exports.number(round((1 - worth) * 100, 4))}% ({policy})"


def class_list(store: ServerStore, roster: Mapping[str, Student] | None) -> list[Student]:
    """The server's users and the roster's students: the roster's record (names, LMS ids) for
    those on it, so a student who never reached the server has a row too, as in class grading."""
    known = {user.username: user for user in store.users()}
    return list({**known, **(roster or {})}.values())


def export_grades(data, out, *, deadline: float | None = None,
                  policy: LatePolicy | None = None, course: Course | str | None = None,
                  task_names=None, roster: Mapping[str, Student] | None = None) -> ServerExport:
    """Write ``out/gradebook.csv`` (with ``gradebook.run.json``) and ``out/lms/``.

    Args:
        data: the server's data folder (the one ``serve --data`` used).
        out: the folder to write into (created when missing; held with class grading's lock).
        deadline: the course's deadline (Unix seconds), or None; extensions come from the
            server's users (the roster's ``extension`` column, as last imported).
        policy: what a completion after a student's own deadline is worth (default:
            :class:`LatePolicy`'s).
        course: the points and the LMS item's name: a ``Course``, or the path of a
            ``course.toml`` (default: the kit's, as class grading reads it).
        task_names: the graded functions (default: :func:`default_task_names`).
        roster: students by username whose names and LMS ids fill in the files.

    Raises:
        ValueError: no server database in ``data``, an unknown task, a folder in use.
    """
    database = Path(data) / DATABASE_NAME
    if not database.is_file():
        raise ValueError(f"no server database at {database}: pass the --data folder the server "
                         "ran with")
    policy = policy or LatePolicy()
    course = course if isinstance(course, Course) else load_course(course)
    task_names = list(task_names or default_task_names())
    unknown = [name for name in task_names if tasks.find_task(name) is None]
    if unknown:
        raise ValueError(tasks.unknown_task_message(unknown[0]))
    points = course.points_for([tasks.get_task(name) for name in task_names])
    info = ExportInfo(str(database), format_deadline(deadline) if deadline is not None else "",
                      str(policy), points)
    out = Path(out)
    with exports.locked_folder(out):
        with ServerStore(database) as store:
            store.db.execute("BEGIN")  # one snapshot of a running server's file (WAL)
            try:
                table = standings(store, deadline=deadline, policy=policy, functions=task_names)
                students = class_list(store, roster)
                own = own_deadlines(store, deadline)
            finally:
                store.db.execute("COMMIT")
        results, worth = results_as_of(table, task_names)
        late = lateness(table, own, policy, points) if deadline is not None else None
        lms_ids = exports.known_ids(students)
        table_file = exports.write_gradebook_csv(out / "gradebook.csv", students=students,
                                                 results=results, points=points, run=info,
                                                 worth=worth, late=late)
        files = [table_file, table_file.with_name("gradebook.run.json"),
                 *exports.write_lms_imports(out / "lms", students=students, results=results,
                                            points=points, lms_ids=lms_ids,
                                            item=course.assignment, worth=worth, late=late)]
    late = tuple((user, name, standing.days_late, standing.worth)
                 for user, by_function in sorted(table.items())
                 for name, standing in sorted(by_function.items()) if standing.days_late)
    problems = exports.lms_problems(out / "lms", results=results, lms_ids=lms_ids)
    return ServerExport(tuple(files), len(exports.everyone(students, results)), late,
                        tuple(problems))

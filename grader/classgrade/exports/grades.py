"""One student's line of the gradebook, and the points of every task.

Every export takes the class as ``students`` (``Student`` records, or a
``load_roster`` dict) and ``results`` (``{username: SubmissionResult}``, e.g.
``Gradebook.latest_results()``); a student in either appears in the exports, so
roster students who submitted nothing get a row marked ``no submission``. Points
come from :func:`points_for`. Output is deterministic: no times, stable order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.classgrade import failures
from grader.client import paths
from grader.client.roster import Student
from grader.core.results import SubmissionResult

GRADED = "graded"
NO_SUBMISSION = "no submission"
NOT_GRADABLE = "not gradable"
NOT_GRADED = "not graded"  # the grader failed, not the student (:mod:`..failures`): no score


@dataclass(frozen=True)
class Grade:
    """One student's line of the gradebook.

    Attributes:
        student: the roster's record (username only when the roster lacks the student).
        result: the latest graded submission, or None when nothing was submitted.
        earned: ``(task name, points earned)`` for every task of ``points``, in its order.
        score, possible: points earned, points available.
        percent: ``score / possible * 100`` rounded to 1 decimal (0 when nothing is possible).
        status: ``"graded"``, ``"no submission"``, ``"not gradable: <error>"`` (the
            submission's fault: it scores 0) or ``"not graded: <reason>"`` (the grader's
            failure: no score is written anywhere, the next run grades it again).
    """

    student: Student
    result: SubmissionResult | None
    earned: tuple[tuple[str, float], ...]
    score: float
    possible: float
    percent: float
    status: str

    @property
    def submitted(self) -> bool:
        return self.status != NO_SUBMISSION

    @property
    def scored(self) -> bool:
        """A score to publish: submitted, and not left ungraded by a failure of the grader."""
        return self.submitted and not self.status.startswith(NOT_GRADED)


@dataclass(frozen=True)
class Lateness:
    """When a submission was handed in, against the student's own deadline.

    Attributes:
        handed_in: ISO 8601 in UTC, "" when the hand-in's time is not known.
        deadline: the student's own deadline (extension included), ISO 8601 in UTC.
        days: started days late (0: on time, or counted as on time).
        factor: what the late policy leaves of the score (the exports' ``worth``).
        words: for the student and the LMS comment ("" when on time), e.g.
            ``handed in 2 days late: 10%/day, -20%``.
    """

    handed_in: str
    deadline: str
    days: int
    factor: float
    words: str = ""


def points_for(task_list, *, mandatory: float = 1.0, optional: float = 0.5,
               overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Points of every task: its class's weight, unless overridden (the course's points:
    :func:`grader.classgrade.course.Course.points_for`).

    Args:
        task_list: ``Task`` declarations, e.g. ``grader.tasks.TASKS``.
        mandatory: weight of a ``[MAN]`` task.
        optional: weight of an ``[OPT]`` task.
        overrides: points for named tasks, e.g. ``{"conv_matrix": 2.0}``.

    Returns:
        ``{task name: points}`` in the order of ``task_list``.

    Raises:
        ValueError: for a negative or non-finite weight, or override names that are not
            among the tasks (all of them are named).
    """
    overrides = dict(overrides or {})
    for label, value in [("mandatory", mandatory), ("optional", optional), *overrides.items()]:
        _check_weight(label, value)
    task_list = list(task_list)
    unknown = sorted(set(overrides) - {task.name for task in task_list})
    if unknown:
        raise ValueError(f"points overrides name unknown tasks: {', '.join(map(repr, unknown))}; "
                         f"known tasks: {', '.join(sorted(task.name for task in task_list))}")
    return {task.name: float(overrides.get(task.name, mandatory if task.mandatory else optional))
            for task in task_list}


def _check_weight(label: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(f"points for {label} must be a finite number >= 0, got {value!r}")


def grades(*, students, results: Mapping[str, SubmissionResult], points: Mapping[str, float],
           worth: Mapping[str, Mapping[str, float]] | None = None) -> list[Grade]:
    """One :class:`Grade` per student of the roster or the results, by username.

    ``worth`` (``{username: {task: fraction}}``, e.g. a late penalty's
    :func:`grader.core.deadlines.factor`) scales a passed task's points; a task not in it
    earns all of them.

    Raises:
        ValueError: a weight that is negative or not finite, a fraction outside [0, 1].
    """
    for name, value in points.items():
        _check_weight(repr(name), value)
    possible = float(sum(points.values()))
    lines = []
    for student in everyone(students, results):
        result = results.get(student.username)
        passed = {t.task for t in result.tasks if t.passed} if result else set()
        share = _shares(student.username, (worth or {}).get(student.username, {}))
        earned = tuple((name, float(value) * share.get(name, 1.0) if name in passed else 0.0)
                       for name, value in points.items())
        score = float(sum(value for _, value in earned))
        percent = round(score / possible * 100, 1) if possible else 0.0
        lines.append(Grade(student, result, earned, score, possible, percent, _status(result)))
    return lines


def _shares(username: str, share: Mapping[str, float]) -> Mapping[str, float]:
    for name, value in share.items():
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ValueError(f"worth of {name!r} for {username!r} must be a fraction in [0, 1], "
                             f"got {value!r}")
    return share


def everyone(students, results: Mapping[str, SubmissionResult]) -> list[Student]:
    """The roster's students plus anyone with a result, by username."""
    roster = students.values() if isinstance(students, Mapping) else students
    known = {student.username: student for student in roster}
    for username in results:
        known.setdefault(username, Student(username))
    return [known[username] for username in sorted(known)]


def _status(result: SubmissionResult | None) -> str:
    if failures.is_not_graded(result):
        return f"{NOT_GRADED}: {one_line(failures.reason(result))}"
    if result is None or not result.content_hash:  # "" means nothing was submitted
        return NO_SUBMISSION
    return f"{NOT_GRADABLE}: {one_line(result.error)}" if result.error else GRADED


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def number(value: float) -> str:
    """``2``, ``0.5``, ``1.25``: points without trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def student_file(folder: Path, username: str, suffix: str) -> Path | None:
    """``folder/<username><suffix>``, or None for a username that cannot name a file.

    Such a name (``../evil``, ``bob smith``) never becomes a path: its student gets
    no file of their own, and the others still get theirs. ``grade`` reports it.
    """
    try:
        paths.check_username(username)
    except ValueError:
        return None
    return folder / f"{username}{suffix}"

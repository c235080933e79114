"""The course's settings, from one file beside the kit: ``course.toml``.

What the instructor decides once for the course, read by the library (``grade_class``), so
that every run and every export of a run agrees with it::

    assignment = "CNN assignment"   # the LMS gradebook item: Canvas's column, Brightspace's item

    [points]
    mandatory = 1.0                 # points of a [MAN] task
    optional = 0.5                  # points of an [OPT] task

    [points.tasks]                  # a task's own points, instead of its weight
    conv_matrix = 2

    deadline = "2026-12-11T23:59+01:00"       # optional: late hand-ins of an LMS download
    late_policy = "penalty:10%/day,max 50%"   # count | ignore | penalty:N%/day[,max M%]
    lms_timezone = "Europe/Amsterdam"         # the download's times (default: the deadline's)

(top-level keys, before ``[points]``).

Points only weigh verdicts: the file is not part of the grader's version nor of the settings
that decide re-grading, so changing it rewrites the exports and runs no student code again.
``grade --points TASK=N[,TASK=N]`` (``make grade POINTS=...``) overrides it for one run, and
the run says when its points differ from the previous run's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.client import paths
from grader.core import tasks

COURSE_FILE = paths.KIT_ROOT / "course.toml"
ASSIGNMENT = "CNN assignment"
MANDATORY, OPTIONAL = 1.0, 0.5
_KEYS = {"": {"assignment", "points", "packages", "deadline", "late_policy", "lms_timezone"},
         "points": {"mandatory", "optional", "tasks"}}
_DEADLINE_KEYS = ("deadline", "late_policy", "lms_timezone")


@dataclass(frozen=True)
class Course:
    """A course's settings.

    Attributes:
        assignment: the LMS gradebook item's name (Canvas column, Brightspace item).
        mandatory: points of a ``[MAN]`` task.
        optional: points of an ``[OPT]`` task.
        points: ``{task: points}`` for tasks whose points are their own.
        packages: installed packages graded code may import besides the student kit's
            (NumPy, matplotlib); ``--packages`` replaces them for one run. Unlike points,
            they change verdicts: a change grades the class again.
        deadline, late_policy, lms_timezone: the hand-in deadline (ISO 8601 with its UTC
            offset), what late work is worth, the zone of an LMS download's times ("" for
            none; ``grade --deadline ...`` replaces each for one run:
            :mod:`grader.classgrade.late_handins`).
        source: the file read ("" for the defaults).
    """

    assignment: str = ASSIGNMENT
    mandatory: float = MANDATORY
    optional: float = OPTIONAL
    points: Mapping[str, float] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    deadline: str = ""
    late_policy: str = ""
    lms_timezone: str = ""
    source: str = ""

    def limits_for(self, limits=None):
        """``limits`` (default ``Limits()``) with the course's packages, unless they name their
        own (``--packages`` for one run)."""
        from grader.classgrade.sandbox.limits import Limits
        limits = limits or Limits()
        if self.packages and not limits.packages:
            limits = replace(limits, packages=",".join(self.packages))
        return limits

    def points_for(self, task_list, *, mandatory: float | None = None,
                   optional: float | None = None,
                   overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """``{task: points}`` of ``task_list``: the course's, then this run's ``overrides``.

        Args:
            task_list: the graded ``Task`` declarations, in order.
            mandatory, optional: this run's weights (None: the course's).
            overrides: this run's points of named tasks (``--points``).

        Raises:
            ValueError: a weight that is negative or not finite, an override naming a task
                that is not in ``task_list``.
        """
        from grader.classgrade.exports.grades import points_for
        task_list = list(task_list)
        graded = {task.name for task in task_list}
        own = {name: value for name, value in self.points.items() if name in graded}
        return points_for(task_list, mandatory=self.mandatory if mandatory is None else mandatory,
                          optional=self.optional if optional is None else optional,
                          overrides={**own, **(overrides or {})})


def load_course(path=None) -> Course:
    """The course's settings from ``path`` (default :data:`COURSE_FILE`; absent: the defaults).

    Raises:
        ValueError: naming the file and the bad entry (not TOML, an unknown key or task, a
            number that is negative or not finite, an empty assignment name).
    """
    path = Path(path) if path is not None else COURSE_FILE
    if path == COURSE_FILE and not path.exists():
        return Course()
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ValueError(f"{path}: reading the course file needs Python 3.11 or later") from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such course file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a valid TOML course file: {error}") from None
    return _course(path, data)


def _course(path: Path, data: dict) -> Course:
    points = data.get("points", {})
    for section, found in (("", data), ("points", points)):
        if not isinstance(found, dict):
            raise ValueError(f"{path}: [{section}] must be a table of settings")
        unknown = sorted(set(found) - _KEYS[section])
        if unknown:
            where = f"[{section}]" if section else "the top level"
            raise ValueError(f"{path}: unknown setting(s) {', '.join(map(repr, unknown))} in {where};"
                             f" known: {', '.join(sorted(_KEYS[section]))}")
    own = points.get("tasks", {})
    if not isinstance(own, dict):
        raise ValueError(f"{path}: [points.tasks] must be a table of task = points")
    for name in own:
        if tasks.find_task(name) is None:
            raise ValueError(f"{path}: [points.tasks] {tasks.unknown_task_message(name)}")
    for label, value in [("mandatory", points.get("mandatory", MANDATORY)),
                         ("optional", points.get("optional", OPTIONAL)), *own.items()]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 0):
            raise ValueError(f"{path}: points of {label} must be a number >= 0, got {value!r}")
    assignment = data.get("assignment", ASSIGNMENT)
    if not isinstance(assignment, str) or not assignment.strip() or not assignment.isprintable():
        raise ValueError(f"{path}: assignment must be the LMS item's name on one line, got "
                         f"{assignment!r}")
    packages = data.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"{path}: packages must be a list of package names, e.g. "
                         f'packages = ["scipy"], got {packages!r}')
    return Course(assignment=assignment.strip(), mandatory=float(points.get("mandatory", MANDATORY)),
                  optional=float(points.get("optional", OPTIONAL)),
                  points={name: float(value) for name, value in own.items()},
                  packages=tuple(packages), **_deadline_settings(path, data), source=str(path))


def _deadline_settings(path: Path, data: dict) -> dict[str, str]:
    """The file's deadline keys, each checked (:class:`~.late_handins.Deadlines`)."""
    from grader.classgrade.late_handins import Deadlines
    found = {key: data.get(key, "") for key in _DEADLINE_KEYS}
    for key, value in found.items():
        if not isinstance(value, str):
            raise ValueError(f"{path}: {key} must be a string, e.g. deadline = "
                             f'"2026-12-11T23:59+01:00", got {value!r}')
    try:  # a policy or zone alone is fine: the deadline may come with each run (--deadline)
        Deadlines.read(found["deadline"] or "2000-01-01T00:00Z", found["late_policy"],
                       found["lms_timezone"])
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return {key: value.strip() for key, value in found.items()}


def changed_points(previous: Mapping[str, float], now: Mapping[str, float]) -> list[str]:
    """``["conv_matrix 2 -> 1"]``: tasks graded both times whose points differ."""
    from grader.classgrade.exports.grades import number
    return [f"{name} {number(previous[name])} -> {number(value)}" for name, value in now.items()
            if name in previous and previous[name] != value]

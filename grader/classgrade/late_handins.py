"""Late hand-ins of a class run: each submission's time against the student's own deadline.

The policy is :mod:`grader.core.deadlines`' (the server's too): a late submission is graded
like any other, and its score multiplied by the policy's factor. What a download says about
the time is :mod:`.lms_times`'; how each case is counted:

* a time (Brightspace's folder name, Moodle's grading worksheet): read in the LMS's time
  zone, days late are started days after the student's own deadline (the roster's
  ``extension``: days added, or a time of their own);
* Canvas's ``_LATE_`` mark with no time: late by an amount the download does not give, so
  counted as 1 day late, the least it can be (one started day), and said so. Canvas judged
  it against its own due date for the student; a student with an extension on the roster
  is not penalised for the mark (the download cannot tell whether it was within the
  extension), and the instructor is told to check in Canvas;
* no time at all (a Moodle download without its worksheet row, a date that is no date, or
  one outside 1970-9998 once read in the LMS's zone, as :mod:`grader.core.deadlines` bounds
  every time): counted on time, and said so to the student and the instructor.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.classgrade.exports.grades import Lateness, number
from grader.classgrade.lms_times import (
    deadline_zone,
    default_zone_warning,
    offset_words,
    parse_zone,
    unix_time,
)
from grader.core.deadlines import (
    DAY_SECONDS,
    LatePolicy,
    days_late,
    factor,
    format_deadline,
    own_deadline,
    parse_deadline,
    parse_late_policy,
)

TIMED = ("moodle", "brightspace")  # downloads that carry a time; Canvas's carries a mark


@dataclass(frozen=True)
class Deadlines:
    """A class run's deadline settings.

    Attributes:
        deadline: the course's deadline as given, ISO 8601 with its UTC offset.
        policy: what late work is worth.
        lms_timezone: the zone of the download's times, as given ("": the deadline's offset).
    """

    deadline: str
    policy: LatePolicy
    lms_timezone: str = ""

    @classmethod
    def read(cls, deadline: str, policy: str | None = None,
             lms_timezone: str | None = None) -> "Deadlines":
        """The settings from their texts (command line, ``course.toml``), each checked.

        Raises:
            ValueError: naming the bad value and the forms it may take.
        """
        parse_deadline(deadline)
        if lms_timezone:
            parse_zone(lms_timezone)
        return cls(str(deadline).strip(), parse_late_policy(policy or str(LatePolicy())),
                   (lms_timezone or "").strip())

    @property
    def at(self) -> float:
        return parse_deadline(self.deadline)

    def zone(self):
        return parse_zone(self.lms_timezone) if self.lms_timezone else deadline_zone(self.deadline)

    def to_dict(self) -> dict:
        return {"deadline": self.deadline, "late_policy": str(self.policy),
                "lms_timezone": self.lms_timezone}

    def describe(self) -> str:
        """One line for the report: ``Deadline: ... (late policy: ...; LMS times read in ...)``."""
        return (f"Deadline: {self.deadline} (late policy: {self.policy}; download times read "
                f"in {zone_words(self.to_dict())}; extensions from the roster)")


def zone_words(settings: dict) -> str:
    """Where zone-less download times are read, for a report: the zone given, else the
    deadline's fixed offset and the flag to give where daylight saving applies."""
    if settings.get("lms_timezone"):
        return str(settings["lms_timezone"])
    try:
        offset = offset_words(settings.get("deadline") or "")
    except ValueError:
        offset = "the UTC offset"
    return (f"{offset}, the deadline's fixed offset (an hour off across a daylight-saving "
            "change: give a zone name, e.g. --lms-timezone Europe/Amsterdam)")


def check_layout(lms: str | None, deadline: str = "") -> None:
    """Refuse a deadline given on the command line for submissions that carry no time
    (``<username>`` folders).

    Raises:
        ValueError: naming the deadline, where it came from, and which downloads carry a time.
    """
    if lms is None:
        raise ValueError(f"--deadline {deadline}, given on the command line, needs an LMS "
                         "download that says when each student handed in (--lms "
                         "canvas|moodle|brightspace): <username> folders carry no time (a "
                         "file's date on this disk is when it was copied); leave --deadline "
                         "out to grade them without one")


NO_TIMES = ("these hand-ins carry no submission times (<username> folders: a file's date on "
            "this disk is when it was copied); to apply it, grade the LMS's download of "
            "submissions with --lms canvas|moodle|brightspace")


def not_applied(course, *, deadline: str | None, lms: str | None) -> dict:
    """The run record's deadline settings when ``course.toml``'s deadline is not applied
    (submissions without times, no ``--deadline``), else ``{}``.

    Returns:
        ``{"not_applied": deadline, "source": course file, "why": ...}``, with no
        ``deadline`` key, so that no reader of the record takes it for one applied.
    """
    if lms is not None or deadline is not None or not course.deadline:
        return {}
    return {"not_applied": course.deadline, "source": course.source or "course.toml",
            "why": NO_TIMES}


def not_applied_words(record: dict) -> str:
    """One line for the terminal and the report from a :func:`not_applied` record."""
    return (f"the deadline {record['not_applied']} of {record['source']} was not applied: "
            f"{record['why']}")


def checked(students: dict, deadlines: Deadlines | None) -> dict:
    """``students`` ({username: Student}), once every one's own deadline can be worked out:
    checked before anything is graded, so a bad roster cell never aborts a run after it.

    Raises:
        ValueError: naming the student whose extension is no extension, or moves their
            deadline past any calendar.
    """
    if deadlines is not None:
        for username, student in students.items():
            try:
                own_deadline(student.extension, deadlines.at)
            except ValueError as error:
                raise ValueError(f"the roster's extension of {username}: {error}") from None
    return students


def lateness(submissions, roster, deadlines: Deadlines, lms: str):
    """Each submission's :class:`Lateness`, and the notes and lines it needs.

    Args:
        submissions: the run's :class:`~grader.classgrade.submissions.Submission` records
            (``handed_in``, ``marked_late`` from the download).
        roster: ``{username: Student}`` (their ``extension`` cells).
        deadlines: the run's :class:`Deadlines`.
        lms: the download's LMS.

    Returns:
        ``({username: Lateness}, {username: notes for the feedback}, lines for the report)``.

    Raises:
        ValueError: a roster extension that is no extension (naming the student).
    """
    found, notes, lines = {}, {}, []
    course, zone = deadlines.at, deadlines.zone()
    if lms in TIMED and not deadlines.lms_timezone and any(s.handed_in for s in submissions):
        lines.append(default_zone_warning(deadlines.deadline))
    for submission in submissions:
        username = submission.username
        student = roster.get(username)
        extension = student.extension if student is not None else ""
        try:
            own = own_deadline(extension, course)
        except ValueError as error:
            raise ValueError(f"the roster's extension of {username}: {error}") from None
        late, note = _judge(submission, own, deadlines.policy, zone, lms, extension.strip())
        found[username] = late
        if note:  # the feedback speaks to the student, the run's lines about them
            notes[username] = (note[0],)
            lines.append(f"{username}: {note[1]}")
    return found, notes, lines


def _judge(submission, own: float, policy: LatePolicy, zone, lms: str,
           extension: str) -> tuple[Lateness, tuple[str, str] | None]:
    """The submission's :class:`Lateness`, and a note when the download leaves it unjudged:
    ``(for the student's feedback, for the instructor)``, else None."""
    deadline, who = format_deadline(own), submission.username
    on_time = Lateness("", deadline, 0, 1.0, "")
    if lms in TIMED and submission.handed_in:
        try:
            at = unix_time(submission.handed_in, zone)
        except ValueError as error:   # outside 1970-9998: no real hand-in time
            return on_time, (f"{error}, so when you handed in is not known; counted as on time",
                             f"{error}, so when {who} handed in is not known; counted as on time")
        days = days_late(at, own)
        late = Lateness(format_deadline(at), deadline, days, factor(policy, at, own), "")
        return _worded(late, policy, f"handed in {_days(days)} late"), None
    if lms in TIMED:  # the download has no time for this one
        return on_time, ("when you handed in is not in the download; counted as on time",
                         f"the download has no hand-in time for {who}; counted as on time")
    if not submission.marked_late:
        return on_time, None
    if extension:
        gives = "Canvas's download gives no time to compare with it: not penalised"
        return on_time, (
            f"Canvas marks this submission late, but you have an extension and {gives} (your "
            "instructor checks the time in Canvas)",
            f"Canvas marks {who}'s submission late, but {who} has an extension ({extension} on "
            f"the roster) and {gives}; check {who}'s hand-in time in Canvas")
    late = Lateness("", deadline, 1, factor(policy, own + DAY_SECONDS, own), "")
    return _worded(late, policy, "marked late by Canvas (its download gives no time: counted "
                   "as 1 day late, the least it can be)"), None


def _worded(late: Lateness, policy: LatePolicy, said: str) -> Lateness:
    """``late`` with its words for the student (none when on time)."""
    if late.days == 0:
        return late
    if policy.mode == "count":
        why = "late work counts in full"
    elif policy.mode == "ignore":
        why = "late work does not count (0 points)"
    else:
        capped = " (the most taken)" if late.factor <= 1.0 - policy.cap + 1e-9 else ""
        why = f"{policy_words(policy)}, -{number(round((1 - late.factor) * 100, 4))}%{capped}"
    return Lateness(late.handed_in, late.deadline, late.days, late.factor, f"{said}: {why}")


def policy_words(policy: LatePolicy) -> str:
    """``10%/day`` or ``10%/day, max 50%``."""
    per_day = f"{number(policy.penalty_per_day * 100)}%/day"
    return per_day if policy.cap >= 1.0 else f"{per_day}, max {number(policy.cap * 100)}%"


def _days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def worth(late: dict, points) -> dict:
    """``{username: {task: factor}}`` for :func:`~grader.classgrade.exports.grades.grades`."""
    return {username: {name: entry.factor for name in points}
            for username, entry in late.items() if entry.factor != 1.0}



def for_run(course, *, deadline: str | None, late_policy: str | None,
            lms_timezone: str | None, lms: str | None) -> Deadlines | None:
    """This run's :class:`Deadlines`: each given setting over the course's ("" clears it), or
    None when neither gives a deadline, or when the course's meets submissions that carry no
    time (:func:`not_applied` says so).

    Raises:
        ValueError: a bad setting, a policy or zone without a deadline, or a deadline given
            for submissions that carry no time (:func:`check_layout`).
    """
    def chosen(given: str | None, course_value: str) -> str:
        return (course_value if given is None else given).strip()

    given = chosen(deadline, course.deadline)
    policy, zone = chosen(late_policy, course.late_policy), chosen(lms_timezone, course.lms_timezone)
    if not given:
        if late_policy or lms_timezone:
            raise ValueError("--late-policy and --lms-timezone need a deadline (--deadline, or "
                             "deadline in course.toml)")
        return None
    if lms is None and deadline is None:   # course.toml's: the run grades without it
        return None
    check_layout(lms, given)
    return Deadlines.read(given, policy or None, zone or None)

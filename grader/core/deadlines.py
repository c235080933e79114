"""The late policy, in one place: deadlines, extensions, days late and what late work is worth.

Pure functions over Unix times (seconds, ``time.time()``); no clock is read here. The
server, its export and class grading all ask this module, so a function completed at the
same time against the same deadline is worth the same everywhere.

A deadline is an ISO 8601 time with its UTC offset (``2026-12-11T23:59+01:00``); one
without an offset is refused, since the server, the staff and the students may be in
three time zones. An extension is a roster cell: empty (the course's deadline), a number
of days added to the course's deadline (``3d``, ``2``, ``0.5d``), or a time of its own.

A late policy says what a late completion is worth (:func:`factor`):

=============================  ===========================================================
``count``                      as much as one on time (1.0)
``ignore``                     nothing: the attempt does not count (0.0)
``penalty:10%/day,max 50%``    1 - min(cap, days late x penalty per day); days are
                               started days, so one second late is one day
=============================  ===========================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

DAY_SECONDS = 86400.0
MAX_EXTENSION_DAYS = 3650   # ten years: more is a typo, and would overflow a calendar date
EARLIEST, LATEST = 0.0, 253_370_678_400.0   # 1970-01-01 and 9998-12-31, UTC
MODES = ("count", "penalty", "ignore")
EXAMPLE_DEADLINE = "2026-12-11T23:59+01:00"
POLICY_EXAMPLES = "'count', 'ignore' or 'penalty:10%/day,max 50%'"
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DAYS = re.compile(rf"{_NUMBER}\s*d?", re.IGNORECASE)
_OFFSET_TAIL = re.compile(r"\s*(Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_ODD_SEPARATOR = re.compile(r"\d{4}-?\d{2}-?\d{2}[^Tt ]")   # ISO 8601 has T (or a space)
_PENALTY = re.compile(rf"penalty\s*:\s*{_NUMBER}\s*%\s*/\s*day\s*(?:,\s*max\s*{_NUMBER}\s*%)?",
                      re.IGNORECASE)


def parse_deadline(text: str) -> float:
    """The Unix time of an ISO 8601 deadline with a UTC offset.

    Args:
        text: e.g. ``"2026-12-11T23:59+01:00"`` or ``"2026-12-11T22:59Z"``.

    Returns:
        Seconds since the epoch.

    Raises:
        ValueError: the text is not an ISO 8601 time, or has no UTC offset; its suggestion
            (:func:`suggest_deadline`) is one this function accepts.
    """
    cleaned = str(text).strip()
    try:
        if _ODD_SEPARATOR.match(cleaned):   # Python reads 2026-12-11+01:00 as 1 a.m.
            raise ValueError(cleaned)
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"deadline {text!r} is not an ISO 8601 time: write it like "
                         f"{suggest_deadline(cleaned)!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        lacks = ("is a date with no time and no UTC offset" if _date(cleaned) else
                 "has no UTC offset")
        day_end = "the end of that day; " if _date(cleaned) else ""
        raise ValueError(f"deadline {text!r} {lacks}, so it means a different moment in every "
                         f"time zone: write e.g. {suggest_deadline(cleaned)!r} ({day_end}Z for "
                         "UTC)") from None
    return _in_range(moment.timestamp(), f"deadline {text!r}")


def suggest_deadline(text: str) -> str:
    """A deadline :func:`parse_deadline` accepts, as near ``text`` as can be: its date and time
    (the end of the day, 23:59, for a date alone) at its own UTC offset, else at +01:00; else
    :data:`EXAMPLE_DEADLINE`."""
    cleaned = str(text).strip()
    tail = _OFFSET_TAIL.search(cleaned)
    tried = ([(cleaned[:tail.start()], tail.group(1).upper())] if tail else [])
    for body, offset in tried + [(cleaned, "+01:00")]:
        moment = _date(body) or _naive_time(body)
        if moment is None:
            continue
        spec = "seconds" if moment.second else "minutes"
        candidate = moment.isoformat(timespec=spec) + offset
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if parsed.utcoffset() is not None and EARLIEST <= parsed.timestamp() <= LATEST:
            return candidate
    return EXAMPLE_DEADLINE


def _date(text: str) -> datetime | None:
    """23:59 on the date ``text`` is, alone (``2026-12-11``, ``20261211``), else None."""
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time(23, 59))
    except ValueError:
        return None


def _naive_time(text: str) -> datetime | None:
    """The date and time ``text`` gives, without offset or fraction, else None."""
    cleaned = text.strip()
    if _ODD_SEPARATOR.match(cleaned):
        return None
    try:
        return datetime.fromisoformat(cleaned).replace(tzinfo=None, microsecond=0)
    except ValueError:
        return None


def _in_range(at: float, what: str) -> float:
    """``at`` when it lies between 1970 and 9998 (every page and export can write it)."""
    if not EARLIEST <= at <= LATEST:   # NaN fails both comparisons
        raise ValueError(f"{what} lies outside 1970-9998: write a real date, e.g. "
                         f"{EXAMPLE_DEADLINE!r}")
    return at


def format_deadline(at: float) -> str:
    """``at`` (Unix seconds) as an ISO 8601 time in UTC, e.g. ``2026-12-11T22:59:00+00:00``."""
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="seconds")


def check_extension(text: str) -> str:
    """``text`` stripped, when it is a valid extension cell (see :func:`own_deadline`).

    Raises:
        ValueError: naming the cell and the forms an extension may take.
    """
    cell = (text or "").strip()
    days = _DAYS.fullmatch(cell) if cell else None
    if days and not 0 <= float(days.group(1)) <= MAX_EXTENSION_DAYS:
        raise ValueError(f"extension {text!r} is more than {MAX_EXTENSION_DAYS} days: a typo? "
                         "Give the days (e.g. '3d') or a deadline of the student's own")
    if not cell or days:
        return cell
    try:
        parse_deadline(cell)
    except ValueError as error:
        raise ValueError(f"extension {text!r} is neither a number of days (e.g. '3d' or '2') "
                         f"nor a deadline of its own ({error})") from None
    return cell


def own_deadline(extension: str, deadline: float | None) -> float | None:
    """A student's own deadline: the course's ``deadline`` moved by their ``extension``.

    Args:
        extension: the roster cell: "" (none), days added to the course's deadline
            (``"3d"``, ``"2"``, ``"0.5d"``), or an ISO 8601 time with offset (their own).
        deadline: the course's deadline (Unix seconds), or None when there is none.

    Returns:
        Unix seconds, or None when there is no deadline (none for the course and no time
        of the student's own: days extend nothing); never before the course's deadline.

    Raises:
        ValueError: the extension is not one of the forms above.
    """
    cell = check_extension(extension)
    if not cell:
        return deadline
    days = _DAYS.fullmatch(cell)
    if days:
        return None if deadline is None else _in_range(
            deadline + float(days.group(1)) * DAY_SECONDS, f"the deadline extended by {cell!r}")
    own = parse_deadline(cell)
    # An extension never shortens: a date before the course's is a slip (a year typo made a
    # right answer "352 days late"); callers name such cells (shortens()).
    return own if deadline is None else max(own, deadline)


def shortens(extension: str, deadline: float | None) -> bool:
    """Whether the roster cell ``extension`` names a time before the course's ``deadline``
    (which :func:`own_deadline` then ignores): worth telling whoever typed it."""
    try:
        cell = check_extension(extension)
    except ValueError:
        return False
    return bool(cell) and deadline is not None and not _DAYS.fullmatch(cell) \
        and parse_deadline(cell) < deadline


@dataclass(frozen=True)
class LatePolicy:
    """What a completion after the deadline is worth.

    Attributes:
        mode: "count" (as on time), "penalty" (less per started day late) or "ignore" (not at
            all).
        penalty_per_day: the fraction of the score taken per started day late (mode
            "penalty"), in [0, 1].
        cap: the largest fraction taken in all (mode "penalty"), in [0, 1].
    """

    mode: str = "ignore"
    penalty_per_day: float = 0.0
    cap: float = 1.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"late policy mode {self.mode!r} is not one of {', '.join(MODES)}")
        for name in ("penalty_per_day", "cap"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"late policy {name} {value!r} must be a fraction in [0, 1] "
                                 "(e.g. 0.1 for 10%)")
        if self.mode != "penalty" and (self.penalty_per_day or self.cap != 1.0):
            raise ValueError(f"late policy {self.mode!r} takes no penalty; write "
                             "'penalty:10%/day,max 50%' for one")

    def __str__(self) -> str:
        """The text :func:`parse_late_policy` reads back (``penalty:10%/day,max 50%``)."""
        if self.mode != "penalty":
            return self.mode
        return f"penalty:{_percent(self.penalty_per_day)}%/day,max {_percent(self.cap)}%"


def _percent(fraction: float) -> str:
    return f"{round(fraction * 100, 6):g}"


def parse_late_policy(text: str) -> LatePolicy:
    """A :class:`LatePolicy` from a command line or ``course.toml`` value.

    Args:
        text: ``"count"``, ``"ignore"``, ``"penalty:10%/day"`` (no cap: down to 0 after ten
            days) or ``"penalty:10%/day,max 50%"``; case and spaces do not matter.

    Raises:
        ValueError: naming the value and the forms it may take.
    """
    cleaned = " ".join(str(text).split()).lower()
    if cleaned in ("count", "ignore"):
        return LatePolicy(cleaned)
    match = _PENALTY.fullmatch(cleaned)
    if not match:
        raise ValueError(f"late policy {text!r} is not one of {POLICY_EXAMPLES}")
    per_day = float(match.group(1)) / 100
    cap = float(match.group(2)) / 100 if match.group(2) is not None else 1.0
    try:
        return LatePolicy("penalty", per_day, cap)
    except ValueError as error:
        raise ValueError(f"late policy {text!r}: {error}") from None


def days_late(at: float, deadline: float | None) -> int:
    """Started days between ``deadline`` and ``at``: 0 on time, 1 for one second late.

    Args:
        at: when the work was done (Unix seconds).
        deadline: the student's own deadline (Unix seconds), or None for none.
    """
    if deadline is None or at <= deadline:
        return 0
    return math.ceil((at - deadline) / DAY_SECONDS)


def factor(policy: LatePolicy, at: float, deadline: float | None) -> float:
    """What work done at ``at`` is worth, as a multiplier of its score.

    Returns:
        1.0 on time (or without a deadline) and under "count"; 0.0 late under "ignore" (the
        attempt does not count); 1 - min(cap, days late x penalty per day) under "penalty".
    """
    days = days_late(at, deadline)
    if days == 0 or policy.mode == "count":
        return 1.0
    if policy.mode == "ignore":
        return 0.0
    return round(1.0 - min(policy.cap, days * policy.penalty_per_day), 9)  # 0.7, not 0.69999

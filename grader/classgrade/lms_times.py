"""When each student handed in, as an LMS's download says it, and in which time zone.

What each download carries (checked against each LMS's own code or public material):

    brightspace  the date in every folder's (or flat file's) name: ``Dec 11, 2026 1159 PM``,
                 to the minute, in the time zone of the person who downloaded the zip
                 (Brightspace writes dates in the viewer's zone; the name carries none).
    moodle       nothing reliable in the zip. Moodle adds each file with libzip's
                 ``addFile`` from its content-addressed file pool
                 (``lib/filestorage/file_system.php``, ``add_storedfile_to_archive``), so an
                 entry's time is when those bytes first reached the server (a notebook
                 handed in unchanged from the template keeps the template's time; a restored
                 site, or object storage fetched at download time, gives other times), and
                 unzipping with Python's :mod:`zipfile` keeps no time at all. The submission
                 time is in Moodle's *grading worksheet* (the assignment's "Download grading
                 worksheet"): ``Identifier`` (``Participant <id>``) and
                 ``Last modified (submission)``, written by ``userdate`` with the English
                 language pack's ``strftimedaydatetime`` (``Friday, 11 December 2026, 11:59 PM``)
                 in the downloader's time zone; ``-`` when there is none. Put that CSV in the
                 download's folder, under a name of its own (Moodle's ``Grades-...csv``):
                 :func:`read_worksheet` reads it. A CSV named as a participant's entry is
                 that student's file, never the worksheet; two worksheets give no times.
    canvas       no time: Canvas's zip names a file handed in after the student's due date
                 with ``_LATE_`` (Canvas judges it against the student's own due date,
                 overrides included), and nothing says by how much.

Times without a zone are read in the LMS's time zone (``--lms-timezone``, ``lms_timezone`` in
``course.toml``: an IANA name such as ``Europe/Amsterdam`` or an offset such as ``+01:00``);
by default, the UTC offset written in the deadline itself, which is fixed: a run that reads
zone-less times so says which offset it used (:func:`default_zone_warning`), since across a
daylight-saving change it is an hour off and only a zone name gets both sides right.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.intake import read_own
from grader.core.deadlines import EARLIEST, LATEST

MAX_WORKSHEET_BYTES = 10 << 20
MAX_LISTED = 20  # lines about one worksheet's rows; the rest are counted


def capped(lines: list[str], more: str) -> list[str]:
    """The first :data:`MAX_LISTED` of ``lines``, then ``more`` (a format with one ``{}``:
    how many were left out) when there were more."""
    rest = len(lines) - MAX_LISTED
    return lines[:MAX_LISTED] + ([more.format(rest)] if rest > 0 else [])
WORKSHEET_COLUMNS = ("Identifier", "Last modified (submission)")
_PARTICIPANT = re.compile(r"\s*Participant\s+(\d+)\s*", re.IGNORECASE)
_OFFSET = re.compile(r"(?:UTC)?\s*([+-])(\d{1,2}):?(\d{2})?")
_MOODLE_SHAPE = re.compile(r"(?:\w+, )?\d{1,2} \w+ \d{4}, \d{1,2}:\d{2}(?: [AP]M)?", re.I)
_MOODLE_FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%A, %d %B %Y, %H:%M",
                   "%d %B %Y, %H:%M")


def moodle_time(text: str) -> str:
    """Moodle's ``Friday, 11 December 2026, 11:59 PM`` as ISO 8601 (no zone), "" if none."""
    cleaned = " ".join(str(text).split())
    if not _MOODLE_SHAPE.fullmatch(cleaned):  # cheap: a worksheet may hold 200 000 rows
        return ""
    for pattern in _MOODLE_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).isoformat()
        except ValueError:
            continue
    return ""


def is_worksheet(path: Path) -> bool:
    """Whether ``path`` is a CSV file whose header is a Moodle grading worksheet's."""
    if path.suffix.lower() != ".csv" or not path.is_file() or path.is_symlink():
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = next(csv.reader(io.StringIO(handle.readline(1 << 16))), [])
    except OSError:
        return False
    return all(column in header for column in WORKSHEET_COLUMNS)


def participant_order(pid: str) -> tuple[int, str]:
    """Sort key for participant ids: by value, without int() (a 5000-digit id is refused)."""
    return len(pid), pid


def read_worksheet(path: Path) -> tuple[dict[str, str], list[str]]:
    """``{participant id: ISO 8601 time}`` from Moodle's grading worksheet, and its lines.

    A row whose time cannot be read is a line (the first :data:`MAX_LISTED`, then a count);
    ``-`` (no submission) is left out silently. A participant in two rows or more has no time:
    which row is right cannot be told, and that is a line too.

    Read as every file of a download is (:func:`~grader.classgrade.intake.read_own`): a link,
    or a file past :data:`MAX_WORKSHEET_BYTES`, is refused.

    Raises:
        ValueError: the file was refused, saying why.
    """
    read = read_own(path, None, MAX_WORKSHEET_BYTES)
    if isinstance(read, str):
        raise ValueError(f"{read}, not read as Moodle's grading worksheet")
    name = printable(path.name)
    times, rows, bad, lines = {}, Counter(), [], []
    text = read[0].decode("utf-8-sig", errors="replace")
    for row in csv.DictReader(io.StringIO(text, newline="")):
        participant = _PARTICIPANT.fullmatch(row.get("Identifier") or "")
        if participant is None:
            continue
        rows[participant[1]] += 1
        cell = (row.get("Last modified (submission)") or "").strip()
        if cell in ("", "-"):
            continue
        when = moodle_time(cell)
        if when:
            times[participant[1]] = when
        else:
            bad.append(f"{name}: Participant {participant[1]}: {printable(cell[:80])!r} is not a "
                       "time Moodle writes in English; that student's hand-in time is unknown")
    lines += capped(bad, f"{name}: {{}} more rows whose time is not a time Moodle writes in "
                    "English (not listed); those students' hand-in times are unknown")
    twice = sorted((pid for pid, count in rows.items() if count > 1), key=participant_order)
    for pid in twice:
        times.pop(pid, None)
    lines += capped([f"{name}: Participant {pid} has {rows[pid]} rows; that participant's "
                     "hand-in time is unknown" for pid in twice],
                    f"{name}: {{}} more participants with several rows (not listed); their "
                    "hand-in times are unknown")
    return times, lines


def parse_zone(text: str) -> tzinfo:
    """An IANA time zone (``Europe/Amsterdam``) or a UTC offset (``+01:00``, ``UTC-5``, ``Z``).

    Raises:
        ValueError: naming the value and the forms it may take.
    """
    cleaned = str(text).strip()
    if cleaned.upper() in ("Z", "UTC"):
        return timezone.utc
    offset = _OFFSET.fullmatch(cleaned)
    if offset:
        sign = -1 if offset[1] == "-" else 1
        hours, minutes = int(offset[2]), int(offset[3] or 0)
        if hours < 24 and minutes < 60:
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(cleaned)
    except (ValueError, KeyError, OSError, ImportError):
        raise ValueError(f"LMS time zone {text!r} is neither a time zone name (e.g. "
                         "'Europe/Amsterdam') nor a UTC offset (e.g. '+01:00')") from None


def deadline_zone(deadline: str) -> tzinfo:
    """The fixed UTC offset written in an ISO 8601 ``deadline`` (``...+01:00`` -> UTC+1)."""
    moment = datetime.fromisoformat(str(deadline).strip())
    if moment.utcoffset() is None:
        raise ValueError(f"deadline {deadline!r} has no UTC offset")
    return timezone(moment.utcoffset())


def offset_words(deadline: str) -> str:
    """``UTC+01:00``: the fixed offset a ``deadline`` gives zone-less times by default."""
    seconds = int(deadline_zone(deadline).utcoffset(None).total_seconds())
    sign, minutes = ("-" if seconds < 0 else "+"), abs(seconds) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def default_zone_warning(deadline: str) -> str:
    """The one line a run says when it reads zone-less times in the deadline's offset."""
    return (f"download times carry no time zone: read at {offset_words(deadline)}, the "
            "deadline's fixed offset (no --lms-timezone given), an hour off across a "
            "daylight-saving change; where one applies, give the zone's name, e.g. "
            "--lms-timezone Europe/Amsterdam")


def unix_time(local: str, zone: tzinfo) -> float:
    """An LMS's time without a zone (ISO 8601), read in ``zone``, as Unix seconds.

    A wall time that a zone name gives twice (the hour the clocks fall back) is read as its
    first occurrence, the earlier instant (summer time); one it never gives (the hour they
    spring forward) with the offset in force before the change: ``fold=0`` of PEP 495, the
    same every run.

    Raises:
        ValueError: ``local`` is no ISO 8601 time, or lies outside 1970-9998 once read in
            ``zone`` (the bounds of :mod:`grader.core.deadlines`, which every page and export
            can write: ``Dec 31, 9999 1159 PM`` at -12:00 is in the year 10000).
    """
    outside = f"the download's hand-in time {local} lies outside 1970-9998"
    moment = datetime.fromisoformat(local)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        at = moment.timestamp()
    except (OverflowError, ValueError):   # the year 0 or 10000 once in UTC
        raise ValueError(outside) from None
    if not EARLIEST <= at <= LATEST:
        raise ValueError(outside)
    return at

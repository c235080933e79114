"""The late policy: deadlines with offsets, extensions, started days late, what late work is worth."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from grader.core.deadlines import (
    DAY_SECONDS,
    LatePolicy,
    check_extension,
    days_late,
    factor,
    format_deadline,
    own_deadline,
    parse_deadline,
    parse_late_policy,
    shortens,
)

CET = timezone(timedelta(hours=1))
DEADLINE = datetime(2026, 12, 11, 23, 59, tzinfo=CET).timestamp()


@pytest.mark.parametrize("text, want", [
    ("2026-12-11T23:59+01:00", datetime(2026, 12, 11, 22, 59, tzinfo=timezone.utc)),
    ("2026-12-11T22:59Z", datetime(2026, 12, 11, 22, 59, tzinfo=timezone.utc)),
    (" 2026-12-11 23:59:30-05:00 ", datetime(2026, 12, 12, 4, 59, 30, tzinfo=timezone.utc)),
])
def test_a_deadline_with_an_offset_is_one_moment(text, want):
    assert parse_deadline(text) == want.timestamp()


@pytest.mark.parametrize("text, want", [
    ("2026-12-11T23:59", "has no UTC offset"),          # local to whom?
    ("2026-12-11T23:59", "2026-12-11T23:59+01:00"),     # the message shows the fix
    ("next friday", "is not an ISO 8601 time"),
    ("2026-13-01T00:00+01:00", "is not an ISO 8601 time"),
    ("", "is not an ISO 8601 time"),
])
def test_a_deadline_without_an_offset_or_a_date_is_refused_saying_what_to_write(text, want):
    with pytest.raises(ValueError, match=want.replace("+", r"\+")):
        parse_deadline(text)


def test_format_deadline_reads_back():
    assert parse_deadline(format_deadline(DEADLINE)) == DEADLINE


@pytest.mark.parametrize("cell, course, want", [
    ("", DEADLINE, DEADLINE),
    ("   ", DEADLINE, DEADLINE),
    ("3d", DEADLINE, DEADLINE + 3 * DAY_SECONDS),
    ("2", DEADLINE, DEADLINE + 2 * DAY_SECONDS),
    ("0.5D", DEADLINE, DEADLINE + 0.5 * DAY_SECONDS),
    ("2026-12-20T12:00+01:00", DEADLINE, datetime(2026, 12, 20, 12, tzinfo=CET).timestamp()),
    ("2026-12-20T12:00+01:00", None, datetime(2026, 12, 20, 12, tzinfo=CET).timestamp()),
    ("2025-12-20T12:00+01:00", DEADLINE, DEADLINE),   # a year typo never shortens
    ("3d", None, None),     # days extend no deadline
    ("", None, None),
])
def test_own_deadline_moves_the_course_deadline_by_the_extension(cell, course, want):
    assert own_deadline(cell, course) == want
    assert shortens(cell, course) is (cell.startswith("2025") and course is not None)


@pytest.mark.parametrize("cell, want", [
    ("-2d", "neither a number of days"),
    ("three days", "neither a number of days"),
    ("2026-12-20T12:00", "has no UTC offset"),
    ("3 weeks", "e.g. '3d' or '2'"),
])
def test_a_bad_extension_is_refused_saying_what_it_may_be(cell, want):
    with pytest.raises(ValueError, match=want):
        check_extension(cell)
    with pytest.raises(ValueError, match=want):
        own_deadline(cell, DEADLINE)


@pytest.mark.parametrize("text, want", [
    ("count", LatePolicy("count")),
    (" IGNORE ", LatePolicy("ignore")),
    ("penalty:10%/day,max 50%", LatePolicy("penalty", 0.1, 0.5)),
    ("penalty: 10 % / day , max 50 %", LatePolicy("penalty", 0.1, 0.5)),
    ("penalty:12.5%/day", LatePolicy("penalty", 0.125, 1.0)),
    ("penalty:0%/day,max 0%", LatePolicy("penalty", 0.0, 0.0)),
])
def test_parse_late_policy(text, want):
    assert parse_late_policy(text) == want
    assert parse_late_policy(str(want)) == want   # str() is the form it reads back


@pytest.mark.parametrize("text, want", [
    ("late", r"'late' is not one of 'count', 'ignore' or 'penalty:10%/day,max 50%'"),
    ("penalty", "is not one of"),
    ("penalty:10/day", "is not one of"),            # a fraction or a percentage? say %
    ("penalty:10%/day,max 150%", r"cap 1\.5 must be a fraction in \[0, 1\]"),
    ("penalty:120%/day", r"penalty_per_day 1\.2 must be a fraction"),
])
def test_a_bad_policy_is_refused_naming_the_value(text, want):
    with pytest.raises(ValueError, match=want):
        parse_late_policy(text)


@pytest.mark.parametrize("fields, want", [
    (("late",), "mode 'late' is not one of count, penalty, ignore"),
    (("count", 0.1), "takes no penalty"),
    (("penalty", -0.1), "must be a fraction"),
])
def test_a_bad_policy_record_is_refused(fields, want):
    with pytest.raises(ValueError, match=want):
        LatePolicy(*fields)


@pytest.mark.parametrize("seconds_after, want", [
    (-DAY_SECONDS, 0), (0, 0), (1, 1), (DAY_SECONDS, 1), (DAY_SECONDS + 1, 2),
    (2.5 * DAY_SECONDS, 3),
])
def test_days_late_counts_started_days(seconds_after, want):
    assert days_late(DEADLINE + seconds_after, DEADLINE) == want


def test_no_deadline_is_never_late():
    assert days_late(DEADLINE + 1e9, None) == 0
    assert factor(LatePolicy("ignore"), DEADLINE + 1e9, None) == 1.0


PENALTY = LatePolicy("penalty", 0.1, 0.5)


@pytest.mark.parametrize("policy, seconds_after, want", [
    (LatePolicy("count"), -1, 1.0),
    (LatePolicy("count"), 30 * DAY_SECONDS, 1.0),
    (LatePolicy("ignore"), 0, 1.0),                     # at the deadline is on time
    (LatePolicy("ignore"), 1, 0.0),
    (PENALTY, 0, 1.0),
    (PENALTY, 1, 0.9),
    (PENALTY, 3 * DAY_SECONDS, 0.7),
    (PENALTY, 3 * DAY_SECONDS + 1, 0.6),
    (PENALTY, 5 * DAY_SECONDS, 0.5),
    (PENALTY, 40 * DAY_SECONDS, 0.5),                  # the cap holds
    (LatePolicy("penalty", 0.25), 5 * DAY_SECONDS, 0.0),  # no cap: down to nothing
])
def test_factor(policy, seconds_after, want):
    assert factor(policy, DEADLINE + seconds_after, DEADLINE) == want


def test_the_default_policy_is_that_late_work_does_not_count():
    assert LatePolicy() == parse_late_policy("ignore")


@pytest.mark.parametrize("cell", ["9" * 400 + "d", "100000000d", "3651d", "1e9"])
def test_an_extension_past_any_calendar_is_refused(cell):
    """A red team's cells: each became a deadline no page or export could write (500s)."""
    with pytest.raises(ValueError, match="days|neither"):
        check_extension(cell)


@pytest.mark.parametrize("text", ["9999-12-31T23:59-12:00", "1969-12-31T23:00Z", "0001-01-01T00:00Z"])
def test_a_deadline_outside_1970_to_9998_is_refused(text):
    with pytest.raises(ValueError, match="outside 1970-9998"):
        parse_deadline(text)


def test_every_accepted_extension_can_be_written():
    for cell in ("3650d", "0d", "2026-12-20T12:00+01:00", "9998-12-30T00:00Z"):
        assert format_deadline(own_deadline(cell, DEADLINE))
    with pytest.raises(ValueError, match="outside 1970-9998"):
        own_deadline("3650d", parse_deadline("9998-01-01T00:00Z"))


# a refusal's suggestions: the values quoted after "e.g." or "like" (and "or" after them)
SUGGESTED = re.compile(r"(?:e\.g\.|like) '([^']*)'(?: or '([^']*)')?")


def suggestions(message: str) -> list[str]:
    return [value for pair in SUGGESTED.findall(message) for value in pair if value]


@pytest.mark.parametrize("text, want", [
    # a date alone: the end of that day (its suggestion was "2026-12-11+01:00", refused too)
    ("2026-12-11", "2026-12-11T23:59+01:00"),
    ("20261211", "2026-12-11T23:59+01:00"),
    # an offset-like tail already there: kept, never a second one appended
    ("2026-12-11+01:00", "2026-12-11T23:59+01:00"),     # Python reads "+" as a separator
    ("2026-12-11-05:00", "2026-12-11T23:59-05:00"),
    ("2026-12-11+01:00+01:00", "2026-12-11T23:59+01:00"),
    ("2026-12-11 +01:00", "2026-12-11T23:59+01:00"),
    ("2026-12-11Z", "2026-12-11T23:59Z"),
    # a time without an offset: the same time, with one
    ("2026-12-11T23:59", "2026-12-11T23:59+01:00"),
    ("2026-12-11 23:59:30", "2026-12-11T23:59:30+01:00"),
    # nothing to build on, or a suggestion outside 1970-9998: the example
    ("9999-12-31", "2026-12-11T23:59+01:00"),
    ("9999-12-31T23:59-12:00", "2026-12-11T23:59+01:00"),
    ("2026-13-01T00:00+01:00", "2026-12-11T23:59+01:00"),
    ("next friday", "2026-12-11T23:59+01:00"),
    ("", "2026-12-11T23:59+01:00"),
])
def test_every_suggestion_of_a_refused_deadline_parses(text, want):
    with pytest.raises(ValueError) as refused:
        parse_deadline(text)
    offered = suggestions(str(refused.value))
    assert offered[0] == want, str(refused.value)
    for value in offered:
        parse_deadline(value)
    if not text or text.isdigit():   # in a roster cell: no extension, and days
        return
    # the same deadline in a roster's extension cell: each suggestion is a valid cell
    with pytest.raises(ValueError) as refused:
        check_extension(text)
    offered = suggestions(str(refused.value))
    assert want in offered and "3d" in offered, str(refused.value)
    for value in offered:
        check_extension(value)

"""The kit's own endpoint: the outcome of a student's local check, recorded for the staff.

``GET /record_local_check/<username>/<function>/<passed>/<mistake>`` stores one row
of ``local_checks``: the function, whether its local cases passed (``1`` or ``0``)
and the recognised mistake's name (an empty segment when none was recognised).
Never the student's code, answers or inputs: the staff page
(:mod:`grader.server.stuck`) shows from these rows who is stuck, and on what.

Why a GET with the parameters in the path, as AutoMark's endpoints: the request
goes through the same bounded HTTP layer, the same per-segment length check and
percent-decoding (:func:`grader.server.app.path_arguments`) and the same JSON
refusals, so no new parser is exposed to the network. AutoMark's own clients never
call it; it changes none of their endpoints, texts or rate-limit windows.

What is refused (AutoMark's status 300, ``{"error": text}``), nothing written:
an unregistered user, a function that is no graded task, ``passed`` other than
``0``/``1``, a mistake longer than :data:`MAX_MISTAKE_CHARS` or not one of the
function's known mistakes (or any mistake with ``passed`` = 1), and a user past
:data:`MAX_RECORDS` records in the last :data:`RATE_SECONDS`: refused by a read,
without the write lock; an accepted record's ``INSERT`` counts again in the same
statement, so the bound holds across workers. Records are only ever added, so a user
found past the bound stays past it until the oldest of those records is
:data:`RATE_SECONDS` old: until then this worker refuses from memory
(``AutoMarkService.records_held_until``), without a statement (the kit's client sends a
record before every hidden check, so most records of a busy student are refused). Each
refusal is counted in :data:`refused` (per worker process; the staff page shows the
rate-limit ones). The
endpoint never reads or opens the hidden check's window (``check_answer``'s rate limit).

AutoMark has no authentication: the username is the key. Whoever knows a
username can record local checks under it, exactly as they can already call
``get_test_input`` and ``check_answer`` under it; a record changes no grade.
"""

from __future__ import annotations

import collections
import functools
import json

from grader.core.mistakes import known_mistakes
from grader.server.service import AutoMarkService, ProtocolError, not_found
from grader.server.store import ServerStore

NAME = "record_local_check"
PARAMS = ("username", "function", "passed", "mistake")
MAX_MISTAKE_CHARS = 120          # the longest known name is about 50 characters
RATE_SECONDS = 60.0
MAX_RECORDS = 40                 # per user per RATE_SECONDS: a "run all" checks 18 functions
RECORDED = '{"success": true}'
refused: collections.Counter = collections.Counter()   # reason -> refusals, this process

# The user's records of the last RATE_SECONDS, counted up to the bound: ``function IN (...)``
# on the index (username, function, at) is one short range per graded function, so the
# cost does not grow with the user's history.
_RECENT = """(SELECT count(*) FROM (SELECT 1 FROM local_checks
    WHERE username = :username AND function IN ({functions}) AND at > :since LIMIT :bound))"""
# When the user's records of the last RATE_SECONDS fall below the bound: the MAX_RECORDS-th
# newest of them leaves the window RATE_SECONDS after it was made.
_HELD_UNTIL = """SELECT at + :window FROM local_checks
    WHERE username = :username AND function IN ({functions}) AND at > :since
    ORDER BY at DESC LIMIT 1 OFFSET :bound - 1"""
_INSERT_UNDER_BOUND = """
INSERT INTO local_checks (username, function, at, passed, mistake)
SELECT :username, :function, :at, :passed, :mistake WHERE {recent} < :bound
"""


@functools.cache
def mistake_names(function: str) -> frozenset[str]:
    """The names of ``function``'s known mistakes, as the kit's client sends them."""
    return frozenset(mistake.name for mistake in known_mistakes(function))


@functools.cache
def _sql(n_functions: int) -> tuple[str, str, str]:
    """The count of recent records, the insert under the bound, and when a user past the
    bound may record again."""
    functions = ", ".join(f":f{i}" for i in range(n_functions))
    recent = _RECENT.format(functions=functions)
    return ("SELECT " + recent, _INSERT_UNDER_BOUND.format(recent=recent),
            _HELD_UNTIL.format(functions=functions))


def add_record(store: ServerStore, *, username: str, function: str, passed: bool, mistake: str,
               now: float, functions) -> float | None:
    """Insert one record unless ``username`` has :data:`MAX_RECORDS` already in the last
    :data:`RATE_SECONDS` (counted over ``functions``, the graded ones).

    A user past the bound is refused by a read (no write lock: 24 against 87 us measured on
    a loaded machine); otherwise the insert repeats the count in the same statement, so the
    bound holds across workers.

    Returns:
        None when the record was inserted; when it was refused, the time (``now``'s clock)
        until which every record of this user will be refused, since records are only added.
    """
    functions = tuple(functions)
    values = {"username": username, "function": function, "at": now, "passed": int(passed),
              "mistake": mistake, "since": now - RATE_SECONDS, "bound": MAX_RECORDS,
              "window": RATE_SECONDS, **{f"f{i}": name for i, name in enumerate(functions)}}
    count, insert, held_until = _sql(len(functions))
    if store.db.execute(count, values).fetchone()[0] < MAX_RECORDS:
        if store.db.execute(insert, values).rowcount == 1:
            return None
    row = store.db.execute(held_until, values).fetchone()
    return row[0] if row is not None else now      # None: the records left the window meanwhile


def _refuse(reason: str, text: str) -> ProtocolError:
    refused[reason] += 1
    return ProtocolError(text)


def record_local_check(service: AutoMarkService, username: str, function: str, passed: str,
                       mistake: str) -> str:
    """Store one local check's outcome; ``{"success": true}``.

    Args:
        service: the endpoints' service (its store, clock and graded tasks).
        username: a registered user.
        function: a graded function's name.
        passed: ``"1"`` when the local cases passed, ``"0"`` when not.
        mistake: the recognised mistake's name, or ``""``.

    Raises:
        ProtocolError: the refusals listed in the module's docstring; nothing is written.
    """
    if not service.is_registered(username):
        refused["user"] += 1
        raise service.unregistered(username)
    if function not in service.tasks:
        raise _refuse("function", not_found(function))
    if passed not in ("0", "1"):
        raise _refuse("passed", f"passed must be 1 (the local cases passed) or 0, got "
                                f"{json.dumps(passed[:20])}.")
    if mistake and (len(mistake) > MAX_MISTAKE_CHARS or passed == "1"
                    or mistake not in mistake_names(function)):
        raise _refuse("mistake", f"{json.dumps(mistake[:MAX_MISTAKE_CHARS])} is not a known "
                                 f"mistake of {function} (send an empty segment for none; a "
                                 "passed check has none).")
    now = service.clock()
    held = service.records_held_until
    if now >= held.get(username, now):
        held.pop(username, None)
        until = add_record(service.store, username=username, function=function,
                           passed=passed == "1", mistake=mistake, now=now,
                           functions=service.tasks)
        if until is None:
            return RECORDED
        held[username] = until
    raise _refuse("rate", f"at most {MAX_RECORDS} local-check records per {RATE_SECONDS:.0f} s; "
                          "this one is not recorded (the check itself ran).")

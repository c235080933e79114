"""The two calls students make from the notebook, as AutoMark offered them.

``test_student_function(username, function, arg_keys)`` checks a function on
local cases (called with keyword arguments) and on hidden "remote" cases
(called with positional arguments in ``arg_keys`` order), prints AutoMark's
messages with an explanation of any failure, and records the attempt.
``get_progress(username)`` prints the progress table of this week's functions
(``get_progress(username, last_week=True)``: last week's too).

With an AutoMark server configured (``Config.host``, as in the course's client,
else ``$AUTOMARK_SERVER``, else the server the kit was built for), the hidden
case comes from the server: ``get_test_input``, a positional call,
``check_answer``, once the local cases pass; the server records the attempt and
``get_progress`` prints the server's table. When the server's rate limit refuses
(AutoMark's ``your timeout expires in N sec.``, believed for an hour at most) or the
server does not answer, the local result is still shown and the hidden check waits;
inside a known window the server is not asked at all. So it does when a reply is not
AutoMark's (a login page, JSON of another shape, an input larger than the task's:
:mod:`grader.client.replies`), too long or too slow (each request has a deadline and a size
bound: :mod:`grader.client.bounded_get`), or the transport fails in any way. Any other
refusal is shown after the local result too, quoted as the server's words (never as
AutoMark's verdict). Without a server, everything stays offline.
"""

from __future__ import annotations

import inspect
import json
import os
import time
import urllib.parse
from pathlib import Path

from grader.client import bounded_get, kit_files, messages, paths, replies
from grader.client.local_record import record_local_check
from grader.client.progress import NOT_ATTEMPTED, ProgressStore
from grader.client.roster import Student, load_roster
from grader.core import results, tasks
from grader.core.calling import OK, call_once
from grader.core.checking import check_function
from grader.core.results import CaseResult, CheckResult, TaskResult

SERVER_ENV = "AUTOMARK_SERVER"
BUILT_FOR = Path(__file__).with_name("server_url.txt")  # written by `release --server URL`
SERVER_SECONDS = 60  # the deadline of each request, from connecting to the body's last byte


class Config:
    """``am.Config.host = 'http://HOST:PORT/'`` points the checks at an AutoMark server."""

    host = None


def server_url() -> str | None:
    """The server in force, ending with ``/``; None to check offline.

    Raises:
        CheckRefused: an address without ``http://`` or ``https://``, naming where it was set.
    """
    built = BUILT_FOR.read_text(encoding="utf-8").strip() if BUILT_FOR.is_file() else ""
    source, url = next(((where, str(url)) for where, url in (
        ("am.Config.host", Config.host), (f"${SERVER_ENV}", os.environ.get(SERVER_ENV)),
        (str(BUILT_FOR), built)) if url), ("", ""))
    if url and not url.lower().startswith(("http://", "https://")):  # a slip, not a server down
        raise CheckRefused(f"{source} is {url[:200]!r}: give the server's address with its "
                           f"scheme, e.g. 'http://{url[:200].split('://')[-1]}'; nothing was "
                           "checked")
    return url.rstrip("/") + "/" if url else None


class CheckRefused(Exception):
    """The check could not start; the message says why, in one line."""


class RateLimited(CheckRefused):
    """The server refused while this student's window is open (AutoMark's exact words)."""

    def __init__(self, text: str, seconds: int):
        super().__init__(text)
        self.seconds = seconds


class ServerRefused(CheckRefused):
    """The server refused (HTTP 300 or 4xx); ``words`` are its own, or "" when it gave none
    that can be shown (then the message says which status it answered)."""

    def __init__(self, text: str, words: str):
        super().__init__(text)
        self.words = words


class ServerUnreachable(CheckRefused):
    """No answer from the server: connection refused, timeout, DNS, or a proxy's 5xx."""


_window_closes: dict[tuple[str, str], float] = {}  # (server, username): time.monotonic()


def _registered(username: str):
    """The roster entry of ``username`` (None without a roster)."""
    paths.check_username(username)
    roster = load_roster()
    if roster is None:
        return None
    if username not in roster:
        raise CheckRefused(f"user '{username}' is not registered.")
    return roster[username]


def _arg_keys_problem(task: tasks.Task, arg_keys) -> str:
    expected = list(task.arg_names)
    if isinstance(arg_keys, str) or not isinstance(arg_keys, (list, tuple)):
        return (f"arg_keys must be a list of argument names, got {arg_keys!r}: "
                f"use {expected}")
    given = list(arg_keys)
    if given == expected:
        return ""
    if sorted(map(str, given)) == sorted(expected):
        return f"arg_keys {given} list the right names in the wrong order: use {expected}"
    unknown = [key for key in given if key not in expected]
    missing = [key for key in expected if key not in given]
    detail = "; ".join(filter(None, [unknown and f"unknown {unknown}", missing and f"missing {missing}"]))
    return f"arg_keys {given} do not match {task.name}'s arguments ({detail}): use {expected}"


def _ask(url: str, *segments) -> bytes:
    """GET ``url/segment/...`` (each percent-encoded) within :data:`SERVER_SECONDS` and
    :data:`bounded_get.MAX_REPLY_BYTES`; a refusal's text as :class:`CheckRefused`, no
    reply (or too long a one) as :class:`ServerUnreachable`."""
    address = url + "/".join(urllib.parse.quote(str(s), safe="") for s in segments)
    try:
        return bounded_get.get(address, seconds=SERVER_SECONDS)
    except bounded_get.Refusal as refusal:  # AutoMark refuses with status 300 and JSON
        words = replies.refusal_text(refusal.body)
        text = words or f"the AutoMark server at {url} answered HTTP {refusal.status}"
        if refusal.status >= 500:  # a proxy's 502/504, a busy or failing server
            raise ServerUnreachable(text) from None
        seconds = messages.timeout_seconds(text)
        if seconds is not None:
            raise RateLimited(text, seconds) from None
        raise ServerRefused(text, words) from None
    except bounded_get.TooLarge as error:
        raise ServerUnreachable(messages.not_automarks(url, str(error))) from None
    except bounded_get.NoReply as error:
        raise ServerUnreachable(f"cannot reach the AutoMark server at {url}: {_shown(error)}") from None
    except Exception as error:  # noqa: BLE001 - the last line: a transport's surprise, never a traceback
        raise ServerUnreachable(f"cannot reach the AutoMark server at {url}: an unexpected "
                                f"{type(error).__name__} ({_shown(error)})") from None


def _shown(error: Exception) -> str:
    """``str(error)`` when it is one short printable line (a hostile address may be in it)."""
    text = str(error)
    return text if text.isprintable() and 0 < len(text) <= replies.MAX_REFUSAL_CHARS else "no details"


def _believed(url: str, decode, *args):
    """``decode(*args)`` (a :mod:`replies` function); a reply of another shape as
    :class:`ServerUnreachable`."""
    try:
        return decode(*args)
    except replies.NotAutoMarks as error:
        raise ServerUnreachable(messages.not_automarks(url, str(error))) from None


def _local_phase(task: tasks.Task, function, username: str) -> TaskResult:
    """The local cases only (the hidden ones are the server's), judged as offline."""
    return check_function(task, function, username, hidden=False).local


def _remote_phase(task: tasks.Task, function, username: str, url: str) -> TaskResult:
    """AutoMark's remote test: one hidden input from the server, the answer judged there."""
    ipd, case = _believed(url, replies.hidden_input, _ask(url, "get_test_input", username, task.name),
                          task)
    outcome = call_once(function, case, task.arg_names, positional=True)
    if outcome.status != OK:
        return TaskResult(task.name, "remote", (CaseResult(0, outcome.status, outcome.message,
                                                           outcome.mutated, hidden=True),))
    answer = json.dumps(outcome.answer.tolist())
    passed = _believed(url, replies.verdict, _ask(url, "check_answer", username, task.name, ipd, answer))
    return TaskResult(task.name, "remote", (CaseResult(
        0, results.OK if passed else results.MISMATCH,
        "" if passed else "the server's hidden case does not match (its expected output stays "
        "on the server)", outcome.mutated, hidden=True),))


def _check_with_server(task: tasks.Task, function, username: str, url: str) -> CheckResult:
    local = _local_phase(task, function, username)
    record_local_check(url, username, local)  # for the staff page; never fails, at most 2 s
    if not local.passed:
        return CheckResult(local, TaskResult.crashed(
            task.name, "remote", "not sent to the server: the local cases must pass first",
            kind=results.NOT_IMPLEMENTED if local.not_implemented else ""))
    return CheckResult(local, _remote_or_wait(task, function, username, url))


def _remote_or_wait(task: tasks.Task, function, username: str, url: str) -> TaskResult:
    """The remote phase, or why it waits (the local result stands and is shown): the rate
    limit's window, remembered so that a check inside it asks the server nothing, or a
    server out of reach (nothing is recorded anywhere until it answers)."""
    key = (url, username)
    left = _window_closes.get(key, 0.0) - time.monotonic()
    try:
        if left > 0:
            return TaskResult.crashed(task.name, "remote", messages.next_hidden_check(left),
                                      kind=messages.WAITING)
        return _remote_phase(task, function, username, url)
    except RateLimited as limit:  # the server's seconds are rounded up: never too early
        _window_closes[key] = time.monotonic() + limit.seconds
        return TaskResult.crashed(task.name, "remote", messages.next_hidden_check(limit.seconds),
                                  kind=messages.WAITING)
    except ServerRefused as refusal:  # after the local report, as the server's words
        return TaskResult.crashed(task.name, "remote",
                                  messages.server_refused(refusal.words, plain=str(refusal)),
                                  kind=messages.WAITING)
    except ServerUnreachable as error:
        return TaskResult.crashed(task.name, "remote",
                                  messages.hidden_check_waits_for_server(str(error)),
                                  kind=messages.WAITING)


def run_check(username: str, function, arg_keys) -> tuple[tasks.Task, CheckResult]:
    """Check and record one function; the library form of ``test_student_function``.

    Raises:
        CheckRefused: unknown user, function or arg_keys; nothing is recorded.
    """
    url = server_url()
    try:  # with a server, the server knows who is registered
        paths.check_username(username)
        if url is None:
            _registered(username)
    except ValueError as error:
        raise CheckRefused(str(error)) from None
    if not callable(function):
        raise CheckRefused(f"expected the function itself (e.g. conv_matrix, without "
                           f"parentheses), got a {type(function).__name__}")
    name = getattr(function, "__name__", "")
    task = tasks.find_task(name)
    if task is None:
        raise CheckRefused(tasks.unknown_task_message(name))
    problem = _arg_keys_problem(task, arg_keys) or kit_files.from_the_kit(function, task.name)
    if problem:
        raise CheckRefused(problem)
    if url:  # the server records the attempt
        return task, _check_with_server(task, function, username, url)
    check = check_function(task, function, username)
    if not check.not_implemented:
        ProgressStore().record(username, task.name, local_passed=check.local.passed,
                               remote_passed=check.remote.passed)
    return task, check


def test_student_function(username, function, arg_keys):
    """Check ``function`` like AutoMark and print the verdict. Returns None."""
    _warn_placeholder(username)
    try:
        task, check = run_check(username, function, arg_keys)
    except CheckRefused as refusal:
        print(refusal)
        return None
    lines = messages.check_report(task.name, check)
    if not check.passed:
        lines += messages.dependency_note(task.name, _failing_callees(function, task.name, username))
    print("\n".join(lines))
    return None


def _failing_callees(function, name: str, username: str) -> list[tuple[str, bool]]:
    """``(name, not implemented)`` of the graded functions ``function`` calls that fail their
    local cases now: each is checked again here, as it is at this moment (an earlier check
    of it may be out of date), and nothing is recorded."""
    try:
        found = inspect.getclosurevars(function)
        called = {other: value for other, value in {**found.globals, **found.nonlocals}.items()
                  if callable(value) and other != name and tasks.find_task(other) is not None}
    except Exception:  # noqa: BLE001 - a student's callable may be any object
        return []
    failing = []
    for other in sorted(called):
        local = check_function(tasks.get_task(other), called[other], username, hidden=False).local
        if not local.passed:
            failing.append((other, local.not_implemented))
    return failing


test_student_function.__test__ = False  # not a pytest test, despite its name


def shown_tasks(last_week: bool = False) -> list[tasks.Task]:
    """The tasks of the progress table: this week's; last week's (Blocks.py) too when asked."""
    return [task for task in tasks.ordered_for_progress()
            if last_week or task.week == tasks.THIS_WEEK]


def progress_rows(username: str, *, last_week: bool = False) -> list[tuple[str, str]]:
    """``(label, state)`` for this week's tasks (and last week's), in the table's order.

    A task completed once whose last check failed shows ``completed*``.
    """
    store = ProgressStore()
    states, failing = store.states(username), store.failing_now(username)
    return [(task.label, messages.FAILING_NOW if task.name in failing
             else states.get(task.name, NOT_ATTEMPTED)) for task in shown_tasks(last_week)]


_warned = set()


def _warn_placeholder(username) -> None:
    """Say once per session that the username is still the notebook's placeholder."""
    warning = messages.placeholder_warning(username)
    if warning and username not in _warned:
        _warned.add(username)
        print(warning)


def progress_text(username: str, *, last_week: bool = False) -> str:
    """The progress table as a string: this week's functions, and last week's when asked.

    Raises:
        CheckRefused: the roster does not know ``username``.
    """
    url = server_url()
    try:
        paths.check_username(username)
        student = None if url else _registered(username)
    except ValueError as error:
        raise CheckRefused(str(error)) from None
    if url:
        name, mail, states = _believed(url, replies.progress, _ask(url, "get_progress", username))
        rows = [(task.label, states.get(task.name, NOT_ATTEMPTED)) for task in shown_tasks(last_week)]
        shown = Student(username, name, mail)
    else:
        rows, shown = progress_rows(username, last_week=last_week), student
    return messages.progress_table(username, shown, rows)


def get_progress(username, last_week=False):
    """Print the user's progress table, as AutoMark did: this week's functions, and last
    week's (Blocks.py) with ``last_week=True``. Returns None."""
    _warn_placeholder(username)
    try:
        print(progress_text(username, last_week=bool(last_week)))
    except CheckRefused as refusal:
        print(refusal)
    return None

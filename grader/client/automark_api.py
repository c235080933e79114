"""The two calls students make from the notebook, as AutoMark offered them.

``test_student_function(username, function, arg_keys)`` checks a function on
local cases (called with keyword arguments) and on hidden "remote" cases
(called with positional arguments in ``arg_keys`` order), prints AutoMark's
messages with an explanation of any failure, and records the attempt.
``get_progress(username)`` prints the progress table.
"""

from __future__ import annotations

from grader.client import messages, paths
from grader.core import tasks
from grader.core.checking import check_function
from grader.client.progress import NOT_ATTEMPTED, ProgressStore
from grader.core.results import CheckResult
from grader.client.roster import load_roster


class CheckRefused(Exception):
    """The check could not start; the message says why, in one line."""


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


def run_check(username: str, function, arg_keys) -> tuple[tasks.Task, CheckResult]:
    """Check and record one function; the library form of ``test_student_function``.

    Raises:
        CheckRefused: unknown user, function or arg_keys; nothing is recorded.
    """
    try:
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
    problem = _arg_keys_problem(task, arg_keys)
    if problem:
        raise CheckRefused(problem)
    check = check_function(task, function, username)
    if not check.not_implemented:
        ProgressStore().record(username, task.name, local_passed=check.local.passed,
                               remote_passed=check.remote.passed)
    return task, check


def test_student_function(username, function, arg_keys):
    """Check ``function`` like AutoMark and print the verdict. Returns None."""
    try:
        task, check = run_check(username, function, arg_keys)
    except CheckRefused as refusal:
        print(refusal)
        return None
    print("\n".join(messages.check_report(task.name, check)))
    return None


test_student_function.__test__ = False  # not a pytest test, despite its name


def progress_rows(username: str) -> list[tuple[str, str]]:
    """``(label, state)`` for every task, in the table's order."""
    states = ProgressStore().states(username)
    return [(task.label, states.get(task.name, NOT_ATTEMPTED))
            for task in tasks.ordered_for_progress()]


def progress_text(username: str) -> str:
    """The progress table as a string.

    Raises:
        CheckRefused: the roster does not know ``username``.
    """
    try:
        student = _registered(username)
    except ValueError as error:
        raise CheckRefused(str(error)) from None
    return messages.progress_table(username, student, progress_rows(username))


def get_progress(username):
    """Print the user's progress table, as AutoMark did. Returns None."""
    try:
        print(progress_text(username))
    except CheckRefused as refusal:
        print(refusal)
    return None

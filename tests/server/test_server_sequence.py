"""The whole student sequence against a live server, through a client written from the protocol:
check_sum, load_tests, local tests, get_test_input, check_answer, get_progress; for every task,
with a correct function, one wrong on the hidden case only, and one wrong everywhere."""

import functools

import numpy as np
import pytest
from protocol_client import ProtocolClient
from server_fixtures import server  # noqa: F401

from grader.core.tasks import TASKS, ordered_for_progress

LOCAL_OK = "{} successfully passed local tests"
PASSED = ["Running local tests...", LOCAL_OK, "Running remote test...",
          "Test was successful. Congratulations!"]
REMOTE_FAILED = ["Running local tests...", LOCAL_OK, "Running remote test...",
                 "Test failed. Please review your code."]
LOCAL_FAILED = ["Running local tests...", "{} failed some local tests"]


def named(name, function):
    """``function`` under the task's name, as the student's notebook defines it."""
    function.__name__ = name
    return function


def correct(task):
    return named(task.name, functools.partial(task.reference))


def wrong_when_positional(task):
    """Right when called by keyword (the local tests), off by one positionally (the hidden case)."""
    def function(*args, **kwargs):
        result = np.asarray(task.reference(*args, **kwargs), dtype=float)
        return result + 1.0 if args else result
    return named(task.name, function)


def wrong_everywhere(task):
    def function(*args, **kwargs):
        return np.asarray(task.reference(*args, **kwargs), dtype=float) * 2.0 + 1.0
    return named(task.name, function)


def states(client, username):
    client.printed.clear()
    client.get_progress(username)
    rows = [line for line in client.printed[4:-1]]
    return {row[2:27].strip(): row[29:44].strip() for row in rows}


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
@pytest.mark.parametrize("username, make, want, want_state", [
    ("ada", correct, PASSED, "completed"),
    ("bob", wrong_when_positional, REMOTE_FAILED, "attempted"),
    ("cy", wrong_everywhere, LOCAL_FAILED, "not attempted"),
])
def test_every_task_through_the_protocol(server, tmp_path, task, username, make, want, want_state):
    client = ProtocolClient(server.url, tmp_path)
    client.test_student_function(username, make(task), list(task.arg_names))
    assert client.printed[:2] == ["Downloading local tests...", "Local tests are downloaded."]
    assert client.printed[2:] == [line.format(task.name) for line in want]
    assert states(client, username)[task.name] == want_state


def test_the_local_tests_are_downloaded_once(server, tmp_path):
    client = ProtocolClient(server.url, tmp_path)
    task = TASKS[0]
    for _ in range(2):
        client.test_student_function("dee", correct(task), list(task.arg_names))
    assert client.printed.count("Downloading local tests...") == 1


def test_a_corrupted_local_copy_is_downloaded_again(server, tmp_path):
    client = ProtocolClient(server.url, tmp_path)
    task = TASKS[0]
    client.test_student_function("dee", correct(task), list(task.arg_names))
    client.tests_path.write_bytes(client.tests_path.read_bytes()[:-1])
    client.printed.clear()
    client.test_student_function("dee", correct(task), list(task.arg_names))
    assert client.printed[0] == "Downloading local tests..."
    assert client.printed[-1] == "Test was successful. Congratulations!"


def test_the_progress_table_has_every_function_in_autoMarks_order(server, tmp_path):
    client = ProtocolClient(server.url, tmp_path)
    client.get_progress("ada")
    assert client.printed[0] == "-" * 45 and len(client.printed) == 4 + len(TASKS) + 1
    assert client.printed[1] == "| Ada Lovelace" + " " * 30 + "|"
    assert client.printed[2] == "| ada@example.org" + " " * 27 + "|"
    assert [row[2:27].strip() for row in client.printed[4:-1]] == [
        t.name for t in ordered_for_progress()]
    assert all(len(line) == 45 for line in client.printed)


def test_a_user_without_a_name_shows_the_username(server, tmp_path):
    client = ProtocolClient(server.url, tmp_path)
    client.get_progress("cy")
    assert client.printed[1].split() == ["|", "cy", "|"]

"""grader.messages: AutoMark's printed lines, our failure details, the progress table."""

import re

import pytest

from grader.client import messages
from grader.client.roster import Student
from grader.core import results, tasks
from grader.core.results import CaseResult, CheckResult, TaskResult

OK_CASE = CaseResult(index=0, kind=results.OK)


def phase(name, *kinds, phase_name="local", error=""):
    cases = tuple(CaseResult(index=i, kind=k, message="" if k == results.OK else f"why {i}")
                  for i, k in enumerate(kinds))
    if error:
        return TaskResult.crashed(name, phase_name, error, kind=results.EXCEPTION)
    return TaskResult(task=name, phase=phase_name, cases=cases)


@pytest.mark.parametrize("passed, want", [
    (True, "conv_matrix successfully passed local tests"),
    (False, "conv_matrix failed some local tests"),
])
def test_local_verdict(passed, want):
    assert messages.local_verdict("conv_matrix", passed) == want


@pytest.mark.parametrize("result, want", [
    (phase("box_blur", results.OK, results.OK), []),
    (phase("box_blur", results.OK, results.MISMATCH, results.MISMATCH),
     ["    2 of 3 local cases failed.", "    First failure: why 1"]),
    (phase("box_blur", results.WRONG_SHAPE, phase_name="remote"),
     ["    1 of 1 remote cases failed.", "    First failure (hidden case): why 0"]),
    (phase("box_blur", results.NOT_IMPLEMENTED, results.NOT_IMPLEMENTED),
     ["    box_blur is not implemented yet: replace the `raise NotImplementedError` line in its "
      "cell with your code."]),
    (phase("box_blur", error="box_blur(img) cannot be called as (image=..., box_size=...)"),
     ["    box_blur(img) cannot be called as (image=..., box_size=...)"]),
])
def test_explain(result, want):
    assert messages.explain(result, indent="    ") == want


def test_check_report_order():
    check = CheckResult(local=phase("relu_forward", results.OK, results.MISMATCH),
                        remote=phase("relu_forward", results.EXCEPTION, phase_name="remote"),
                        notes=("Warning: a note",))
    assert messages.check_report("relu_forward", check) == [
        "Running local tests...", "relu_forward failed some local tests",
        "    1 of 2 local cases failed.", "    First failure: why 1",
        "Running remote test...", "Test failed. Please review your code.",
        "    1 of 1 remote cases failed.", "    First failure (hidden case): why 0",
        "Warning: a note"]


def test_check_report_of_a_pass_is_automarks_four_lines():
    check = CheckResult(local=phase("relu_forward", results.OK),
                        remote=phase("relu_forward", results.OK, phase_name="remote"))
    assert messages.check_report("relu_forward", check) == [
        "Running local tests...", "relu_forward successfully passed local tests",
        "Running remote test...", "Test was successful. Congratulations!"]


def test_check_report_of_a_stub_explains_once():
    stub = (results.NOT_IMPLEMENTED,) * 3
    check = CheckResult(local=phase("relu_forward", *stub),
                        remote=phase("relu_forward", *stub, phase_name="remote"))
    lines = messages.check_report("relu_forward", check)
    assert sum("not implemented yet" in line for line in lines) == 1
    assert lines[-1] == "Test failed. Please review your code."


# ------------------------------------------------------------------ the table
ROWS = [(task.label, "not attempted") for task in tasks.ordered_for_progress()]


@pytest.mark.parametrize("username, student, want_header", [
    ("alice", None, ["alice"]),
    ("alice", Student("alice", "Alice Liddell", "alice@example.org"),
     ["Alice Liddell", "alice@example.org"]),
    ("bob", Student("bob"), ["bob"]),
    ("bob", Student("bob", "", "bob@example.org"), ["bob", "bob@example.org"]),
    ("carol", Student("carol", "Carol " + "Longname" * 8, ""), ["Carol " + "Longname" * 8]),
])
def test_progress_table_header(username, student, want_header):
    lines = messages.progress_table(username, student, ROWS).splitlines()
    rule = "-" * 45
    assert lines[0] == rule and lines[len(want_header) + 1] == rule and lines[-1] == rule
    for line, text in zip(lines[1:], want_header):
        assert line == "| " + text[:41].ljust(41) + " |"


@pytest.mark.parametrize("student", [
    None, Student("x", "Zoë Ångström-Ødegård", "zoe@example.org"),
    Student("x", "N" * 100, "e" * 100 + "@example.org")])
@pytest.mark.parametrize("state", ["not attempted", "attempted", "completed"])
def test_progress_table_is_45_wide_on_every_line(student, state):
    table = messages.progress_table("x", student, [(label, state) for label, _ in ROWS])
    assert {len(line) for line in table.splitlines()} == {45}


@pytest.mark.parametrize("label, state, want", [
    ("[MAN] conv_matrix", "completed", "| [MAN] conv_matrix        | completed      |"),
    ("[MAN] flatten_grad_input", "attempted", "| [MAN] flatten_grad_input | attempted      |"),
    ("[OPT] dropout_grad_input", "not attempted", "| [OPT] dropout_grad_input | not attempted  |"),
])
def test_progress_table_row(label, state, want):
    lines = messages.progress_table("alice", None, [(label, state)]).splitlines()
    assert lines[3] == want and len(lines) == 5


def test_every_task_label_fits_its_column():
    assert max(len(task.label) for task in tasks.TASKS) <= 24


def test_messages_are_deterministic():
    check = CheckResult(local=phase("relu_forward", results.MISMATCH),
                        remote=phase("relu_forward", results.MISMATCH, phase_name="remote"))
    first = messages.check_report("relu_forward", check)
    assert first == messages.check_report("relu_forward", check)
    assert not any(re.search(r"0x[0-9a-f]{6,}|\d{4}-\d\d-\d\d", line) for line in first)

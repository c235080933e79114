"""grader.results: frozen records of a case, a phase and a check."""

import dataclasses
import json

import pytest

from grader.core import results
from grader.core.results import CaseResult, CheckResult, TaskResult


def task_result(*kinds, phase="local"):
    return TaskResult(task="relu_forward", phase=phase,
                      cases=tuple(CaseResult(index=i, kind=k) for i, k in enumerate(kinds)))


@pytest.mark.parametrize("kinds, want_passed, want_n_passed, want_not_implemented", [
    ((results.OK, results.OK), True, 2, False),
    ((results.OK, results.MISMATCH), False, 1, False),
    ((results.NOT_IMPLEMENTED,) * 3, False, 0, True),
    ((results.NOT_IMPLEMENTED, results.OK), False, 1, False),
    ((), False, 0, False),
])
def test_task_result(kinds, want_passed, want_n_passed, want_not_implemented):
    result = task_result(*kinds)
    assert result.passed is want_passed and result.n_passed == want_n_passed
    assert result.not_implemented is want_not_implemented


def test_crashed_result_never_passes():
    result = TaskResult.crashed("relu_forward", "local", "the process died")
    assert not result.passed and result.error_kind == results.CRASHED and result.cases == ()
    assert TaskResult.crashed("f", "local", "stub", kind=results.NOT_IMPLEMENTED).not_implemented


def test_first_failure_and_mutated():
    result = TaskResult(task="f", phase="local", cases=(
        CaseResult(0, results.OK, mutated=("x_input",)),
        CaseResult(1, results.WRONG_SHAPE, "bad shape", mutated=("W", "x_input")),
        CaseResult(2, results.MISMATCH, "bad values")))
    assert result.first_failure.index == 1
    assert result.mutated == ("W", "x_input")
    assert task_result(results.OK).first_failure is None


@pytest.mark.parametrize("local, remote, want", [
    (results.OK, results.OK, True),
    (results.MISMATCH, results.OK, False),   # the kit's one rule: hidden cases alone are not enough
    (results.OK, results.MISMATCH, False),
    (results.MISMATCH, results.MISMATCH, False),
])
def test_check_result_passes_only_when_both_phases_pass(local, remote, want):
    check = CheckResult(local=task_result(local), remote=task_result(remote, phase="remote"))
    assert check.passed is want


def test_to_dict_is_json():
    result = TaskResult(task="f", phase="remote", cases=(
        CaseResult(0, results.MISMATCH, "off", mutated=("x_input",), max_error=0.5),))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["passed"] is False and data["n_cases"] == 1 and data["n_passed"] == 0
    assert data["cases"][0] == {"index": 0, "kind": "mismatch", "message": "off",
                                "mutated": ["x_input"], "max_error": 0.5, "hidden": False, "inputs": "",
                                "passed": False}


@pytest.mark.parametrize("record", [CaseResult(0, results.OK), task_result(results.OK),
                                    CheckResult(task_result(), task_result())])
def test_records_are_frozen(record):
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.passed_by_hand = True

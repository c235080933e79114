"""grader.checking: a phase of cases -> TaskResult; both phases -> CheckResult."""

import numpy as np
import pytest

import solutions
from grader import cases, checking, results, tasks
from grader.calling import CallOutcome, CallTimeout
from wrong_submissions import (
    blur_not_normalised, conv_flipped_kernel, conv_without_padding, flatten_fortran_order,
    hinge_sum_not_mean, named, pool_takes_the_minimum, relu_in_place,
    relu_lying_array_right_data, relu_lying_array_wrong_data, relu_nan, relu_raises,
    relu_returns_a_liar, relu_returns_none, relu_stub, relu_wrong_shape)

TASK_IDS = [task.name for task in tasks.TASKS]


# ------------------------------------------------------------------ submissions
@named("relu_forward")
def relu_wrong_for_four_rows(x_input):
    """Right except for matrices with exactly 4 rows."""
    out = np.maximum(x_input, 0.0)
    return out + 1.0 if x_input.shape[0] == 4 else out


# ------------------------------------------------------------------ the table
SUBMISSIONS = {
    # name: (function, want local kind of the first failure, want passed, want mutated)
    "conv-flipped-kernel": (conv_flipped_kernel, results.MISMATCH, False, ()),
    "conv-without-padding": (conv_without_padding, results.WRONG_SHAPE, False, ()),
    "blur-not-normalised": (blur_not_normalised, results.MISMATCH, False, ()),
    "pool-minimum": (pool_takes_the_minimum, results.MISMATCH, False, ()),
    "flatten-fortran-order": (flatten_fortran_order, results.MISMATCH, False, ()),
    "relu-wrong-shape": (relu_wrong_shape, results.WRONG_SHAPE, False, ()),
    "relu-nan": (relu_nan, results.NOT_FINITE, False, ()),
    "relu-raises": (relu_raises, results.EXCEPTION, False, ()),
    "relu-stub": (relu_stub, results.NOT_IMPLEMENTED, False, ()),
    "relu-returns-none": (relu_returns_none, results.WRONG_TYPE, False, ()),
    "relu-returns-a-liar": (relu_returns_a_liar, results.WRONG_TYPE, False, ()),
    "relu-lying-array-wrong-data": (relu_lying_array_wrong_data, results.MISMATCH, False, ()),
    "relu-lying-array-right-data": (relu_lying_array_right_data, None, True, ()),
    "relu-in-place": (relu_in_place, None, True, ("x_input",)),
    "hinge-sum": (hinge_sum_not_mean, results.MISMATCH, False, ()),
}


@pytest.mark.parametrize("function, want_kind, want_passed, want_mutated",
                         list(SUBMISSIONS.values()), ids=list(SUBMISSIONS))
def test_check_function(function, want_kind, want_passed, want_mutated):
    task = tasks.get_task(function.__name__)
    check = checking.check_function(task, function, "alice")
    assert check.passed is want_passed
    assert check.local.passed is want_passed
    first = check.local.first_failure
    assert (first.kind if first else None) == want_kind
    assert check.local.mutated == check.remote.mutated == want_mutated
    assert len(check.local.cases) == len(cases.make_cases(task, "alice", "local"))


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_every_reference_passes_both_phases(task):
    check = checking.check_function(task, task.reference, "alice")
    assert check.local.passed and check.remote.passed and check.passed
    assert check.notes == () and not check.not_implemented
    assert check.local.n_passed == len(check.local.cases) > 0


def test_stub_is_not_implemented_in_both_phases():
    check = checking.check_function(tasks.get_task("relu_forward"), relu_stub, "alice")
    assert check.not_implemented and check.local.not_implemented and check.remote.not_implemented
    assert all(case.kind == results.NOT_IMPLEMENTED for case in check.remote.cases)


def test_input_mutation_passes_with_a_warning():
    check = checking.check_function(tasks.get_task("relu_forward"), relu_in_place, "alice")
    assert check.passed
    assert check.notes == ("Warning: relu_forward changed its input `x_input` in place. Work on "
                           "a copy (e.g. x = x.copy()); layers reuse their inputs in the backward "
                           "pass.",)


def test_a_wrong_function_fails_only_the_cases_it_gets_wrong():
    check = checking.check_function(tasks.get_task("relu_forward"), relu_wrong_for_four_rows,
                                    "alice")
    failing = [case.index for case in check.local.cases if not case.passed]
    rows = [c["x_input"].shape[0] for c in cases.make_cases(tasks.get_task("relu_forward"),
                                                            "alice", "local")]
    assert failing and failing == [i for i, n in enumerate(rows) if n == 4]
    assert check.local.n_passed == len(rows) - len(failing)


# ------------------------------------------------------------------ run_phase
CONV = tasks.get_task("conv_matrix")


def test_local_phase_prefixes_the_case_and_shows_values():
    cases_ = cases.make_cases(CONV, "alice", "local")
    result = checking.run_phase(CONV, conv_flipped_kernel, cases_, phase="local")
    message = result.first_failure.message
    assert message.startswith(f"case {result.first_failure.index} (matrix ")
    assert ": expected " in message and ", got " in message


def test_remote_phase_hides_inputs_and_expected_values():
    cases_ = cases.make_cases(CONV, "alice", "remote")
    result = checking.run_phase(CONV, conv_flipped_kernel, cases_, phase="remote")
    for case in result.cases:
        assert "expected " not in case.message and "case " not in case.message
        assert "matrix" not in case.message


def test_remote_phase_calls_by_position_local_by_keyword():
    calls = []

    def conv_matrix(*args, **kwargs):
        calls.append((len(args), tuple(sorted(kwargs))))
        return solutions.conv_matrix(*args, **kwargs)

    local = checking.run_phase(CONV, conv_matrix, cases.make_cases(CONV, "a", "local"),
                               phase="local")
    n_local = len(calls)
    remote = checking.run_phase(CONV, conv_matrix, cases.make_cases(CONV, "a", "remote"),
                                phase="remote")
    assert local.passed and remote.passed
    assert set(calls[:n_local]) == {(0, ("kernel", "matrix"))}
    assert set(calls[n_local:]) == {(2, ())}


def test_wrong_parameter_names_stop_the_local_phase_before_any_call():
    calls = []

    def conv_matrix(mat, kern):
        calls.append(1)
        return solutions.conv_matrix(mat, kern)

    local = checking.run_phase(CONV, conv_matrix, cases.make_cases(CONV, "a", "local"),
                               phase="local")
    assert not local.passed and local.cases == () and calls == []
    assert local.error_kind == results.EXCEPTION
    assert local.error.startswith("conv_matrix(mat, kern) cannot be called as (matrix=..., "
                                  "kernel=...)")


def test_parameters_in_the_wrong_order_pass_locally_and_fail_remotely():
    def conv_matrix(kernel, matrix):
        return solutions.conv_matrix(matrix, kernel)

    check = checking.check_function(CONV, conv_matrix, "alice")
    assert check.local.passed and not check.remote.passed


def test_endless_loop_stops_the_phase_at_the_first_timeout():
    def relu_forward(x_input):
        while True:
            pass

    task = tasks.get_task("relu_forward")
    result = checking.run_phase(task, relu_forward, cases.make_cases(task, "a", "local"),
                                phase="local", time_limit=0.2)
    assert [case.kind for case in result.cases] == [results.TIMEOUT]
    assert "still running after 0.2 s: look for a loop that never ends" in result.cases[0].message


def test_precomputed_expected_outputs_are_used():
    task = tasks.get_task("relu_forward")
    cases_ = cases.make_cases(task, "a", "local")[:3]
    expected = [task.expected(c) + 1.0 for c in cases_]
    result = checking.run_phase(task, task.reference, cases_, phase="local", expected=expected)
    assert [c.kind for c in result.cases] == [results.MISMATCH] * 3


# ------------------------------------------------------------------ judge
RELU = tasks.get_task("relu_forward")


@pytest.mark.parametrize("outcome, want_kind, want_message", [
    (CallOutcome(answer=np.ones(2)), results.OK, ""),
    (CallOutcome(error=NotImplementedError()), results.NOT_IMPLEMENTED,
     "raised NotImplementedError"),
    (CallOutcome(error=CallTimeout("still running after 1 s")), results.TIMEOUT,
     "still running after 1 s: look for a loop that never ends or work that grows too fast"),
    (CallOutcome(error=SystemExit(0)), results.EXCEPTION,
     "called exit(): a graded function must return"),
    (CallOutcome(error=ValueError("x"), error_text="ValueError: x (line 3 of f: boom())"),
     results.EXCEPTION, "raised ValueError: x (line 3 of f: boom())"),
    (CallOutcome(answer="ones"), results.WRONG_TYPE,
     "returned a builtins.str, expected a NumPy array or a number"),
])
def test_judge(outcome, want_kind, want_message):
    result = checking.judge(RELU, outcome, np.ones(2), 4, hidden=False)
    assert (result.kind, result.message, result.index) == (want_kind, want_message, 4)


def test_judge_keeps_the_mutated_names():
    outcome = CallOutcome(answer=np.ones(2), mutated=("x_input",))
    assert checking.judge(RELU, outcome, np.ones(2), 0, hidden=True).mutated == ("x_input",)


def test_partly_implemented_function_names_the_case_it_gave_up_on():
    def relu_forward(x_input):
        if x_input.shape[0] == 1:
            raise NotImplementedError("one row is not done yet")
        return np.maximum(x_input, 0.0)

    task = tasks.get_task("relu_forward")
    check = checking.check_function(task, relu_forward, "alice")
    assert 0 < check.local.n_passed < len(check.local.cases)
    first = check.local.first_failure
    assert first.message.startswith(f"case {first.index} (x_input (1, ")
    assert "still the stub" not in first.message

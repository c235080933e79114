"""grader.core.checking: call a function on its cases, judge every answer, in two phases."""

import time

import numpy as np
import pytest
from wrong_submissions import (
    blur_not_normalised,
    conv_flipped_kernel,
    conv_without_padding,
    flatten_fortran_order,
    hinge_sum_not_mean,
    named,
    pool_takes_the_minimum,
    relu_grad_nan_at_zero,
    relu_grad_passes_at_zero,
    relu_grad_twice_at_zero,
    relu_in_place,
    relu_lying_array_right_data,
    relu_lying_array_wrong_data,
    relu_nan,
    relu_raises,
    relu_returns_a_liar,
    relu_returns_none,
    relu_stub,
    relu_wrong_shape,
)

import solutions
from grader.client import messages
from grader.core import calling, cases, checking, results, tasks
from grader.core.calling import CallOutcome

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
    # x == 0: either subgradient passes, NaN and other values do not
    "relu-grad-nan-at-zero": (relu_grad_nan_at_zero, results.NOT_FINITE, False, ()),
    "relu-grad-passes-at-zero": (relu_grad_passes_at_zero, None, True, ()),
    "relu-grad-twice-at-zero": (relu_grad_twice_at_zero, results.MISMATCH, False, ()),
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
    assert check.passed and check.local.mutated == ("x_input",)
    assert messages.check_report("relu_forward", check)[-1] == (
        "Warning: relu_forward changed its input `x_input` in place. Work on "
        "a copy (e.g. x = x.copy()); layers reuse their inputs in the backward pass.")


def test_a_wrong_function_fails_only_the_cases_it_gets_wrong():
    check = checking.check_function(tasks.get_task("relu_forward"), relu_wrong_for_four_rows,
                                    "alice")
    failing = [case.index for case in check.local.cases if not case.passed]
    rows = [c["x_input"].shape[0] for c in cases.make_cases(tasks.get_task("relu_forward"),
                                                            "alice", "local")]
    assert failing and failing == [i for i, n in enumerate(rows) if n == 4]
    assert check.local.n_passed == len(rows) - len(failing)


# ------------------------------------------------------------------ check_function
CONV = tasks.get_task("conv_matrix")


def test_local_failures_name_the_case_and_show_values():
    check = checking.check_function(CONV, conv_flipped_kernel, "alice")
    first = check.local.first_failure
    assert first.message.startswith(f"case {first.index} (matrix ")
    assert ": expected " in first.message and ", got " in first.message


def test_hidden_failures_hide_inputs_and_expected_values():
    check = checking.check_function(CONV, conv_flipped_kernel, "alice")
    assert check.remote.cases and all(case.hidden for case in check.remote.cases)
    for case in check.remote.cases:
        assert "expected " not in case.message and "case " not in case.message
        assert "matrix" not in case.message


def test_hidden_cases_are_called_by_position_local_ones_by_keyword():
    calls = []

    def conv_matrix(*args, **kwargs):
        calls.append((len(args), tuple(sorted(kwargs))))
        return solutions.conv_matrix(*args, **kwargs)

    check = checking.check_function(CONV, conv_matrix, "a")
    n_local = len(check.local.cases)
    assert check.passed
    assert set(calls[:n_local]) == {(0, ("kernel", "matrix"))}
    assert set(calls[n_local:]) == {(2, ())}


def test_wrong_parameter_names_fail_every_local_case_without_a_call():
    calls = []

    def conv_matrix(mat, kern):
        calls.append(1)
        return solutions.conv_matrix(mat, kern)

    check = checking.check_function(CONV, conv_matrix, "a")
    assert not check.passed and check.remote.passed
    assert len(calls) == len(check.remote.cases)  # only the positional, hidden calls ran
    assert {case.kind for case in check.local.cases} == {results.EXCEPTION}
    assert "conv_matrix(mat, kern) cannot be called as (matrix=..., kernel=...)" in \
        check.local.first_failure.message


def test_parameters_in_the_wrong_order_pass_locally_and_fail_remotely():
    def conv_matrix(kernel, matrix):
        return solutions.conv_matrix(matrix, kernel)

    check = checking.check_function(CONV, conv_matrix, "alice")
    assert check.local.passed and not check.remote.passed and not check.passed


def test_endless_loop_stops_the_check_at_the_first_timeout():
    def relu_forward(x_input):
        while True:
            pass

    task = tasks.get_task("relu_forward")
    check = checking.check_function(task, relu_forward, "a", call_seconds=0.2)
    assert [case.kind for case in check.local.cases] == [results.TIMEOUT]
    assert check.remote.cases == ()
    assert "still running after 0.2 s: look for a loop that never ends" in \
        check.local.cases[0].message


def test_the_function_budget_covers_every_case():
    def relu_forward(x_input):
        time.sleep(0.05)
        return np.maximum(x_input, 0.0)

    task = tasks.get_task("relu_forward")
    check = checking.check_function(task, relu_forward, "a", call_seconds=1, task_seconds=0.3)
    last = (check.local.cases + check.remote.cases)[-1]
    assert last.kind == results.TIMEOUT and "did not finish its cases within 0.3 s" in last.message
    assert not check.passed


# ------------------------------------------------------------------ judge
RELU = tasks.get_task("relu_forward")


@pytest.mark.parametrize("outcome, want_kind, want_message", [
    (CallOutcome(calling.OK, answer=np.ones(2)), results.OK, ""),
    (CallOutcome(calling.NOT_IMPLEMENTED, message="raised NotImplementedError"),
     results.NOT_IMPLEMENTED, "case 4 (x_input (2,)): raised NotImplementedError"),
    (CallOutcome(calling.TIMEOUT, message="still running after 1 s"), results.TIMEOUT,
     "case 4 (x_input (2,)): still running after 1 s"),
    (CallOutcome(calling.EXCEPTION, message="raised ValueError: x (line 3 of f: boom())"),
     results.EXCEPTION, "case 4 (x_input (2,)): raised ValueError: x (line 3 of f: boom())"),
    (CallOutcome(calling.WRONG_TYPE, message="returned None"), results.WRONG_TYPE,
     "case 4 (x_input (2,)): returned None"),
    (CallOutcome(calling.OK, answer=np.zeros(2)), results.MISMATCH,
     "case 4 (x_input (2,)): 2 of 2 values differ beyond the tolerance; largest error 1 at "
     "index [0]: expected 1, got 0"),
])
def test_judge(outcome, want_kind, want_message):
    result = checking.judge(RELU, outcome, np.ones(2), 4, hidden=False,
                            case_inputs={"x_input": np.ones(2)})
    assert (result.kind, result.message, result.index) == (want_kind, want_message, 4)


def test_judge_hidden_case_has_no_prefix_and_no_values():
    outcome = CallOutcome(calling.OK, answer=np.zeros(2))
    result = checking.judge(RELU, outcome, np.ones(2), 30, hidden=True,
                            case_inputs={"x_input": np.ones(2)})
    assert result.hidden and result.message.startswith("2 of 2 values differ")
    assert "expected" not in result.message


def test_judge_keeps_the_mutated_names():
    outcome = CallOutcome(calling.OK, answer=np.ones(2), mutated=("x_input",))
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


# ------------------------------------------------------------------ ReLU's subgradient at 0
RELU_GRAD = tasks.get_task("relu_grad_input")
KINK = {"x_input": np.array([[-1.0, 0.0], [2.0, 0.0]]),
        "grad_output": np.array([[3.0, -4.0], [5.0, 6.0]])}
X_KINK, G_KINK = KINK["x_input"], KINK["grad_output"]


def _judged(task, case_inputs, answer, *, hidden=False):
    expected = task.expected(case_inputs)
    return checking.judge(task, CallOutcome(calling.OK, answer=answer), expected, 2,
                          hidden=hidden, case_inputs=case_inputs).kind


@pytest.mark.parametrize("answer, hidden, want", [
    (np.where(X_KINK > 0, G_KINK, 0.0), False, results.OK),              # 0 at x == 0
    (np.where(X_KINK >= 0, G_KINK, 0.0), False, results.OK),             # grad_output at x == 0
    (np.where(X_KINK >= 0, G_KINK, 0.0), True, results.OK),              # in the hidden phase too
    (np.array([[0.0, 0.0], [5.0, 6.0]]), False, results.OK),             # one of each
    (np.array([[0.0, np.nan], [5.0, 0.0]]), False, results.NOT_FINITE),  # grad * relu(x) / x
    (np.array([[0.0, 9.0], [5.0, 0.0]]), False, results.MISMATCH),       # neither at x == 0
    (np.array([[3.0, 0.0], [5.0, 0.0]]), False, results.MISMATCH),       # grad_output at x < 0
], ids=["zero", "grad-output", "grad-output-hidden", "mixed", "nan", "wrong", "negative-x"])
def test_relu_grad_input_accepts_either_subgradient_at_zero(answer, hidden, want):
    assert _judged(RELU_GRAD, KINK, answer, hidden=hidden) == want


def test_relu_grad_input_without_the_inputs_accepts_only_the_expected_output():
    outcome = CallOutcome(calling.OK, answer=np.where(X_KINK >= 0, G_KINK, 0.0))
    expected = RELU_GRAD.expected(KINK)
    assert checking.judge(RELU_GRAD, outcome, expected, 0, hidden=True).kind == results.MISMATCH


@pytest.mark.parametrize("name, case_inputs, answer, want", [
    # the same "pass the gradient at 0" habit is wrong wherever the math has one answer
    ("relu_forward", {"x_input": X_KINK}, np.where(X_KINK >= 0, 1.0, 0.0) * X_KINK, results.OK),
    ("relu_forward", {"x_input": X_KINK}, np.where(X_KINK == 0, 1.0, np.maximum(X_KINK, 0.0)),
     results.MISMATCH),
    ("dropout_grad_input", {"x_input": X_KINK, "grad_output": G_KINK,
                            "mask": np.array([[1, 0], [1, 0]])}, G_KINK, results.MISMATCH),
    ("hinge_grad_input", {"target_pred": np.array([1.0, 0.0]), "target_true": np.array([1.0, 1.0])},
     np.array([-0.5, -0.5]), results.MISMATCH),
    ("flatten_grad_input", {"x_input": np.zeros((1, 1, 2, 2)), "grad_output": G_KINK.reshape(1, 4)},
     np.zeros((1, 1, 2, 2)), results.MISMATCH),
], ids=["relu-forward-right", "relu-forward-one-at-zero", "dropout-grad", "hinge-grad-at-margin",
        "flatten-grad-of-zeros"])
def test_other_tasks_have_no_alternative(name, case_inputs, answer, want):
    task = tasks.get_task(name)
    assert task.alternative is None
    assert _judged(task, case_inputs, answer) == want


def test_the_alternative_needs_no_references(monkeypatch):
    """The student kit has only precomputed expected outputs; the alternative is plain NumPy."""
    expected = RELU_GRAD.expected(KINK)
    monkeypatch.setattr(tasks, "REFERENCES_MODULE", "grader.no_such_module")
    with pytest.raises(LookupError):
        _ = RELU_GRAD.reference
    outcome = CallOutcome(calling.OK, answer=np.where(X_KINK >= 0, G_KINK, 0.0))
    assert checking.judge(RELU_GRAD, outcome, expected, 0, hidden=False, case_inputs=KINK).passed


@pytest.mark.parametrize("answer, want", [
    (np.where(X_KINK >= 0, G_KINK, 0.0), results.OK),
    (np.full((2, 2), 99.0), results.MISMATCH),
], ids=["grad-output", "garbage"])
def test_monkeypatched_numpy_does_not_bend_the_alternative(monkeypatch, answer, want):
    expected = RELU_GRAD.expected(KINK)
    with monkeypatch.context() as patched:
        patched.setattr(np, "where", lambda *a, **k: np.full((2, 2), 99.0))
        patched.setattr(np, "equal", lambda *a, **k: np.ones((2, 2), dtype=bool))
        patched.setattr(np, "asarray", lambda a, *r, **k: np.full((2, 2), 99.0))
        kind = checking.judge(RELU_GRAD, CallOutcome(calling.OK, answer=answer), expected, 0,
                              hidden=False, case_inputs=KINK).kind
    assert kind == want


# ------------------------------------------------------------ the stub's placeholders
def _raised(message):
    return CallOutcome(calling.EXCEPTION, message=message)


UNDEFINED = "raised NameError: name 'output' is not defined (line 3 of box_blur: return output)"


@pytest.mark.parametrize("outcomes, want", [
    ([CallOutcome(calling.OK, answer=np.zeros((2, 3))), CallOutcome(calling.OK, answer=np.zeros(1))],
     "placeholder is returned unfilled"),
    ([CallOutcome(calling.OK, answer=np.zeros(2)), CallOutcome(calling.OK, answer=np.ones(2))], ""),
    ([_raised(UNDEFINED), _raised(UNDEFINED)], "`return output` is untouched"),
    ([_raised(UNDEFINED), CallOutcome(calling.OK, answer=np.zeros(2))], ""),
    ([_raised(UNDEFINED.replace("return output", "return output + 1"))], ""),   # not the bare name
    ([_raised(UNDEFINED.replace("return output", "return out"))], ""),          # another name
    ([_raised("raised NameError: name 'output' is not defined (line 3 of box_blur)")], ""),
    ([], ""),
])
def test_placeholder(outcomes, want):
    found = checking.placeholder(outcomes)
    assert (found.startswith(checking.STUB) and want in found) if want else found == ""


@pytest.mark.parametrize("message, want", [
    ("raised NotImplementedError: conv_matrix: replace this line (line 12 of conv_matrix: raise "
     "NotImplementedError(...))", "conv_matrix"),
    ("raised NotImplementedError (line 3 of my_helper: raise NotImplementedError)", "my_helper"),
    ("raised NotImplementedError", ""),
])
def test_raised_in_names_the_function_of_the_students_line(message, want):
    assert checking.raised_in(message) == want


def test_a_stub_callee_makes_the_caller_attempted_not_unimplemented():
    stub = "raised NotImplementedError: x (line 12 of conv_matrix: raise NotImplementedError(x))"
    task = tasks.get_task("box_blur")
    judged = checking.judge(task, CallOutcome(calling.NOT_IMPLEMENTED, message=stub), None, 0,
                            hidden=True)
    assert judged.kind == results.EXCEPTION
    assert judged.message.startswith("calls conv_matrix, which is not implemented yet (")
    own = checking.judge(tasks.get_task("conv_matrix"), CallOutcome(calling.NOT_IMPLEMENTED,
                                                                    message=stub), None, 0, hidden=True)
    assert own.kind == results.NOT_IMPLEMENTED

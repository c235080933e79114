"""grader.calling: call untrusted code once, on copies, and observe what it did."""

import signal
import threading
import time

import numpy as np
import pytest
from grader_fixtures import student_module  # noqa: F401

from grader.core import calling
from grader.core.calling import call_once, signature_problem

CONV_ARGS = ("matrix", "kernel")


def conv_case():
    return {"matrix": np.arange(6.0).reshape(2, 3), "kernel": np.ones((1, 1))}


class Recorder:
    """Records how it was called; returns the matrix."""

    __name__ = "conv_matrix"

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return (args[0] if args else kwargs["matrix"]).copy()


# ------------------------------------------------------------------ how it is called
@pytest.mark.parametrize("positional, want_args, want_kwargs", [
    (False, 0, ["matrix", "kernel"]),
    (True, 2, []),
])
def test_keyword_or_positional_call(positional, want_args, want_kwargs):
    record = Recorder()
    outcome = call_once(record, conv_case(), CONV_ARGS, positional=positional)
    (args, kwargs), = record.calls
    assert len(args) == want_args and list(kwargs) == want_kwargs
    assert outcome.status == calling.OK and outcome.answer.shape == (2, 3)


def test_positional_call_follows_arg_order_not_dict_order():
    record = Recorder()
    case = conv_case()
    reversed_case = {"kernel": case["kernel"], "matrix": case["matrix"]}
    call_once(record, reversed_case, CONV_ARGS, positional=True)
    (args, _), = record.calls
    assert args[0].shape == (2, 3) and args[1].shape == (1, 1)


def test_function_gets_copies_not_the_callers_arrays():
    case = conv_case()
    record = Recorder()
    call_once(record, case, CONV_ARGS, positional=False)
    (_, kwargs), = record.calls
    assert kwargs["matrix"] is not case["matrix"] and kwargs["kernel"] is not case["kernel"]
    np.testing.assert_array_equal(kwargs["matrix"], case["matrix"])


def _zero_matrix(matrix, kernel):
    matrix[...] = 0.0
    return matrix


def _zero_both(matrix, kernel):
    matrix[0, 0] = kernel[0, 0] = -1.0
    return matrix


def _nan_kernel(matrix, kernel):
    kernel[0, 0] = np.nan
    return matrix.copy()


def _reshape_matrix(matrix, kernel):
    matrix.shape = (3, 2)
    return np.zeros((2, 3))


def _pure(matrix, kernel):
    return matrix * kernel[0, 0]


def _sort_in_place(matrix, kernel):
    matrix.sort(axis=1)
    return matrix


@pytest.mark.parametrize("function, want", [
    (_pure, ()),
    (_zero_matrix, ("matrix",)),
    (_zero_both, ("matrix", "kernel")),
    (_nan_kernel, ("kernel",)),
    (_reshape_matrix, ("matrix",)),
    (_sort_in_place, ()),  # already sorted: nothing changed
])
def test_mutation_is_reported_by_argument_name(function, want):
    case = conv_case()
    before = {name: value.copy() for name, value in case.items()}
    outcome = call_once(function, case, CONV_ARGS, positional=False)
    assert outcome.status == calling.OK and outcome.mutated == want
    for name in CONV_ARGS:  # the caller's arrays never change
        np.testing.assert_array_equal(case[name], before[name])


def _append(weight_decay, weights):
    weights.append(np.zeros(1))
    return 0.0


def _scale_first(weight_decay, weights):
    weights[0] *= 2
    return 0.0


def _read_only(weight_decay, weights):
    return float(sum((w ** 2).sum() for w in weights))


@pytest.mark.parametrize("function, want", [
    (_read_only, ()), (_append, ("weights",)), (_scale_first, ("weights",))])
def test_mutation_of_a_list_of_arrays(function, want):
    case = {"weight_decay": 0.5, "weights": [np.ones((2, 2)), np.ones(3)]}
    outcome = call_once(function, case, ("weight_decay", "weights"), positional=True)
    assert outcome.mutated == want
    assert len(case["weights"]) == 2 and case["weights"][0][0, 0] == 1.0


# ------------------------------------------------------------------ what it raises
STUDENT_CODE = '''\
import numpy as np


def helper(rows):
    return rows[99]


def conv_matrix(matrix, kernel):
    rows = list(matrix)
    return helper(rows)


def box_blur(image, box_size):
    out = np.reshape(image, (7, 7))
    return out


def relu_forward(x_input):
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###


def flatten_forward(x_input):
    raise SystemExit(3)


def maxpool_forward(x_input):
    while True:
        pass
'''


@pytest.fixture
def raises_in_student_code(student_module):
    return student_module(STUDENT_CODE, stem="raising")


@pytest.mark.parametrize("name, case, want_status, want_text", [
    ("conv_matrix", conv_case(), calling.EXCEPTION,
     "raised IndexError: list index out of range (line 5 of helper: return rows[99])"),
    ("box_blur", {"image": np.ones((2, 3)), "box_size": 3}, calling.EXCEPTION,
     "(line 14 of box_blur: out = np.reshape(image, (7, 7)))"),
    ("relu_forward", {"x_input": np.ones(2)}, calling.NOT_IMPLEMENTED,
     "raised NotImplementedError (line 20 of relu_forward: raise NotImplementedError)"),
    ("flatten_forward", {"x_input": np.ones(2)}, calling.EXCEPTION,
     "called exit(): a graded function must return"),
])
def test_exception_carries_the_students_own_line(raises_in_student_code, name, case,
                                                 want_status, want_text):
    function = getattr(raises_in_student_code, name)
    outcome = call_once(function, case, tuple(case), positional=False)
    assert outcome.status == want_status and outcome.answer is None
    assert outcome.message.endswith(want_text)
    assert "grader" not in outcome.message and "numpy/" not in outcome.message


def test_exception_from_the_standard_library_points_at_the_students_line(student_module):
    module = student_module('''\
        import statistics


        def hinge_forward(target_pred, target_true):
            return statistics.mean([])
        ''')
    case = {"target_pred": np.ones(2), "target_true": np.ones(2)}
    outcome = call_once(module.hinge_forward, case, tuple(case), positional=False)
    assert outcome.message.endswith("(line 5 of hinge_forward: return statistics.mean([]))")


def test_endless_loop_times_out(raises_in_student_code):
    start = time.perf_counter()
    outcome = call_once(raises_in_student_code.maxpool_forward, {"x_input": np.ones((2, 2))},
                        ("x_input",), positional=False, seconds=0.2)
    assert outcome.status == calling.TIMEOUT
    assert "still running after 0.2 s" in outcome.message
    assert 0.15 < outcome.seconds < 2.0 and time.perf_counter() - start < 2.0


def test_time_limit_restores_the_alarm_handler():
    def handler(signum, frame):
        pass
    previous = signal.signal(signal.SIGALRM, handler)
    try:
        call_once(_pure, conv_case(), CONV_ARGS, positional=False, seconds=0.5)
        assert signal.getsignal(signal.SIGALRM) is handler
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_is_skipped_outside_the_main_thread():
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.append(
        call_once(_pure, conv_case(), CONV_ARGS, positional=False, seconds=0.2)))
    worker.start()
    worker.join(5)
    assert outcomes and outcomes[0].status == calling.OK


def test_keyboard_interrupt_is_not_caught():
    def interrupted(matrix, kernel):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        call_once(interrupted, conv_case(), CONV_ARGS, positional=False)


def test_exception_that_changes_inputs_first_is_still_an_exception():
    def half_done(matrix, kernel):
        matrix[0, 0] = 99
        raise ValueError("gave up")
    outcome = call_once(half_done, conv_case(), CONV_ARGS, positional=False)
    assert outcome.status == calling.EXCEPTION and outcome.message.startswith(
        "raised ValueError: gave up (line")


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("cannot print me")


def test_exception_whose_str_raises_is_still_an_outcome():
    def conv_matrix(matrix, kernel):
        raise UnprintableError()
    outcome = call_once(conv_matrix, conv_case(), CONV_ARGS, positional=False)
    assert outcome.status == calling.EXCEPTION
    assert outcome.message.startswith("raised UnprintableError: (its message could not be printed)")


@pytest.mark.parametrize("error, want", [
    (ValueError("bad kernel"), "ValueError: bad kernel"),
    (RuntimeError(), "RuntimeError"),
    (KeyError("matrix"), "KeyError: 'matrix'"),
])
def test_describe_error_without_a_traceback(error, want):
    assert calling.describe_error(error) == want


# ------------------------------------------------------------------ signatures
def conv_ok(matrix, kernel):
    return matrix


def conv_renamed(mat, kern):
    return mat


def conv_one(matrix):
    return matrix


def conv_extra(matrix, kernel, stride):
    return matrix


def conv_default(matrix, kernel, stride=1):
    return matrix


def conv_star(*args, **kwargs):
    return args


def conv_kwargs(**kwargs):
    return kwargs


def conv_swapped(kernel, matrix):
    return matrix


def conv_positional_only(matrix, kernel, /):
    return matrix


@pytest.mark.parametrize("function, want", [
    (conv_ok, ""),
    (conv_default, ""),
    (conv_star, ""),
    (conv_kwargs, ""),
    (conv_swapped, ""),  # keyword calls work; the remote phase's positional call shows the order
    (max, ""),  # no signature to inspect: let the call decide
    (conv_renamed, "conv_renamed(mat, kern) cannot be called as (matrix=..., kernel=...): "
                   "name its parameters matrix, kernel, in this order"),
    (conv_one, "conv_one(matrix) cannot be called as (matrix=..., kernel=...)"),
    (conv_extra, "conv_extra(matrix, kernel, stride) cannot be called as"),
    (conv_positional_only, "conv_positional_only(matrix, kernel) cannot be called as"),
])
def test_signature_problem(function, want):
    problem = signature_problem(function, CONV_ARGS)
    assert (problem.startswith(want) if want else problem == "")

"""grader.classgrade.mistakes: every known mistake is named on its own answers, never on right ones.

Each variant is run on a student's local cases and judged like a submission
(the task's alternative output included); as in class grading, only the wrong
answers it returned are handed to ``name_mistake``, the cases on which it
raised are not. No sandbox: the variants are called here.
"""

import inspect
from functools import lru_cache

import numpy as np
import pytest

from grader.classgrade.mistakes import MISTAKES, Mistake, mistakes_for, name_mistake
from grader.core import calling, cases, checking, results, tasks
from grader.core.compare import compare

USER = "alice"
RAISED = results.EXCEPTION

# task, mistake, want kind of the variant's first failing local case
TABLE = [
    ("conv_matrix", "true convolution (kernel flipped)", results.MISMATCH),
    ("conv_matrix", "no zero padding ('valid' output)", results.WRONG_SHAPE),
    ("conv_matrix", "padding fixed at 1", results.MISMATCH),            # shifted 1x1; 5x5 raises
    ("conv_matrix", "elementwise product (matrix * kernel)", RAISED),   # (1, 5) * (1, 3)
    ("box_blur", "not normalised (sum instead of mean)", results.MISMATCH),
    ("box_blur", "divided by box_size instead of box_size ** 2", results.MISMATCH),
    ("box_blur", "box_size ignored (always a 3x3 box)", results.MISMATCH),
    ("maxpool_forward", "minimum instead of maximum", results.MISMATCH),
    ("maxpool_forward", "average pooling", results.MISMATCH),
    ("flatten_forward", "flattened in Fortran (column-major) order", results.MISMATCH),
    ("flatten_forward", "channels last before flattening", results.MISMATCH),
    ("flatten_grad_input", "unflattened in Fortran (column-major) order", results.MISMATCH),
    ("hinge_forward", "sum instead of mean", results.MISMATCH),
    ("hinge_forward", "no max(0, .)", results.MISMATCH),
    ("hinge_grad_input", "gradient without the 1 / n", results.MISMATCH),
    ("dense_grad_W", "averaged over the batch", results.MISMATCH),
    ("dense_grad_W", "transposed (grad_output.T @ x_input)", results.WRONG_SHAPE),
    ("dense_grad_b", "averaged over the batch", results.MISMATCH),
    ("dense_grad_b", "an (n_out, n_out) matrix instead of a vector", results.WRONG_SHAPE),
    ("relu_grad_input", "NaN where x == 0 (divided by x)", results.NOT_FINITE),
    ("mse_forward", "without the factor 1/2", results.MISMATCH),
    ("l2_regularizer", "without the factor 1/2", results.MISMATCH),
    # mistakes of real students (issue 19)
    ("conv_matrix", "padding fixed at 1, window centred on the pixel", RAISED),  # (3, 5) kernel
    ("conv_matrix", "integer output (np.zeros_like of an integer matrix)", results.MISMATCH),
    ("box_blur", "integer output (np.zeros_like of an integer image)", results.MISMATCH),
    ("dense_grad_b", "keepdims=True (shape (1, n_out))", results.WRONG_SHAPE),
    ("relu_grad_input", "x * grad_output", results.MISMATCH),
    ("hinge_grad_input", "margin ignored (-true / n everywhere)", results.MISMATCH),
    ("l2_regularizer", "rounded", results.MISMATCH),
]
IDS = [f"{task}-{name}" for task, name, _ in TABLE]
# Mistakes that never give a wrong answer: right on some cases, raising on the others.
ERROR_TABLE = [
    ("dense_grad_b", "np.dot(np.ones_like(b), grad_output)"),            # fits when n == n_out
    ("l2_regularizer", "the list of weights treated as one array"),      # raises on lists
]
TASKS_WITH_MISTAKES = sorted({mistake.task for mistake in MISTAKES})


def _mistake(task_name: str, name: str) -> Mistake:
    return next(m for m in mistakes_for(task_name) if m.name == name)


@lru_cache(maxsize=None)
def _local(task_name: str) -> tuple:
    """USER's local cases of a task and their expected outputs."""
    task = tasks.get_task(task_name)
    drawn = cases.make_cases(task, USER, "local")
    return tuple((case, task.expected(case)) for case in drawn)


def _judged(task_name: str, function) -> list[tuple[dict, object, str]]:
    """``(case, plain answer or None, kind)`` for every local case, judged like a submission."""
    task = tasks.get_task(task_name)
    judged = []
    for case, expected in _local(task_name):
        try:
            answer = calling.to_plain_array(function(**calling.copy_inputs(case)))
        except Exception:  # noqa: BLE001 - raising is a (visible) failure too
            judged.append((case, None, RAISED))
            continue
        verdict = compare(expected, answer, rtol=task.rtol, atol=task.atol,
                          scalar=task.output == "scalar",
                          alternative=task.alternative_for(case, expected))
        judged.append((case, answer, verdict.kind))
    return judged


def _wrong_answers(judged) -> list[tuple[dict, np.ndarray]]:
    """What class grading hands to name_mistake: the wrong answers, not the exceptions."""
    return [(case, answer) for case, answer, kind in judged
            if kind != results.OK and answer is not None]


def test_the_table_lists_every_mistake_once():
    assert sorted([(task, name) for task, name, _ in TABLE] + ERROR_TABLE) == \
        sorted((m.task, m.name) for m in MISTAKES)
    assert len({(m.task, m.name) for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("task_name, name, want", TABLE, ids=IDS)
def test_variant_fails_a_local_case(task_name, name, want):
    """Otherwise the mistake is invisible: AutoMark would pass it."""
    kinds = [kind for _, _, kind in _judged(task_name, _mistake(task_name, name).variant)]
    assert next(kind for kind in kinds if kind != results.OK) == want


@pytest.mark.parametrize("task_name, name, want", TABLE, ids=IDS)
def test_variant_is_named_on_its_own_wrong_answers(task_name, name, want):
    mistake = _mistake(task_name, name)
    wrong = _wrong_answers(_judged(task_name, mistake.variant))
    assert wrong, "no wrong answer to recognise the mistake by"
    assert name_mistake(task_name, wrong) is mistake


@pytest.mark.parametrize("task_name, name", ERROR_TABLE)
def test_a_mistake_that_only_raises_is_named_by_the_rule_on_the_error(task_name, name):
    mistake = _mistake(task_name, name)
    judged = _judged(task_name, mistake.variant)
    kinds = {kind for _, _, kind in judged}
    assert kinds == {results.OK, RAISED}, "right on some cases, raising on the others"
    raised = [case for case, _, kind in judged if kind == RAISED]
    passed = [(case, answer) for case, answer, kind in judged if kind == results.OK]
    assert name_mistake(task_name, [], raised, passed) is mistake
    # a function that raises everywhere, or nowhere, is not this mistake
    assert name_mistake(task_name, [], raised, []) is None
    assert name_mistake(task_name, [], [], passed) is None


@pytest.mark.parametrize("task_name, name", ERROR_TABLE)
def test_the_rule_on_the_error_needs_the_same_cases_to_raise(task_name, name):
    judged = _judged(task_name, _mistake(task_name, name).variant)
    raised = [case for case, _, kind in judged if kind == RAISED]
    passed = [(case, answer) for case, answer, kind in judged if kind == results.OK]
    assert name_mistake(task_name, [], raised[1:], passed + [(raised[0], np.zeros(1))]) is None
    assert name_mistake(task_name, [], raised + [passed[0][0]], passed[1:]) is None


@pytest.mark.parametrize("task_name", TASKS_WITH_MISTAKES)
def test_the_reference_is_never_named(task_name):
    task = tasks.get_task(task_name)
    judged = _judged(task_name, task.reference)
    assert [kind for _, _, kind in judged] == [results.OK] * len(judged)
    assert name_mistake(task_name, _wrong_answers(judged)) is None
    # even if every right answer were handed over, no variant reproduces them all
    assert name_mistake(task_name, [(case, answer) for case, answer, _ in judged]) is None


@pytest.mark.parametrize("task_name", TASKS_WITH_MISTAKES)
def test_every_task_with_a_mistake_still_passes_its_reference(task_name):
    task = tasks.get_task(task_name)
    check = checking.check_function(task, task.reference, USER)
    assert check.passed and check.local.n_passed == len(check.local.cases) > 0
    assert check.remote.n_passed == len(check.remote.cases) > 0


@pytest.mark.parametrize("mistake", MISTAKES, ids=[f"{m.task}-{m.name}" for m in MISTAKES])
def test_mistake_takes_the_tasks_arguments_and_is_explained(mistake):
    task = tasks.get_task(mistake.task)
    assert tuple(inspect.signature(mistake.variant).parameters) == task.arg_names
    assert mistake.name and mistake.explanation and mistake.name != mistake.explanation
    assert "\n" not in mistake.explanation


@pytest.mark.parametrize("wrong, want", [
    ([], None),
    ([({"x_input": np.array([[0.0, 1.0]]), "grad_output": np.array([[2.0, 3.0]])},
       np.array([[np.nan, 3.0]]))], "NaN where x == 0 (divided by x)"),
    ([({"x_input": np.array([[0.0, 1.0]]), "grad_output": np.array([[2.0, 3.0]])},
       np.array([[np.nan, 4.0]]))], None),     # NaN at 0, but wrong elsewhere too
], ids=["no-wrong-answer", "nan-matches-nan", "nan-and-a-wrong-value"])
def test_name_mistake_compares_nan_with_nan(wrong, want):
    named = name_mistake("relu_grad_input", wrong)
    assert (named.name if named else None) == want

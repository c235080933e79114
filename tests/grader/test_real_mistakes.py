"""Mistakes real students made, each as a minimal version of their code: named the same way
by the notebook's check and by class grading (judged from the same calls' outcomes).

The class side is :func:`grader.classgrade.submission.judge_task` given the outcomes
of :func:`grader.core.calling.call_cases`, the calls the sandbox makes; the sandbox
itself is tested elsewhere (tests/grader/test_one_call_path.py).
"""

import textwrap

import pytest

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.runner import RawTask
from grader.classgrade.submission import grading_cases, judge_task
from grader.client import messages
from grader.core import checking, tasks
from grader.core.calling import call_cases

NOT_ATTEMPTED = "not attempted"

CONV_LOOP = """
def conv_matrix(matrix, kernel):
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(matrix, ((p, p), (q, q)))
    output = {output}
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            output[i, j] = np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
    return output
"""
BOX_BLUR = """
def box_blur(image, box_size):
    return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)
"""

# name: (task, the student's code, want: the recognised mistake's name, or "not attempted")
STUDENTS = {
    "conv-zeros-like": ("conv_matrix", CONV_LOOP.format(output="np.zeros_like(matrix)"),
                        "integer output (np.zeros_like of an integer matrix)"),
    "box-blur-through-a-zeros-like-conv": (
        "box_blur", CONV_LOOP.format(output="np.zeros_like(matrix)") + BOX_BLUR,
        "integer output (np.zeros_like of an integer image)"),
    "conv-padding-1-centred": ("conv_matrix", """
        def conv_matrix(matrix, kernel):
            p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
            padded = np.pad(matrix, 1)
            output = np.zeros(matrix.shape)
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    window = padded[i + 1 - p:i + 2 + p, j + 1 - q:j + 2 + q]
                    output[i, j] = np.sum(window * kernel)
            return output
        """, "padding fixed at 1, window centred on the pixel"),
    "placeholder-zeros": ("box_blur", """
        def box_blur(image, box_size):
            output = np.zeros(image.shape)
            return output
        """, NOT_ATTEMPTED),
    "placeholder-return-output": ("conv_matrix", """
        def conv_matrix(matrix, kernel):
            ### YOUR CODE HERE
            return output
        """, NOT_ATTEMPTED),
    "dense-grad-b-keepdims": ("dense_grad_b", """
        def dense_grad_b(x_input, grad_output, W, b):
            return np.sum(grad_output, axis=0, keepdims=True)
        """, "keepdims=True (shape (1, n_out))"),
    "dense-grad-b-ones-like": ("dense_grad_b", """
        def dense_grad_b(x_input, grad_output, W, b):
            return np.dot(np.ones_like(b), grad_output)
        """, "np.dot(np.ones_like(b), grad_output)"),
    "relu-grad-x-times-grad": ("relu_grad_input", """
        def relu_grad_input(x_input, grad_output):
            return x_input * grad_output
        """, "x * grad_output"),
    "hinge-grad-margin-ignored": ("hinge_grad_input", """
        def hinge_grad_input(target_pred, target_true):
            return -target_true / len(target_pred)
        """, "margin ignored (-true / n everywhere)"),
    "l2-rounded": ("l2_regularizer", """
        def l2_regularizer(weight_decay, weights):
            output = weight_decay / 2 * sum(np.sum(w ** 2) for w in weights)
            return round(output, 2)
        """, "rounded"),
    "l2-power-of-the-list": ("l2_regularizer", """
        def l2_regularizer(weight_decay, weights):
            return weight_decay / 2 * np.sum(weights ** 2)
        """, "the list of weights treated as one array"),
    "l2-square-of-the-list": ("l2_regularizer", """
        def l2_regularizer(weight_decay, weights):
            return weight_decay / 2 * np.sum(np.square(weights))
        """, "the list of weights treated as one array"),
    "l2-norm-of-the-list": ("l2_regularizer", """
        def l2_regularizer(weight_decay, weights):
            return weight_decay / 2 * np.linalg.norm(weights) ** 2
        """, "the list of weights treated as one array"),
}


def student_function(source: str, name: str, folder):
    """The student's function, compiled from a file of its own (so its lines can be shown)."""
    path = folder / "student_cell.py"
    path.write_text("import numpy as np\n" + textwrap.dedent(source))
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace[name]


def in_class(task, function):
    """What class grading makes of the function's calls."""
    cases, n_local = grading_cases(task, "alice")
    outcomes = call_cases(function, cases, task.arg_names, n_local=n_local)
    raw = RawTask(task.name, outcomes=tuple(outcomes), ended="exit")
    return judge_task(task, raw, cases, n_local, Limits())


@pytest.mark.parametrize("student", list(STUDENTS))
def test_the_notebook_and_class_grading_name_the_same_mistake(student, tmp_path):
    task_name, source, want = STUDENTS[student]
    task = tasks.get_task(task_name)
    function = student_function(source, task_name, tmp_path)
    check = checking.check_function(task, function, "alice")
    graded = in_class(task, function)
    assert not check.passed and not graded.passed
    if want == NOT_ATTEMPTED:
        assert check.not_implemented and graded.state == NOT_ATTEMPTED
        assert check.local.mistake == graded.mistake == ""
    else:
        assert not check.not_implemented and graded.state == "attempted"
        assert check.local.mistake.startswith(want + ": ")
        assert graded.mistake.startswith(want + ": ")
    lines = "\n".join(messages.check_report(task_name, check))
    assert (f"Recognised mistake: {want}: " in lines) is (want != NOT_ATTEMPTED)


@pytest.mark.parametrize("student, want", [
    ("placeholder-zeros", "box_blur is not implemented yet: the stub's placeholder is returned "
                          "unfilled: every answer is all zeros."),
    ("placeholder-return-output", "conv_matrix is not implemented yet: the stub's `return output` "
                                  "is untouched: output is never assigned."),
])
def test_a_placeholder_is_explained_as_not_attempted(student, want, tmp_path):
    task_name, source, _ = STUDENTS[student]
    task = tasks.get_task(task_name)
    check = checking.check_function(task, student_function(source, task_name, tmp_path), "alice")
    assert want in "\n".join(messages.check_report(task_name, check))
    assert want in "\n".join(messages.explain(in_class(task, student_function(source, task_name,
                                                                               tmp_path))))


@pytest.mark.parametrize("source, want_state", [
    ("def relu_forward(x_input):\n    return np.zeros_like(x_input) * 0.0\n", NOT_ATTEMPTED),
    ("def relu_forward(x_input):\n    return np.maximum(x_input, 0) + offset\n", "attempted"),
    ("def relu_forward(x_input):\n    return x_input * 0 + 1\n", "attempted"),
])
def test_only_a_placeholder_counts_as_not_attempted(source, want_state, tmp_path):
    task = tasks.get_task("relu_forward")
    graded = in_class(task, student_function(source, "relu_forward", tmp_path))
    assert graded.state == want_state

"""Known wrong variants of the graded functions, to name a student's mistake.

When a function fails, its answers are compared with each known variant on
the same inputs; a variant that reproduces every wrong answer names the
mistake in the feedback ("true convolution: the kernel was flipped").
Only answers count: a case on which the student's code raised is not
compared, so a variant may raise where the student's code would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import solutions as S
from grader.core.mistakes import KnownMistake, recognise


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of one task's function.

    Attributes:
        task: the task's name, e.g. ``"conv_matrix"``.
        name: a few words for the feedback, e.g. ``"padding fixed at 1"``.
        explanation: what went wrong and how to fix it, one sentence.
        variant: takes the task's arguments by name and returns the wrong
            answer (or raises where the student's code would).
    """

    task: str
    name: str
    explanation: str
    variant: Callable


def _valid_conv(matrix, kernel):
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    full = S.conv_matrix(matrix, kernel)
    return full[p:matrix.shape[0] - p, q:matrix.shape[1] - q]


def _conv_padded_by_one(matrix, kernel):
    """A student's loop with ``padded = np.pad(matrix, 1)``, whatever the kernel.

    ``out[i, j] = np.sum(padded[i:i + k_rows, j:j + k_cols] * kernel)`` for every
    pixel (i, j) of the matrix: right for 3x3 kernels, shifted by one pixel for
    kernels one row or column wide, and a broadcasting error for a side longer
    than 3, whose last windows are cut short by the edge of ``padded``.
    """
    if max(kernel.shape) > 3:
        raise ValueError(f"operands could not be broadcast together with the kernel {kernel.shape}")
    return _valid_conv(np.pad(matrix, 1), kernel)[:matrix.shape[0], :matrix.shape[1]]


def _conv_centred_padding_one(matrix, kernel):
    """A student's loop with ``padded = np.pad(matrix, 1)`` and the window centred on the pixel.

    Right for kernels up to 3x3 (the AutoMark server's kernels). For a side of
    5 or more the first window starts at index -1: it is empty and the product
    with the kernel raises, or, on a matrix too small for the kernel, it is one
    cell that broadcasts and gives a wrong number.
    """
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(np.asarray(matrix, dtype=np.float64), 1)
    out = np.zeros(matrix.shape)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[i, j] = np.sum(padded[i + 1 - p:i + 2 + p, j + 1 - q:j + 2 + q] * kernel)
    return out


def _conv_into_zeros_like(matrix, kernel):
    """The lesson's loop writing into ``out = np.zeros_like(matrix)``: an integer matrix
    truncates every value. Written as students write it, window by window, because a
    mean that is a whole number may come out just below it and truncate one lower."""
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(matrix, ((p, p), (q, q)))
    out = np.zeros_like(matrix)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[i, j] = np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
    return out


def _relu_grad_divided_by_x(x_input, grad_output):
    """``grad_output * relu(x) / x``: right except NaN (0 / 0) wherever x == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return grad_output * np.maximum(x_input, 0.0) / x_input


def _hinge_grad_sum(target_pred, target_true):
    return S.hinge_grad_input(target_pred, target_true) * len(target_pred)


def _pool(reduce):
    def variant(x_input):
        h, w = x_input.shape
        return reduce(x_input.reshape(h // 2, 2, w // 2, 2), axis=(1, 3))
    return variant


MISTAKES: tuple[Mistake, ...] = (
    Mistake("conv_matrix", "true convolution (kernel flipped)",
            "the kernel was flipped before sliding it: the lesson's convolution is a "
            "cross-correlation, out[i, j] = sum K[a, b] * padded[i + a, j + b]",
            lambda matrix, kernel: S.conv_matrix(matrix, kernel[::-1, ::-1])),
    Mistake("conv_matrix", "no zero padding ('valid' output)",
            "the output is smaller than the matrix: pad with p rows and q columns of zeros "
            "so that the output keeps the matrix's shape", _valid_conv),
    Mistake("conv_matrix", "padding fixed at 1",
            "the matrix was always padded with 1 row and 1 column of zeros, which is right for "
            "a 3x3 kernel only: a (2p + 1, 2q + 1) kernel needs p rows and q columns, "
            "p = kernel.shape[0] // 2 and q = kernel.shape[1] // 2 (1x1 and 1x3 kernels came "
            "out shifted, 5x5 and 1x5 ones failed)", _conv_padded_by_one),
    Mistake("conv_matrix", "elementwise product (matrix * kernel)",
            "the matrix was multiplied elementwise by the kernel, which only works when their "
            "shapes broadcast: slide the kernel over the zero-padded matrix and sum the "
            "products in each window, out[i, j] = sum K[a, b] * padded[i + a, j + b]",
            lambda matrix, kernel: matrix * kernel),
    Mistake("conv_matrix", "padding fixed at 1, window centred on the pixel",
            "the matrix was always padded with 1 row and 1 column of zeros and the window centred "
            "on each pixel, which is right for kernels up to 3x3 only: for a (2p + 1, 2q + 1) "
            "kernel pad with p = kernel.shape[0] // 2 rows and q = kernel.shape[1] // 2 columns "
            "(5x5, 1x5 and 3x5 kernels raised)", _conv_centred_padding_one),
    Mistake("conv_matrix", "integer output (np.zeros_like of an integer matrix)",
            "the output was made with np.zeros_like(matrix), so an integer matrix (an image as "
            "loaded, or np.array([[1, 2], [3, 4]])) gave an integer output and every value was "
            "truncated: make it a float array, np.zeros(matrix.shape)",
            _conv_into_zeros_like),
    Mistake("box_blur", "integer output (np.zeros_like of an integer image)",
            "an integer image gave an integer output and every mean was truncated: the output "
            "was made with np.zeros_like(image), here or in the conv_matrix that box_blur calls; "
            "make it a float array, np.zeros(image.shape)",
            lambda image, box_size: _conv_into_zeros_like(
                image, np.ones((box_size, box_size)) / box_size ** 2)),
    Mistake("box_blur", "not normalised (sum instead of mean)",
            "the box was summed, not averaged: divide the kernel by box_size ** 2",
            lambda image, box_size: S.box_blur(image, box_size) * box_size ** 2),
    Mistake("box_blur", "divided by box_size instead of box_size ** 2",
            "the box has box_size ** 2 pixels: divide by that",
            lambda image, box_size: S.box_blur(image, box_size) * box_size),
    Mistake("box_blur", "box_size ignored (always a 3x3 box)",
            "every image was blurred with a 3x3 box, whatever box_size was: the box size "
            "came from a constant or a variable outside the function, not from the argument; "
            "build the kernel from box_size, np.ones((box_size, box_size)) / box_size ** 2",
            lambda image, box_size: S.box_blur(image, 3)),
    Mistake("maxpool_forward", "minimum instead of maximum",
            "each window's smallest value was kept: max pooling keeps the largest", _pool(np.min)),
    Mistake("maxpool_forward", "average pooling",
            "each window was averaged: max pooling keeps the largest value", _pool(np.mean)),
    Mistake("flatten_forward", "flattened in Fortran (column-major) order",
            "the values were flattened column by column: use C order, np.reshape(x, (n, -1))",
            lambda x_input: x_input.reshape(x_input.shape[0], -1, order="F")),
    Mistake("flatten_forward", "channels last before flattening",
            "the channels were moved last before flattening: keep (channel, row, column) order",
            lambda x_input: x_input.transpose(0, 2, 3, 1).reshape(x_input.shape[0], -1)),
    Mistake("flatten_grad_input", "unflattened in Fortran (column-major) order",
            "the gradient was reshaped column by column: use C order, np.reshape(g, x.shape)",
            lambda x_input, grad_output: grad_output.reshape(x_input.shape, order="F")),
    Mistake("hinge_forward", "sum instead of mean",
            "the losses were summed over the batch: the hinge loss is their mean",
            lambda target_pred, target_true: S.hinge_forward(target_pred, target_true) * len(target_pred)),
    Mistake("hinge_forward", "no max(0, .)",
            "negative margins were kept: each loss is max(0, 1 - pred * true)",
            lambda target_pred, target_true: float(np.mean(1 - target_pred * target_true))),
    Mistake("hinge_grad_input", "gradient without the 1 / n",
            "the loss is a mean over the batch, so its gradient carries a factor 1 / n",
            _hinge_grad_sum),
    Mistake("dense_grad_W", "averaged over the batch",
            "the gradient of a sum over the batch is a sum: do not divide by n",
            lambda x_input, grad_output, W, b: S.dense_grad_W(x_input, grad_output, W, b) / len(x_input)),
    Mistake("dense_grad_W", "transposed (grad_output.T @ x_input)",
            "the gradient has the shape of W, (n_in, n_out): x_input.T @ grad_output; "
            "grad_output.T @ x_input is its transpose, (n_out, n_in)",
            lambda x_input, grad_output, W, b: grad_output.T @ x_input),
    Mistake("dense_grad_b", "averaged over the batch",
            "the gradient of a sum over the batch is a sum: do not divide by n",
            lambda x_input, grad_output, W, b: S.dense_grad_b(x_input, grad_output, W, b) / len(x_input)),
    Mistake("dense_grad_b", "keepdims=True (shape (1, n_out))",
            "np.sum(grad_output, axis=0, keepdims=True) keeps a row of shape (1, n_out); the "
            "gradient has the shape of b, (n_out,): drop keepdims=True",
            lambda x_input, grad_output, W, b: np.sum(grad_output, axis=0, keepdims=True)),
    Mistake("dense_grad_b", "np.dot(np.ones_like(b), grad_output)",
            "ones_like(b) has n_out entries but the sum runs over the n objects of the batch, so "
            "the product only fits when n == n_out: sum over the batch, np.sum(grad_output, axis=0)",
            lambda x_input, grad_output, W, b: np.dot(np.ones_like(b), grad_output)),
    Mistake("dense_grad_b", "an (n_out, n_out) matrix instead of a vector",
            "grad_output.T @ np.ones_like(grad_output) repeats the right sums in n_out columns; "
            "the matrix broadcasts in b - lr * grad_b and silently turns b into a matrix: "
            "the gradient has the shape of b, np.sum(grad_output, axis=0)",
            lambda x_input, grad_output, W, b: grad_output.T @ np.ones_like(grad_output)),
    Mistake("relu_grad_input", "NaN where x == 0 (divided by x)",
            "grad_output * relu(x) / x is 0 / 0 = NaN wherever x is exactly 0, and most of a "
            "CNN's activations are (MNIST's background): use grad_output * (x > 0)",
            _relu_grad_divided_by_x),
    Mistake("relu_grad_input", "x * grad_output",
            "the gradient of ReLU is 1 where x > 0 and 0 elsewhere, not x: "
            "use grad_output * (x_input > 0)",
            lambda x_input, grad_output: x_input * grad_output),
    Mistake("hinge_grad_input", "margin ignored (-true / n everywhere)",
            "a prediction with pred * true >= 1 has no loss and so no gradient: "
            "-true / n only where 1 - pred * true > 0, and 0 elsewhere",
            lambda target_pred, target_true: -target_true / len(target_true)),
    Mistake("mse_forward", "without the factor 1/2",
            "the course's MSE is mean((pred - true) ** 2) / 2",
            lambda target_pred, target_true: 2 * S.mse_forward(target_pred, target_true)),
    Mistake("l2_regularizer", "without the factor 1/2",
            "the penalty is weight_decay / 2 times the sum of squares",
            lambda weight_decay, weights: 2 * S.l2_regularizer(weight_decay, weights)),
    Mistake("l2_regularizer", "rounded",
            "the penalty was rounded (round(output, 2)): return it as computed, the grader "
            "compares to 1e-5",
            lambda weight_decay, weights: round(S.l2_regularizer(weight_decay, weights), 2)),
    Mistake("l2_regularizer", "the list of weights treated as one array",
            "weights is a list of arrays of different shapes (one per layer), so weights ** 2, "
            "np.square(weights) and np.linalg.norm(weights) fail on it: add up each array's "
            "squares, sum(np.sum(w ** 2) for w in weights)",
            lambda weight_decay, weights: weight_decay / 2 * np.sum(weights ** 2)),
)


def mistakes_for(task_name: str) -> tuple[Mistake, ...]:
    return tuple(m for m in MISTAKES if m.task == task_name)


def name_mistake(task_name: str, wrong_cases: list[tuple[dict, np.ndarray]], raised=(),
                 passed=()) -> Mistake | None:
    """The known mistake that reproduces the student's failures, or None.

    The rule is :func:`grader.core.mistakes.recognise`, the notebook's own: the
    wrong answers, or when there are none, the rule on the error.

    Args:
        task_name: the task.
        wrong_cases: ``(inputs, plain answer)`` for each case the student got wrong
            (with an answer: exceptions and timeouts are not passed).
        raised: the inputs of each case on which the student's code raised.
        passed: ``(inputs, plain answer)`` for each case the student passed.
    """
    by_name = {m.name: m for m in mistakes_for(task_name)}
    numbered = list(enumerate([*wrong_cases, *((case, None) for case in raised), *passed]))
    wrong = [(i, case, answer) for i, (case, answer) in numbered[:len(wrong_cases)]]
    failed = [(i, case) for i, (case, _) in numbered[len(wrong_cases):len(wrong_cases) + len(raised)]]
    right = [(i, case, answer) for i, (case, answer) in numbered[len(wrong_cases) + len(raised):]]
    found = recognise([KnownMistake(m.name, m.explanation, _output_of(m)) for m in by_name.values()],
                      wrong, failed, right)
    return by_name[found.name] if found else None


def _output_of(mistake: Mistake):
    return lambda index, case: mistake.variant(**case)

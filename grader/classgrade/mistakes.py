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
    Mistake("dense_grad_b", "an (n_out, n_out) matrix instead of a vector",
            "grad_output.T @ np.ones_like(grad_output) repeats the right sums in n_out columns; "
            "the matrix broadcasts in b - lr * grad_b and silently turns b into a matrix: "
            "the gradient has the shape of b, np.sum(grad_output, axis=0)",
            lambda x_input, grad_output, W, b: grad_output.T @ np.ones_like(grad_output)),
    Mistake("relu_grad_input", "NaN where x == 0 (divided by x)",
            "grad_output * relu(x) / x is 0 / 0 = NaN wherever x is exactly 0, and most of a "
            "CNN's activations are (MNIST's background): use grad_output * (x > 0)",
            _relu_grad_divided_by_x),
    Mistake("mse_forward", "without the factor 1/2",
            "the course's MSE is mean((pred - true) ** 2) / 2",
            lambda target_pred, target_true: 2 * S.mse_forward(target_pred, target_true)),
    Mistake("l2_regularizer", "without the factor 1/2",
            "the penalty is weight_decay / 2 times the sum of squares",
            lambda weight_decay, weights: 2 * S.l2_regularizer(weight_decay, weights)),
)


def mistakes_for(task_name: str) -> tuple[Mistake, ...]:
    return tuple(m for m in MISTAKES if m.task == task_name)


def name_mistake(task_name: str, wrong_cases: list[tuple[dict, np.ndarray]]) -> Mistake | None:
    """The known mistake that reproduces every wrong answer, or None.

    The rule is :func:`grader.core.mistakes.recognise`, the notebook's own.

    Args:
        task_name: the task.
        wrong_cases: ``(inputs, plain answer)`` for each case the student got wrong
            (with an answer: exceptions and timeouts are not passed).
    """
    by_name = {m.name: m for m in mistakes_for(task_name)}
    found = recognise([KnownMistake(m.name, m.explanation, _output_of(m)) for m in by_name.values()],
                      [(index, inputs, answer) for index, (inputs, answer) in enumerate(wrong_cases)])
    return by_name[found.name] if found else None


def _output_of(mistake: Mistake):
    return lambda index, case: mistake.variant(**case)

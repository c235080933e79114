"""Student submissions for the grader tests, each with something a grader must notice.

Each function carries the graded function's name (AutoMark finds the task by
``__name__``) and makes one mistake students make, or is right in a way that
must not confuse the grader (it mutates its input, returns an ndarray subclass).
"""

import numpy as np

import solutions


def named(name):
    """Give a wrong implementation the graded function's name."""
    def rename(function):
        function.__name__ = function.__qualname__ = name
        return function
    return rename


@named("conv_matrix")
def conv_flipped_kernel(matrix, kernel):
    return solutions.conv_matrix(matrix, kernel[::-1, ::-1])


@named("conv_matrix")
def conv_without_padding(matrix, kernel):
    k_rows, k_cols = kernel.shape
    rows, cols = matrix.shape[0] - k_rows + 1, matrix.shape[1] - k_cols + 1
    out = np.zeros((max(rows, 0), max(cols, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(matrix[i:i + k_rows, j:j + k_cols] * kernel)
    return out


@named("box_blur")
def blur_not_normalised(image, box_size):
    return solutions.conv_matrix(image, np.ones((box_size, box_size)))


@named("maxpool_forward")
def pool_takes_the_minimum(x_input):
    rows, cols = x_input.shape
    return x_input.reshape(rows // 2, 2, cols // 2, 2).min(axis=(1, 3))


@named("flatten_forward")
def flatten_fortran_order(x_input):
    return x_input.reshape(x_input.shape[0], -1, order="F")


@named("hinge_forward")
def hinge_sum_not_mean(target_pred, target_true):
    return float(np.maximum(0.0, 1.0 - target_pred * target_true).sum())


@named("relu_grad_input")
def relu_grad_nan_at_zero(x_input, grad_output):
    """A real submission: right everywhere except 0 / 0 = NaN where x == 0."""
    relu = np.maximum(x_input, 0.0)
    with np.errstate(invalid="ignore"):  # the notebook showed a RuntimeWarning
        return grad_output * relu / x_input


@named("relu_grad_input")
def relu_grad_passes_at_zero(x_input, grad_output):
    """The other subgradient at x == 0: grad_output there. Right."""
    return grad_output * (x_input >= 0)


@named("relu_grad_input")
def relu_grad_twice_at_zero(x_input, grad_output):
    """Neither subgradient convention at x == 0: 2 * grad_output there."""
    return np.where(x_input > 0, grad_output, np.where(x_input == 0, 2 * grad_output, 0.0))


@named("relu_forward")
def relu_wrong_shape(x_input):
    return np.maximum(x_input, 0.0).ravel()


@named("relu_forward")
def relu_nan(x_input):
    out = np.maximum(x_input, 0.0)
    out[0, 0] = np.nan
    return out


@named("relu_forward")
def relu_raises(x_input):
    return x_input[len(x_input) + 10]


@named("relu_forward")
def relu_stub(x_input):
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###


@named("relu_forward")
def relu_in_place(x_input):
    np.maximum(x_input, 0.0, out=x_input)
    return x_input


@named("relu_forward")
def relu_returns_none(x_input):
    np.maximum(x_input, 0.0)


class Liar:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(1)


@named("relu_forward")
def relu_returns_a_liar(x_input):
    return Liar()


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return True

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def view(self, *args, **kwargs):
        return self


@named("relu_forward")
def relu_lying_array_wrong_data(x_input):
    return np.ndarray.view(x_input + 1.0, LyingArray)


@named("relu_forward")
def relu_lying_array_right_data(x_input):
    return np.ndarray.view(np.maximum(x_input, 0.0), LyingArray)


class ClaimsToBeAnArray:
    """Lies about its class: isinstance(x, np.ndarray) is True; converts to [1, 2, 3]."""

    @property
    def __class__(self):
        return np.ndarray

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, 2.0, 3.0])

"""Wrong functions that are right on some inputs: shortcuts no hidden case may let through.

Each entry is a small function a student could hand in that is right for a
degenerate case only (a 1x1 kernel, a symmetric or square one, a batch of one,
an inactive margin, a float image ...), or that returns an input, zeros or a
constant. ``ONE_PHASE_ONLY`` names those no single case can catch.
"""

import numpy as np

import solutions as S


def _ignore(value):
    """A constant function of any arguments."""
    return lambda **case: value


def _first_argument(**case):
    return next(iter(case.values()))


def _zeros_like_first(**case):
    return np.zeros_like(np.asarray(_first_argument(**case), dtype=float))


COMMON = {"returns its first argument": _first_argument, "zeros": _zeros_like_first,
          "the number 0": _ignore(0.0), "the number 1": _ignore(1.0)}


def _conv_by_loop(pad_rows, pad_cols):
    """The lesson's loop with the padding given by a rule of the student's."""
    def conv(matrix, kernel):
        p, q = pad_rows(kernel), pad_cols(kernel)
        padded = np.pad(np.asarray(matrix, dtype=float), ((p, p), (q, q)))
        out = np.zeros(matrix.shape)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                out[i, j] = np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
        return out
    return conv


def _conv_square_matrix_only(matrix, kernel):
    """``for i in range(n): for j in range(n)`` with ``n = matrix.shape[0]``."""
    n = matrix.shape[0]
    if n > matrix.shape[1]:
        raise IndexError(f"index {matrix.shape[1]} is out of bounds for axis 1")
    out = np.zeros(matrix.shape)
    out[:n, :n] = S.conv_matrix(matrix, kernel)[:n, :n]
    return out


def _conv_mode(mode):
    def conv(matrix, kernel):
        p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
        padded = np.pad(np.asarray(matrix, dtype=float), ((p, p), (q, q)), mode=mode)
        return S.conv_matrix(padded, kernel)[p:p + matrix.shape[0], q:q + matrix.shape[1]]
    return conv


def _conv_zeros_like(matrix, kernel):
    out = np.zeros_like(matrix)
    out[...] = S.conv_matrix(matrix, kernel)
    return out


def _blur_count_normalised(image, box_size):
    ones = np.ones(np.shape(image))
    kernel = np.ones((box_size, box_size))
    return S.conv_matrix(image, kernel) / S.conv_matrix(ones, kernel)


def _pool(pick):
    def pool(x_input):
        h, w = x_input.shape
        return pick(x_input.reshape(h // 2, 2, w // 2, 2))
    return pool


def _pool_square_only(x_input):
    """``out = np.zeros((n, n))`` and two loops over ``range(n)``, ``n = height // 2``."""
    n = x_input.shape[0] // 2
    if 2 * n > x_input.shape[1]:
        raise IndexError(f"index {x_input.shape[1]} is out of bounds for axis 1")
    return S.maxpool_forward(x_input)[:n, :n]


def _dropout(training, test):
    def dropout(x_input, mask, drop_rate, training_phase):
        return (training if training_phase else test)(x_input, mask, drop_rate)
    return dropout


SHORTCUTS = {
    "conv_matrix": {
        "1x1 kernels only (matrix * kernel[0, 0])": lambda matrix, kernel: matrix * kernel[0, 0],
        "symmetric kernels only (kernel flipped)":
            lambda matrix, kernel: S.conv_matrix(matrix, kernel[::-1, ::-1]),
        "square kernels only (p used for both sides)": _conv_by_loop(lambda k: k.shape[0] // 2,
                                                                     lambda k: k.shape[0] // 2),
        "square kernels only (kernel transposed)": lambda matrix, kernel: S.conv_matrix(matrix, kernel.T),
        "kernels up to 3x3 only (padding 1)": _conv_by_loop(lambda k: 1, lambda k: 1),
        "square matrices only": _conv_square_matrix_only,
        "reflected border (scipy's default)": _conv_mode("reflect"),
        "repeated border": _conv_mode("edge"),
        "float images only (np.zeros_like(matrix))": _conv_zeros_like,
        "identity": lambda matrix, kernel: matrix,
        "sum of the matrix times the kernel's sum":
            lambda matrix, kernel: np.full(matrix.shape, float(np.sum(matrix) * np.sum(kernel))),
    },
    "box_blur": {
        "box_size 1 only (identity)": lambda image, box_size: image,
        "box_size 3 only": lambda image, box_size: S.box_blur(image, 3),
        "not normalised": lambda image, box_size: S.box_blur(image, box_size) * box_size ** 2,
        "divided by the pixels inside the image": _blur_count_normalised,
        "the image's mean everywhere": lambda image, box_size: np.full(np.shape(image), np.mean(image)),
        "float images only (np.zeros_like(image))":
            lambda image, box_size: _conv_zeros_like(image, np.ones((box_size, box_size)) / box_size ** 2),
    },
    "maxpool_forward": {
        "top-left of each window": _pool(lambda w: w[:, 0, :, 0]),
        "bottom-right of each window": _pool(lambda w: w[:, 1, :, 1]),
        "largest absolute value": _pool(lambda w: np.max(np.abs(w), axis=(1, 3))),
        "square inputs only (n = height // 2 for both sides)": _pool_square_only,
        "the largest value everywhere":
            lambda x_input: np.full((x_input.shape[0] // 2, x_input.shape[1] // 2), x_input.max()),
    },
    "flatten_forward": {
        "batch of one only": lambda x_input: x_input[:1].reshape(1, -1),
        "rows and columns swapped": lambda x_input: x_input.transpose(0, 1, 3, 2).reshape(len(x_input), -1),
        "flattened whole": lambda x_input: x_input.reshape(-1, len(x_input)),
    },
    "flatten_grad_input": {
        "rows and columns swapped": lambda x_input, grad_output: grad_output.reshape(
            x_input.shape[0], x_input.shape[1], x_input.shape[3], x_input.shape[2]).transpose(0, 1, 3, 2),
        "channels last": lambda x_input, grad_output: grad_output.reshape(
            x_input.shape[0], *x_input.shape[2:], x_input.shape[1]).transpose(0, 3, 1, 2),
    },
    "dense_forward": {
        "no bias": lambda x_input, W, b: x_input @ W,
        "square weights only (W.T)": lambda x_input, W, b: x_input @ W.T + b,
        "batch of one only": lambda x_input, W, b: (x_input[:1] @ W + b),
    },
    "dense_grad_input": {
        "square weights only (grad_output @ W)": lambda x_input, grad_output, W, b: grad_output @ W,
        "grad_output returned": lambda x_input, grad_output, W, b: grad_output,
    },
    "dense_grad_W": {
        "W returned": lambda x_input, grad_output, W, b: W,
        "batch of one only": lambda x_input, grad_output, W, b: np.outer(x_input[0], grad_output[0]),
    },
    "dense_grad_b": {
        "b returned": lambda x_input, grad_output, W, b: b,
        "batch of one only": lambda x_input, grad_output, W, b: grad_output[0],
        "summed over the outputs": lambda x_input, grad_output, W, b: grad_output.sum(axis=1),
    },
    "relu_forward": {
        "absolute value": lambda x_input: np.abs(x_input),
        "clipped to [0, 1]": lambda x_input: np.clip(x_input, 0, 1),
    },
    "relu_grad_input": {
        "grad_output returned": lambda x_input, grad_output: grad_output,
        "relu of grad_output": lambda x_input, grad_output: np.maximum(grad_output, 0),
        "the mask alone": lambda x_input, grad_output: (x_input > 0).astype(float),
        "x * grad_output": lambda x_input, grad_output: x_input * grad_output,
    },
    "hinge_forward": {
        "margin 0 (max(0, -pred * true))":
            lambda target_pred, target_true: float(np.mean(np.maximum(0, -target_pred * target_true))),
        "largest loss": lambda target_pred, target_true: float(
            np.max(np.maximum(0, 1 - target_pred * target_true))),
    },
    "hinge_grad_input": {
        "margin ignored (-true / n)": lambda target_pred, target_true: -target_true / len(target_true),
        "sign flipped": lambda target_pred, target_true: -S.hinge_grad_input(target_pred, target_true),
        "the active margins' mask": lambda target_pred, target_true: (
            1 - target_pred * target_true > 0).astype(float),
    },
    "mse_forward": {
        "sum instead of mean": lambda target_pred, target_true: float(
            np.sum((target_pred - target_true) ** 2) / 2),
        "mean absolute error": lambda target_pred, target_true: float(
            np.mean(np.abs(target_pred - target_true))),
    },
    "mse_grad_input": {
        "without the 1 / n": lambda target_pred, target_true: target_pred - target_true,
        "sign flipped": lambda target_pred, target_true: (target_true - target_pred) / len(target_pred),
    },
    "dropout_forward": {
        "inverted dropout": _dropout(lambda x, m, p: x * m / (1 - p), lambda x, m, p: x),
    },
    "dropout_grad_input": {
        "the mask alone": lambda x_input, grad_output, mask: mask.astype(float),
        "x * mask": lambda x_input, grad_output, mask: x_input * mask,
        "grad_output returned": lambda x_input, grad_output, mask: grad_output,
    },
    "l2_regularizer": {
        "weight_decay ignored": lambda weight_decay, weights: S.l2_regularizer(1.0, weights),
        "norm not squared": lambda weight_decay, weights: weight_decay / 2 * float(np.sqrt(
            sum(np.sum(np.square(w)) for w in (weights if isinstance(weights, list) else [weights])))),
        "rounded to 2 decimals": lambda weight_decay, weights: round(
            S.l2_regularizer(weight_decay, weights), 2),
        "first array only": lambda weight_decay, weights: S.l2_regularizer(
            weight_decay, weights[0] if isinstance(weights, list) else weights[:1]),
    },
}

# No one case catches these: a case holds one training_phase (class grading's hidden set
# holds both), and AutoMark's JSON cannot carry a list of arrays (class grading's cases can).
ONE_PHASE_ONLY = {
    "dropout_forward": {
        "training phase only (always x * mask)":
            lambda x_input, mask, drop_rate, training_phase: x_input * mask,
        "test phase only (always x * (1 - drop_rate))":
            lambda x_input, mask, drop_rate, training_phase: x_input * (1 - drop_rate),
        "mask applied at test time too": _dropout(lambda x, m, p: x * m, lambda x, m, p: x * m * (1 - p)),
    },
}
# Known mistakes of the catalogue no one server case can catch, for the same reasons.
MISTAKES_ONE_CASE_MISSES = {"l2_regularizer": {"the list of weights treated as one array"}}


def shortcuts_for(task_name: str) -> dict:
    """``{name: function}``: the common shortcuts and the task's own."""
    return {**COMMON, **SHORTCUTS.get(task_name, {})}

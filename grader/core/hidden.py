"""Hidden cases: a family of inputs on which no shortcut and no known mistake passes.

The server judges one hidden case per round and completes a function on the
first right answer, so every single hidden case has to tell a right function
from a wrong one. A 1x1 kernel lets ``matrix * kernel[0, 0]`` through, a 3x3
one a padding fixed at 1, a symmetric one the flipped kernel, a square one
code that mixes up rows and columns, a batch of one code that forgets the
batch, a float image an output built with ``np.zeros_like`` of an integer one.
Each generator below draws from a family that excludes those by construction:

* shapes: every two sides that could be confused differ (rows != cols, of
  different parity; ``n``, ``n_in``, ``n_out`` distinct; batches of 2 or more);
* kernels and boxes: odd sides of which at least one is 5 or more, non-square
  kernels; random values, so never symmetric;
* values: exact zeros, negatives, active and inactive margins, a maximum off
  the window's corner, placed on purpose rather than left to chance;
* dtypes: ``conv_matrix`` and ``box_blur`` get integer images (uint8 with a
  kernel that keeps the output in 0..255, or int64) and float kernels, as the
  course's notebook passes them; hinge labels are int64 or float.

``tests/grader/test_hidden_cases.py`` holds the table of shortcuts and the
mistakes catalogue these must catch, over hundreds of seeds. Two wrong
functions no single case can catch are named there: a ``dropout_forward`` that
handles one ``training_phase`` only (a case holds one phase; class grading's
hidden set holds both), and an ``l2_regularizer`` that treats the list of
weights as one array (AutoMark's JSON cannot carry a list; class grading's can).
"""

from __future__ import annotations

import numpy as np

WIDE_KERNELS = ((1, 5), (5, 1), (3, 5), (5, 3), (1, 7), (7, 1), (3, 7), (7, 3), (5, 7), (7, 5))
BOX_SIZES = (5, 7, 9)


def _values(rng, *shape):
    return rng.uniform(-10.0, 10.0, size=shape)


def _distinct(rng, count: int, low: int = 2, high: int = 6) -> list[int]:
    """``count`` different integers in [low, high]."""
    return [int(v) for v in rng.permutation(np.arange(low, high + 1))[:count]]


def _sides(rng, low: int = 2, high: int = 7, *, even: bool = False) -> tuple[int, int]:
    """(rows, cols), rows != cols; of different parity, or both even when ``even``."""
    if even:
        rows, cols = _distinct(rng, 2, low // 2, high // 2)
        return 2 * rows, 2 * cols
    rows = int(rng.integers(low, high + 1))
    others = [v for v in range(low, high + 1) if v % 2 != rows % 2]
    return rows, int(rng.choice(others))


def _image(rng, rows: int, cols: int) -> np.ndarray:
    """An integer image: uint8 or int64, values 0..255."""
    dtype = np.uint8 if rng.random() < 0.5 else np.int64
    return rng.integers(0, 256, size=(rows, cols)).astype(dtype)


# --------------------------------------------------------------- week 2
def _dense(rng, with_grad: bool = True) -> dict:
    n, n_in, n_out = _distinct(rng, 3)
    case = {"x_input": _values(rng, n, n_in), "grad_output": _values(rng, n, n_out),
            "W": _values(rng, n_in, n_out), "b": _values(rng, n_out)}
    if not with_grad:
        del case["grad_output"]
    return case


def dense_forward(rng):
    return _dense(rng, with_grad=False)


dense_grad_input = dense_grad_W = dense_grad_b = _dense


def relu_forward(rng):
    x_input = _values(rng, *_sides(rng))
    x_input.flat[0] = -rng.uniform(1.0, 10.0)   # identity and abs fail here
    x_input.flat[1] = rng.uniform(2.0, 10.0)    # zeros and a clip at 1 fail here
    return {"x_input": x_input}


def relu_grad_input(rng):
    shape = _sides(rng)
    x_input, grad_output = _values(rng, *shape), _values(rng, *shape)
    x_input.flat[0], grad_output.flat[0] = rng.uniform(2.0, 10.0), -rng.uniform(1.0, 10.0)
    x_input.flat[1], grad_output.flat[1] = -rng.uniform(1.0, 10.0), rng.uniform(1.0, 10.0)
    x_input.flat[-1] = 0.0                      # 0 / 0 is NaN here
    return {"x_input": x_input, "grad_output": grad_output}


def _margins(rng) -> dict:
    """Labels of both signs; one margin inactive (pred * true > 1), one in (0, 1), one < 0."""
    n = int(rng.integers(5, 9))
    true = rng.choice([-1.0, 1.0], size=n)
    true[:2] = (1.0, -1.0)
    products = rng.uniform(-3.0, 3.0, size=n)
    products[2:5] = rng.uniform(1.5, 5.0), rng.uniform(0.1, 0.9), -rng.uniform(0.5, 5.0)
    order = rng.permutation(n)
    true, pred = true[order], (products * true)[order]
    if rng.random() < 0.5:
        true = true.astype(np.int64)           # labels built with np.where(..., 1, -1)
    return {"target_pred": pred, "target_true": true}


hinge_forward = hinge_grad_input = _margins


def _regression(rng) -> dict:
    n = int(rng.integers(3, 9))
    return {"target_pred": _values(rng, n), "target_true": _values(rng, n)}


mse_forward = mse_grad_input = _regression


def _mask(rng, shape) -> np.ndarray:
    mask = rng.integers(0, 2, size=shape)
    mask.flat[0], mask.flat[1] = 0, 1
    return mask


def dropout_forward(rng):
    shape = _sides(rng)
    return {"x_input": _values(rng, *shape), "mask": _mask(rng, shape),
            "drop_rate": float(rng.uniform(0.1, 0.9)), "training_phase": bool(rng.integers(2))}


def dropout_grad_input(rng):
    shape = _sides(rng)
    return {"x_input": _values(rng, *shape), "grad_output": _values(rng, *shape),
            "mask": _mask(rng, shape)}


def l2_regularizer(rng):
    """Half of the cases a list of arrays of different shapes, half one 3-D array.

    ``weight_decay`` is chosen so that the penalty lies 0.004 past a multiple of
    0.01: an answer rounded to two decimals is off by far more than the tolerance.
    """
    if rng.random() < 0.5:
        shapes = [(int(rng.integers(2, 5)), int(rng.integers(2, 5))), (int(rng.integers(2, 6)),),
                  (int(rng.integers(1, 3)), 2, 3, 3)]
        weights = [rng.uniform(-1.0, 1.0, size=s) for s in shapes]
    else:
        weights = rng.uniform(-1.0, 1.0, size=tuple(_distinct(rng, 3, 2, 4)))
    squares = float(sum(np.sum(np.square(w)) for w in (weights if isinstance(weights, list)
                                                       else [weights])))
    target = np.floor(rng.uniform(0.05, 0.45) * squares * 100) / 100 + 0.004
    return {"weight_decay": float(2 * target / squares), "weights": weights}


# --------------------------------------------------------------- week 3
def conv_matrix(rng):
    """An integer image, a wide non-square kernel of random floats."""
    matrix = _image(rng, *_sides(rng, 3, 8))
    shape = WIDE_KERNELS[int(rng.integers(len(WIDE_KERNELS)))]
    if matrix.dtype == np.uint8:  # a weighted mean: the output stays in 0..255
        kernel = rng.uniform(0.05, 1.0, size=shape)
        kernel /= kernel.sum()
    else:
        kernel = rng.uniform(-2.0, 2.0, size=shape)
    return {"matrix": matrix, "kernel": kernel}


def box_blur(rng):
    """The top-left pixel is set so that its box's sum leaves half a box over: the mean there
    ends in about .5, which an integer output cannot hold."""
    box_size = int(BOX_SIZES[int(rng.integers(len(BOX_SIZES)))])
    image = _image(rng, *_sides(rng, 3, 10))
    reach, area = box_size // 2 + 1, box_size ** 2
    others = int(np.sum(image[:reach, :reach], dtype=np.int64)) - int(image[0, 0])
    image[0, 0] = (area // 2 - others) % area
    return {"image": image, "box_size": box_size}


def maxpool_forward(rng):
    """Window (0, 0) has its maximum top right; the window beside or below it only negative values."""
    x_input = _values(rng, *_sides(rng, 2, 8, even=True))
    first = x_input[:2, :2]
    top = np.unravel_index(np.argmax(first), (2, 2))
    first[0, 1], first[top] = first[top], first[0, 1]
    second = x_input[:2, 2:4] if x_input.shape[1] >= 4 else x_input[2:4, :2]
    second[...] = -np.abs(second) - 0.5
    return {"x_input": x_input}


def _batch(rng) -> np.ndarray:
    n, channels = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    return _values(rng, n, channels, *_sides(rng, 2, 5))


def flatten_forward(rng):
    return {"x_input": _batch(rng)}


def flatten_grad_input(rng):
    x_input = _batch(rng)
    return {"x_input": x_input, "grad_output": _values(rng, x_input.shape[0], x_input[0].size)}


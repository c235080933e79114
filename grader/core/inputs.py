"""Random inputs for every graded function, shaped like AutoMark's cases.

Each generator takes an ``np.random.Generator`` and returns a dict keyed by
argument name. ``EDGES`` holds targeted edge cases (1x1 and non-square
kernels, kernels larger than the matrix, single rows, batches of one ...),
which every run includes before the random cases. Every task's edge cases
also hold exact zeros, ties and small integers stored as floats, which
uniform random values never produce: a ReLU gradient computed as
``grad_output * relu(x) / x`` is NaN exactly where x == 0, and in a CNN most
of a layer's inputs are exactly 0 (MNIST's background).

Where a real caller passes other dtypes, an edge case does too: integer images
(uint8 and int64, with float kernels) to ``conv_matrix``, ``box_blur`` and
``maxpool_forward``, int64 labels (``np.where(y == 3, 1, -1)``) to the hinge
loss, boolean masks (``rng.random(shape) > p``) to dropout. An output built
with ``np.zeros_like(matrix)`` is then an integer array, truncated.
"""

from __future__ import annotations

import numpy as np


def _values(rng, *shape):
    return rng.uniform(-10.0, 10.0, size=shape)


def _size(rng, low=1, high=6):
    return int(rng.integers(low, high + 1))


_SMALL_INTEGERS = np.array([0.0, 1.0, -1.0, 2.0, -2.0])


def _integers(rng, *shape):
    """Small integers stored as floats, shuffled: always an exact 0, ties past 5 values."""
    size = int(np.prod(shape))
    return rng.permutation(np.resize(_SMALL_INTEGERS, size)).reshape(shape)


def _image(rng, rows, cols, dtype):
    """An integer image, values 0..255, like the photographs and digits of the lesson."""
    return rng.integers(0, 256, size=(rows, cols)).astype(dtype)


def _weighted_mean(rng, *shape):
    """A kernel of positive weights summing to 1: on a uint8 image the output stays in 0..255."""
    kernel = rng.uniform(0.05, 1.0, size=shape)
    return kernel / kernel.sum()


def _mostly_zeros(rng, *shape, share=0.7):
    """Random values, ``share`` of them exactly 0, like a conv layer's output on MNIST."""
    size = int(np.prod(shape))
    zero = (rng.permutation(size) < round(share * size)).reshape(shape)
    return np.where(zero, 0.0, _values(rng, *shape))


# --------------------------------------------------------------- week 2
def _dense_args(rng, n=None, n_in=None, n_out=None):
    n, n_in, n_out = n or _size(rng), n_in or _size(rng), n_out or _size(rng)
    return {"x_input": _values(rng, n, n_in), "grad_output": _values(rng, n, n_out),
            "W": _values(rng, n_in, n_out), "b": _values(rng, n_out)}


def dense_forward(rng):
    args = _dense_args(rng)
    del args["grad_output"]
    return args


def dense_grad_input(rng):
    return _dense_args(rng)


dense_grad_W = dense_grad_b = dense_grad_input


def relu_forward(rng):
    return {"x_input": _values(rng, _size(rng), _size(rng))}


def relu_grad_input(rng):
    shape = (_size(rng), _size(rng))
    return {"x_input": _values(rng, *shape), "grad_output": _values(rng, *shape)}


def _targets(rng, n=None, labels=False):
    n = n or _size(rng)
    true = rng.choice([-1.0, 1.0], size=n) if labels else _values(rng, n)
    return {"target_pred": _values(rng, n), "target_true": true}


def hinge_forward(rng):
    return _targets(rng, labels=True)


hinge_grad_input = hinge_forward


def mse_forward(rng):
    return _targets(rng)


mse_grad_input = mse_forward


def dropout_forward(rng):
    shape = (_size(rng), _size(rng))
    return {"x_input": _values(rng, *shape), "mask": rng.integers(0, 2, size=shape),
            "drop_rate": float(rng.uniform(0.0, 1.0)), "training_phase": bool(rng.integers(2))}


def dropout_grad_input(rng):
    shape = (_size(rng), _size(rng))
    return {"x_input": _values(rng, *shape), "grad_output": _values(rng, *shape),
            "mask": rng.integers(0, 2, size=shape)}


def l2_regularizer(rng):
    weight_decay = float(rng.uniform(0.0, 1.0))
    if rng.random() < 0.5:
        return {"weight_decay": weight_decay,
                "weights": _values(rng, _size(rng), _size(rng), _size(rng))}
    shapes = [(_size(rng), _size(rng)), (_size(rng),), (_size(rng), _size(rng), 3, 3)]
    return {"weight_decay": weight_decay, "weights": [_values(rng, *s) for s in shapes]}


# --------------------------------------------------------------- week 3
def _odd(rng, high=3):
    return int(rng.choice(np.arange(1, high + 1, 2)))


def conv_matrix(rng):
    return {"matrix": _values(rng, _size(rng, 1, 7), _size(rng, 1, 7)),
            "kernel": _values(rng, _odd(rng, 5), _odd(rng, 5))}


def box_blur(rng):
    box_size = _odd(rng, 13)
    extra = rng.integers(-2, 5, size=2)
    rows, cols = np.maximum(box_size + extra, 1)
    return {"image": _values(rng, int(rows), int(cols)), "box_size": box_size}


def maxpool_forward(rng):
    return {"x_input": _values(rng, 2 * _size(rng), 2 * _size(rng))}


def flatten_forward(rng):
    return {"x_input": _values(rng, _size(rng), _size(rng), _size(rng), _size(rng))}


def flatten_grad_input(rng):
    x_input = _values(rng, _size(rng), _size(rng), _size(rng), _size(rng))
    return {"x_input": x_input, "grad_output": _values(rng, x_input.shape[0], x_input[0].size)}


# ------------------------------------------------------------ edge cases
# New edge cases are appended, so the earlier ones keep their shapes and values.
def _conv_edges(rng):
    pairs = [((1, 1), (1, 1)), ((1, 5), (1, 3)), ((5, 1), (3, 1)), ((4, 6), (3, 5)),
             ((2, 3), (5, 5)), ((3, 3), (7, 1)), ((6, 5), (1, 1))]
    cases = [{"matrix": _values(rng, *m), "kernel": _values(rng, *k)} for m, k in pairs]
    worked = np.array([[1.0, 2, 3], [2, 3, 4], [3, 4, 5]])
    cases.append({"matrix": worked, "kernel": np.diag([1.0, 1.0, 2.0])})
    cases.append({"matrix": _integers(rng, 6, 5), "kernel": _integers(rng, 5, 5)})
    cases.append({"matrix": _integers(rng, 1, 7), "kernel": _integers(rng, 1, 5)})
    cases.append({"matrix": _image(rng, 5, 6, np.int64), "kernel": _values(rng, 3, 5) / 10})
    cases.append({"matrix": _image(rng, 6, 4, np.uint8), "kernel": _weighted_mean(rng, 5, 3)})
    return cases


def _blur_edges(rng):
    worked = np.array([[9.0, 0, 9], [0, 0, 0], [9, 0, 9]])
    return [{"image": worked, "box_size": 3}, {"image": _values(rng, 1, 1), "box_size": 1},
            {"image": _values(rng, 1, 7), "box_size": 3}, {"image": _values(rng, 4, 2), "box_size": 5},
            {"image": np.abs(_integers(rng, 6, 5)), "box_size": 5},
            {"image": _integers(rng, 7, 1), "box_size": 3},
            {"image": _image(rng, 6, 7, np.uint8), "box_size": 5},
            {"image": _image(rng, 4, 5, np.int64), "box_size": 3}]


def _pool_edges(rng):
    tied = np.repeat(_integers(rng, 2, 6), 2, axis=0)  # every window holds its maximum twice
    return [{"x_input": _values(rng, 2, 2)}, {"x_input": _values(rng, 2, 10)},
            {"x_input": -np.abs(_values(rng, 6, 4))}, {"x_input": tied},
            {"x_input": np.maximum(_integers(rng, 6, 2), 0.0)},
            {"x_input": _image(rng, 4, 6, np.uint8)}]


def _flatten_edges(rng):
    shapes = [(1, 1, 1, 1), (1, 3, 2, 4), (5, 1, 6, 1)]
    cases = [{"x_input": _values(rng, *s)} for s in shapes]
    return cases + [{"x_input": _integers(rng, 2, 3, 2, 2)}]


def _flatten_grad_edges(rng):
    xs = [case["x_input"] for case in _flatten_edges(rng)]
    grads = [_values(rng, x.shape[0], x[0].size) for x in xs[:-1]] + [_integers(rng, 2, 12)]
    return [{"x_input": x, "grad_output": g} for x, g in zip(xs, grads)]


def _dense_edges(rng):
    cases = [_dense_args(rng, 1, 1, 1), _dense_args(rng, 1, 6, 3), _dense_args(rng, 6, 1, 5)]
    cases.append({"x_input": _integers(rng, 4, 3), "grad_output": _integers(rng, 4, 3),
                  "W": _integers(rng, 3, 3), "b": np.zeros(3)})  # square: grad_W.T fits too
    return cases


def _dense_forward_edges(rng):
    cases = _dense_edges(rng)
    for case in cases:
        del case["grad_output"]
    return cases


def _relu_edges(rng):
    return [{"x_input": _integers(rng, 4, 5)}, {"x_input": _mostly_zeros(rng, 6, 6)},
            {"x_input": _integers(rng, 1, 6)}, {"x_input": np.zeros((5, 1))}]


def _relu_grad_edges(rng):
    return [{"x_input": x, "grad_output": _values(rng, *x.shape)}
            for x in [case["x_input"] for case in _relu_edges(rng)]]


def _hinge_edges(rng):
    true = np.array([1.0, -1.0, 1.0, -1.0])
    return [{"target_pred": np.array([1.0, -1.0, 0.5, 2.0]), "target_true": true},
            _targets(rng, 1, labels=True),
            {"target_pred": _integers(rng, 7), "target_true": rng.choice([-1.0, 1.0], size=7)},
            {"target_pred": np.zeros(3), "target_true": np.array([1.0, -1.0, 1.0])},
            {"target_pred": np.array([2.0, -0.5, 0.25, -3.0, 1.5, 0.75]),
             "target_true": np.array([1, -1, -1, -1, 1, 1], dtype=np.int64)}]


def _mse_edges(rng):
    pred = _integers(rng, 5)
    return [{"target_pred": pred, "target_true": pred.copy()},  # a perfect prediction
            {"target_pred": _integers(rng, 6), "target_true": _integers(rng, 6)},
            {"target_pred": np.zeros(1), "target_true": np.array([2.0])}]


def _l2_edges(rng):
    return [{"weight_decay": 0.5, "weights": [_values(rng, 3, 4), _values(rng, 4)]},
            {"weight_decay": 0.1, "weights": _values(rng, 2, 3, 4)},
            {"weight_decay": 1.0,
             "weights": [_integers(rng, 1, 5), np.zeros(3), _integers(rng, 4, 1)]},
            {"weight_decay": 0.0, "weights": _integers(rng, 2, 3, 3)}]


def _dropout_edges(rng):
    x_input = _values(rng, 3, 4)
    mask = rng.integers(0, 2, size=(3, 4))
    return [{"x_input": x_input, "mask": mask, "drop_rate": 0.25, "training_phase": True},
            {"x_input": x_input, "mask": mask, "drop_rate": 0.25, "training_phase": False},
            {"x_input": _integers(rng, 1, 6), "mask": rng.integers(0, 2, size=(1, 6)),
             "drop_rate": 0.0, "training_phase": False},
            {"x_input": _integers(rng, 5, 1), "mask": np.zeros((5, 1), dtype=np.int64),
             "drop_rate": 0.5, "training_phase": True},
            {"x_input": _values(rng, 3, 5), "mask": rng.random((3, 5)) > 0.5,
             "drop_rate": 0.5, "training_phase": True}]


def _dropout_grad_edges(rng):
    return [{"x_input": _integers(rng, 3, 4), "grad_output": _integers(rng, 3, 4),
             "mask": rng.integers(0, 2, size=(3, 4))},
            {"x_input": _values(rng, 1, 5), "grad_output": _values(rng, 1, 5),
             "mask": np.zeros((1, 5), dtype=np.int64)},
            {"x_input": _values(rng, 4, 1), "grad_output": _integers(rng, 4, 1),
             "mask": np.ones((4, 1), dtype=np.int64)},
            {"x_input": _values(rng, 2, 6), "grad_output": _values(rng, 2, 6),
             "mask": rng.random((2, 6)) > 0.5}]


EDGES = {
    "conv_matrix": _conv_edges, "box_blur": _blur_edges, "maxpool_forward": _pool_edges,
    "flatten_forward": _flatten_edges, "flatten_grad_input": _flatten_grad_edges,
    "dense_forward": _dense_forward_edges, "dense_grad_input": _dense_edges,
    "dense_grad_W": _dense_edges, "dense_grad_b": _dense_edges,
    "relu_forward": _relu_edges, "relu_grad_input": _relu_grad_edges,
    "hinge_forward": _hinge_edges, "hinge_grad_input": _hinge_edges,
    "l2_regularizer": _l2_edges, "dropout_forward": _dropout_edges,
    "dropout_grad_input": _dropout_grad_edges,
    "mse_forward": _mse_edges, "mse_grad_input": _mse_edges,
}

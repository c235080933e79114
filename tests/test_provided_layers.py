"""The layers the notebook provides (ConvLayer, MaxPool2x2, FlattenLayer), taken
from the notebook itself and checked against plain loops and numerical gradients;
and their guards: a student function that returns the wrong shape is named in a
one-line error, not met as a reshape error deep inside the network."""

import re

import numpy as np
import pytest
from notebook_support import provided_namespace

import solutions
from gradient_check import numerical_gradient, rel_error

KERNELS = [3, 1, (1, 3), (3, 1), (5, 3), (3, 5)]


@pytest.fixture(scope="module")
def provided():
    return provided_namespace()


def loop_conv_layer(x, W, b):
    """The definition, one conv_matrix per (object, output, input) channel."""
    n, n_in, h, w = x.shape
    out = np.zeros((n, W.shape[0], h, w))
    for i in range(n):
        for o in range(W.shape[0]):
            out[i, o] = b[o] + sum(solutions.conv_matrix(x[i, c], W[o, c]) for c in range(n_in))
    return out


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n_in, n_out", [(1, 2), (3, 1), (2, 4)])
def test_conv_forward_matches_the_definition_and_uses_the_bias(provided, kernel, n_in, n_out):
    rng = np.random.default_rng(11)
    layer = provided["ConvLayer"](n_in, n_out, kernel, rng=rng)
    layer.b = rng.normal(size=n_out)
    x = rng.normal(size=(3, n_in, 5, 6))
    np.testing.assert_allclose(layer.forward(x), loop_conv_layer(x, layer.W, layer.b), atol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
def test_conv_backward_matches_numerical_gradients(provided, kernel):
    rng = np.random.default_rng(12)
    layer = provided["ConvLayer"](2, 3, kernel, rng=rng)
    layer.b = rng.normal(size=3)
    x = rng.normal(size=(2, 2, 4, 5))
    weights = rng.normal(size=(2, 3, 4, 5))

    def loss():
        return float(np.sum(layer.forward(x) * weights))

    grad_x = layer.backward(x, weights)
    assert rel_error(grad_x, numerical_gradient(loss, x)) < 1e-7
    assert rel_error(layer.grad_W, numerical_gradient(loss, layer.W)) < 1e-7
    assert rel_error(layer.grad_b, numerical_gradient(loss, layer.b)) < 1e-7


def test_conv_kernel_larger_than_the_image(provided):
    rng = np.random.default_rng(13)
    layer = provided["ConvLayer"](1, 1, 5, rng=rng)
    x = rng.normal(size=(1, 1, 2, 3))
    np.testing.assert_allclose(layer.forward(x), loop_conv_layer(x, layer.W, layer.b), atol=1e-12)


@pytest.mark.parametrize("size", [2, (3, 4), (2, 2)])
def test_conv_refuses_even_kernels(provided, size):
    with pytest.raises(ValueError, match="odd"):
        provided["ConvLayer"](1, 1, size)


def test_maxpool_layer_matches_the_reference_both_ways(provided):
    rng = np.random.default_rng(14)
    pool = provided["MaxPool2x2"]()
    x = rng.normal(size=(3, 2, 6, 8))
    grad_out = rng.normal(size=(3, 2, 3, 4))
    np.testing.assert_array_equal(pool.forward(x), solutions.maxpool_forward(x))
    np.testing.assert_array_equal(pool.backward(x, grad_out), solutions.maxpool_grad_input(x, grad_out))
    numeric = numerical_gradient(lambda: float(np.sum(pool.forward(x) * grad_out)), x)
    assert rel_error(pool.backward(x, grad_out), numeric) < 1e-8


def test_maxpool_backward_sends_each_gradient_to_its_own_window():
    """The bug the course shipped: gradients in the wrong cells. One hot cell per window."""
    rng = np.random.default_rng(15)
    pool = provided_namespace()["MaxPool2x2"]()
    x = rng.normal(size=(2, 3, 4, 6))
    grad_in = pool.backward(x, np.ones((2, 3, 2, 3)))
    windows = grad_in.reshape(2, 3, 2, 2, 3, 2)
    assert np.all(windows.sum(axis=(3, 5)) == 1)
    assert np.all((grad_in == 1) == (x == np.repeat(np.repeat(pool.forward(x), 2, 2), 2, 3)))


def test_maxpool_layer_needs_only_a_two_dimensional_student_function():
    def strict_maxpool_forward(x_input):
        if x_input.ndim != 2:
            raise ValueError("only matrices")
        h, w = x_input.shape
        return x_input.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))

    pool = provided_namespace({"maxpool_forward": strict_maxpool_forward})["MaxPool2x2"]()
    x = np.random.default_rng(16).normal(size=(4, 3, 6, 4))
    np.testing.assert_array_equal(pool.forward(x), solutions.maxpool_forward(x))


def test_maxpool_layer_refuses_odd_sizes(provided):
    with pytest.raises(ValueError, match="even"):
        provided["MaxPool2x2"]().forward(np.zeros((1, 1, 5, 4)))


def test_flatten_layer_round_trip(provided):
    layer = provided["FlattenLayer"]()
    x = np.random.default_rng(17).normal(size=(2, 3, 4, 5))
    flat = layer.forward(x)
    assert flat.shape == (2, 60)
    np.testing.assert_array_equal(layer.backward(x, flat), x)


def test_cnn_shapes_and_a_training_step_lowers_the_loss(provided):
    rng = np.random.default_rng(18)
    model = provided["build_cnn"](rng)
    x = rng.random((8, 1, 28, 28))
    y = rng.choice([-1, 1], size=8)
    loss = provided["Hinge"]()
    optimizer = provided["SGD"](model, learning_rate=0.05)
    before = loss.forward(model.forward(x), y)
    for _ in range(5):
        prediction = model.forward(x)
        assert prediction.shape == (8, 1)
        model.backward(x, loss.backward(prediction, y))
        optimizer.update_params()
    assert loss.forward(model.forward(x), y) < before


def test_conv_results_stay_independent_across_calls_and_batch_sizes(provided):
    rng = np.random.default_rng(19)
    layer = provided["ConvLayer"](2, 3, 3, rng=rng)
    layer.b = rng.normal(size=3)
    batches = [rng.normal(size=(n, 2, 6, 5)) for n in (4, 1, 4)]
    grads = [rng.normal(size=(n, 3, 6, 5)) for n in (4, 1, 4)]
    outputs, grad_inputs = [], []
    for x, g in zip(batches, grads):
        outputs.append(layer.forward(x))
        grad_inputs.append(layer.backward(x, g))
    for x, g, out, grad_in in zip(batches, grads, outputs, grad_inputs):
        np.testing.assert_allclose(out, loop_conv_layer(x, layer.W, layer.b), atol=1e-12)
        fresh = provided["ConvLayer"](2, 3, 3)
        fresh.W, fresh.b = layer.W, layer.b
        np.testing.assert_allclose(grad_in, fresh.backward(x, g), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_keeps_the_input_dtype(provided, dtype):
    layer = provided["ConvLayer"](1, 2, 3, rng=0)
    layer.W = layer.W.astype(dtype)
    layer.b = layer.b.astype(dtype)
    x = np.ones((2, 1, 4, 4), dtype=dtype)
    assert layer.forward(x).dtype == dtype
    assert layer.backward(x, np.ones((2, 2, 4, 4), dtype=dtype)).dtype == dtype


def test_conv_input_gradient_is_the_flipped_kernel_convolution(provided):
    """The formula the notebook states: sum over o of conv_matrix(g[n, o], W[o, c, ::-1, ::-1])."""
    rng = np.random.default_rng(20)
    layer = provided["ConvLayer"](2, 3, (3, 5), rng=rng)
    x = rng.normal(size=(2, 2, 6, 7))
    g = rng.normal(size=(2, 3, 6, 7))
    want = np.array([[sum(solutions.conv_matrix(g[n, o], layer.W[o, c, ::-1, ::-1]) for o in range(3))
                      for c in range(2)] for n in range(2)])
    np.testing.assert_allclose(layer.backward(x, g), want, atol=1e-12)


def test_first_layer_starts_with_zero_mean_kernels_and_no_dead_channel(provided):
    model = provided["build_cnn"](np.random.default_rng(0))
    first = model.layers[0]
    np.testing.assert_allclose(first.W.mean(axis=(2, 3)), 0.0, atol=1e-15)
    strokes = np.zeros((1, 1, 28, 28))
    strokes[0, 0, 8:20, 10:13] = 1.0      # one vertical and one horizontal bar
    strokes[0, 0, 14:17, 6:22] = 1.0
    assert np.all((first.forward(strokes) > 0).any(axis=(0, 2, 3)))


def _first_layer_activity(model, images):
    """Share of pixels where each first-layer channel is positive, over `images`."""
    return (model.layers[0].forward(images) > 0).mean(axis=(0, 2, 3))


def test_no_seed_starts_with_a_dead_first_layer_channel(provided):
    """On real digits, the plain random start leaves a channel (almost) dead for some seeds;
    the zero-mean start of build_cnn never does."""
    import dataset_utils
    images, labels = dataset_utils.load_mnist_arrays("training", dataset_utils.SAMPLE_DIR)
    x, _ = dataset_utils.binary_digits(images[:50], labels[:50])
    centred, plain = [], []
    for seed in range(20):
        model = provided["build_cnn"](np.random.default_rng(seed))
        centred.append(_first_layer_activity(model, x).min())
        uncentred = provided["ConvLayer"](1, 4, 3, rng=np.random.default_rng(seed))
        model.layers[0] = uncentred
        plain.append(_first_layer_activity(model, x).min())
    assert min(centred) > 0.1, centred
    assert min(plain) < 0.02, plain


def test_accuracy_counts_signs_in_batches(provided):
    class Echo:
        def forward(self, x):
            return x[:, :1]

    x = np.array([[2.0], [-1.0], [0.5], [-3.0], [1.0]])
    y = np.array([1, -1, -1, -1, 1])
    for batch_size in (1, 2, 500):
        assert provided["accuracy"](Echo(), x, y, batch_size=batch_size) == 0.8


def _one_line_error(call, function_name):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{function_name} returned ")
    assert f"fix {function_name}" in message
    return message


# Each row: the student function, a wrong version of it, and what the message must say.
WRONG_SHAPES = [
    ("maxpool_forward", lambda x_input: x_input[::2],                      # rows only
     r"maxpool_forward returned shape \(12, 4\), expected an array of shape \(12, 2\)"),
    ("maxpool_forward", lambda x_input: x_input.max(),                      # one number
     r"maxpool_forward returned a float64, expected an array of shape \(12, 2\)"),
    ("maxpool_forward", lambda x_input: x_input.reshape(-1, 2, 2, 2).max(axis=(1, 3)).tolist(),
     r"maxpool_forward returned a list"),
    ("flatten_forward", lambda x_input: x_input,                            # forgot to flatten
     r"flatten_forward returned shape \(2, 3, 4, 4\), expected an array of shape \(2, 48\)"),
    ("flatten_forward", lambda x_input: x_input.ravel(),                    # one long vector
     r"flatten_forward returned shape \(96,\)"),
]


@pytest.mark.parametrize("name, wrong, want", WRONG_SHAPES)
def test_a_wrong_shape_names_the_student_function(name, wrong, want):
    provided = provided_namespace({name: wrong})
    layer = provided["MaxPool2x2" if name == "maxpool_forward" else "FlattenLayer"]()
    x = np.random.default_rng(21).normal(size=(2, 3, 4, 4))
    assert re.search(want, _one_line_error(lambda: layer.forward(x), name))


def test_a_wrong_flatten_gradient_shape_names_flatten_grad_input():
    provided = provided_namespace({"flatten_grad_input": lambda x_input, grad_output: grad_output})
    x = np.zeros((2, 3, 4, 4))
    message = _one_line_error(lambda: provided["FlattenLayer"]().backward(x, np.zeros((2, 48))),
                              "flatten_grad_input")
    assert "returned shape (2, 48), expected an array of shape (2, 3, 4, 4)" in message


@pytest.mark.parametrize("name, wrong", [
    ("maxpool_forward", lambda x_input: x_input[::2, ::2].T),
    ("flatten_forward", lambda x_input: x_input.reshape(-1, x_input.shape[0])),
    ("flatten_grad_input", lambda x_input, grad_output: grad_output.T),
])
def test_the_whole_network_stops_at_the_guard_not_deep_inside(name, wrong):
    """Through build_cnn and a training step, the error is the guard's, naming the function."""
    provided = provided_namespace({name: wrong})
    rng = np.random.default_rng(22)
    model = provided["build_cnn"](rng)
    x = rng.random((3, 1, 28, 28))
    loss = provided["Hinge"]()

    def step():
        prediction = model.forward(x)
        model.backward(x, loss.backward(prediction, np.array([1, -1, 1])))

    _one_line_error(step, name)

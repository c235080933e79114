"""Hand-worked examples from the lesson, and properties of the references."""

import numpy as np
import pytest

import solutions as S


@pytest.mark.parametrize("matrix, kernel, want", [
    ([[1, 2, 3], [2, 3, 4], [3, 4, 5]], [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
     [[7, 10, 3], [10, 14, 6], [3, 6, 8]]),
    ([[1, 2], [3, 4]], [[5]], [[5, 10], [15, 20]]),
    ([[1, 2, 3]], [[1, 0, -1]], [[-2, -2, 2]]),
    ([[1], [2], [3]], [[1], [0], [-1]], [[-2], [-2], [2]]),
    ([[1, 2], [3, 4]], np.ones((5, 5)), [[10, 10], [10, 10]]),
    ([[1.0]], [[0, 0, 0], [0, 3, 0], [0, 0, 0]], [[3.0]]),
])
def test_conv_matrix_worked_examples(matrix, kernel, want):
    got = S.conv_matrix(np.array(matrix, float), np.array(kernel, float))
    np.testing.assert_allclose(got, want)


def test_conv_matrix_is_cross_correlation_not_convolution():
    matrix = np.zeros((3, 3))
    matrix[1, 1] = 1.0
    kernel = np.arange(9.0).reshape(3, 3)
    # An impulse picks out the kernel flipped by cross-correlation.
    np.testing.assert_allclose(S.conv_matrix(matrix, kernel), kernel[::-1, ::-1])


@pytest.mark.parametrize("kernel_shape", [(2, 3), (3, 4), (0, 1)])
def test_conv_matrix_rejects_even_kernels(kernel_shape):
    with pytest.raises(ValueError, match="odd"):
        S.conv_matrix(np.ones((4, 4)), np.ones(kernel_shape))


def test_box_blur_worked_example():
    image = np.array([[9, 0, 9], [0, 0, 0], [9, 0, 9]], float)
    np.testing.assert_allclose(S.box_blur(image, 3), [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("box_size", [0, 2, -3, 2.5])
def test_box_blur_rejects_bad_sizes(box_size):
    with pytest.raises(ValueError, match="box_size"):
        S.box_blur(np.ones((4, 4)), box_size)


def test_maxpool_forward_and_backward_by_hand():
    x = np.array([[1, 5, 0, 2], [3, 4, 8, 1], [-1, -2, 6, 6], [-3, -4, 7, 0]], float)
    np.testing.assert_allclose(S.maxpool_forward(x), [[5, 8], [-1, 7]])
    grad = S.maxpool_grad_input(x, np.array([[10.0, 20.0], [30.0, 40.0]]))
    want = np.zeros((4, 4))
    want[0, 1], want[1, 2], want[2, 0], want[3, 2] = 10, 20, 30, 40
    np.testing.assert_allclose(grad, want)


@pytest.mark.parametrize("shape", [(2, 2), (6, 4), (3, 2, 8, 6), (5, 7), (1, 1)])
def test_maxpool_matches_a_plain_loop(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    got = S.maxpool_forward(x)
    h2, w2 = shape[-2] // 2, shape[-1] // 2
    want = np.empty(shape[:-2] + (h2, w2))
    for i in range(h2):
        for j in range(w2):
            want[..., i, j] = x[..., 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(-2, -1))
    np.testing.assert_allclose(got, want)


def test_maxpool_backward_ties_go_to_the_first_cell():
    x = np.zeros((2, 2))
    np.testing.assert_allclose(S.maxpool_grad_input(x, np.array([[1.0]])), [[1, 0], [0, 0]])


def test_flatten_round_trip_keeps_c_order():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    flat = S.flatten_forward(x)
    np.testing.assert_allclose(flat[1], np.arange(12.0, 24.0))
    np.testing.assert_allclose(S.flatten_grad_input(x, flat), x)


@pytest.mark.parametrize("weights, want", [
    (np.ones((2, 3)), 0.5 * 0.1 * 6),
    ([np.ones((2, 3)), np.full(4, 2.0)], 0.5 * 0.1 * (6 + 16)),
    ((np.ones(1),), 0.05),
])
def test_l2_regularizer_takes_one_array_or_a_list(weights, want):
    assert S.l2_regularizer(0.1, weights) == pytest.approx(want)


@pytest.mark.parametrize("pred, true, want_loss, want_grad", [
    ([2.0, -2.0], [1.0, -1.0], 0.0, [0.0, 0.0]),
    ([0.5, 0.0], [1.0, -1.0], 0.75, [-0.5, 0.5]),
    ([1.0], [1.0], 0.0, [0.0]),
])
def test_hinge_by_hand(pred, true, want_loss, want_grad):
    pred, true = np.array(pred), np.array(true)
    assert S.hinge_forward(pred, true) == pytest.approx(want_loss)
    np.testing.assert_allclose(S.hinge_grad_input(pred, true), want_grad)


def _loop_conv(matrix, kernel):
    """The definition, one pixel at a time (the seed's way)."""
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.zeros((matrix.shape[0] + 2 * p, matrix.shape[1] + 2 * q))
    padded[p:p + matrix.shape[0], q:q + matrix.shape[1]] = matrix
    out = np.zeros(matrix.shape)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[i, j] = np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
    return out


@pytest.mark.parametrize("matrix_shape, kernel_shape", [
    ((1, 1), (1, 1)), ((1, 1), (5, 5)), ((2, 3), (7, 1)), ((3, 5), (3, 3)), ((1, 7), (1, 3)),
    ((4, 2), (3, 7)), ((9, 4), (5, 3)), ((30, 20), (5, 5)),
    ((3000, 7), (3, 3)),      # several row blocks: the blocked fast path must stitch them
    ((600, 40), (7, 5)),      # blocks whose halo crosses the block boundary
])
def test_conv_matrix_fast_path_matches_the_per_pixel_definition(matrix_shape, kernel_shape):
    rng = np.random.default_rng(sum(matrix_shape) * 31 + sum(kernel_shape))
    matrix, kernel = rng.normal(size=matrix_shape), rng.normal(size=kernel_shape)
    np.testing.assert_allclose(S.conv_matrix(matrix, kernel), _loop_conv(matrix, kernel),
                               rtol=1e-10, atol=1e-10)

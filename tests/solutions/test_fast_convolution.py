"""The fast ``conv_matrix`` path against the plain reference (the lesson's version).

The plain reference is itself checked against every AutoMark case in
``test_conformance.py``, so it is the oracle here.
"""

import inspect

import numpy as np
import pytest

import solutions
from grader.release import find_leaks
from solutions import conv_matrix, fast_convolution
from solutions.fast_convolution import BAND_VALUES, conv_matrix_fast


@pytest.mark.parametrize("matrix_shape, kernel_shape, seed", [
    ((1, 1), (1, 1), 0),
    ((1, 1), (3, 3), 1),
    ((1, 9), (3, 3), 2),
    ((1, 9), (1, 5), 3),
    ((9, 1), (3, 3), 4),
    ((9, 1), (5, 1), 5),
    ((2, 3), (7, 9), 6),          # kernel larger than the matrix both ways
    ((4, 30), (9, 1), 7),         # ... taller only
    ((30, 4), (1, 11), 8),        # ... wider only
    ((28, 28), (3, 5), 9),
    ((28, 28), (5, 3), 10),
    ((17, 23), (1, 3), 11),
    ((0, 5), (3, 3), 12),         # empty matrices keep their shape
    ((5, 0), (3, 3), 13),
    ((1000, 17), (3, 3), 14),     # many bands, a short last one
    ((7, BAND_VALUES + 5), (9, 3), 15),   # bands of one row, fewer than p
    ((256, 256), (5, 5), 16),
    ((1024, 1024), (3, 3), 17),
    ((1024, 1024), (5, 5), 18),
])
def test_fast_path_equals_the_plain_reference(matrix_shape, kernel_shape, seed):
    rng = np.random.default_rng(seed)
    matrix, kernel = rng.normal(size=matrix_shape), rng.normal(size=kernel_shape)
    want = conv_matrix(matrix, kernel)
    got = conv_matrix_fast(matrix, kernel)
    assert got.shape == want.shape == matrix_shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("matrix, kernel, want", [
    ([[1, 2, 3], [2, 3, 4], [3, 4, 5]], [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
     [[7, 10, 3], [10, 14, 6], [3, 6, 8]]),
    ([[1, 2], [3, 4]], [[5]], [[5, 10], [15, 20]]),
    ([[1, 2], [3, 4]], np.ones((5, 5), dtype=int), [[10, 10], [10, 10]]),
    (np.eye(3, dtype=bool), [[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.eye(3)),
])
def test_fast_path_takes_lists_and_integers_like_the_reference(matrix, kernel, want):
    got = conv_matrix_fast(matrix, kernel)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, conv_matrix(matrix, kernel))


def test_fast_path_does_not_flip_the_kernel():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1.0
    kernel = np.arange(15.0).reshape(3, 5)
    np.testing.assert_array_equal(conv_matrix_fast(impulse, kernel)[1:4], kernel[::-1, ::-1])


@pytest.mark.parametrize("matrix_shape, kernel_shape, want", [
    ((4,), (3, 3), "conv_matrix needs 2-D arrays, got matrix (4,) and kernel (3, 3)"),
    ((4, 4), (3,), "conv_matrix needs 2-D arrays, got matrix (4, 4) and kernel (3,)"),
    ((2, 4, 4), (3, 3), "conv_matrix needs 2-D arrays, got matrix (2, 4, 4) and kernel (3, 3)"),
    ((), (1, 1), "conv_matrix needs 2-D arrays, got matrix () and kernel (1, 1)"),
    ((4, 4), (2, 3), "kernel sides must be odd (2p+1, 2q+1), got (2, 3)"),
    ((4, 4), (3, 4), "kernel sides must be odd (2p+1, 2q+1), got (3, 4)"),
    ((4, 4), (0, 1), "kernel sides must be odd (2p+1, 2q+1), got (0, 1)"),
])
@pytest.mark.parametrize("function", [conv_matrix, conv_matrix_fast], ids=["plain", "fast"])
def test_both_raise_the_same_value_errors(function, matrix_shape, kernel_shape, want):
    with pytest.raises(ValueError) as raised:
        function(np.ones(matrix_shape), np.ones(kernel_shape))
    assert str(raised.value) == want


def test_only_the_plain_reference_is_pasted_into_notebooks():
    assert "conv_matrix" in solutions.__all__
    assert "conv_matrix_fast" not in solutions.__all__
    assert solutions.conv_matrix is conv_matrix


def test_the_pasted_reference_needs_only_np():
    namespace = {"np": np}
    exec(compile(inspect.getsource(conv_matrix), "<pasted cell>", "exec"), namespace)
    np.testing.assert_array_equal(namespace["conv_matrix"]([[1.0, 2.0]], [[1.0, 1.0, 1.0]]),
                                  [[3.0, 3.0]])




@pytest.mark.parametrize("copied, want", [
    (fast_convolution, "np.matmul(kernel, shifted, out=partial)"),
    (conv_matrix_fast, "block += partial[a, a:a + rows]"),
    (fast_convolution._stack_column_shifts,
     "shifted[b, start:stop, lo:hi] = matrix[first:last, lo + shift:hi + shift]"),
], ids=["module", "function", "helper"])
def test_a_copy_of_the_fast_path_is_a_leak(tmp_path, copied, want):
    (tmp_path / "fast.py").write_text("import numpy as np\n\n" + inspect.getsource(copied),
                                      encoding="utf-8")
    assert f"fast.py: contains reference code: {want}" in find_leaks(tmp_path)

"""The fast path of ``conv_matrix``: one matrix product per band of rows.

``solutions.conv_matrix`` is the reference to read: one pass over the matrix per
kernel cell. This is the same contract, for where speed matters (the benchmark
against ``scipy.ndimage.correlate`` in ``bench/conv_matrix.py``), and
``tests/solutions/test_fast_convolution.py`` checks that the two agree. It is not
in ``solutions.__all__``, so ``python -m grader solve`` never pastes it into a
notebook; ``make release`` fingerprints it like every reference.

How. Write ``padded`` for the matrix with p zero rows above and below and q zero
columns left and right. For a band of output rows, stack the k_cols column
shifts of the padded rows it needs (band + 2p of them),

    shifted[b, r, j] = padded[r, j + b],

and ONE matrix product sums over the kernel columns for every kernel row at once,

    partial[a, r, j] = sum_b kernel[a, b] * shifted[b, r, j]   (kernel @ shifted),

after which an output row adds k_rows partial rows along a diagonal,

    out[i, j] = sum_a partial[a, i + a, j].

Bands of about ``BAND_VALUES`` output values keep both temporaries in the CPU
cache; ``padded`` itself is never built.
"""

import numpy as np

BAND_VALUES = 1 << 14


def conv_matrix_fast(matrix, kernel):
    """'Same'-size cross-correlation of a matrix with a kernel, zero padded (fast path).

    Same contract, validation and errors as ``solutions.conv_matrix``: with a
    kernel of size (2p + 1, 2q + 1) and the matrix padded with p rows of zeros
    above and below and q columns left and right,

        out[i, j] = sum_{a, b} kernel[a, b] * padded[i + a, j + b].

    The kernel is not flipped. It may be 1x1, non-square, or larger than the matrix.

    Args:
        matrix: (height, width).
        kernel: (2p + 1, 2q + 1), both sides odd.

    Returns:
        (height, width), float64.

    Raises:
        ValueError: if either argument is not 2-D or a kernel side is even.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if matrix.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"conv_matrix needs 2-D arrays, got matrix {matrix.shape} and kernel {kernel.shape}")
    k_rows, k_cols = kernel.shape
    if k_rows % 2 == 0 or k_cols % 2 == 0:
        raise ValueError(f"kernel sides must be odd (2p+1, 2q+1), got {kernel.shape}")
    height, width = matrix.shape
    out = np.empty((height, width))
    if out.size == 0:
        return out
    p = k_rows // 2
    band = min(height, max(1, BAND_VALUES // width))
    # Both temporaries in one allocation, reused by every band. It starts as zeros:
    # the columns of ``shifted`` that hold padding are never written afterwards.
    scratch = np.zeros((k_cols + k_rows, (band + 2 * p) * width))
    shifted_all, partial_all = scratch[:k_cols], scratch[k_cols:]
    for top in range(0, height, band):
        rows = min(band, height - top)
        size = (rows + 2 * p) * width
        shifted, partial = shifted_all[:, :size], partial_all[:, :size]
        _stack_column_shifts(matrix, top, p, shifted.reshape(k_cols, rows + 2 * p, width))
        np.matmul(kernel, shifted, out=partial)
        partial = partial.reshape(k_rows, rows + 2 * p, width)
        block = out[top:top + rows]
        np.copyto(block, partial[0, :rows])
        for a in range(1, k_rows):
            block += partial[a, a:a + rows]
    return out


def _stack_column_shifts(matrix, top, p, shifted):
    """Write the band's rows of the padded matrix, shifted by every b, into ``shifted``.

    ``shifted[b, r, j] = padded[top + r, j + b]``: row r is matrix row
    ``top + r - p``, or zeros above and below the matrix. Columns j + b that fall
    in the q zero columns are left alone: they are the same for every band, so
    the caller zeroes them once.

    Args:
        matrix: (height, width), the unpadded matrix.
        top: first output row of the band.
        p: zero rows above and below the matrix (k_rows // 2).
        shifted: (k_cols, rows + 2p, width), overwritten except its padding columns.
    """
    height, width = matrix.shape
    k_cols, n_rows, _ = shifted.shape
    first, last = max(0, top - p), min(height, top - p + n_rows)   # matrix rows in the band
    start, stop = first - (top - p), last - (top - p)              # their rows in shifted
    if start > 0:
        shifted[:, :start] = 0.0
    if stop < n_rows:
        shifted[:, stop:] = 0.0
    for b in range(k_cols):
        shift = b - k_cols // 2                       # shifted[b, r, j] reads column j + shift
        lo, hi = max(0, -shift), min(width, width - shift)   # the j that land in the matrix
        if lo < hi:
            shifted[b, start:stop, lo:hi] = matrix[first:last, lo + shift:hi + shift]

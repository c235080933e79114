"""References for matrix convolution ('same' cross-correlation) and the box blur."""

import numpy as np


def conv_matrix(matrix, kernel):
    """'Same'-size cross-correlation of a matrix with a kernel, zero padded.

    With a kernel of size (2p + 1, 2q + 1) the matrix is padded with p rows of
    zeros above and below and q columns left and right, and

        out[i, j] = sum_{a, b} kernel[a, b] * padded[i + a, j + b].

    The kernel is not flipped (this is what deep-learning libraries call a
    convolution). It may be 1x1, non-square, or larger than the matrix.

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
    p, q = k_rows // 2, k_cols // 2
    # Kernel row a contributes sum_b kernel[a, b] * padded[i + a, j + b]. With the
    # column shifts of the zero-padded matrix stacked as shifted[b, r, j] =
    # padded[r, j + b], ONE matrix product kernel @ shifted gives that sum for
    # every kernel row a at once (planes[a, r, j]), and out[i] = sum_a planes[a, i + a].
    # Blocks of about 16K output values keep the temporaries in the CPU cache.
    out = np.empty((height, width))
    step = max(1, (1 << 14) // width)
    span = (min(step, height) + 2 * p) * width
    work = np.empty((k_cols + k_rows) * span)   # one allocation for both temporaries
    shifted = work[:k_cols * span].reshape(k_cols, span)
    planes = work[k_cols * span:].reshape(k_rows, span)
    for top in range(0, height, step):
        rows = min(step, height - top)
        size = (rows + 2 * p) * width
        window = shifted[:, :size].reshape(k_cols, rows + 2 * p, width)
        window.fill(0.0)
        first, last = max(0, top - p), min(height, top + rows + p)  # matrix rows in the window
        for b in range(k_cols):
            lo, hi = max(0, q - b), min(width, width + q - b)       # columns that stay inside
            if lo < hi:
                window[b, first - top + p:last - top + p, lo:hi] = matrix[first:last, lo + b - q:hi + b - q]
        np.matmul(kernel, shifted[:, :size], out=planes[:, :size])
        summed = planes[:, :size].reshape(k_rows, rows + 2 * p, width)
        block = out[top:top + rows]
        np.copyto(block, summed[0, :rows])
        for a in range(1, k_rows):
            block += summed[a, a:a + rows]
    return out


def box_blur(image, box_size):
    """Replace every pixel by the mean of the box_size x box_size box around it.

    Implemented as ``conv_matrix`` with the kernel ones((box_size, box_size)) /
    box_size ** 2; pixels near the border average in the zero padding.

    Args:
        image: (height, width).
        box_size: odd positive int.

    Returns:
        (height, width), float64.

    Raises:
        ValueError: if ``box_size`` is not a positive odd integer.
    """
    if int(box_size) != box_size or box_size < 1 or box_size % 2 == 0:
        raise ValueError(f"box_size must be a positive odd integer, got {box_size!r}")
    box_size = int(box_size)
    kernel = np.full((box_size, box_size), 1.0 / box_size ** 2)
    return conv_matrix(image, kernel)

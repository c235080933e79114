"""References for matrix convolution ('same' cross-correlation) and the box blur.

These are the versions to read next to the lesson. The fast path with the same
contract, used where speed matters, is ``solutions.fast_convolution``.
"""

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
    padded = np.zeros((height + 2 * p, width + 2 * q))
    padded[p:p + height, q:q + width] = matrix
    out = np.zeros((height, width))
    # Kernel cell (a, b) meets padded[i + a, j + b] at every output pixel (i, j):
    # one shifted (height, width) window of the padded matrix per kernel cell.
    for a in range(k_rows):
        for b in range(k_cols):
            out += kernel[a, b] * padded[a:a + height, b:b + width]
    return out


def box_blur(image, box_size):
    """Replace every pixel by the mean of the box_size x box_size box around it.

    The box kernel ones((box_size, box_size)) / box_size ** 2 is the outer
    product of two 1-D averages, ones(box_size) / box_size, so ``conv_matrix``
    with the column kernel, then with the row kernel, gives the same blur with
    2 * box_size passes instead of box_size ** 2; pixels near the border average
    in the zero padding (a zero column stays zero after the first pass).

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
    average = np.full(box_size, 1.0 / box_size)
    return conv_matrix(conv_matrix(image, average[:, None]), average[None, :])

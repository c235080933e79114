"""Section 1: the fast ``conv_matrix`` path against SciPy, the plain reference and a loop.

What is timed is ``solutions.fast_convolution.conv_matrix_fast``, the path used
where speed matters. ``scipy.ndimage.correlate(image, kernel, mode="constant")``
is the same 'same' zero-padded cross-correlation: for odd kernel sides its
default origin puts the kernel's centre on the output pixel, as ``conv_matrix``
does. The plain reference ``solutions.conv_matrix`` (the one pasted into the
notebook) gets a row of its own, so the price of reading like the lesson is
visible. Every pair is checked to agree before anything is timed.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from bench.rows import Row, ratio_at_most
from bench.settings import Settings
from bench.timing import measure_pair

SECTION = "conv_matrix"
SIZES = (28, 256, 1024)
QUICK_SIZES = (28, 256)
KERNELS = ((3, 3), (5, 5), (1, 3))
LOOP_SIZE = 28


def loop_conv_matrix(matrix, kernel):
    """The seed's style: one output pixel at a time, a Python double loop.

    Args:
        matrix: (height, width).
        kernel: (2p + 1, 2q + 1).

    Returns:
        (height, width), float64.
    """
    matrix, kernel = np.asarray(matrix, float), np.asarray(kernel, float)
    k_rows, k_cols = kernel.shape
    p, q = k_rows // 2, k_cols // 2
    padded = np.pad(matrix, ((p, p), (q, q)))
    out = np.zeros(matrix.shape)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[i, j] = np.sum(padded[i:i + k_rows, j:j + k_cols] * kernel)
    return out


def target_for(size: int):
    """Issue 5: within 3x of SciPy at 28x28 (call overhead), 1.2x from 256x256 up."""
    return ratio_at_most(3.0 if size < 256 else 1.2)


def max_difference(ours, theirs) -> float:
    """max |ours - theirs|.

    Raises:
        ValueError: if the shapes differ or the values are not allclose.
    """
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-10, atol=1e-10):
        raise ValueError(f"conv_matrix disagrees with the baseline on a {ours.shape} image")
    return float(np.max(np.abs(ours - theirs)))


def _timed_row(settings: Settings, name: str, ours, baseline: str, baseline_call,
               target) -> Row:
    """Check ``ours()`` against ``baseline_call()``, then time the two interleaved."""
    difference = max_difference(ours(), baseline_call())
    mine, theirs = measure_pair(ours, baseline_call, repeats=settings.repeats,
                                min_sample=settings.min_sample)
    settings.say(f"  {SECTION} {name}: {mine.seconds:.2e} s vs {baseline} {theirs.seconds:.2e} s")
    return Row(SECTION, name, mine.seconds, baseline, theirs.seconds, target,
               check=f"max|diff| {difference:.1e}")


def run(settings: Settings) -> list[Row]:
    from solutions import conv_matrix
    from solutions.fast_convolution import conv_matrix_fast
    try:
        from scipy import ndimage
    except ImportError as error:
        ndimage = None
        settings.skip(SECTION, "scipy rows", f"scipy is not importable ({error})")
    rng = np.random.default_rng(0)
    rows = []
    for size in QUICK_SIZES if settings.quick else SIZES:
        image = rng.normal(size=(size, size))
        for shape in KERNELS:
            kernel = rng.normal(size=shape)
            name = f"{size}x{size} k{shape[0]}x{shape[1]}"
            ours = partial(conv_matrix_fast, image, kernel)
            if ndimage is not None:
                rows.append(_timed_row(
                    settings, name, ours, "scipy.ndimage.correlate",
                    partial(ndimage.correlate, image, kernel, mode="constant"), target_for(size)))
            rows.append(_timed_row(settings, name, ours, "conv_matrix (plain reference)",
                                   partial(conv_matrix, image, kernel), None))
            if size == LOOP_SIZE and (not settings.quick or shape == (3, 3)):
                rows.append(_timed_row(settings, name, ours, "per-pixel loop (seed)",
                                       partial(loop_conv_matrix, image, kernel), None))
    return rows

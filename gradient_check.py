"""Numerical gradients by central differences, to check a backward pass.

    grad = numerical_gradient(lambda: loss_of(x), x)   # x is nudged in place
    rel_error(grad, analytic_grad) < 1e-6              # for float64 code
"""

import numpy as np


def numerical_gradient(f, x, step=1e-5):
    """d f() / d x, estimated one entry at a time.

    Args:
        f: a function of no arguments returning a float; it must read ``x``.
        x: float64 array of any shape; each entry is nudged by +-step and
            restored, so ``x`` is unchanged afterwards.
        step: the finite-difference step.

    Returns:
        Array of the shape of ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 ndarray, got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}: convert it with x.astype(np.float64)")
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so it can be nudged in place; use np.ascontiguousarray")
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + step
        f_plus = f()
        flat_x[i] = original - step
        f_minus = f()
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2.0 * step)
    return grad


def rel_error(a, b, eps=1e-12):
    """Largest relative difference max |a - b| / max(|a| + |b|, eps), a float."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))

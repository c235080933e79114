"""Reference for the L2 weight penalty."""

import numpy as np


def l2_regularizer(weight_decay, weights):
    """weight_decay / 2 * sum of squares over every weight.

    Args:
        weight_decay: float.
        weights: an array of any shape, or a list/tuple of such arrays (the
            training loop passes ``model.get_params()``).

    Returns:
        float.
    """
    if isinstance(weights, (list, tuple)):
        squares = sum(np.vdot(w, w).real for w in map(np.asarray, weights))
    else:
        flat = np.ravel(weights)
        squares = np.dot(flat, flat)
    return float(0.5 * weight_decay * squares)

"""References for dropout with an explicit keep-mask."""

import numpy as np


def dropout_forward(x_input, mask, drop_rate, training_phase):
    """Training: x * mask. Test: x * (1 - drop_rate), the expected value of the mask.

    Args:
        x_input: any shape.
        mask: same shape as ``x_input``, 1 for kept units, 0 for dropped ones.
        drop_rate: float in [0, 1).
        training_phase: bool.

    Returns:
        Array of the shape of ``x_input``.
    """
    if training_phase:
        return np.multiply(x_input, mask, dtype=np.float64)
    return np.multiply(x_input, 1.0 - drop_rate, dtype=np.float64)


def dropout_grad_input(x_input, grad_output, mask):
    """grad_output * mask (the training-phase gradient), shape of ``x_input``."""
    return np.multiply(grad_output, mask, dtype=np.float64)

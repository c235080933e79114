"""References for the ReLU activation."""

import numpy as np


def relu_forward(x_input):
    """max(0, x) elementwise; the output has the shape of ``x_input``."""
    return np.where(x_input > 0, x_input, 0.0)


def relu_grad_input(x_input, grad_output):
    """grad_output where x_input > 0, else 0; both of the same shape."""
    return np.where(x_input > 0, grad_output, 0.0)

"""References for the flatten layer: images to vectors and back."""

import numpy as np


def flatten_forward(x_input):
    """Flatten every object into one row, channel by channel, row by row.

    Args:
        x_input: (n_objects, n_channels, height, width).

    Returns:
        (n_objects, n_channels * height * width), in C order.
    """
    n_objects = x_input.shape[0]
    return np.reshape(x_input, (n_objects, -1))


def flatten_grad_input(x_input, grad_output):
    """Undo the flattening of the gradient.

    Args:
        x_input: (n_objects, n_channels, height, width).
        grad_output: (n_objects, n_channels * height * width).

    Returns:
        (n_objects, n_channels, height, width).
    """
    return np.reshape(grad_output, x_input.shape)

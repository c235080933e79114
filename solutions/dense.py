"""References for the dense (fully connected) layer: forward and gradients."""

import numpy as np


def dense_forward(x_input, W, b):
    """out[n, j] = sum_i x_input[n, i] * W[i, j] + b[j].

    Args:
        x_input: (n_objects, n_in).
        W: (n_in, n_out).
        b: (n_out,).

    Returns:
        (n_objects, n_out).
    """
    return np.einsum("ni,ij->nj", x_input, W) + b[np.newaxis, :]


def dense_grad_input(x_input, grad_output, W, b):
    """dL/dx[n, i] = sum_j grad_output[n, j] * W[i, j].

    Args:
        x_input: (n_objects, n_in).
        grad_output: (n_objects, n_out).
        W: (n_in, n_out).
        b: (n_out,).

    Returns:
        (n_objects, n_in).
    """
    return np.einsum("nj,ij->ni", grad_output, W)


def dense_grad_W(x_input, grad_output, W, b):
    """dL/dW[i, j] = sum_n x_input[n, i] * grad_output[n, j] (summed, not averaged).

    Returns:
        (n_in, n_out).
    """
    return np.einsum("ni,nj->ij", x_input, grad_output)


def dense_grad_b(x_input, grad_output, W, b):
    """dL/db[j] = sum_n grad_output[n, j].

    Returns:
        (n_out,).
    """
    return np.einsum("nj->j", grad_output)

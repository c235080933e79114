"""Reference implementations of every graded function (instructors only).

Each reference is written to be read next to the lesson and to be pasted into
the notebook by ``python -m grader solve``: every function is self-contained
and uses only ``np``. The student kit built by ``make release`` contains none
of this package.
"""

from solutions.activations import relu_forward, relu_grad_input
from solutions.convolution import box_blur, conv_matrix
from solutions.dense import dense_forward, dense_grad_b, dense_grad_input, dense_grad_W
from solutions.dropout import dropout_forward, dropout_grad_input
from solutions.flatten import flatten_forward, flatten_grad_input
from solutions.losses import hinge_forward, hinge_grad_input, mse_forward, mse_grad_input
from solutions.pooling import maxpool_forward, maxpool_grad_input
from solutions.regularization import l2_regularizer

__all__ = [
    "box_blur", "conv_matrix", "dense_forward", "dense_grad_b", "dense_grad_input",
    "dense_grad_W", "dropout_forward", "dropout_grad_input", "flatten_forward",
    "flatten_grad_input", "hinge_forward", "hinge_grad_input", "l2_regularizer",
    "maxpool_forward", "maxpool_grad_input", "mse_forward", "mse_grad_input",
    "relu_forward", "relu_grad_input",
]

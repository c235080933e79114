"""References for the hinge and mean-squared-error losses.

Both take ``target_pred`` and ``target_true`` of shape (n_objects,) and average
over the batch, so the gradients carry a factor 1 / n_objects.
"""

import numpy as np


def hinge_forward(target_pred, target_true):
    """mean over n of max(0, 1 - pred[n] * true[n]); targets in {-1, 1}. A float."""
    n_objects = target_pred.shape[0]
    losses = np.clip(1.0 - target_pred * target_true, 0.0, None)
    return float(losses.sum() / n_objects)


def hinge_grad_input(target_pred, target_true):
    """-true[n] / n_objects where 1 - pred[n] * true[n] > 0, else 0. Shape (n_objects,)."""
    n_objects = target_pred.shape[0]
    active = (target_pred * target_true < 1.0).astype(np.float64)
    return -target_true * active / n_objects


def mse_forward(target_pred, target_true):
    """sum over n of (pred[n] - true[n]) ** 2, divided by 2 * n_objects. A float."""
    n_objects = target_pred.shape[0]
    diff = target_pred - target_true
    return float(np.dot(diff, diff) / (2.0 * n_objects))


def mse_grad_input(target_pred, target_true):
    """(pred[n] - true[n]) / n_objects. Shape (n_objects,)."""
    n_objects = target_pred.shape[0]
    return (target_pred - target_true) / n_objects

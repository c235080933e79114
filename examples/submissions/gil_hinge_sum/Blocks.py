"""Last week's building blocks: dense layers, activations, losses, dropout, SGD.

This file is yours: the notebook starts with ``from Blocks import *``. Every
function works on whole mini-batches at once (no Python loops over objects).

Shapes used throughout:
    x_input:     (n_objects, n_in)        a mini-batch, one row per object
    W:           (n_in, n_out)            dense weights
    b:           (n_out,)                 dense bias
    grad_output: same shape as the output of the forward pass, dL/d(output)
    target_pred, target_true: (n_objects,)  predictions and targets of a loss
"""

import numpy as np

__all__ = [
    "dense_forward", "dense_grad_input", "dense_grad_W", "dense_grad_b",
    "relu_forward", "relu_grad_input",
    "hinge_forward", "hinge_grad_input", "mse_forward", "mse_grad_input",
    "dropout_forward", "dropout_grad_input", "l2_regularizer",
    "Layer", "Dense", "ReLU", "Dropout", "Loss", "Hinge", "MSE",
    "SequentialNN", "SGD",
]


# ---------------------------------------------------------------- functions
def dense_forward(x_input, W, b):
    """Affine map of a batch: x_input @ W + b.

    Args:
        x_input: (n_objects, n_in).
        W: (n_in, n_out).
        b: (n_out,).

    Returns:
        (n_objects, n_out).
    """
    return x_input @ W + b


def dense_grad_input(x_input, grad_output, W, b):
    """Gradient of the loss with respect to a dense layer's input.

    Args:
        x_input: (n_objects, n_in).
        grad_output: (n_objects, n_out).
        W: (n_in, n_out).
        b: (n_out,), unused (kept for a uniform signature).

    Returns:
        (n_objects, n_in).
    """
    return grad_output @ W.T


def dense_grad_W(x_input, grad_output, W, b):
    """Gradient with respect to the weights, summed over the batch.

    Returns:
        (n_in, n_out).
    """
    return x_input.T @ grad_output


def dense_grad_b(x_input, grad_output, W, b):
    """Gradient with respect to the bias, summed over the batch.

    Returns:
        (n_out,).
    """
    return grad_output.sum(axis=0)


def relu_forward(x_input):
    """Elementwise max(0, x). Returns an array of the shape of ``x_input``."""
    return np.maximum(x_input, 0.0)


def relu_grad_input(x_input, grad_output):
    """Pass the gradient where the input was positive, zero elsewhere.

    Args:
        x_input: any shape.
        grad_output: same shape as ``x_input``.
    """
    return grad_output * (x_input > 0)


def hinge_forward(target_pred, target_true):
    """Mean hinge loss, mean(max(0, 1 - pred * true)).

    Args:
        target_pred: (n_objects,) real-valued scores.
        target_true: (n_objects,) targets in {-1, 1}.

    Returns:
        float.
    """
    margins = 1.0 - target_pred * target_true
    return float(np.sum(np.maximum(margins, 0.0)))


def hinge_grad_input(target_pred, target_true):
    """Gradient of the mean hinge loss with respect to ``target_pred``.

    Returns:
        (n_objects,): -true / n where the margin is violated, 0 elsewhere.
    """
    violated = (1.0 - target_pred * target_true) > 0
    return np.where(violated, -target_true, 0.0) / len(target_pred)


def mse_forward(target_pred, target_true):
    """Half the mean squared error, mean((pred - true) ** 2) / 2, a float."""
    return float(np.mean((target_pred - target_true) ** 2) / 2.0)


def mse_grad_input(target_pred, target_true):
    """Gradient of :func:`mse_forward`: (pred - true) / n, shape (n_objects,)."""
    return (target_pred - target_true) / len(target_pred)


def dropout_forward(x_input, mask, drop_rate, training_phase):
    """Dropout with a given keep-mask.

    Args:
        x_input: any shape.
        mask: same shape, 1 where a unit is kept and 0 where it is dropped.
        drop_rate: probability of dropping a unit, in [0, 1).
        training_phase: True while training (apply the mask); False at test
            time, where every unit is kept and scaled by (1 - drop_rate).
    """
    if training_phase:
        return x_input * mask
    return x_input * (1.0 - drop_rate)


def dropout_grad_input(x_input, grad_output, mask):
    """Gradient of dropout in the training phase: only kept units pass it."""
    return grad_output * mask


def l2_regularizer(weight_decay, weights):
    """L2 penalty weight_decay / 2 * (sum of squares of all weights), a float.

    Args:
        weight_decay: float.
        weights: one array, or a list of arrays of any shapes (e.g. the
            output of ``SequentialNN.get_params()``).
    """
    arrays = weights if isinstance(weights, (list, tuple)) else [weights]
    total = sum(float(np.sum(np.square(w))) for w in arrays)
    return weight_decay / 2.0 * total


# ------------------------------------------------------------------ layers
class Layer:
    """Base class: a layer maps x_input to an output and back-propagates.

    ``backward`` receives the same ``x_input`` that ``forward`` saw, so layers
    need no hidden state between the two calls.
    """

    def forward(self, x_input):
        raise NotImplementedError

    def backward(self, x_input, grad_output):
        raise NotImplementedError

    def get_params(self):
        """List of parameter arrays (empty for layers without parameters)."""
        return []

    def get_params_gradients(self):
        """Gradients matching ``get_params()``, filled in by ``backward``."""
        return []


class Dense(Layer):
    """Fully connected layer, W of shape (n_in, n_out) and b of shape (n_out,).

    Weights start from N(0, 2 / n_in) (He initialisation, suited to ReLU).
    """

    def __init__(self, n_in, n_out, rng=None):
        rng = np.random.default_rng(rng)
        self.W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        self.b = np.zeros(n_out)
        self.grad_W = np.zeros_like(self.W)
        self.grad_b = np.zeros_like(self.b)

    def forward(self, x_input):
        return dense_forward(x_input, self.W, self.b)

    def backward(self, x_input, grad_output):
        self.grad_W = dense_grad_W(x_input, grad_output, self.W, self.b)
        self.grad_b = dense_grad_b(x_input, grad_output, self.W, self.b)
        return dense_grad_input(x_input, grad_output, self.W, self.b)

    def get_params(self):
        return [self.W, self.b]

    def get_params_gradients(self):
        return [self.grad_W, self.grad_b]


class ReLU(Layer):
    """Rectified linear unit, applied elementwise to any shape."""

    def forward(self, x_input):
        return relu_forward(x_input)

    def backward(self, x_input, grad_output):
        return relu_grad_input(x_input, grad_output)


class Dropout(Layer):
    """Drops each unit with probability ``drop_rate`` while training."""

    def __init__(self, drop_rate=0.5, rng=None):
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
        self.drop_rate = drop_rate
        self.training_phase = True
        self.rng = np.random.default_rng(rng)
        self.mask = None

    def forward(self, x_input):
        if self.training_phase:
            keep = self.rng.random(x_input.shape) >= self.drop_rate
            self.mask = keep.astype(x_input.dtype)
        return dropout_forward(x_input, self.mask, self.drop_rate, self.training_phase)

    def backward(self, x_input, grad_output):
        return dropout_grad_input(x_input, grad_output, self.mask)


class Loss:
    """A loss maps (target_pred, target_true) to a float and has a gradient."""

    def forward(self, target_pred, target_true):
        raise NotImplementedError

    def backward(self, target_pred, target_true):
        raise NotImplementedError


class Hinge(Loss):
    """Mean hinge loss for targets in {-1, 1}; predictions of shape (n,) or (n, 1)."""

    def forward(self, target_pred, target_true):
        return hinge_forward(np.ravel(target_pred), np.ravel(target_true))

    def backward(self, target_pred, target_true):
        grad = hinge_grad_input(np.ravel(target_pred), np.ravel(target_true))
        return grad.reshape(np.shape(target_pred))


class MSE(Loss):
    """Half mean squared error; predictions of shape (n,) or (n, 1)."""

    def forward(self, target_pred, target_true):
        return mse_forward(np.ravel(target_pred), np.ravel(target_true))

    def backward(self, target_pred, target_true):
        grad = mse_grad_input(np.ravel(target_pred), np.ravel(target_true))
        return grad.reshape(np.shape(target_pred))


class SequentialNN:
    """A stack of layers applied one after the other."""

    def __init__(self):
        self.layers = []
        self._inputs = []

    def add(self, layer):
        """Append a layer; returns the model so calls can be chained."""
        if not isinstance(layer, Layer):
            raise TypeError(f"expected a Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    def forward(self, x_input):
        """Run every layer, keeping each layer's input for the backward pass."""
        self._inputs = []
        for layer in self.layers:
            self._inputs.append(x_input)
            x_input = layer.forward(x_input)
        return x_input

    def backward(self, x_input, grad_output):
        """Back-propagate ``grad_output`` through the layers of the last forward.

        ``x_input`` must be the batch given to the last ``forward`` call.
        """
        if not self._inputs or self._inputs[0] is not x_input:
            self.forward(x_input)
        for layer, layer_input in zip(reversed(self.layers), reversed(self._inputs)):
            grad_output = layer.backward(layer_input, grad_output)
        return grad_output

    def get_params(self):
        return [p for layer in self.layers for p in layer.get_params()]

    def get_params_gradients(self):
        return [g for layer in self.layers for g in layer.get_params_gradients()]

    def set_training_phase(self, is_training=True):
        """Switch layers that behave differently at test time (dropout)."""
        for layer in self.layers:
            if hasattr(layer, "training_phase"):
                layer.training_phase = bool(is_training)


class SGD:
    """Plain stochastic gradient descent with L2 weight decay."""

    def __init__(self, model, learning_rate=0.01, weight_decay=0.0):
        self.model = model
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay

    def update_params(self):
        """One step: p -= lr * (grad + weight_decay * p), in place."""
        params = self.model.get_params()
        grads = self.model.get_params_gradients()
        for param, grad in zip(params, grads):
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            param -= self.learning_rate * grad

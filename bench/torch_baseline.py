"""PyTorch CPU as a baseline: import it if present, and mirror the kit's models.

Never imported by the kit; only the bench uses it.
"""

from __future__ import annotations


def import_torch(threads: int):
    """PyTorch with ``threads`` intra-op threads, or ``(None, reason)`` when not importable.

    Returns:
        ``(torch module, "")`` or ``(None, why)``.
    """
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - ImportError, or a broken install
        return None, f"torch is not importable ({type(error).__name__}: {error}); pip install torch==2.13.0"
    torch.set_num_threads(max(1, int(threads)))
    return torch, ""


def layer_kinds(model) -> list[str]:
    """The class names of a SequentialNN's layers, e.g. ``["ConvLayer", "ReLU", ...]``."""
    return [type(layer).__name__ for layer in model.layers]


class TorchCNN:
    """The same stack as a NumPy ``SequentialNN``, as PyTorch functions.

    Args:
        torch: the torch module.
        model: the NumPy model whose layers (ConvLayer, ReLU, MaxPool2x2,
            FlattenLayer, Dense) and current weights are copied.
        dtype: ``torch.float64`` or ``torch.float32``.

    Raises:
        ValueError: a layer kind that has no PyTorch counterpart here.
    """

    SUPPORTED = ("ConvLayer", "ReLU", "MaxPool2x2", "FlattenLayer", "Dense")

    def __init__(self, torch, model, dtype):
        self.torch, self.dtype = torch, dtype
        self.kinds = layer_kinds(model)
        unknown = sorted(set(self.kinds) - set(self.SUPPORTED))
        if unknown:
            raise ValueError(f"no PyTorch counterpart for layers {unknown}")
        self.params = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in model.get_params()]

    def load(self, numpy_params) -> None:
        """Overwrite the weights in place with NumPy arrays of the same shapes."""
        with self.torch.no_grad():
            for param, value in zip(self.params, numpy_params):
                param.copy_(self.torch.from_numpy(value))

    def forward(self, x):
        """x: (n, 1, 28, 28) -> (n, 1), the layers in the NumPy model's order."""
        functional = self.torch.nn.functional
        params = iter(self.params)
        for kind in self.kinds:
            if kind == "ConvLayer":
                weight, bias = next(params), next(params)
                x = functional.conv2d(x, weight, bias, padding="same")
            elif kind == "ReLU":
                x = self.torch.relu(x)
            elif kind == "MaxPool2x2":
                x = functional.max_pool2d(x, 2)
            elif kind == "FlattenLayer":
                x = x.reshape(x.shape[0], -1)
            else:  # Dense: W is (n_in, n_out) as in Blocks.Dense
                weight, bias = next(params), next(params)
                x = x @ weight + bias
        return x

    def hinge(self, prediction, target):
        """Blocks.Hinge: mean(max(0, 1 - pred * true)) with pred (n, 1) raveled.

        relu's gradient is 0 at exactly 0, like Blocks' strict ``margin > 0``.
        """
        return self.torch.relu(1.0 - prediction.reshape(-1) * target).mean()

    def sgd_step(self, loss, learning_rate: float, weight_decay: float) -> None:
        """Blocks.SGD: p -= lr * (grad + weight_decay * p), in place."""
        grads = self.torch.autograd.grad(loss, self.params)
        with self.torch.no_grad():
            for param, grad in zip(self.params, grads):
                if weight_decay:
                    grad = grad + weight_decay * param
                param.sub_(learning_rate * grad)

    def numpy_params(self):
        return [p.detach().numpy().astype("float64") for p in self.params]

"""Blocks.py: the functions agree with the references, backward passes agree
with numerical gradients, and the model/optimiser classes work together."""

import ast
from pathlib import Path

import numpy as np
import pytest

import Blocks
from grader.core.tasks import TASKS
from gradient_check import numerical_gradient, rel_error

WEEK2 = [task for task in TASKS if task.week == 2]


@pytest.mark.parametrize("task", WEEK2, ids=lambda t: t.name)
def test_block_function_matches_reference(task):
    rng = np.random.default_rng(7)
    for case in task.edge_inputs(rng) + [task.make_inputs(rng) for _ in range(30)]:
        want = task.expected(case)
        got = getattr(Blocks, task.name)(**case)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_blocks_imports_neither_solutions_nor_grader():
    tree = ast.parse(Path(Blocks.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported == {"numpy"}


def _check_layer_gradients(layer, x, rng, tol=1e-7):
    """Loss = sum(out * r) for a fixed random r, so dL/dout = r."""
    weights = rng.normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(layer.forward(x) * weights))

    grad_x = layer.backward(x, weights)
    assert rel_error(grad_x, numerical_gradient(loss, x)) < tol
    layer.backward(x, weights)
    for param, grad in zip(layer.get_params(), layer.get_params_gradients()):
        assert param.shape == grad.shape
        assert rel_error(grad, numerical_gradient(loss, param)) < tol


@pytest.mark.parametrize("n, n_in, n_out", [(1, 1, 1), (4, 3, 5), (7, 6, 2)])
def test_dense_gradients(n, n_in, n_out):
    rng = np.random.default_rng(n * 100 + n_in)
    layer = Blocks.Dense(n_in, n_out, rng=rng)
    layer.b = rng.normal(size=n_out)
    _check_layer_gradients(layer, rng.normal(size=(n, n_in)), rng)


def test_relu_gradients():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    _check_layer_gradients(Blocks.ReLU(), x, rng)


def test_dropout_gradient_uses_the_forward_mask():
    rng = np.random.default_rng(2)
    layer = Blocks.Dropout(0.4, rng=3)
    x = rng.normal(size=(6, 5))
    out = layer.forward(x)
    kept = layer.mask.astype(bool)
    assert np.all(out[~kept] == 0) and np.allclose(out[kept], x[kept])
    np.testing.assert_allclose(layer.backward(x, np.ones_like(x)), layer.mask)
    layer.training_phase = False
    np.testing.assert_allclose(layer.forward(x), 0.6 * x)


@pytest.mark.parametrize("loss_class", [Blocks.Hinge, Blocks.MSE])
@pytest.mark.parametrize("shape", [(5,), (5, 1)])
def test_loss_gradients(loss_class, shape):
    rng = np.random.default_rng(4)
    pred = rng.normal(size=shape) * 2
    true = rng.choice([-1.0, 1.0], size=shape[0])
    loss = loss_class()
    grad = loss.backward(pred, true)
    assert grad.shape == pred.shape
    want = numerical_gradient(lambda: loss.forward(pred, true), pred)
    assert rel_error(grad, want) < 1e-7


def test_sequential_backward_matches_numerical_gradient():
    rng = np.random.default_rng(5)
    model = Blocks.SequentialNN()
    model.add(Blocks.Dense(4, 6, rng=rng)).add(Blocks.ReLU()).add(Blocks.Dense(6, 1, rng=rng))
    x, y = rng.normal(size=(8, 4)), rng.choice([-1.0, 1.0], size=8)
    loss = Blocks.MSE()

    def total():
        return loss.forward(model.forward(x), y)

    pred = model.forward(x)
    model.backward(x, loss.backward(pred, y))
    for param, grad in zip(model.get_params(), model.get_params_gradients()):
        assert rel_error(grad, numerical_gradient(total, param)) < 1e-6


def test_set_training_phase_is_a_method_that_reaches_dropout():
    model = Blocks.SequentialNN().add(Blocks.Dropout(0.5)).add(Blocks.ReLU())
    model.set_training_phase(False)
    assert model.layers[0].training_phase is False
    model.set_training_phase(True)
    assert model.layers[0].training_phase is True


def test_sgd_with_weight_decay_reduces_a_loss():
    rng = np.random.default_rng(6)
    model = Blocks.SequentialNN().add(Blocks.Dense(3, 1, rng=rng))
    x = rng.normal(size=(64, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    loss = Blocks.MSE()
    optimizer = Blocks.SGD(model, learning_rate=0.1, weight_decay=1e-4)
    first = loss.forward(model.forward(x), y)
    for _ in range(200):
        pred = model.forward(x)
        model.backward(x, loss.backward(pred, y.reshape(-1, 1)))
        optimizer.update_params()
    assert loss.forward(model.forward(x), y) < 0.01 * first


def test_sgd_weight_decay_is_the_gradient_of_l2_regularizer():
    layer = Blocks.Dense(2, 2, rng=0)
    layer.grad_W, layer.grad_b = np.zeros((2, 2)), np.zeros(2)
    before = [p.copy() for p in layer.get_params()]
    model = Blocks.SequentialNN().add(layer)
    Blocks.SGD(model, learning_rate=0.5, weight_decay=0.2).update_params()
    for old, new in zip(before, layer.get_params()):
        np.testing.assert_allclose(new, old * (1 - 0.5 * 0.2))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_dropout_rejects_bad_rates(bad):
    with pytest.raises(ValueError, match="drop_rate"):
        Blocks.Dropout(bad)


def test_sequential_rejects_non_layers():
    with pytest.raises(TypeError, match="Layer"):
        Blocks.SequentialNN().add(lambda x: x)


def test_gradient_check_helpers_validate_input():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(2), np.ones(3))

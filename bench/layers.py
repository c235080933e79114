"""Section 2: the notebook's ConvLayer and MaxPool2x2, forward + backward, vs PyTorch CPU.

PyTorch runs in float64 with as many threads as numpy's BLAS. The outputs and
all gradients (input, weights, bias) are checked to agree before timing.
"""

from __future__ import annotations

import numpy as np

from bench.kit import provided_namespace
from bench.rows import Row, ratio_at_most
from bench.settings import Settings
from bench.timing import measure_pair
from bench.torch_baseline import import_torch

SECTION = "layers"
TARGET = ratio_at_most(2.0)
# (batch, n_in, n_out, size, filter): the notebook's two conv layers, then a larger one.
CONV_CASES = ((32, 1, 2, 28, 3), (32, 2, 4, 14, 3), (64, 16, 32, 32, 3))
QUICK_CONV_CASES = CONV_CASES[:2]
POOL_SHAPE = (32, 2, 28, 28)


def _largest_difference(pairs) -> float:
    """max |a - b| over (numpy array, torch tensor) pairs.

    Raises:
        ValueError: when shapes differ or the values are not allclose.
    """
    worst = 0.0
    for ours, theirs in pairs:
        theirs = theirs.detach().numpy()
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-9, atol=1e-11):
            raise ValueError(f"NumPy and PyTorch disagree: shapes {ours.shape} vs {theirs.shape}")
        worst = max(worst, float(np.max(np.abs(ours - theirs))))
    return worst


def conv_row(settings: Settings, torch, namespace, case) -> Row:
    batch, n_in, n_out, size, k = case
    rng = np.random.default_rng(1)
    layer = namespace["ConvLayer"](n_in, n_out, k, rng=rng)
    layer.b = rng.normal(size=n_out)
    x = rng.normal(size=(batch, n_in, size, size))
    upstream = rng.normal(size=(batch, n_out, size, size))

    def ours():
        out = layer.forward(x)
        return out, layer.backward(x, upstream)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.W, requires_grad=True)
    tb = torch.tensor(layer.b, requires_grad=True)
    tg = torch.tensor(upstream)

    def theirs():
        out = torch.nn.functional.conv2d(tx, tw, tb, padding="same")
        return (out,) + torch.autograd.grad(out, (tx, tw, tb), tg)

    out, grad_x = ours()
    t_out, t_gx, t_gw, t_gb = theirs()
    difference = _largest_difference([(out, t_out), (grad_x, t_gx), (layer.grad_W, t_gw),
                                      (layer.grad_b, t_gb)])
    mine, base = measure_pair(ours, theirs, repeats=settings.repeats, min_sample=settings.min_sample)
    name = f"conv fwd+bwd {batch}x({n_in}->{n_out}) {size}x{size} k{k}"
    settings.say(f"  {SECTION} {name}: {mine.seconds:.2e} s vs torch {base.seconds:.2e} s")
    return Row(SECTION, name, mine.seconds, "torch f64 conv2d+autograd", base.seconds, TARGET,
               check=f"max|diff| {difference:.1e}", note=f"torch threads {torch.get_num_threads()}")


def pool_row(settings: Settings, torch, namespace) -> Row:
    rng = np.random.default_rng(2)
    pool = namespace["MaxPool2x2"]()
    x = rng.normal(size=POOL_SHAPE)
    n, c, h, w = POOL_SHAPE
    upstream = rng.normal(size=(n, c, h // 2, w // 2))

    def ours():
        return pool.forward(x), pool.backward(x, upstream)

    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(upstream)

    def theirs():
        out = torch.nn.functional.max_pool2d(tx, 2)
        return out, torch.autograd.grad(out, tx, tg)[0]

    (out, grad_x), (t_out, t_gx) = ours(), theirs()
    difference = _largest_difference([(out, t_out), (grad_x, t_gx)])
    mine, base = measure_pair(ours, theirs, repeats=settings.repeats, min_sample=settings.min_sample)
    name = f"maxpool fwd+bwd {n}x{c}x{h}x{w}"
    settings.say(f"  {SECTION} {name}: {mine.seconds:.2e} s vs torch {base.seconds:.2e} s")
    return Row(SECTION, name, mine.seconds, "torch f64 max_pool2d+autograd", base.seconds, TARGET,
               check=f"max|diff| {difference:.1e}", note=f"torch threads {torch.get_num_threads()}")


def run(settings: Settings) -> list[Row]:
    torch, reason = import_torch(settings.threads)
    if torch is None:
        settings.skip(SECTION, "all rows", reason)
        return []
    namespace = provided_namespace()
    rows = [conv_row(settings, torch, namespace, case)
            for case in (QUICK_CONV_CASES if settings.quick else CONV_CASES)]
    rows.append(pool_row(settings, torch, namespace))
    return rows

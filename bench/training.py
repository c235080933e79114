"""Section 3: one training epoch of the notebook's CNN vs the same model in PyTorch.

Both sides start from the same weights (the NumPy model's, copied), see the
same batches in the same order, and use Blocks' hinge loss and SGD update,
so after one epoch their parameters must agree (float64: to about 1e-10).
The notebook's 5-epoch experiment cell is also timed end to end.
"""

from __future__ import annotations

import numpy as np

from bench.kit import provided_namespace, run_cell, training_cell, training_data
from bench.rows import Row, ratio_at_most, seconds_below
from bench.settings import Settings
from bench.timing import measure_pair
from bench.torch_baseline import TorchCNN, import_torch

SECTION = "training"
EPOCH_TARGET = ratio_at_most(2.0)
EXPERIMENT_TARGET = seconds_below(2.0)
BATCH_SIZE, LEARNING_RATE, WEIGHT_DECAY = 32, 0.05, 1e-4
N_TRAIN = 1000


def epoch_batches(n: int, seed: int = 1) -> list[np.ndarray]:
    """The index arrays of one epoch, drawn by the notebook's ``iterate_minibatches``."""
    iterate = provided_namespace()["iterate_minibatches"]
    order = np.arange(n)
    return [idx for idx, _ in iterate(order, order, BATCH_SIZE, np.random.default_rng(seed))]


class NumpyEpoch:
    """The notebook's training loop for one epoch, restartable from the same weights."""

    def __init__(self, namespace, x, y, batches):
        self.model = namespace["build_cnn"](np.random.default_rng(0))
        self.initial = [p.copy() for p in self.model.get_params()]
        self.loss = namespace["Hinge"]()
        self.optimizer = namespace["SGD"](self.model, learning_rate=LEARNING_RATE,
                                          weight_decay=WEIGHT_DECAY)
        self.x, self.y, self.batches = x, y, batches

    def reset(self):
        for param, value in zip(self.model.get_params(), self.initial):
            param[...] = value

    def __call__(self):
        model, loss = self.model, self.loss
        for idx in self.batches:
            x_batch, y_batch = self.x[idx], self.y[idx]
            prediction = model.forward(x_batch)
            loss.forward(prediction, y_batch)
            model.backward(x_batch, loss.backward(prediction, y_batch))
            self.optimizer.update_params()


class TorchEpoch:
    """The same epoch in PyTorch, in ``dtype``."""

    def __init__(self, torch, numpy_epoch: NumpyEpoch, dtype):
        self.torch = torch
        self.net = TorchCNN(torch, numpy_epoch.model, dtype)
        self.initial = numpy_epoch.initial
        self.x = torch.tensor(numpy_epoch.x, dtype=dtype)
        self.y = torch.tensor(numpy_epoch.y, dtype=dtype)
        self.batches = [torch.from_numpy(idx) for idx in numpy_epoch.batches]

    def reset(self):
        self.net.load(self.initial)

    def __call__(self):
        net = self.net
        for idx in self.batches:
            x_batch, y_batch = self.x[idx], self.y[idx]
            loss = net.hinge(net.forward(x_batch), y_batch)
            net.sgd_step(loss, LEARNING_RATE, WEIGHT_DECAY)


def parameter_difference(numpy_epoch: NumpyEpoch, torch_epoch: TorchEpoch) -> float:
    """Largest |difference| of any parameter after one epoch on each side from the same start."""
    numpy_epoch.reset()
    numpy_epoch()
    torch_epoch.reset()
    torch_epoch()
    return max(float(np.max(np.abs(a - b)))
               for a, b in zip(numpy_epoch.model.get_params(), torch_epoch.net.numpy_params()))


def epoch_rows(settings: Settings, torch, numpy_epoch: NumpyEpoch, source: str) -> list[Row]:
    rows = []
    repeats = max(3, settings.repeats // 2) if not settings.quick else 2
    for label, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        torch_epoch = TorchEpoch(torch, numpy_epoch, dtype)
        difference = parameter_difference(numpy_epoch, torch_epoch)
        mine, base = measure_pair(numpy_epoch, torch_epoch, repeats=repeats,
                                  ours_setup=numpy_epoch.reset, baseline_setup=torch_epoch.reset)
        name = f"CNN epoch {len(numpy_epoch.x)} imgs b{BATCH_SIZE} (vs {label})"
        settings.say(f"  {SECTION} {name}: {mine.seconds:.3f} s vs torch {base.seconds:.3f} s")
        rows.append(Row(SECTION, name, mine.seconds, f"torch {label} same model", base.seconds,
                        EPOCH_TARGET, check=f"max|param diff| {difference:.1e}",
                        note=f"{source}; torch threads {torch.get_num_threads()}",
                        extra={"max_param_difference": difference}))
    return rows


def experiment_row(settings: Settings, x, y, torch) -> Row:
    """The notebook's training cell (5 epochs, accuracy after each) as the notebook runs it."""
    source = training_cell()
    namespace = provided_namespace({"x_train": x, "y_train": y})
    printed = []
    ours = lambda: printed.append(run_cell(source, namespace))  # noqa: E731
    repeats = 3 if not settings.quick else 1
    baseline, base_seconds, label = None, None, ""
    if torch is not None:
        numpy_epoch = NumpyEpoch(namespace, x, y, epoch_batches(len(x)))
        torch_epoch = TorchEpoch(torch, numpy_epoch, torch.float64)
        accuracy_input = torch_epoch.x

        def baseline():
            for _ in range(5):
                torch_epoch()
                with torch.no_grad():
                    torch_epoch.net.forward(accuracy_input)
        label = "torch f64, 5 epochs + accuracy"
    mine, base = measure_pair(ours, baseline, repeats=repeats,
                              baseline_setup=torch_epoch.reset if torch is not None else None)
    base_seconds = base.seconds if base is not None else None
    last = printed[-1].strip().splitlines()[-1] if printed and printed[-1].strip() else ""
    settings.say(f"  {SECTION} 5-epoch experiment: {mine.seconds:.3f} s ({last})")
    return Row(SECTION, "notebook 5-epoch experiment cell", mine.seconds, label, base_seconds,
               EXPERIMENT_TARGET, check=last, note="absolute target; baseline informs only")


def run(settings: Settings) -> list[Row]:
    x, y, source = training_data(N_TRAIN)
    source = "full MNIST" if "sample" not in source else "bundled sample"
    torch, reason = import_torch(settings.threads)
    rows = []
    if torch is None:
        settings.skip(SECTION, "PyTorch epoch rows", reason)
    else:
        namespace = provided_namespace()
        numpy_epoch = NumpyEpoch(namespace, x, y, epoch_batches(len(x)))
        rows += epoch_rows(settings, torch, numpy_epoch, source)
    rows.append(experiment_row(settings, x, y, torch))
    return rows

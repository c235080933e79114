"""Every graded function, declared once as data.

A :class:`Task` says what AutoMark calls the function, the names of its
arguments in ``arg_keys`` order, how to draw random inputs, and how much it
counts. Its reference implementation comes from ``solutions/`` through
:mod:`grader.references`, looked up only when an expected output has to be
computed: the student kit built by ``make release`` has neither and checks
against precomputed test vectors instead. Everything else reads ``TASKS``: the
notebook checks and the notebook's cells (:mod:`grader.task_cells`), class grading,
the server, the release's test vectors and known mistakes, the examples, the
progress table, the exports. To add a task, follow docs/adding-a-task.md.

Where the math allows a second answer, a task also says how to build it from
a case and its expected output (plain NumPy, so the student kit can do it
without references): ReLU's gradient at x == 0 may be 0 or grad_output.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grader.core import hidden, inputs
from grader.core.calling import copy_inputs

REFERENCES_MODULE = "grader.references"  # the instructor kit's bridge to solutions/
RTOL = 1e-5
ATOL = 1e-5
# Bound at import time: a submission that monkeypatches NumPy cannot bend the alternative.
_asarray = np.asarray
_equal = np.equal
_where = np.where


@dataclass(frozen=True)
class Task:
    """One graded function.

    Attributes:
        name: AutoMark's name for the function, e.g. ``"conv_matrix"``.
        arg_names: argument names in the order of AutoMark's ``arg_keys``.
        make_inputs: ``make_inputs(rng) -> dict`` of one random case.
        edge_inputs: ``edge_inputs(rng) -> list[dict]`` of targeted edge cases
            that every local run includes.
        hidden_inputs: ``hidden_inputs(rng) -> dict`` of one hidden case, drawn from a
            family on which no known shortcut passes (:mod:`grader.core.hidden`).
        mandatory: ``[MAN]`` if True, ``[OPT]`` otherwise.
        week: 2 for last week's blocks (Blocks.py), 3 for this notebook.
        output: ``"array"`` or ``"scalar"``.
        summary: one line for messages and reports.
        rtol, atol: tolerance of the comparison, as in ``np.allclose``.
        alternative: None, or ``alternative(case_inputs, expected) -> ndarray``,
            a second acceptable output of the shape of ``expected``; each value
            of an answer may match either (see :func:`grader.core.compare.compare`).
    """

    name: str
    arg_names: tuple[str, ...]
    make_inputs: Callable[[np.random.Generator], dict]
    edge_inputs: Callable[[np.random.Generator], list] = field(default=lambda rng: [])
    hidden_inputs: Callable[[np.random.Generator], dict] | None = None
    mandatory: bool = True
    week: int = 3
    output: str = "array"
    summary: str = ""
    rtol: float = RTOL
    atol: float = ATOL
    alternative: Callable[[dict, np.ndarray], np.ndarray] | None = None

    @property
    def label(self) -> str:
        """``"[MAN] conv_matrix"`` or ``"[OPT] mse_forward"``."""
        return f"[{'MAN' if self.mandatory else 'OPT'}] {self.name}"

    @property
    def reference(self) -> Callable:
        """The trusted implementation (instructor kit only).

        Looked up by name in :data:`REFERENCES_MODULE`, the instructor kit's
        bridge to ``solutions/``; the student kit ships neither and checks
        against test vectors instead.

        Raises:
            LookupError: in the student kit, which ships no references.
        """
        try:
            bridge = importlib.import_module(REFERENCES_MODULE)
        except ImportError:
            raise LookupError("this kit has no reference implementations; its checks use the "
                              "test vectors in grader/vectors/") from None
        return bridge.reference_for(self.name)

    def expected(self, case_inputs: dict):
        """The reference's output for one case (inputs are not modified)."""
        return self.reference(**copy_inputs(case_inputs))

    def hidden_case(self, rng: np.random.Generator) -> dict:
        """One hidden case: from ``hidden_inputs``, or ``make_inputs`` when none is declared."""
        return (self.hidden_inputs or self.make_inputs)(rng)

    def alternative_for(self, case_inputs: dict | None, expected):
        """The second acceptable output of one case, or None when there is none."""
        if self.alternative is None or case_inputs is None:
            return None
        return self.alternative(case_inputs, expected)


def relu_grad_at_zero(case_inputs: dict, expected):
    """ReLU's other subgradient: grad_output where x_input == 0, ``expected`` elsewhere.

    ReLU has no derivative at 0; any value between 0 (the reference's choice)
    and grad_output is a subgradient, so ``grad_output * (x_input >= 0)`` is
    as right as ``grad_output * (x_input > 0)``. NaN is neither.

    Args:
        case_inputs: ``{"x_input": (...), "grad_output": (...)}``, same shapes.
        expected: the reference's output, of that shape.

    Returns:
        An array of that shape, float64.
    """
    x_input = _asarray(case_inputs["x_input"], dtype=np.float64)
    grad_output = _asarray(case_inputs["grad_output"], dtype=np.float64)
    return _where(_equal(x_input, 0.0), grad_output, _asarray(expected, dtype=np.float64))


def _no_edges(rng) -> list:
    return []


def _task(name, args, **kwargs) -> Task:
    """A task whose generators are found by its name, unless given in ``kwargs``.

    ``make_inputs`` is the function ``name`` of :mod:`grader.core.inputs` (required),
    ``edge_inputs`` is ``inputs.EDGES[name]`` (else none) and ``hidden_inputs`` the
    function ``name`` of :mod:`grader.core.hidden` (else ``make_inputs``).

    Raises:
        LookupError: when ``grader/core/inputs.py`` has no generator for ``name``.
    """
    found = {"make_inputs": getattr(inputs, name, None),
             "edge_inputs": inputs.EDGES.get(name, _no_edges),
             "hidden_inputs": getattr(hidden, name, None)}
    found.update(kwargs)
    if not callable(found["make_inputs"]):
        raise LookupError(f"task {name!r} has no input generator: add `def {name}(rng)` "
                          f"returning one random case to grader/core/inputs.py")
    return Task(name=name, arg_names=tuple(args.split()), **found)


TASKS: tuple[Task, ...] = (
    _task("dense_forward", "x_input W b", week=2, summary="x @ W + b"),
    _task("dense_grad_input", "x_input grad_output W b", week=2, summary="grad_output @ W.T"),
    _task("dense_grad_W", "x_input grad_output W b", week=2, summary="x.T @ grad_output"),
    _task("dense_grad_b", "x_input grad_output W b", week=2, summary="sum of grad_output over the batch"),
    _task("relu_forward", "x_input", week=2, summary="max(0, x)"),
    _task("relu_grad_input", "x_input grad_output", week=2, summary="grad_output where x > 0",
          alternative=relu_grad_at_zero),
    _task("hinge_forward", "target_pred target_true", week=2, output="scalar",
          summary="mean of max(0, 1 - pred * true)"),
    _task("hinge_grad_input", "target_pred target_true", week=2, summary="gradient of the mean hinge loss"),
    _task("l2_regularizer", "weight_decay weights", week=2, output="scalar",
          summary="weight_decay / 2 * sum of squared weights"),
    _task("conv_matrix", "matrix kernel", summary="'same' zero-padded cross-correlation"),
    _task("box_blur", "image box_size", summary="mean over a box_size x box_size box"),
    _task("maxpool_forward", "x_input", summary="2x2 max pooling, stride 2"),
    _task("flatten_forward", "x_input", summary="(n, c, h, w) -> (n, c * h * w)"),
    _task("flatten_grad_input", "x_input grad_output", summary="(n, c * h * w) -> (n, c, h, w)"),
    _task("dropout_forward", "x_input mask drop_rate training_phase", week=2, mandatory=False,
          summary="x * mask while training, x * (1 - drop_rate) at test time"),
    _task("dropout_grad_input", "x_input grad_output mask", week=2, mandatory=False,
          summary="grad_output * mask"),
    _task("mse_forward", "target_pred target_true", week=2, mandatory=False, output="scalar",
          summary="mean((pred - true) ** 2) / 2"),
    _task("mse_grad_input", "target_pred target_true", week=2, mandatory=False,
          summary="(pred - true) / n"),
)

_BY_NAME = {task.name: task for task in TASKS}


def task_names() -> tuple[str, ...]:
    """Names of every task, in declaration order."""
    return tuple(_BY_NAME)


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises:
        KeyError: with a message that names the closest known task.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(unknown_task_message(name)) from None


def find_task(name: str) -> Task | None:
    """The task called ``name``, or None."""
    return _BY_NAME.get(name)


def unknown_task_message(name: str) -> str:
    """One line explaining that ``name`` is not graded, with a suggestion."""
    close = difflib.get_close_matches(str(name), _BY_NAME, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (f"AutoMark does not grade a function called '{name}'.{hint} "
            f"Graded functions: {', '.join(sorted(_BY_NAME))}.")


THIS_WEEK = 3  # this notebook's week; last week's blocks (Blocks.py) are week 2


def this_week_names() -> tuple[str, ...]:
    """This assignment's functions: what ``grade`` and ``server export`` grade by default."""
    return tuple(task.name for task in TASKS if task.week == THIS_WEEK)


def ordered_for_progress() -> list[Task]:
    """Tasks as the progress table lists them: this week's first, then last week's; in each,
    [MAN] first, then [OPT], by name (AutoMark's order within a week)."""
    return sorted(TASKS, key=lambda task: (-task.week, not task.mandatory, task.name.lower()))

"""How large a hidden input from the server may be, per task, derived from the kit's own generators.

An input of AutoMark's form can still be of any size: a ``box_blur`` with ``box_size=4001``
(hundreds of megabytes), a ``conv_matrix`` of a 400 x 400 matrix and a 399 x 399 kernel (a
call of seconds inside NumPy's C code, where no alarm interrupts it). No task's server draws
anything near that, so the client takes no such input (the student's function never runs on it).

The rule, for each argument of each task: draw it :data:`DRAWS` times from each of the task's
declared generators (the hidden cases of :mod:`grader.core.hidden`, the local cases of
:mod:`grader.core.inputs`) plus its edge cases, with fixed seeds; then accept

- an array of at most as many dimensions as any drawn, none of whose sides is longer than
  :data:`FACTOR` times the longest side drawn (over every axis);
- an ``int`` or ``float`` at most :data:`FACTOR` times the largest magnitude drawn (a
  ``bool`` always).

So a new task is bounded by its declaration, with no number typed here. The cases the real
AutoMark server handed out lie within 1x of the kit's generators; the cost of a call is bounded
by a power of :data:`FACTOR` (``conv_matrix``: (4 x 8)^2 pixels times (4 x 7)^2 weights).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from grader.core.tasks import Task

FACTOR = 4      # room for a course's server drawing somewhat larger cases than the kit
DRAWS = 200     # per generator, seeds 0..DRAWS-1


@dataclass(frozen=True)
class Bound:
    """What one argument may be.

    Attributes:
        ndim: the most dimensions of an array (0: no array drawn).
        side: the longest side of an array along any axis.
        scalar: the largest magnitude of an ``int`` or ``float`` (0: no number drawn).
    """

    ndim: int = 0
    side: int = 0
    scalar: float = 0.0


def _parts(value) -> list:
    """A value as the arrays and numbers it holds (``l2_regularizer``'s weights may be a list)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _drawn(task: Task) -> list[dict]:
    cases = []
    for generator in filter(None, (task.hidden_inputs, task.make_inputs)):
        cases += [generator(np.random.default_rng(seed)) for seed in range(DRAWS)]
    return cases + list(task.edge_inputs(np.random.default_rng(0)))


@functools.lru_cache(maxsize=None)
def bounds_for(task: Task) -> dict[str, Bound]:
    """``{argument: Bound}`` of ``task``, by the rule above (computed once per task)."""
    largest = {name: [0, 0, 0.0] for name in task.arg_names}
    for case in _drawn(task):
        for name in task.arg_names:
            for part in _parts(case[name]):
                seen = largest[name]
                if isinstance(part, np.ndarray):
                    seen[0] = max(seen[0], part.ndim)
                    seen[1] = max([seen[1], *part.shape])
                elif not isinstance(part, (bool, np.bool_)):
                    seen[2] = max(seen[2], abs(float(part)))
    return {name: Bound(ndim, FACTOR * side, FACTOR * scalar)
            for name, (ndim, side, scalar) in largest.items()}


def problem(bound: Bound, value) -> str:
    """Why ``value`` (an array, or a number as JSON gives it) is past ``bound``; "" if it is not."""
    if isinstance(value, np.ndarray):
        if not bound.ndim:
            return "an array where the task takes a number"
        if value.ndim > bound.ndim:
            return f"an array of {value.ndim} dimensions (the task's have at most {bound.ndim})"
        if value.ndim and max(value.shape) > bound.side:
            return f"an array with a side longer than {bound.side} (its shape is {value.shape})"
        return ""
    if isinstance(value, bool):
        return ""
    if not abs(value) <= bound.scalar:       # NaN is past every bound too
        return f"a number beyond +-{bound.scalar:g} ({value!r:.40})"
    return ""

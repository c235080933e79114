"""Which inputs a student's function is checked on.

Cases are drawn from a generator seeded by (username, task, phase), so a
student's cases are reproducible and two students get different ones. Both
phases start with the task's edge cases (1x1 and non-square kernels, a single
row ...; the worked examples of the lesson keep their fixed values), then add
random cases: the local phase AutoMark-like ones (``make_inputs``), the remote
phase hidden ones (``hidden_case``: a family on which no known shortcut passes,
:mod:`grader.core.hidden`). The remote phase is seeded apart, so its values
differ from the local ones, and its failures never show expected values.
"""

from __future__ import annotations

import hashlib

import numpy as np

from grader.core.tasks import Task

N_LOCAL_RANDOM = 20
N_REMOTE_RANDOM = 5
PHASES = ("local", "remote")


def case_seed(username: str, task_name: str, phase: str) -> int:
    """A 64-bit seed that depends on the user, the task and the phase only."""
    key = "\x1f".join(("automark-cnn", str(username), task_name, phase)).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little")


def make_cases(task: Task, username: str, phase: str) -> list[dict]:
    """The input dicts of one phase, edge cases first.

    Args:
        task: the graded function.
        username: the student's AutoMark username.
        phase: ``"local"`` or ``"remote"``.

    Returns:
        A list of ``{argument name: value}`` dicts.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    rng = np.random.default_rng(case_seed(username, task.name, phase))
    edges = list(task.edge_inputs(rng))
    if phase == "local":
        return edges + [task.make_inputs(rng) for _ in range(N_LOCAL_RANDOM)]
    return edges + [task.hidden_case(rng) for _ in range(N_REMOTE_RANDOM)]


def describe_inputs(case_inputs: dict) -> str:
    """Short description of a case by its shapes.

    E.g. ``matrix (1, 5), kernel (1, 3)`` or
    ``weight_decay=0.5, weights: list of 2 arrays (2, 16), (16, 1)``.
    """
    parts = []
    for name, value in case_inputs.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name} {value.shape}")
        elif isinstance(value, list):
            shapes = ", ".join(str(np.shape(item)) for item in value)
            noun = "array" if len(value) == 1 else "arrays"
            parts.append(f"{name}: list of {len(value)} {noun} {shapes}".rstrip())
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


SMALL_VALUES = 16     # an argument with at most this many numbers is shown in full
SMALL_LINES = 6       # and the whole case in at most this many lines


def show_values(case_inputs: dict) -> str:
    """The case's values, one argument a line, when they are small enough to read; else "".

    E.g. ``image = [[9., 0., 9.], [0., 0., 0.], [9., 0., 9.]]`` and ``box_size = 3``.
    """
    lines = []
    for name, value in case_inputs.items():
        items = value if isinstance(value, list) else [value]
        if any(np.size(item) > SMALL_VALUES for item in items):
            return ""
        if isinstance(value, list):
            text = "[" + ", ".join(_array_text(item) for item in value) + "]"
        elif isinstance(value, np.ndarray):
            text = _array_text(value)
        else:
            text = repr(value)
        lines.append(f"{name} = {text}")
    return "\n".join(lines) if len(lines) <= SMALL_LINES else ""


def _array_text(value) -> str:
    return np.array2string(np.asarray(value), precision=4, separator=", ",
                           max_line_width=10_000, suppress_small=True).replace("\n", "")

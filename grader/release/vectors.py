"""Write the student kit's test vectors: every task's cases with the references' outputs."""

from __future__ import annotations

from grader.core import archive
from grader.core.cases import make_cases


def write_vectors(path, tasks, *, phase: str, username: str = "release") -> int:
    """Write one phase's cases of every task, with the references' outputs.

    Args:
        path: the ``.npz`` file to write (see :mod:`grader.core.archive` for its layout).
        tasks: the :class:`~grader.core.tasks.Task` declarations.
        phase: ``"local"`` or ``"remote"``.
        username: whose seeded cases to draw; the same vectors serve every student.

    Returns:
        The number of cases written.
    """
    entries = {}
    for task in tasks:
        cases = make_cases(task, username, phase)
        entries[task.name] = {"cases": cases, "expected": [task.expected(c) for c in cases],
                              "output": task.output, "n_local": len(cases) if phase == "local" else 0}
    return archive.write_cases(path, entries, compress=True)

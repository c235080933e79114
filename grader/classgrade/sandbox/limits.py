"""Resource limits of one sandboxed submission."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from grader.core.calling import CALL_SECONDS, TASK_SECONDS


@dataclass(frozen=True)
class Limits:
    """Limits for running one submission.

    Attributes:
        call_seconds: wall time of one call of a student function (the notebook's too).
        task_seconds: wall time of all cases of one function, local and hidden (the
            notebook's too).
        load_seconds: wall time to load the submission's definitions.
        submission_seconds: wall time of the whole submission.
        memory_mb: address space of each process.
        cpu_seconds: CPU time of each process.
        max_processes: processes the submission may have at once (effective
            when the sandbox can run it as an unprivileged user).
        output_mb: largest file it may write, its printed output included.
    """

    call_seconds: float = CALL_SECONDS
    task_seconds: float = TASK_SECONDS
    load_seconds: float = 20.0
    submission_seconds: float = 300.0
    memory_mb: int = 1024
    cpu_seconds: int = 120
    max_processes: int = 64
    output_mb: int = 16

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"limit {name} must be positive, got {value!r}")

    def for_worker(self) -> dict:
        """The limits as the worker reads them from its manifest."""
        return asdict(self)

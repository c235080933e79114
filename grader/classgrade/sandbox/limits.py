"""Resource limits of one sandboxed submission."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from grader.core.calling import CALL_SECONDS, TASK_SECONDS

GRACE_SECONDS = 1.0  # the worker's allowance past a function's own budget
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Limits:
    """Limits for running one submission.

    Attributes:
        call_seconds: wall time of one call of a student function (the notebook's too).
        task_seconds: wall time of all cases of one function, local and hidden (the
            notebook's too).
        load_seconds: wall time to load the submission's definitions.
        submission_seconds: wall time of the whole submission; it must leave every
            function its own time (:meth:`check_budget`), so no function can spend
            another's.
        memory_mb: address space of each process.
        cpu_seconds: CPU time of loading, of each function, and of each process they start.
        max_processes: processes the submission may have at once (effective
            when the sandbox can run it as an unprivileged user).
        output_mb: largest file it may write, its printed output included.
        tmp_mb: size of its private /tmp (bubblewrap), its only writable folder.
        return_mb: everything it may send back to the grader (answers and messages).
        packages: installed packages graded code may import besides NumPy, matplotlib and
            what they need, comma-separated (e.g. scipy); every other one is absent.
    """

    call_seconds: float = CALL_SECONDS
    task_seconds: float = TASK_SECONDS
    load_seconds: float = 20.0
    submission_seconds: float = 600.0
    memory_mb: int = 1024
    cpu_seconds: int = 120
    max_processes: int = 64
    output_mb: int = 16
    tmp_mb: int = 64
    return_mb: int = 64
    packages: str = ""

    def __post_init__(self):
        for name in (n.strip() for n in self.packages.split(",") if n.strip()):
            if not _PACKAGE.fullmatch(name):
                raise ValueError(f"packages: {name!r} is not a package name; give names "
                                 "separated by commas, e.g. scipy,scikit-image")
        for name, value in asdict(self).items():
            if isinstance(value, str):
                continue
            if not value > 0:
                raise ValueError(f"limit {name} must be positive, got {value!r}")

    def needed_seconds(self, n_tasks: int) -> float:
        """The longest a submission of ``n_tasks`` functions may take: loading, each function
        in turn, and loading again after each function but the last (one that ends its
        process leaves the rest to a new one, which loads in a load time of its own)."""
        return (self.load_seconds + n_tasks * (self.task_seconds + GRACE_SECONDS)
                + max(n_tasks - 1, 0) * (self.load_seconds + GRACE_SECONDS) + GRACE_SECONDS)

    def check_budget(self, n_tasks: int) -> None:
        """Refuse a submission limit that could cut functions off through no fault of theirs.

        Raises:
            ValueError: naming both numbers and what to change.
        """
        needed = self.needed_seconds(n_tasks)
        if self.submission_seconds < needed:
            raise ValueError(
                f"submission_seconds {self.submission_seconds:g} is less than {n_tasks} functions "
                f"may need ({self.load_seconds:g} s to load + {n_tasks} x "
                f"{self.task_seconds + GRACE_SECONDS:g} s, and {max(n_tasks - 1, 0)} x "
                f"{self.load_seconds + GRACE_SECONDS:g} s to load again after a function that "
                f"ends its process = {needed:g} s): raise --submission-seconds or lower "
                "--task-seconds or --load-seconds")

    def for_worker(self) -> dict:
        """The limits as the worker reads them from its manifest."""
        return {**asdict(self), "grace_seconds": GRACE_SECONDS}

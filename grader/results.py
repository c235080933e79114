"""Records of a check: one case, one task, one submission.

All are frozen dataclasses with ``passed``, ``score``/``possible`` where they
apply, ``to_dict()`` for JSON, and a constructor for a crash, so that a
submission that breaks the grader still produces a result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Outcome kinds of a single case, from best to worst.
OK = "ok"
MISMATCH = "mismatch"          # numbers differ beyond the tolerance
WRONG_SHAPE = "wrong_shape"
NOT_FINITE = "not_finite"      # NaN or inf where the reference is finite
WRONG_TYPE = "wrong_type"      # None, a string, an object array ...
EXCEPTION = "exception"
TIMEOUT = "timeout"
NOT_IMPLEMENTED = "not_implemented"
CRASHED = "crashed"            # the process running the submission died


@dataclass(frozen=True)
class CaseResult:
    """Outcome of calling a student function on one case.

    Attributes:
        index: position of the case in its phase (0-based).
        kind: one of the outcome kinds above; ``"ok"`` means passed.
        message: what went wrong, deterministic, empty when passed.
        mutated: names of arguments the function changed in place.
        max_error: largest absolute difference, when values were compared.
    """

    index: int
    kind: str
    message: str = ""
    mutated: tuple[str, ...] = ()
    max_error: float | None = None

    @property
    def passed(self) -> bool:
        return self.kind == OK

    def to_dict(self) -> dict:
        data = asdict(self)
        data["mutated"] = list(self.mutated)
        data["passed"] = self.passed
        return data


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one phase (``"local"`` or ``"remote"``) of one task.

    Attributes:
        task: the task's name.
        phase: ``"local"`` or ``"remote"``.
        cases: the case results in order (empty when the run could not start).
        error: why no case could run (bad arg_keys, crash), else empty.
    """

    task: str
    phase: str
    cases: tuple[CaseResult, ...] = ()
    error: str = ""
    error_kind: str = ""

    @classmethod
    def crashed(cls, task: str, phase: str, message: str, kind: str = CRASHED) -> "TaskResult":
        """A result for a run that never produced case results."""
        return cls(task=task, phase=phase, cases=(), error=message, error_kind=kind)

    @property
    def passed(self) -> bool:
        return not self.error and bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def not_implemented(self) -> bool:
        """True when the function is still the stub (every case raised NotImplementedError)."""
        if self.error_kind == NOT_IMPLEMENTED:
            return True
        return bool(self.cases) and all(c.kind == NOT_IMPLEMENTED for c in self.cases)

    @property
    def n_passed(self) -> int:
        return sum(case.passed for case in self.cases)

    @property
    def first_failure(self) -> CaseResult | None:
        return next((case for case in self.cases if not case.passed), None)

    @property
    def mutated(self) -> tuple[str, ...]:
        names = {name for case in self.cases for name in case.mutated}
        return tuple(sorted(names))

    def to_dict(self) -> dict:
        return {"task": self.task, "phase": self.phase, "passed": self.passed,
                "n_passed": self.n_passed, "n_cases": len(self.cases), "error": self.error,
                "error_kind": self.error_kind, "cases": [c.to_dict() for c in self.cases]}


@dataclass(frozen=True)
class CheckResult:
    """Both phases of one ``test_student_function`` call."""

    local: TaskResult
    remote: TaskResult
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.remote.passed

    @property
    def not_implemented(self) -> bool:
        return self.local.not_implemented and self.remote.not_implemented

"""Records of a check: one case, one task, one submission.

All are frozen dataclasses with ``passed``, ``score``/``possible`` where they
apply, ``to_dict()`` for JSON, and a constructor for a crash, so that a
submission that breaks the grader still produces a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

# Outcome kinds of a single case. What a call itself can end in (ok, exception,
# timeout, not implemented, wrong type) is named once, in grader.core.calling.
from grader.core.calling import EXCEPTION, NOT_IMPLEMENTED, OK, TIMEOUT, WRONG_TYPE  # noqa: F401

MISMATCH = "mismatch"          # numbers differ beyond the tolerance
WRONG_SHAPE = "wrong_shape"
NOT_FINITE = "not_finite"      # NaN or inf where the reference is finite
CRASHED = "crashed"            # the process running the submission died
MISSING = "missing"            # the submission does not define the function
NOT_SUBMITTED = "not_submitted"  # the function comes from a kit file, not the student's work


@dataclass(frozen=True)
class CaseResult:
    """Outcome of calling a student function on one case.

    Attributes:
        index: position of the case among the function's cases (0-based; local
            cases first, then hidden ones).
        kind: one of the outcome kinds above; ``"ok"`` means passed.
        message: what went wrong, deterministic, empty when passed.
        mutated: names of arguments the function changed in place.
        max_error: largest absolute difference, when values were compared.
        hidden: a hidden case (called positionally; its expected values are never shown).
        inputs: a failed local case's input values, when small enough to read (else "").
    """

    index: int
    kind: str
    message: str = ""
    mutated: tuple[str, ...] = ()
    max_error: float | None = None
    hidden: bool = False
    inputs: str = ""

    @property
    def passed(self) -> bool:
        return self.kind == OK

    def to_dict(self) -> dict:
        data = {item.name: getattr(self, item.name) for item in fields(self)}  # flat: no asdict
        data["mutated"] = list(self.mutated)
        data["passed"] = self.passed
        return data


@dataclass(frozen=True)
class TaskResult:
    """Outcome of one task: one phase of a notebook check, or every case in class grading.

    Attributes:
        task: the task's name.
        phase: ``"local"`` or ``"remote"`` (a notebook check), ``"grade"`` (class grading:
            local and hidden cases together).
        cases: the case results in order (empty when the run could not start).
        error: why no case could run (bad arg_keys, crash), else empty.
        calls: the other graded functions this one calls (class grading reads them from
            the student's source, so its feedback can say "fix conv_matrix first").
    """

    task: str
    phase: str
    cases: tuple[CaseResult, ...] = ()
    error: str = ""
    error_kind: str = ""
    mistake: str = ""
    calls: tuple[str, ...] = ()

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
        if self.error_kind in (NOT_IMPLEMENTED, MISSING, NOT_SUBMITTED):
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
                "error_kind": self.error_kind, "mistake": self.mistake, "calls": list(self.calls),
                "cases": [c.to_dict() for c in self.cases]}

    @property
    def state(self) -> str:
        """AutoMark's progress state this result leads to."""
        if self.passed:
            return "completed"
        return "not attempted" if self.not_implemented else "attempted"


@dataclass(frozen=True)
class CheckResult:
    """Both phases of one ``test_student_function`` call."""

    local: TaskResult
    remote: TaskResult
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """The one rule of the kit: every local and every hidden case passed."""
        return self.local.passed and self.remote.passed

    @property
    def not_implemented(self) -> bool:
        return self.local.not_implemented and self.remote.not_implemented


@dataclass(frozen=True)
class SubmissionResult:
    """Everything class grading found for one student's submission.

    Attributes:
        username: the student.
        content_hash: SHA-256 of the submitted files ("" when nothing was submitted).
        tasks: one result per graded task, in declaration order.
        error: why nothing could be graded (invalid notebook, no submission ...).
        notes: remarks for the feedback (syntax errors in cells, sandbox mode ...).
        sandbox: ``"bwrap"`` or ``"plain"`` (or ``""`` when nothing ran).
        seconds: wall time of the run.
    """

    username: str
    content_hash: str = ""
    tasks: tuple[TaskResult, ...] = ()
    error: str = ""
    notes: tuple[str, ...] = ()
    sandbox: str = ""
    seconds: float = 0.0

    @classmethod
    def crashed(cls, username: str, content_hash: str, message: str,
                task_names=()) -> "SubmissionResult":
        """A submission that could not be graded at all: every task fails with ``message``."""
        tasks = tuple(TaskResult.crashed(name, "grade", message, kind=CRASHED) for name in task_names)
        return cls(username=username, content_hash=content_hash, tasks=tasks, error=message)

    def task(self, name: str) -> TaskResult | None:
        return next((t for t in self.tasks if t.task == name), None)

    def score(self, points: dict) -> float:
        """Points earned: ``points[task]`` for every passed task."""
        return float(sum(points.get(t.task, 0.0) for t in self.tasks if t.passed))

    def to_dict(self) -> dict:
        return {"username": self.username, "content_hash": self.content_hash,
                "error": self.error, "notes": list(self.notes), "sandbox": self.sandbox,
                "seconds": round(self.seconds, 3), "tasks": [t.to_dict() for t in self.tasks]}

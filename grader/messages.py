"""AutoMark's printed messages and progress table, and our failure details.

Every message is deterministic: no times, no memory addresses.
"""

from __future__ import annotations

from grader.results import CheckResult, TaskResult
from grader.roster import Student

TABLE_WIDTH = 45
_LABEL_WIDTH = 24
_STATE_WIDTH = TABLE_WIDTH - _LABEL_WIDTH - 7

RUNNING_LOCAL = "Running local tests..."
RUNNING_REMOTE = "Running remote test..."
REMOTE_PASSED = "Test was successful. Congratulations!"
REMOTE_FAILED = "Test failed. Please review your code."


def local_verdict(name: str, passed: bool) -> str:
    """``conv_matrix successfully passed local tests`` or ``... failed some local tests``."""
    return f"{name} successfully passed local tests" if passed else f"{name} failed some local tests"


def failure_details(result: TaskResult, indent: str = "    ") -> list[str]:
    """Lines that say why a phase failed: how many cases, and the first failure."""
    if result.passed:
        return []
    if result.not_implemented:
        return [f"{indent}{result.task} is not implemented yet: replace the "
                "`raise NotImplementedError` line in its cell with your code."]
    if result.error:
        return [f"{indent}{result.error}"]
    first = result.first_failure
    lines = [f"{indent}{len(result.cases) - result.n_passed} of {len(result.cases)} "
             f"{result.phase} cases failed."]
    if first is not None:
        label = "First failure: " if result.phase == "local" else "First failure (hidden case): "
        lines.append(f"{indent}{label}{first.message}")
    return lines


def check_report(name: str, check: CheckResult) -> list[str]:
    """The lines ``test_student_function`` prints, in AutoMark's order."""
    lines = [RUNNING_LOCAL, local_verdict(name, check.local.passed)]
    lines += failure_details(check.local)
    lines.append(RUNNING_REMOTE)
    lines.append(REMOTE_PASSED if check.remote.passed else REMOTE_FAILED)
    if not check.local.not_implemented:
        lines += failure_details(check.remote)
    lines += list(check.notes)
    return lines


def _row(text: str) -> str:
    return f"| {text[:TABLE_WIDTH - 4].ljust(TABLE_WIDTH - 4)} |"


def progress_table(username: str, student: Student | None, rows: list[tuple[str, str]]) -> str:
    """AutoMark's progress table, 45 characters wide.

    Args:
        username: shown when the roster does not know a name.
        student: the roster's entry, or None.
        rows: ``(label, state)`` pairs, e.g. ``("[MAN] conv_matrix", "completed")``.
    """
    rule = "-" * TABLE_WIDTH
    header = [student.name or username] if student else [username]
    if student and student.email:
        header.append(student.email)
    lines = [rule] + [_row(text) for text in header] + [rule]
    for label, state in rows:
        lines.append(f"| {label.ljust(_LABEL_WIDTH)} | {state.ljust(_STATE_WIDTH)} |")
    lines.append(rule)
    return "\n".join(lines)

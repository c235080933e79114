"""AutoMark's printed messages and progress table, and our failure details.

Every message is a function of its arguments: no clock, no memory addresses.
"""

from __future__ import annotations

import math
import re

from grader.client.roster import Student
from grader.core import tasks
from grader.core.checking import STUB
from grader.core.results import CheckResult, TaskResult

TABLE_WIDTH = 45
_LABEL_WIDTH = 24
_STATE_WIDTH = TABLE_WIDTH - _LABEL_WIDTH - 7

RUNNING_LOCAL = "Running local tests..."
RUNNING_REMOTE = "Running remote test..."
REMOTE_PASSED = "Test was successful. Congratulations!"
REMOTE_FAILED = "Test failed. Please review your code."
WAITING = "waiting"  # a remote phase's error_kind: the hidden check could not run now
# AutoMark's refusal while a student's window is open (the original server's words and ours)
_TIMEOUT_WORDS = re.compile(r"your timeout expires in (\d{1,9}) sec\.")
# The longest window believed: AutoMark's are seconds long; a server's "999999999 sec." would
# close the hidden checks for the session (the local ones run regardless).
MAX_WINDOW_SECONDS = 3600


def timeout_seconds(text: str) -> int | None:
    """The seconds left in AutoMark's ``your timeout expires in 29 sec.`` (at most
    :data:`MAX_WINDOW_SECONDS`); None for other texts."""
    found = _TIMEOUT_WORDS.fullmatch(text)
    return min(int(found.group(1)), MAX_WINDOW_SECONDS) if found else None


def next_hidden_check(seconds_left: float) -> str:
    """Why the hidden check did not run: the server's rate limit, for ``seconds_left`` more."""
    return (f"Your next hidden check is possible in {max(1, math.ceil(seconds_left))} s (the "
            "server's rate limit); the local checks ran now, above: run this check again then.")


def hidden_check_waits_for_server(reason: str) -> str:
    """Why the hidden check did not run: the server did not answer (``reason`` says how)."""
    return (f"The hidden check waits for the server: {reason.rstrip('.')}. The local checks ran now, above. "
            "Nothing is recorded until the server answers (it keeps your progress): run this "
            "check again when it is back.")


def server_refused(words: str, *, plain: str = "") -> str:
    """The server refused the hidden check: its ``words`` quoted as its own (so never read as
    AutoMark's verdict, whatever they say), or ``plain`` when it gave none that can be shown."""
    said = f'"{words}"' if words else plain.rstrip(".")
    return (f"The server refused the hidden check: {said}. The local checks ran now, above; "
            "the hidden check did not run.")


def not_automarks(url: str, what: str) -> str:
    """The server at ``url`` answered ``what`` (e.g. "a page that is not JSON"), which
    AutoMark's server never sends: a login page or a proxy may stand in its way."""
    return (f"the AutoMark server at {url} answered something that is not AutoMark's ({what}); "
            "a Wi-Fi login page, a proxy or another server may be in the way")


def local_verdict(name: str, passed: bool) -> str:
    """``conv_matrix successfully passed local tests`` or ``... failed some local tests``."""
    return f"{name} successfully passed local tests" if passed else f"{name} failed some local tests"


def mutation_warning(task_name: str, mutated) -> str:
    """The warning for a function that changed its inputs in place."""
    names = ", ".join(f"`{name}`" for name in mutated)
    return (f"Warning: {task_name} changed its input {names} in place. Work on a copy "
            "(e.g. x = x.copy()); layers reuse their inputs in the backward pass.")


def explain(result: TaskResult, *, indent: str = "", warn_mutation: bool = True) -> list[str]:
    """Why a task failed, in the same words for the notebook and for class feedback.

    Args:
        result: one notebook phase (``local``/``remote``) or a class-grading result.
        indent: put before every line.
        warn_mutation: add the in-place warning (the notebook adds it once per check).

    Returns:
        Lines without newlines; empty for a passed task.
    """
    if result.passed:
        return []
    if result.error:
        lines = [result.error]
    elif result.not_implemented:
        first = result.first_failure
        if first is not None and first.message.startswith(STUB):
            lines = [f"{result.task} is not implemented yet: {first.message}."]
        else:
            lines = [f"{result.task} is not implemented yet: replace the "
                     "`raise NotImplementedError` line in its cell with your code."]
    else:
        scope = {"local": "local ", "remote": "remote "}.get(result.phase, "")
        lines = [f"{len(result.cases) - result.n_passed} of {len(result.cases)} {scope}cases failed."]
        first = result.first_failure
        if first is not None:
            hidden = first.hidden or result.phase == "remote"
            label = "First failure (hidden case): " if hidden else "First failure: "
            lines.append(label + first.message)
            if first.inputs and not hidden:
                lines += ["  its inputs: " + line if n == 0 else "              " + line
                          for n, line in enumerate(first.inputs.splitlines())]
    if result.mistake:
        lines.append(f"Recognised mistake: {result.mistake}")
    if warn_mutation and result.mutated:
        lines.append(mutation_warning(result.task, result.mutated))
    return [indent + line for line in lines]


def check_report(name: str, check: CheckResult) -> list[str]:
    """The lines ``test_student_function`` prints, in AutoMark's order.

    "Test was successful. Congratulations!" only when every local and hidden
    case passed: the rule class grading scores by.
    """
    lines = [RUNNING_LOCAL, local_verdict(name, check.local.passed)]
    lines += explain(check.local, indent="    ", warn_mutation=False)
    lines.append(RUNNING_REMOTE)
    if check.remote.error_kind == WAITING:
        lines.append(check.remote.error)
    else:
        lines.append(REMOTE_PASSED if check.passed else REMOTE_FAILED)
    if not check.local.not_implemented and check.remote.error_kind != WAITING:
        lines += explain(check.remote, indent="    ", warn_mutation=False)
        if check.remote.passed and not check.local.passed:
            lines.append("    The hidden cases passed, but a function is completed only when "
                         "its local cases pass too.")
    mutated = sorted(set(check.local.mutated) | set(check.remote.mutated))
    if mutated:
        lines.append(mutation_warning(name, mutated))
    lines += list(check.notes)
    return lines


CHECKED_NOW = "its own local cases (checked just now)"
GRADED_TOO = "its own cases (graded above)"


def dependency_note(name: str, failing, *, checked: str = CHECKED_NOW) -> list[str]:
    """Lines saying that ``name`` calls graded functions that fail their local cases now.

    The same lines end a failed check in the notebook and a failed task in class
    feedback (``checked=GRADED_TOO``: class grading has every function's verdict).

    Args:
        name: the function checked.
        failing: ``(callee, not implemented)`` of each callee that fails its local cases
            when checked again just now (may be empty).
        checked: which of the callee's cases failed, and when.
    """
    lines = []
    for callee, not_implemented in failing:
        why = ("is not implemented yet: write" if not_implemented else
               f"fails {checked}: fix")
        lines.append(f"Note: {name} calls {callee}, which {why} {callee} first, "
                     f"then check {name} again.")
    return lines


def _row(text: str) -> str:
    return f"| {text[:TABLE_WIDTH - 4].ljust(TABLE_WIDTH - 4)} |"


LAST_WEEK = "Last week's, from Blocks.py:"
FAILING_NOW = "completed*"
FAILING_NOW_NOTE = ("* completed earlier, but your last check of it failed: it still counts as "
                    "completed, fix it before you hand in.")
PLACEHOLDER_USERNAME = "your_username"


def placeholder_warning(username) -> str:
    """A warning when the notebook's placeholder username was never changed, else ""."""
    if username != PLACEHOLDER_USERNAME:
        return ""
    return (f"Note: username is still '{PLACEHOLDER_USERNAME}'. Set it to your course username in "
            "the first cell: progress is recorded under that name.")


def _week(label: str) -> int:
    task = tasks.find_task(label.split()[-1])
    return task.week if task else 0


def progress_table(username: str, student: Student | None, rows: list[tuple[str, str]]) -> str:
    """AutoMark's progress table, 45 characters wide.

    This assignment's functions come first; last week's follow under a line of
    their own. A state of ``completed*`` (completed once, failing at the last
    check) gets a note under the table.

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
    this_week = max((_week(label) for label, _ in rows), default=0)
    current = [row for row in rows if _week(row[0]) == this_week]
    earlier = [row for row in rows if _week(row[0]) != this_week]
    for label, state in current:
        lines.append(f"| {label.ljust(_LABEL_WIDTH)} | {state.ljust(_STATE_WIDTH)} |")
    if earlier:
        lines.append(_row(LAST_WEEK))
        for label, state in earlier:
            lines.append(f"| {label.ljust(_LABEL_WIDTH)} | {state.ljust(_STATE_WIDTH)} |")
    lines.append(rule)
    if any(state == FAILING_NOW for _, state in rows):
        lines.append(FAILING_NOW_NOTE)
    return "\n".join(lines)

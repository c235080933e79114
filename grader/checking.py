"""Check a function against its reference: one phase, then both phases.

This is the trusted comparison step. In the notebook it runs in the student's
process; in class grading the sandbox only calls the functions and the
answers are compared here, outside it.
"""

from __future__ import annotations

from grader import results, vectors
from grader.calling import CallOutcome, CallTimeout, call_once, signature_problem
from grader.cases import describe_inputs, make_cases
from grader.compare import compare
from grader.results import CaseResult, CheckResult, TaskResult
from grader.tasks import Task


def judge(task: Task, outcome: CallOutcome, expected, index: int, *, hidden: bool) -> CaseResult:
    """Turn one call's outcome into a :class:`CaseResult`."""
    error = outcome.error
    if error is not None:
        if isinstance(error, NotImplementedError):
            kind = results.NOT_IMPLEMENTED
            message = f"raised {outcome.error_text or 'NotImplementedError'}"
        elif isinstance(error, CallTimeout):
            kind, message = results.TIMEOUT, (f"{error}: look for a loop that never ends "
                                               "or work that grows too fast")
        elif isinstance(error, SystemExit):
            kind, message = results.EXCEPTION, "called exit(): a graded function must return"
        else:
            kind = results.EXCEPTION
            message = f"raised {outcome.error_text or type(error).__name__}"
        return CaseResult(index=index, kind=kind, message=message, mutated=outcome.mutated)
    verdict = compare(expected, outcome.answer, rtol=task.rtol, atol=task.atol,
                      scalar=task.output == "scalar", hidden=hidden)
    return CaseResult(index=index, kind=verdict.kind, message=verdict.message,
                      mutated=outcome.mutated, max_error=verdict.max_error)


def run_phase(task: Task, function, cases: list[dict], *, phase: str,
              expected: list | None = None, time_limit: float | None = 10.0) -> TaskResult:
    """Call ``function`` on every case and compare with the reference.

    Args:
        task: the graded function's declaration.
        function: the student's function.
        cases: input dicts (from :func:`grader.cases.make_cases`).
        phase: ``"local"`` (keyword calls, details shown) or ``"remote"``
            (positional calls in ``arg_keys`` order, expected values hidden).
        expected: precomputed expected outputs; computed with the reference when None.
        time_limit: seconds per call.

    Returns:
        A :class:`TaskResult`.
    """
    remote = phase == "remote"
    problem = "" if remote else signature_problem(function, task.arg_names)
    if problem:
        return TaskResult.crashed(task.name, phase, problem, kind=results.EXCEPTION)
    case_results = []
    for index, case_inputs in enumerate(cases):
        want = expected[index] if expected is not None else task.expected(case_inputs)
        outcome = call_once(function, case_inputs, task.arg_names, positional=remote,
                            seconds=time_limit)
        result = judge(task, outcome, want, index, hidden=remote)
        if not result.passed and not remote:
            result = CaseResult(index=index, kind=result.kind, mutated=result.mutated,
                                max_error=result.max_error,
                                message=f"case {index} ({describe_inputs(case_inputs)}): "
                                        f"{result.message}")
        case_results.append(result)
        if result.kind == results.TIMEOUT:
            break  # one endless call is enough; do not wait for the others
    return TaskResult(task=task.name, phase=phase, cases=tuple(case_results))


def phase_cases(task: Task, username: str, phase: str) -> tuple[list[dict], list | None]:
    """The cases of one phase and their expected outputs (None: ask the reference).

    The student kit checks against its shipped test vectors (the same for
    everyone, like AutoMark's local tests); the instructor's kit draws cases
    seeded by the username and computes the expected outputs.
    """
    if vectors.available():
        return vectors.load_phase(phase)[task.name]
    return make_cases(task, username, phase), None


def check_function(task: Task, function, username: str, *,
                   time_limit: float | None = 10.0) -> CheckResult:
    """Both phases of AutoMark's check for one student function."""
    phases = {}
    for phase in ("local", "remote"):
        cases, expected = phase_cases(task, username, phase)
        phases[phase] = run_phase(task, function, cases, phase=phase, expected=expected,
                                  time_limit=time_limit)
    local, remote = phases["local"], phases["remote"]
    notes = []
    mutated = sorted(set(local.mutated) | set(remote.mutated))
    if mutated:
        names = ", ".join(f"`{name}`" for name in mutated)
        notes.append(f"Warning: {task.name} changed its input {names} in place. Work on a copy "
                     "(e.g. x = x.copy()); layers reuse their inputs in the backward pass.")
    return CheckResult(local=local, remote=remote, notes=tuple(notes))

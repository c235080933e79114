"""Judge a student function: call it on its cases, compare every answer, in two phases.

This is the trusted comparison step. The calls themselves go through
:mod:`grader.core.calling`, the one call path: in the notebook here, in the
student's process; in class grading inside the sandbox, whose outcomes come
back through :mod:`grader.core.wire` and are judged by :func:`judge_outcomes`,
the same function as here. One rule decides: a function passes when every
local and every hidden case passed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

import numpy as np

from grader.core import calling, results, vectors
from grader.core.calling import CALL_SECONDS, OK, TASK_SECONDS, CallOutcome, call_cases
from grader.core.cases import describe_inputs, make_cases, show_values
from grader.core.compare import compare
from grader.core.mistakes import known_mistakes, recognise
from grader.core.results import CaseResult, CheckResult, TaskResult
from grader.core.tasks import Task, task_names

STUB = "the stub's "   # how a placeholder's message starts (see :func:`placeholder`)
_WHERE = re.compile(r"\(line \d+ of (\w+)")
_RETURN_UNDEFINED = re.compile(
    r"^raised NameError: name '(\w+)' is not defined.*\(line \d+ of \w+: return (\w+)\)$", re.S)


def raised_in(message: str) -> str:
    """The function whose line an exception's message names (``line 7 of conv_matrix``), or ""."""
    found = _WHERE.findall(message)
    return found[-1] if found else ""


def _outcome_of_a_callee(task: Task, outcome: CallOutcome) -> CallOutcome:
    """A NotImplementedError raised in another graded function (box_blur's call of a stub
    conv_matrix): this one is written, that one is not."""
    if outcome.status != calling.NOT_IMPLEMENTED:
        return outcome
    where = raised_in(outcome.message)
    if where == task.name or where not in task_names():
        return outcome
    return replace(outcome, status=calling.EXCEPTION,
                   message=f"calls {where}, which is not implemented yet ({outcome.message}): "
                           f"write {where} first, then check {task.name} again")


def judge(task: Task, outcome: CallOutcome, expected, index: int, *, hidden: bool,
          case_inputs: dict | None = None) -> CaseResult:
    """Turn one call's outcome into a :class:`CaseResult`.

    A failed local case's message starts with the case and its inputs
    (``case 3 (matrix (4, 6), kernel (3, 5)): ...``); a hidden case's never
    shows expected values. A task's second acceptable output is built from
    ``case_inputs`` (none without them). A NotImplementedError raised in another
    function the task calls is an exception of this one, which says so.
    """
    outcome = _outcome_of_a_callee(task, outcome)
    if outcome.status != OK:
        kind, message, max_error = outcome.status, outcome.message, None
    else:
        verdict = compare(expected, outcome.answer, rtol=task.rtol, atol=task.atol,
                          scalar=task.output == "scalar", hidden=hidden,
                          alternative=task.alternative_for(case_inputs, expected))
        kind, message, max_error = verdict.kind, verdict.message, verdict.max_error
    shown = ""
    if kind != results.OK and not hidden:
        described = f" ({describe_inputs(case_inputs)})" if case_inputs is not None else ""
        message = f"case {index}{described}: {message}"
        shown = show_values(case_inputs) if case_inputs is not None else ""
    return CaseResult(index=index, kind=kind, message=message, mutated=outcome.mutated,
                      max_error=max_error, hidden=hidden, inputs=shown)


def judge_outcomes(task: Task, cases: list[dict], outcomes: list[CallOutcome],
                   expected: Callable[[int], object], *, n_local: int,
                   stopped: tuple[str, str] | None = None) -> list[CaseResult]:
    """Judge the outcomes of :func:`grader.core.calling.call_cases`, in order.

    Args:
        task: the graded function's declaration.
        cases: every case given, local ones first.
        outcomes: the outcomes of the first ``len(outcomes)`` cases.
        expected: ``expected(index)``, the reference's output for a case.
        n_local: how many of ``cases`` are local.
        stopped: ``(kind, message)`` for the first case without an outcome when
            the calls stopped for a reason of their own (the process was killed).

    Returns:
        One :class:`CaseResult` per outcome, and one for ``stopped``.
    """
    judged = [judge(task, outcome, expected(index) if outcome.status == OK else None, index,
                    hidden=index >= n_local, case_inputs=cases[index])
              for index, outcome in enumerate(outcomes[:len(cases)])]
    stub = placeholder(outcomes[:len(cases)]) if len(outcomes) >= len(cases) else ""
    if stub and not all(case.passed for case in judged):
        return [replace(case, kind=results.NOT_IMPLEMENTED, message=stub, max_error=None, inputs="")
                for case in judged]
    ended_by_timeout = bool(judged) and judged[-1].kind == results.TIMEOUT
    if len(judged) < len(cases) and stopped is not None and not ended_by_timeout:
        index = len(judged)
        kind, message = stopped
        hidden = index >= n_local
        prefix = "" if hidden else f"case {index} ({describe_inputs(cases[index])}): "
        judged.append(CaseResult(index=index, kind=kind, message=prefix + message, hidden=hidden))
    return judged


def placeholder(outcomes: list[CallOutcome]) -> str:
    """Why the function is still the stub's placeholder, or "" when it is not.

    Two placeholders of the course's stubs count as not attempted, as AutoMark
    counted them: ``output = np.zeros(...)`` returned unfilled (every answer all
    zeros) and an untouched ``return output`` whose name was never assigned
    (a NameError at that line on every case).
    """
    if not outcomes:
        return ""
    if all(o.status == OK and o.answer is not None and not np.any(o.answer) for o in outcomes):
        return (STUB + "placeholder is returned unfilled: every answer is all zeros. Write the "
                "code that fills the output in (until then it counts as not attempted)")
    names = [_RETURN_UNDEFINED.search(o.message) if o.status == calling.EXCEPTION else None
             for o in outcomes]
    if all(found and found.group(1) == found.group(2) for found in names):
        name = names[0].group(1)
        return (STUB + f"`return {name}` is untouched: {name} is never assigned. Write the code "
                f"that computes {name} (until then it counts as not attempted)")
    return ""


def mistake_evidence(judged: list[CaseResult], cases: list[dict], outcomes: list[CallOutcome], *,
                     hidden: bool = True) -> tuple[list, list, list]:
    """What :func:`grader.core.mistakes.recognise` reads: ``(wrong, raised, passed)``.

    Args:
        judged: the case results, in order.
        cases: the cases' inputs.
        outcomes: the calls' outcomes (answers as plain arrays).
        hidden: count the hidden cases too (class grading); False for the notebook,
            whose known mistakes' outputs exist for the local cases only.

    Returns:
        ``[(index, case, answer)]`` failed with an answer, ``[(index, case)]`` that raised,
        ``[(index, case, answer)]`` passed.
    """
    wrong, raised, passed = [], [], []
    for result in judged:
        if ((result.hidden and not hidden) or result.index >= len(outcomes)
                or result.kind == results.NOT_IMPLEMENTED):  # a placeholder is no mistake
            continue
        index, outcome = result.index, outcomes[result.index]
        if result.passed:
            passed.append((index, cases[index], outcome.answer))
        elif outcome.status == OK:
            wrong.append((index, cases[index], outcome.answer))
        elif result.kind == calling.EXCEPTION and outcome.status == calling.EXCEPTION:
            raised.append((index, cases[index]))
    return wrong, raised, passed


def phase_cases(task: Task, username: str, phase: str) -> tuple[list[dict], list | None]:
    """The cases of one phase and their expected outputs (None: ask the reference).

    The student kit checks against its shipped test vectors (the same for
    everyone, like AutoMark's local tests); the instructor's kit draws cases
    seeded by the username and computes the expected outputs.
    """
    if (vectors.vectors_dir() / vectors.PHASE_FILES[phase]).is_file():
        return vectors.load_phase(phase)[task.name]
    return make_cases(task, username, phase), None


def check_function(task: Task, function, username: str, *, call_seconds: float = CALL_SECONDS,
                   task_seconds: float = TASK_SECONDS, hidden: bool = True) -> CheckResult:
    """AutoMark's check of one student function: local cases, then hidden ones.

    Args:
        task: the graded function's declaration.
        function: the student's function.
        username: whose seeded cases to draw (the instructor's kit).
        call_seconds: time limit of one call; task_seconds: of every call together
            (the same limits as class grading).
        hidden: run the hidden cases too; False when an AutoMark server runs them
            (``remote`` is then empty).

    Returns:
        A :class:`CheckResult`: ``local`` and ``remote`` phases and any notes.
    """
    local, local_expected = phase_cases(task, username, "local")
    remote, remote_expected = phase_cases(task, username, "remote") if hidden else ([], [])
    cases = local + remote
    known = (local_expected + remote_expected
             if local_expected is not None and remote_expected is not None else None)
    outcomes = call_cases(function, cases, task.arg_names, n_local=len(local),
                          call_seconds=call_seconds, task_seconds=task_seconds)

    def expected(index):
        return known[index] if known is not None else task.expected(cases[index])

    judged = judge_outcomes(task, cases, outcomes, expected, n_local=len(local))
    wrong, raised, passed = mistake_evidence(judged, cases, outcomes, hidden=False)
    found = recognise(known_mistakes(task.name), wrong, raised, passed) if wrong or raised else None
    local_result = TaskResult(task.name, "local", tuple(c for c in judged if not c.hidden),
                              mistake=found.label if found else "")
    remote_result = TaskResult(task.name, "remote", tuple(c for c in judged if c.hidden))
    notes = ()
    if len(outcomes) < len(cases):
        stopped_at = "a local case" if len(outcomes) <= len(local) else "a hidden case"
        notes = (f"{len(cases) - len(outcomes)} of {len(cases)} cases did not run: the check stops "
                 f"at the first call that runs out of time ({stopped_at}).",)
        if hidden and not remote_result.cases:
            remote_result = TaskResult.crashed(
                task.name, "remote", "The hidden cases did not run: a local case ran out of time "
                "(see above).", kind=results.TIMEOUT)
    return CheckResult(local=local_result, remote=remote_result, notes=notes)


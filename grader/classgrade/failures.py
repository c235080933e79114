"""When the grader failed, not the student: a submission left *not graded*, never a score.

A student's code that crashes, hangs, exits or floods its output gets its verdicts: that is
a grade. The grader's own machinery failing is not one: the sandbox that does not start, or
ends twice before it takes the submission, a damaged stream from the sandbox's supervisor
(:class:`~grader.classgrade.sandbox.runner.SandboxFailed`), a Dask worker that dies on every
try, an exception inside the grader. Such a submission's result is made by
:func:`not_graded`; the class run never stores it in the gradebook, so the next run grades
it again without ``--force``; the exports show "not graded" with the reason and no number;
and a run in which every submission failed so stops with :class:`GradingFailed` and writes
no export at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from grader.core.results import SubmissionResult, TaskResult

GRADER_FAILURE = "grader_failure"  # a TaskResult's error_kind: the grader failed, not the code
PREFIX = "not graded: "


class GradingFailed(RuntimeError):
    """Every submission of a run failed in the grader's machinery: nothing was written."""


def not_graded(username: str, content_hash: str, reason: str, task_names) -> SubmissionResult:
    """The result of a submission the grader failed to grade, with ``reason`` on every task."""
    reason = reason.removeprefix(PREFIX)
    tasks = tuple(TaskResult.crashed(name, "grade", reason, kind=GRADER_FAILURE)
                  for name in task_names)
    return SubmissionResult(username=username, content_hash=content_hash, tasks=tasks,
                            error=PREFIX + reason)


def is_not_graded(result: SubmissionResult | None) -> bool:
    """True for a :func:`not_graded` result (every task failed in the grader's machinery)."""
    return (result is not None and bool(result.tasks)
            and all(task.error_kind == GRADER_FAILURE for task in result.tasks))


def reason(result: SubmissionResult) -> str:
    """Why the grader could not grade ``result``'s submission, without the "not graded" prefix."""
    return result.error.removeprefix(PREFIX)


def check_run(failed: Iterable[SubmissionResult], n_graded: int) -> None:
    """Stop a run whose every submission failed in the grader (a broken setup is not a grade).

    Args:
        failed: the run's :func:`not_graded` results.
        n_graded: how many submissions the run graded in all (failed ones included).

    Raises:
        GradingFailed: naming the reasons (the same one for all, most often), when
            ``failed`` holds every one of at least one graded submission.
    """
    failed = list(failed)
    if not failed or len(failed) < n_graded:
        return
    reasons = sorted({reason(result) for result in failed})
    said = (f"the same reason for all: {reasons[0]}" if len(reasons) == 1
            else "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3
                                           else ""))
    raise GradingFailed(
        f"the grader could not grade any of the {len(failed)} submission(s) ({said}). This is a "
        "failure of the grading setup, not of the students' code: no score was written and the "
        "exports of any earlier run are as they were. Fix the setup (see the reason) and run "
        "grade again: it grades these submissions without --force.")

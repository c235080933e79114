"""Grade one submission: run it in the sandbox, judge its answers here.

The sandbox only calls functions and hands back plain arrays; the expected
outputs, from the references on the student's own seeded cases, never leave
this process. Every task gets a verdict, whatever the submission did.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from grader.classgrade.calls import graded_calls
from grader.classgrade.mistakes import name_mistake
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.runner import RawTask, run_in_sandbox
from grader.classgrade.submissions import NOTEBOOK_NOTE, Submission
from grader.core import results, wire
from grader.core.calling import task_timeout_message
from grader.core.cases import make_cases
from grader.core.checking import judge_outcomes, mistake_evidence
from grader.core.results import SubmissionResult, TaskResult
from grader.core.tasks import task_names
from grader.notebooks import NotebookError, definitions_only, load_notebook, syntax_errors

SKIPPED = ": skipped; the rest of the code still loaded"  # ends the note of a statement that failed
_SIGNALS = {
    "SIGKILL": "was killed (most often: it used more memory than the {memory_mb} MB allowed)",
    "SIGXCPU": "used more than the {cpu_seconds} s of CPU time allowed",
    "SIGXFSZ": "wrote more than the {output_mb} MB of output allowed (a print in a loop?)",
    "SIGSEGV": "crashed the Python interpreter (segmentation fault)",
}


def grading_cases(task, username: str) -> tuple[list[dict], int]:
    """The student's local cases then remote cases, and how many are local."""
    local = make_cases(task, username, "local")
    return local + make_cases(task, username, "remote"), len(local)


def extract_chunks(submission: Submission) -> tuple[list[dict], list[str]]:
    """Definitions to run in the sandbox, and notes on cells that do not parse.

    Raises:
        NotebookError: the notebook cannot be read.
    """
    if submission.notebook is None:
        modules = sorted(p.stem for p in submission.py_files if p.stem.isidentifier())
        source = "\n".join(f"from {name} import *" for name in modules)
        return [{"origin": "submitted modules", "source": source}], []
    notebook = load_notebook(submission.notebook)
    chunks = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            code = definitions_only(cell.source)
            if code:
                chunks.append({"origin": f"notebook cell {index}", "source": code})
    notes = [f"{problem}: the functions of that cell could not be graded"
             for problem in syntax_errors(notebook)]
    return chunks, notes


def _ended_message(raw: RawTask, limits: Limits) -> tuple[str, str]:
    """Kind and message for the case at which a task's calls stopped."""
    if raw.damage:
        return results.CRASHED, f"its results could not be read back ({raw.damage})"
    if raw.ended == "task_timeout":
        return results.TIMEOUT, task_timeout_message(limits.task_seconds)
    if raw.ended == "signal":
        text = _SIGNALS.get(raw.signal, f"was stopped by {raw.signal}")
        return results.CRASHED, "the process " + text.format(**limits.for_worker())
    if raw.ended == "not_run":
        return results.CRASHED, "did not run (the whole submission was stopped before it)"
    return results.CRASHED, "the process ended during this call (os._exit, or a crash)"


def judge_task(task, raw: RawTask, cases: list[dict], n_local: int, limits: Limits, *,
               load_hint: str = "") -> TaskResult:
    """Compare what the sandbox returned for one task with the references.

    The outcomes are judged by :func:`grader.core.checking.judge_outcomes`, the
    notebook's own judge; a known wrong variant that explains every wrong
    answer is named. ``load_hint`` says which statements failed to load, for a
    function that is missing.
    """
    if raw.problem is not None:
        status, message = raw.problem
        if status == wire.NOT_SUBMITTED:
            return TaskResult.crashed(task.name, "grade", message, kind=results.NOT_SUBMITTED)
        if status == wire.MISSING:
            why = f" ({load_hint})" if load_hint else ""
            return TaskResult.crashed(task.name, "grade",
                                      f"{task.name} is not defined in the submission{why}",
                                      kind=results.MISSING)
        return TaskResult.crashed(task.name, "grade", message, kind=results.EXCEPTION)
    outcomes = list(raw.outcomes)
    stopped = _ended_message(raw, limits) if len(outcomes) < len(cases) else None
    judged = judge_outcomes(task, cases, outcomes, lambda index: task.expected(cases[index]),
                            n_local=n_local, stopped=stopped)
    wrong, raised, passed = mistake_evidence(judged, cases, outcomes)
    mistake = name_mistake(task.name, [(case, answer) for _, case, answer in wrong],
                           [case for _, case in raised],
                           [(case, answer) for _, case, answer in passed]) if wrong or raised else None
    return TaskResult(task=task.name, phase="grade", cases=tuple(judged),
                      mistake=f"{mistake.name}: {mistake.explanation}" if mistake else "")


def grade_submission(submission: Submission, tasks, *, limits: Limits, mode: str,
                     scratch: Path | None = None) -> SubmissionResult:
    """Grade one submission on every task; of several notebooks, keep the best.

    Every notebook the student handed in is graded (with the same .py files), and the
    result kept is the one with the most tasks passed, then the most cases passed; a tie
    goes to the newest notebook (the order of :func:`~grader.classgrade.submissions.from_copy`).
    A note says which notebook was graded, and how each other one did.

    Args:
        submission: what the student handed in.
        tasks: the tasks to grade, in order.
        limits: resource limits of the sandbox.
        mode: ``"bwrap"`` or ``"plain"``.
        scratch: where the sandbox keeps its folder (system default if None).

    Returns:
        A :class:`SubmissionResult` (also for a submission that cannot run), with the
        content hash of everything handed in.
    """
    if not submission.other_notebooks:
        return grade_one_notebook(submission, tasks, limits=limits, mode=mode, scratch=scratch)
    candidates = (submission.notebook, *submission.other_notebooks)
    graded = [grade_one_notebook(replace(submission, notebook=notebook, other_notebooks=()),
                                 tasks, limits=limits, mode=mode, scratch=scratch)
              for notebook in candidates]
    best = max(range(len(graded)), key=lambda i: (_standing(graded[i]), -i))
    others = [f"{candidates[i].name} ({_summary(graded[i])})" for i in range(len(graded))
              if i != best]
    note = (f"{NOTEBOOK_NOTE}{candidates[best].name} ({_summary(graded[best])}); also handed in, "
            f"graded and not kept: {', '.join(others)}; the best notebook is kept")
    kept = graded[best]
    return replace(kept, content_hash=submission.content_hash(), notes=(note, *kept.notes),
                   seconds=sum(result.seconds for result in graded))


def _standing(result: SubmissionResult) -> tuple[int, int]:
    """(tasks passed, cases passed): how a notebook's result ranks among the student's."""
    return (sum(1 for task in result.tasks if task.passed),
            sum(1 for task in result.tasks for case in task.cases if case.passed))


def _summary(result: SubmissionResult) -> str:
    if result.error:
        return "could not be graded"
    passed, _ = _standing(result)
    return f"{passed} of {len(result.tasks)} functions passed"


def grade_one_notebook(submission: Submission, tasks, *, limits: Limits, mode: str,
                       scratch: Path | None = None) -> SubmissionResult:
    """Grade ``submission.notebook`` (and the .py files) on every task: see :func:`grade_submission`."""
    names = [task.name for task in tasks]
    if submission.notebook is None and not submission.py_files:
        return SubmissionResult.crashed(submission.username, "", "no notebook submitted", names)
    content_hash = submission.content_hash()
    try:
        chunks, notes = extract_chunks(submission)
    except NotebookError as error:
        detail = str(error).replace(str(submission.notebook), submission.notebook.name)
        return SubmissionResult.crashed(submission.username, content_hash,
                                        f"the notebook could not be read: {detail}", names)
    cases = {task: grading_cases(task, submission.username) for task in tasks}
    start = time.perf_counter()
    run = run_in_sandbox(submission, chunks, cases, limits, mode=mode, scratch=scratch)
    if run.load_error:
        message = f"the submission's code could not be loaded: {run.load_error}"
        return SubmissionResult(submission.username, content_hash,
                                tuple(TaskResult.crashed(n, "grade", message) for n in names),
                                error=message, notes=tuple(notes), sandbox=mode,
                                seconds=time.perf_counter() - start)
    if run.error and all(raw.ended == "not_run" for raw in run.tasks.values()):
        return SubmissionResult.crashed(submission.username, content_hash,
                                        f"the sandbox failed: {run.error}", names)
    if run.error:
        notes.append(f"sandbox: {run.error}")
    notes += [message + SKIPPED for message in run.load_notes]
    hint = "it may be in code that failed to load, see the notes" if run.load_notes else ""
    calls = graded_calls((chunk["source"] for chunk in chunks), task_names())
    judged = tuple(replace(judge_task(task, run.tasks[task.name], cases[task][0], cases[task][1],
                                      limits, load_hint=hint), calls=calls.get(task.name, ()))
                   for task in tasks)
    return SubmissionResult(submission.username, content_hash, judged, notes=tuple(notes),
                            sandbox=mode, seconds=time.perf_counter() - start)

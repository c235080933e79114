"""Grade a whole class: every submission in its own sandbox, in parallel, resumable.

Results go into the SQLite gradebook one submission at a time, so an
interrupted run loses nothing already graded and the next run skips every
unchanged submission. The exports (CSV, progress tables, feedback, HTML
report, Gradescope JSON) are written from the gradebook at the end.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.classgrade import exports
from grader.client import paths
from grader.classgrade.gradebook import Gradebook
from grader.classgrade.submission import grade_submission
from grader.core.results import SubmissionResult
from grader.client.roster import Student, load_roster
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.execute import execute_notebook
from grader.classgrade.sandbox.runner import PLAIN_WARNING, sandbox_mode
from grader.classgrade.submissions import Submission, discover
from grader.core.tasks import TASKS


def grader_version() -> str:
    """A hash of the grader's and the references' source: a new version regrades everything."""
    digest = hashlib.sha256()
    for folder in ("grader", "solutions"):
        for path in sorted((paths.KIT_ROOT / folder).rglob("*.py")):
            digest.update(path.relative_to(paths.KIT_ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ClassRun:
    """What one ``grade_class`` call did."""

    graded: tuple[str, ...] = ()
    skipped_unchanged: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    sandbox: str = ""
    seconds: float = 0.0
    results: dict = field(default_factory=dict)
    students: tuple[Student, ...] = ()
    points: dict = field(default_factory=dict)


def _grade_one(submission: Submission, task_names, limits: Limits, mode: str,
               executed_dir: Path | None) -> SubmissionResult:
    tasks = [t for t in TASKS if t.name in task_names]
    try:
        result = grade_submission(submission, tasks, limits=limits, mode=mode)
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
        return SubmissionResult.crashed(submission.username, "",
                                        f"internal grader error: {type(error).__name__}: {error}",
                                        task_names)
    if executed_dir is None or submission.notebook is None or result.error:
        return result
    problem = execute_notebook(submission, executed_dir / f"{submission.username}.ipynb", mode=mode,
                               cell_seconds=max(limits.call_seconds * 4, 30.0),
                               total_seconds=limits.submission_seconds)
    note = f"executed copy: {problem}" if problem else "executed copy written"
    return replace(result, notes=result.notes + (note,))


class ProgressBar:
    """A one-line text progress bar on a stream (a plain line per item when not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr, width: int = 28):
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        filled = self.width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} {label}"
        if self.tty:
            self.stream.write("\r" + line.ljust(79)[:79] + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def grade_class(*, submissions_dir, out_dir, jobs: int | None = None, sandbox: str = "auto",
                roster_path=None, task_names=None, limits: Limits | None = None,
                points: dict | None = None, execute: bool = False, log=sys.stderr) -> ClassRun:
    """Grade every submission in ``submissions_dir`` into ``out_dir``.

    Args:
        submissions_dir: ``<username>/assignment.ipynb`` folders or ``<username>.ipynb`` files.
        out_dir: where the gradebook and the exports go (created if needed).
        jobs: parallel submissions (default: all cores).
        sandbox: ``"auto"``, ``"bwrap"`` or ``"plain"``.
        roster_path: ``students.csv`` (username,name,email); default: the folder's own
            ``students.csv`` if present, else none.
        task_names: tasks to grade (default: all).
        limits: sandbox limits.
        points: ``{task: points}`` (default: ``exports.points_for(TASKS)``).
        execute: also execute each whole notebook into ``out_dir/executed/``.
        log: where progress and warnings go.

    Returns:
        A :class:`ClassRun`.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = sandbox_mode(sandbox)
    if mode == "plain":
        print(PLAIN_WARNING, file=log)
    task_names = tuple(task_names or [t.name for t in TASKS])
    limits = limits or Limits()
    submissions, ignored = discover(submissions_dir)
    roster_path = Path(roster_path) if roster_path else Path(submissions_dir) / "students.csv"
    roster = load_roster(roster_path) or {}
    version = grader_version()
    graded, unchanged = [], []
    with Gradebook(out_dir / "gradebook.sqlite") as book:
        book.add_students(roster.values())
        book.add_students(Student(s.username) for s in submissions if s.username not in roster)
        todo = []
        for submission in submissions:
            if book.is_graded(submission.username, submission.content_hash(), version):
                unchanged.append(submission.username)
            else:
                todo.append(submission)
        if unchanged:
            print(f"{len(unchanged)} unchanged submission(s) already graded, skipped.", file=log)
        bar = ProgressBar(len(todo), stream=log)
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            executed_dir = out_dir / "executed" if execute else None
            futures = {pool.submit(_grade_one, s, task_names, limits, mode, executed_dir): s
                       for s in todo}
            for future in as_completed(futures):
                result = future.result()
                book.save(result, grader_version=version)
                graded.append(result.username)
                bar.step(f"{result.username} ({result.seconds:.1f} s)")
        results = book.latest_results()
        students = book.students()
    points = points or exports.points_for([t for t in TASKS if t.name in task_names])
    write_exports(out_dir, students=students, results=results, points=points)
    return ClassRun(graded=tuple(sorted(graded)), skipped_unchanged=tuple(unchanged),
                    ignored=tuple(ignored), sandbox=mode, seconds=time.perf_counter() - start,
                    results=results, students=tuple(students), points=points)


def write_exports(out_dir: Path, *, students, results, points) -> None:
    """Every export, rewritten from the gradebook's latest results."""
    exports.write_gradebook_csv(out_dir / "gradebook.csv", students=students, results=results,
                                points=points)
    exports.write_progress_tables(out_dir / "progress", students=students, results=results)
    exports.write_feedback(out_dir / "feedback", students=students, results=results, points=points)
    exports.write_class_report(out_dir / "report.html", students=students, results=results,
                               points=points)
    for username, result in results.items():
        exports.write_gradescope_json(out_dir / "gradescope" / username / "results.json",
                                      result=result, points=points)


def class_table(run: ClassRun) -> str:
    """The class at a glance: one line per student, score and percent."""
    possible = sum(run.points.values())
    width = max([len("student")] + [len(s.username) for s in run.students])
    lines = [f"{'student':<{width}} {'score':>7} {'%':>6}  {'passed':>6}  status",
             "-" * (width + 40)]
    for student in run.students:
        result = run.results.get(student.username)
        if result is None:
            lines.append(f"{student.username:<{width}} {'':>7} {'':>6}  {'':>6}  no submission")
            continue
        score = result.score(run.points)
        percent = 100.0 * score / possible if possible else 0.0
        n_passed = sum(t.passed for t in result.tasks)
        status = f"not gradable: {result.error}" if result.error else "graded"
        lines.append(f"{student.username:<{width}} {score:>7.1f} {percent:>5.1f}%  "
                     f"{n_passed:>2}/{len(result.tasks):<3}  {status[:70]}")
    return "\n".join(lines)

"""Grade a whole class: every submission in its own sandbox, in parallel, resumable.

Results go into the SQLite gradebook one submission at a time, so an
interrupted run loses nothing already graded and the next run grades only
what is missing under the same settings. The exports (CSV, progress tables,
feedback, HTML report, Gradescope JSON, LMS grade imports) are written from the
gradebook at the end, each recording how the class was graded.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from grader.classgrade import exports, late_handins
from grader.classgrade.class_folder import take_in
from grader.classgrade.console import ProgressBar, class_table  # noqa: F401 (re-exported)
from grader.classgrade.course import Course, changed_points, load_course
from grader.classgrade.distributed import grade_in_pool, grade_on_cluster, open_cluster
from grader.classgrade.failures import check_run, is_not_graded, not_graded
from grader.classgrade.gradebook import Gradebook
from grader.classgrade.lms_downloads import LAYOUTS
from grader.classgrade.runinfo import RunInfo, grader_version  # noqa: F401 (re-exported)
from grader.classgrade.sandbox.environment import grading_environment
from grader.classgrade.sandbox.execute import execute_notebook
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.modes import PLAIN_WARNING, choose_sandbox
from grader.classgrade.sandbox.processes import die_with_parent
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.client.roster import Student, load_roster, read_roster, valid_username
from grader.core.results import SubmissionResult
from grader.core.tasks import TASKS, this_week_names


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
    run: RunInfo | None = None
    not_graded: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    late: dict = field(default_factory=dict)   # {username: Lateness}, with a deadline


def fresh_scratch(out_dir: Path) -> Path:
    """``out_dir/.scratch``, emptied of what a killed run left there (the folder lock is held)."""
    scratch = out_dir / ".scratch"
    if scratch.is_dir() and not scratch.is_symlink():
        shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o711, exist_ok=True)
    return scratch


def _grade_one(submission: Submission, task_names, limits: Limits, mode: str,
               executed_dir: Path | None, scratch: Path | None = None) -> SubmissionResult:
    tasks = [t for t in TASKS if t.name in task_names]
    try:
        result = grade_submission(submission, tasks, limits=limits, mode=mode, scratch=scratch)
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
        # the grader failed (its sandbox, its own code), not the student: no grade at all
        return not_graded(submission.username, "-",
                          f"the grader failed: {type(error).__name__}: {error}", task_names)
    if executed_dir is None or submission.notebook is None or result.error:
        return result
    problem = execute_notebook(submission, executed_dir / f"{submission.username}.ipynb", mode=mode,
                               cell_seconds=max(limits.call_seconds * 4, 30.0),
                               total_seconds=limits.submission_seconds, limits=limits,
                               scratch=scratch)
    note = f"executed copy: {problem}" if problem else "executed copy written"
    return replace(result, notes=result.notes + (note,))


default_task_names = this_week_names  # what ``grade`` grades unless told otherwise


def _check_arguments(submissions_dir, out_dir: Path, jobs, roster_path, only,
                     lms=None) -> tuple[list, list, dict]:
    """The submissions, ignored entries and each student's intake notes, after refusing bad
    arguments (nothing written)."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; the gradebook and reports need a folder")
    if roster_path and not Path(roster_path).is_file():
        raise FileNotFoundError(f"{roster_path}: no such roster file (students.csv)")
    roster = load_roster(roster_path or Path(submissions_dir) / "students.csv") if lms else None
    intake = take_in(submissions_dir, lms=lms, roster=roster)
    submissions, ignored = list(intake.submissions), list(intake.ignored)
    if not submissions:
        expected = (LAYOUTS[lms] + " whose students are on the roster" if lms else
                    "<username>/assignment.ipynb folders or <username>.ipynb files")
        raise ValueError(f"{submissions_dir} holds no submission: expected {expected}"
                         + (f" ({'; '.join(ignored)})" if ignored else ""))
    unknown = sorted(set(only or ()) - {s.username for s in submissions})
    if unknown:
        raise ValueError(f"--only names {', '.join(unknown)}, who submitted nothing in "
                         f"{submissions_dir}")
    return submissions, ignored, dict(intake.notes)


def grade_class(*, submissions_dir, out_dir, jobs: int | None = None, sandbox: str = "bwrap",
                roster_path=None, task_names=None, limits: Limits | None = None,
                points: dict | None = None, course=None, execute: bool = False, force: bool = False,
                only=None, lms: str | None = None, dask: str | None = None,
                dask_certs=None, dask_insecure: bool = False, log=None,
                deadline: str | None = None, late_policy: str | None = None,
                lms_timezone: str | None = None) -> ClassRun:
    """Grade every submission in ``submissions_dir`` into ``out_dir``.

    A task already graded for the same content under the same settings (grader
    version, sandbox mode, limits: :attr:`RunInfo.settings_key`) is not graded
    again; everything else is, task by task, and the exports show only results
    of this run's settings. One run at a time may use ``out_dir`` (a lock file in it).

    A submission the grader's own machinery failed to grade (:mod:`.failures`) is *not
    graded*: never stored, shown without a score, graded again by the next run; when that
    is every submission the run graded, it stops (``GradingFailed``) and writes nothing.

    A roster row that cannot be used (``bob smith``, a repeated username) is left
    out and listed in :attr:`ClassRun.ignored` with the others; everyone else is
    graded and exported.

    Args:
        submissions_dir: ``<username>/assignment.ipynb`` folders or ``<username>.ipynb`` files.
        out_dir: where the gradebook and the exports go (created if needed).
        jobs: parallel submissions (default: all cores).
        sandbox: ``"bwrap"`` (never a silent fallback) or ``"plain"`` (only when asked for).
        roster_path: ``students.csv`` (username,name,email); default: the folder's own
            ``students.csv`` if present, else none.
        task_names: tasks to grade (default: :func:`default_task_names`, this week's).
        limits: sandbox limits.
        points: ``{task: points}`` (default: the course's, :meth:`Course.points_for`).
        course: a :class:`~grader.classgrade.course.Course` or the path of its TOML file
            (default: ``course.toml`` beside the kit): points and the LMS item's name.
        execute: also execute each whole notebook into ``out_dir/executed/``.
        force: grade everything again, whatever the gradebook holds.
        only: usernames to grade again (the others as usual).
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"``: ``submissions_dir`` is that
            LMS's unzipped download, mapped to usernames through the roster
            (:mod:`grader.classgrade.lms_downloads`). The LMS grade imports in ``out_dir/lms/``
            are written either way (:mod:`grader.classgrade.exports.lms`).
        dask: grade on a Dask cluster: ``tls://HOST:PORT``, ``tcp://HOST:PORT`` or
            ``local[:N]`` (default: the local process pool, ``jobs``).
        dask_certs: the folder of ``python -m grader cluster-certs`` (or its ``client/``),
            for a ``tls://`` scheduler (default: Dask's own configuration).
        dask_insecure: accept a ``tcp://`` scheduler on another machine (unencrypted, no
            credentials: whoever reaches it can change grades).
        log: where progress and warnings go (default: ``sys.stderr`` at the time of the call).
        deadline, late_policy, lms_timezone: the hand-in deadline (ISO 8601 with its offset),
            what late work is worth (``count``, ``ignore``, ``penalty:10%/day,max 50%``) and
            the zone of the download's times (default: the course's, "" for none:
            :mod:`.late_handins`); with ``lms`` only (else course.toml's is not applied, said
            so). Late work is graded, its score multiplied by the policy.

    Returns:
        A :class:`ClassRun`.

    Raises:
        ValueError: for ``jobs`` below 1, an ``out_dir`` that is a file, a folder
            that holds no submission, ``only`` naming someone who submitted nothing,
            an ``out_dir`` another run is grading into (locked), a ``gradebook.sqlite``
            that is not a gradebook; FileNotFoundError: for a missing folder or
            roster; OSError: a full disk (the previous exports stay whole);
            SandboxUnavailable; GradingFailed: every submission failed in the grader.
    """
    start = time.perf_counter()
    log = sys.stderr if log is None else log
    out_dir = Path(out_dir)
    submissions, ignored, intake_notes = _check_arguments(submissions_dir, out_dir, jobs,
                                                          roster_path, only, lms)
    course = course if isinstance(course, Course) else load_course(course)
    deadlines = late_handins.for_run(course, deadline=deadline, late_policy=late_policy,
                                     lms_timezone=lms_timezone, lms=lms)
    skipped = late_handins.not_applied(course, deadline=deadline, lms=lms)
    if skipped:  # course.toml's deadline, hand-ins without times: graded, said once
        print(f"warning: {late_handins.not_applied_words(skipped)}", file=log)
    chosen = choose_sandbox(sandbox)
    if chosen.mode == "plain":
        print(PLAIN_WARNING, file=log)
    task_names = tuple(task_names or default_task_names())
    limits = course.limits_for(limits)
    limits.check_budget(len(task_names))
    grading_environment(limits.packages)  # a package not installed: one line, nothing graded
    points = points or course.points_for([t for t in TASKS if t.name in task_names])
    info = RunInfo.now(sandbox_mode=chosen.mode, sandbox=chosen.describe(), tasks=task_names,
                       limits=limits.for_worker(), points=points,
                       deadlines=deadlines.to_dict() if deadlines else skipped)
    roster_path = Path(roster_path) if roster_path else Path(submissions_dir) / "students.csv"
    roster = read_roster(roster_path)
    ignored += roster.problems if roster else ()
    roster = late_handins.checked(roster.students if roster else {}, deadlines)  # before grading
    regrade = {s.username for s in submissions} if force else set(only or ())
    digests = {s.username: s.content_hash() for s in submissions}
    graded, unchanged = [], []
    # the cluster is opened and checked first: a refusal writes nothing
    with (open_cluster(dask, mode=chosen.mode, log=log, certs=dask_certs,
                                insecure=dask_insecure) if dask else nullcontext()) as cluster, \
            exports.locked_folder(out_dir), Gradebook(out_dir / "gradebook.sqlite") as book:
        book.add_students(roster.values())
        book.add_students(Student(s.username) for s in submissions if s.username not in roster)
        notes = _points_changed(book.runs(), points, course)
        run_id = book.start_run(info)
        todo = []
        for submission in submissions:
            done = (set() if submission.username in regrade else
                    book.graded_tasks(submission.username, digests[submission.username],
                                      info.settings_key))
            missing = [name for name in task_names if name not in done]
            if missing:
                todo.append((submission, missing))
            else:
                unchanged.append(submission.username)
        if unchanged:
            print(f"{len(unchanged)} unchanged submission(s) already graded with these settings, "
                  "skipped.", file=log)
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
        executed_dir = out_dir / "executed" if execute else None
        grade = partial(_grade_one, limits=limits, mode=chosen.mode)
        if cluster is None:
            finished = grade_in_pool(partial(grade, scratch=fresh_scratch(out_dir)), todo,
                                     jobs=workers, executed_dir=executed_dir,
                                     initializer=die_with_parent)
        else:  # the workers use their own temporary folders, not this machine's scratch
            finished = grade_on_cluster(grade, todo, cluster=cluster, executed_dir=executed_dir)
        # made once the pool has forked its workers: its redrawing thread is not copied
        bar = ProgressBar(len(todo), stream=log, queue=[s.username for s, _ in todo],
                          workers=workers if cluster is None else len(cluster.check.usable))
        failed = []
        for result in finished:
            if is_not_graded(result):  # never stored: the next run grades it again
                failed.append(result)
            else:
                book.save(result, grader_version=info.grader_version,
                          settings_key=info.settings_key, run_id=run_id)
                graded.append(result.username)
            bar.step(f"{result.username} ({result.seconds:.1f} s)", finished=result.username)
        bar.close()
        check_run(failed, len(failed) + len(graded))  # a broken setup writes nothing
        results = book.current_results(info.settings_key, digests, task_names)
        for result in failed:  # a verdict stored earlier for this content and settings stays
            results.setdefault(result.username, result)
        students, stale = _exportable(book.students(), book.path)
        ignored += stale
        late = None
        if deadlines is not None:  # graded all the same; the exports weigh the score
            late, late_notes, late_lines = late_handins.lateness(submissions, roster, deadlines, lms)
            book.record_handins(run_id, late, digests)
            notes += late_lines
            for username, lines in late_notes.items():
                intake_notes[username] = intake_notes.get(username, ()) + lines
        book.finish_run(run_id)
        lms_ids = exports.known_ids(roster.values(), submissions, lms)
        notes += exports.lms_problems(out_dir / "lms", results=results, lms_ids=lms_ids)
        similarity = None
        try:  # similar code between students (OUT/similarity/); never fails the grading
            from grader.classgrade.similarity.run import compare_class, write_pairs
            compared = compare_class(submissions)
            write_pairs(out_dir, compared)
            similarity = compared  # the report links to its pages: only once they are written
        except Exception as error:  # noqa: BLE001 - the grades are written all the same
            print(f"similarity/pairs.csv not written: {type(error).__name__}: {error}", file=log)
        write_exports(out_dir, students=students, results=results, points=points, run=info,
                      lms_ids=lms_ids, item=course.assignment,
                      intake=(tuple(ignored), intake_notes), similarity=similarity, late=late)
    return ClassRun(graded=tuple(sorted(graded)), skipped_unchanged=tuple(unchanged),
                    ignored=tuple(ignored), sandbox=chosen.describe(),
                    seconds=time.perf_counter() - start, results=results,
                    students=tuple(students), points=points, run=info,
                    not_graded=tuple(sorted(result.username for result in failed)),
                    notes=tuple(notes), late=late or {})


def _points_changed(runs: list[dict], points: dict, course: Course) -> list[str]:
    """A line when this run's points differ from the last finished run's (else none)."""
    finished = [run for run in runs if run["finished_at"]]
    changed = changed_points(finished[-1]["points"], points) if finished else []
    if not changed:
        return []
    where = course.source or "course.toml beside the kit"
    return [f"points changed since the last run ({', '.join(changed)}): every export now uses "
            f"this run's; to keep points for every run, set them in {where}"]


def _exportable(students, book_path: Path) -> tuple[list[Student], list[str]]:
    """The gradebook's students whose usernames can name files, and a line for each other.

    Rosters are checked row by row now; a bad username stored by an older run
    must not stop the exports of everyone else.
    """
    good = [student for student in students if valid_username(student.username)]
    stale = [f"{book_path}: username {student.username!r}, stored by an earlier run, is not a "
             "valid username; left out of the exports"
             for student in students if not valid_username(student.username)]
    return good, stale


def write_exports(out_dir: Path, *, students, results, points, run: RunInfo | None = None,
                  lms_ids=None, intake=((), {}), item: str = exports.lms.ITEM,
                  similarity=None, late=None) -> None:
    """Every export, rewritten from the gradebook's results, each saying how it was graded.

    ``lms_ids`` (``{lms: {username: id}}``, :func:`exports.known_ids`) fill in the LMS grade
    imports' id columns, ``item`` names their gradebook item. ``intake``
    (``(lines, {username: notes})``, this run's
    :class:`~grader.classgrade.submissions.Intake`) names every file and entry not graded as
    handed in, in the report and in each student's feedback. ``similarity`` (a
    :class:`~grader.classgrade.similarity.run.SimilarityRun`) adds the report's section on
    similar code. ``late`` (``{username: Lateness}``, a run with a deadline) scales each
    late student's points by the policy's factor in every export, and says why.
    """
    from grader.classgrade.similarity.report import similarity_section
    handed_in, intake_notes = intake
    worth = late_handins.worth(late, points) if late else None
    exports.write_gradebook_csv(out_dir / "gradebook.csv", students=students, results=results,
                                points=points, run=run, worth=worth, late=late)
    exports.write_progress_tables(out_dir / "progress", students=students, results=results,
                                  task_names=list(points))
    exports.write_feedback(out_dir / "feedback", students=students, results=results, points=points,
                           run=run, intake_notes=intake_notes, worth=worth, late=late)
    exports.write_class_report(out_dir / "report.html", students=students, results=results,
                               points=points, run=run, handed_in=handed_in,
                               intake_notes=intake_notes,
                               similarity_html=similarity_section(similarity), worth=worth,
                               late=late)
    exports.write_lms_imports(out_dir / "lms", students=students, results=results, points=points,
                              lms_ids=lms_ids, item=item, worth=worth, late=late)
    for username, result in results.items():
        if is_not_graded(result):  # Gradescope's file needs a score: none is written
            (out_dir / "gradescope" / username / "results.json").unlink(missing_ok=True)
            continue
        exports.write_gradescope_json(out_dir / "gradescope" / username / "results.json",
                                      result=result, points=points, run=run,
                                      worth=(worth or {}).get(username),
                                      late_words=late[username].words if late and username in late
                                      else "")

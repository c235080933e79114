"""``python -m grader``: a thin command line over the library.

    python -m grader progress USERNAME
    python -m grader check PATH USERNAME [--record]
    python -m grader solve [--notebook assignment.ipynb] [--out build/assignment_solved.ipynb] [--html]
    python -m grader grade [SUBMISSIONS] [--out grading] [-j N] [--sandbox auto|bwrap|plain]
    python -m grader release [--out dist/student] [--zip dist/student.zip]

User errors print ``Error: ...`` and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.client import messages, paths
from grader.core import tasks
from grader.client.automark_api import CheckRefused, progress_text
from grader.core.checking import check_function
from grader.notebooks import load_namespace
from grader.notebooks import NotebookError, load_notebook, solve
from grader.client.progress import ProgressStore

DEFAULT_NOTEBOOK = paths.KIT_ROOT / "assignment.ipynb"
DEFAULT_SOLVED = paths.KIT_ROOT / "build" / "assignment_solved.ipynb"


def cmd_progress(args) -> int:
    print(progress_text(args.username))
    return 0


def cmd_check(args) -> int:
    paths.check_username(args.username)
    namespace = load_namespace(args.path)
    found = [task for task in tasks.TASKS if callable(namespace.get(task.name))]
    if not found:
        raise ValueError(f"{args.path} defines none of the graded functions "
                         f"({', '.join(tasks.task_names())})")
    n_passed = 0
    for task in found:
        check = check_function(task, namespace[task.name], args.username)
        print(f"== {task.label}")
        print("\n".join(messages.check_report(task.name, check)))
        n_passed += check.passed
        if args.record and not check.not_implemented:
            ProgressStore().record(args.username, task.name, local_passed=check.local.passed,
                                   remote_passed=check.remote.passed)
    print(f"\n{n_passed} of {len(found)} functions found in {args.path} passed.")
    return 0 if n_passed == len(found) else 2


def cmd_solve(args) -> int:
    import nbformat

    import solutions
    notebook = load_notebook(args.notebook)
    references = {name: getattr(solutions, name) for name in solutions.__all__}
    solved = solve(notebook, references)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solved, str(out))
    print(f"Wrote {out}")
    if args.html:
        from nbclient import NotebookClient
        from nbconvert import HTMLExporter
        NotebookClient(solved, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(paths.KIT_ROOT)}}).execute()
        html, _ = HTMLExporter(embed_images=True).from_notebook_node(solved)
        html_path = out.with_suffix(".html")
        html_path.write_text(html, encoding="utf-8")
        print(f"Wrote {html_path} (executed)")
    return 0


def _points(args) -> dict:
    from grader.classgrade import exports
    overrides = {}
    for item in args.points or []:
        name, _, value = item.partition("=")
        try:
            overrides[name] = float(value)
        except ValueError:
            raise ValueError(f"--points takes TASK=NUMBER, got {item!r}") from None
    chosen = [t for t in tasks.TASKS if t.name in _task_names(args)]
    return exports.points_for(chosen, mandatory=args.mandatory_points,
                              optional=args.optional_points, overrides=overrides)


def _task_names(args) -> list[str]:
    names = list(tasks.task_names())
    if args.week:
        names = [t.name for t in tasks.TASKS if t.week == args.week]
    if args.tasks:
        wanted = [n.strip() for n in args.tasks.split(",") if n.strip()]
        for name in wanted:
            tasks.get_task(name)
        names = [n for n in names if n in wanted]
    if not names:
        raise ValueError("no task left to grade: check --week and --tasks")
    return names


def cmd_grade(args) -> int:
    from grader.classgrade.run import class_table, grade_class
    from grader.classgrade.sandbox.limits import Limits
    limits = Limits(call_seconds=args.call_seconds, task_seconds=args.task_seconds,
                    submission_seconds=args.submission_seconds, memory_mb=args.memory_mb)
    run = grade_class(submissions_dir=args.submissions, out_dir=args.out, jobs=args.jobs,
                      sandbox=args.sandbox, roster_path=args.roster, task_names=_task_names(args),
                      limits=limits, points=_points(args), execute=args.execute)
    print(class_table(run))
    for line in run.ignored:
        print(f"ignored: {line}")
    print(f"\nGraded {len(run.graded)} submission(s), {len(run.skipped_unchanged)} unchanged, "
          f"in {run.seconds:.1f} s (sandbox: {run.sandbox}).")
    print(f"Gradebook: {Path(args.out) / 'gradebook.csv'}, report: {Path(args.out) / 'report.html'}, "
          f"feedback: {Path(args.out) / 'feedback'}/")
    return 0


def cmd_release(args) -> int:
    from grader.release import build_student_kit
    build_student_kit(args.out, zip_path=args.zip)
    print(f"Wrote the student kit to {args.out}" + (f" and {args.zip}" if args.zip else "")
          + "; the leak check found nothing.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    progress = sub.add_parser("progress", help="print a student's AutoMark progress table")
    progress.add_argument("username")
    progress.set_defaults(run=cmd_progress)
    check = sub.add_parser("check", help="check every graded function defined in a file")
    check.add_argument("path", help="a .py module or an .ipynb notebook")
    check.add_argument("username", help="whose cases to draw (and record, with --record)")
    check.add_argument("--record", action="store_true", help="record the attempts as progress")
    check.set_defaults(run=cmd_check)
    solver = sub.add_parser("solve", help="write the notebook with the references in the stubs")
    solver.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK))
    solver.add_argument("--out", default=str(DEFAULT_SOLVED))
    solver.add_argument("--html", action="store_true",
                        help="also execute it and write an HTML copy for teaching assistants")
    solver.set_defaults(run=cmd_solve)
    grade = sub.add_parser("grade", help="grade a class of submissions in the sandbox")
    grade.add_argument("submissions", nargs="?", default=str(paths.KIT_ROOT / "examples" / "submissions"),
                       help="<username>/assignment.ipynb folders or <username>.ipynb files")
    grade.add_argument("--out", default=str(paths.KIT_ROOT / "grading"), help="gradebook and reports")
    grade.add_argument("-j", "--jobs", type=int, default=None, help="parallel submissions (default: all cores)")
    grade.add_argument("--sandbox", choices=["auto", "bwrap", "plain"], default="auto")
    grade.add_argument("--roster", help="students.csv (default: SUBMISSIONS/students.csv if present)")
    grade.add_argument("--week", type=int, choices=[2, 3], help="grade only that week's tasks")
    grade.add_argument("--tasks", help="comma-separated task names to grade")
    grade.add_argument("--mandatory-points", type=float, default=1.0)
    grade.add_argument("--optional-points", type=float, default=0.5)
    grade.add_argument("--points", action="append", metavar="TASK=N", help="points of one task")
    grade.add_argument("--call-seconds", type=float, default=5.0, help="time limit of one call")
    grade.add_argument("--task-seconds", type=float, default=20.0, help="time limit of one function")
    grade.add_argument("--submission-seconds", type=float, default=300.0)
    grade.add_argument("--memory-mb", type=int, default=1024, help="memory limit per process")
    grade.add_argument("--execute", action="store_true",
                       help="also execute each whole notebook (nbclient, per-cell timeout) for feedback")
    grade.set_defaults(run=cmd_grade)
    release = sub.add_parser("release", help="build the student kit (no solutions) and check it")
    release.add_argument("--out", default=str(paths.KIT_ROOT / "dist" / "student"))
    release.add_argument("--zip", default=str(paths.KIT_ROOT / "dist" / "student.zip"))
    release.set_defaults(run=cmd_release)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CheckRefused, NotebookError, FileNotFoundError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1

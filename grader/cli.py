"""``python -m grader``: a thin command line over the library.

    python -m grader progress USERNAME
    python -m grader check PATH USERNAME [--record]
    python -m grader solve [--notebook assignment.ipynb] [--out build/assignment_solved.ipynb]

User errors print ``Error: ...`` and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

import solutions
from grader import messages, paths, tasks
from grader.automark_api import CheckRefused, progress_text
from grader.checking import check_function
from grader.loading import load_namespace
from grader.notebook import NotebookError, load_notebook, solve
from grader.progress import ProgressStore

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
    notebook = load_notebook(args.notebook)
    references = {name: getattr(solutions, name) for name in solutions.__all__}
    solved = solve(notebook, references)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solved, str(out))
    print(f"Wrote {out}")
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
    solver.set_defaults(run=cmd_solve)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CheckRefused, NotebookError, FileNotFoundError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1

"""``python -m grader``: a thin command line over the library.

    python -m grader progress USERNAME
    python -m grader check PATH USERNAME [--record]
    python -m grader solve [--notebook assignment.ipynb] [--out build/assignment_solved.ipynb] [--html]
    python -m grader grade [SUBMISSIONS] [--out grading] [-j N] [--sandbox bwrap|plain]
        [--week 2|3] [--tasks a,b] [--course course.toml] [--points TASK=N[,TASK=N]]
        [--call-seconds S] [--memory-mb MB] ...
    python -m grader release [--out dist/student] [--zip dist/student.zip] [--server URL]
    python -m grader gradescope [--out dist/autograder.zip] [--course course.toml]
    python -m grader serve [--host H] [--port P] [--roster FILE] [--data DIR]
        [--rate-limit-seconds N] [--admin-token T] [--workers N]
    python -m grader server add-users FILE [--data DIR]
    python -m grader cluster-certs --out DIR [--days N] [--scheduler HOST]
    python -m grader similarity [SUBMISSIONS] [--out grading] [--archive PATH] [--save-archive F]
    python -m grader new-task-cells NAME [--write] [--notebook assignment.ipynb]

Every flag of ``grade`` takes its default from the library (``grade_class``, the course
file's points, the fields of ``Limits``), so the two cannot disagree.
User errors print ``Error: ...`` and exit with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from grader.client import messages, paths
from grader.client.automark_api import CheckRefused, progress_text
from grader.client.progress import ProgressStore
from grader.core import tasks
from grader.core.checking import check_function
from grader.docstrings import attribute_docs
from grader.notebooks import NotebookError, load_namespace, load_notebook, solve

DEFAULT_NOTEBOOK = paths.KIT_ROOT / "assignment.ipynb"
DEFAULT_SOLVED = paths.KIT_ROOT / "build" / "assignment_solved.ipynb"
CHECKABLE = (".py", ".ipynb")
SHOW_DEFAULT = " (default: %(default)s)"


def cmd_progress(args) -> int:
    print(progress_text(args.username, last_week=args.last_week))
    return 0


def cmd_check(args) -> int:
    paths.check_username(args.username)
    path = Path(args.path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; check wants a .py module or an .ipynb notebook")
    if path.suffix not in CHECKABLE:
        raise ValueError(f"{path}: check wants a .py module or an .ipynb notebook")
    namespace = load_namespace(path)
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
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; --out wants the path of the notebook to write")
    notebook = load_notebook(args.notebook)
    references = {name: getattr(solutions, name) for name in solutions.__all__}
    solved = solve(notebook, references)
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


def _weeks(text: str) -> set[int]:
    known = sorted({t.week for t in tasks.TASKS})
    weeks = set()
    for part in (p.strip() for p in text.split(",")):
        if not part.isdigit() or int(part) not in known:
            raise ValueError(f"--week takes weeks among {', '.join(map(str, known))} separated by "
                             f"commas (e.g. --week 2,3), got {text!r}")
        weeks.add(int(part))
    return weeks


def _task_names(args) -> list[str]:
    """This week's tasks by default; ``--week``, ``--all`` and ``--tasks`` choose others."""
    from grader.classgrade.run import default_task_names
    if args.all:
        names = list(tasks.task_names())
    elif args.week:
        weeks = _weeks(args.week)
        names = [t.name for t in tasks.TASKS if t.week in weeks]
    else:
        names = list(tasks.task_names()) if args.tasks else list(default_task_names())
    if args.tasks:
        wanted = [n.strip() for n in args.tasks.split(",") if n.strip()]
        for name in wanted:
            if tasks.find_task(name) is None:
                raise ValueError(f"--tasks: {tasks.unknown_task_message(name)}")
        names = [n for n in names if n in wanted]
    if not names:
        raise ValueError("no task left to grade: check --week and --tasks")
    return names


def _points(args, task_names) -> dict:
    """This run's points: the course file's, then --mandatory-points, --optional-points and
    --points TASK=N[,TASK=N] (repeatable)."""
    from grader.classgrade.course import load_course
    overrides = {}
    items = [part.strip() for given in args.points or [] for part in given.split(",")]
    for item in (item for item in items if item):
        name, _, value = item.partition("=")
        if tasks.find_task(name) is None:
            raise ValueError(f"--points {item}: {tasks.unknown_task_message(name)}")
        if name not in task_names:
            raise ValueError(f"--points {item}: {name} is not among the tasks being graded; "
                             "check --week and --tasks")
        try:
            overrides[name] = float(value)
        except ValueError:
            raise ValueError(f"--points takes TASK=NUMBER, got {item!r}") from None
    chosen = [t for t in tasks.TASKS if t.name in task_names]
    return load_course(args.course).points_for(chosen, mandatory=args.mandatory_points,
                                               optional=args.optional_points, overrides=overrides)


def _only(text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    for name in names:
        paths.check_username(name)
    return names


def cmd_grade(args) -> int:
    from grader.classgrade import run as classrun
    from grader.classgrade.sandbox.limits import Limits
    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    from grader.classgrade.failures import GradingFailed
    task_names = _task_names(args)
    try:
        result = classrun.grade_class(
            submissions_dir=args.submissions, out_dir=args.out, jobs=args.jobs,
            sandbox=args.sandbox, roster_path=args.roster, task_names=task_names, limits=limits,
            points=_points(args, task_names), course=args.course, execute=args.execute,
            force=args.force, only=_only(args.only), dask=args.dask, dask_certs=args.dask_certs,
            dask_insecure=args.dask_insecure, lms=args.lms, deadline=args.deadline,
            late_policy=args.late_policy, lms_timezone=args.lms_timezone)
    except GradingFailed as error:  # the setup, not the class: nothing was written
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(classrun.class_table(result))
    for line in result.ignored:
        print(f"ignored: {line}")
    for line in result.notes:
        print(f"note: {line}")
    print(f"\nGraded {len(result.graded)} submission(s), {len(result.skipped_unchanged)} unchanged, "
          f"in {result.seconds:.1f} s (sandbox: {result.sandbox}).")
    out = Path(args.out)
    print(f"Gradebook: {out / 'gradebook.csv'}, report: {out / 'report.html'}, "
          f"feedback: {out / 'feedback'}/, LMS imports: {out / 'lms'}/")
    if result.not_graded:
        print(f"Not graded, the grader failed on them (no score written; run grade again to "
              f"grade them): {', '.join(result.not_graded)}", file=sys.stderr)
        return 1
    return 0


def cmd_release(args) -> int:
    from grader.release import build_student_kit
    build_student_kit(args.out, zip_path=args.zip, server=args.server)
    print(f"Wrote the student kit to {args.out}" + (f" and {args.zip}" if args.zip else "")
          + "; the leak check found nothing.")
    return 0


def cmd_gradescope(args) -> int:
    from grader.release.gradescope_package import build_gradescope_package
    path = build_gradescope_package(args.out, course=args.course)
    print(f"Wrote the Gradescope autograder package {path}")
    return 0


def _add_limits(parser) -> None:
    """One flag per field of ``Limits``: its type, its default, its docstring."""
    from grader.classgrade.sandbox.limits import Limits
    group = parser.add_argument_group("sandbox limits", "each must be positive")
    docs, types = attribute_docs(Limits), typing.get_type_hints(Limits)
    for field in dataclasses.fields(Limits):
        text = docs.get(field.name, field.name.replace("_", " "))
        help_text = text.rstrip(".").replace("%", "%%") + SHOW_DEFAULT
        group.add_argument("--" + field.name.replace("_", "-"), type=types[field.name],
                           default=field.default, metavar=field.name.rpartition("_")[2].upper(),
                           help=help_text)


def _add_grade(sub) -> None:
    from grader.classgrade.course import COURSE_FILE
    from grader.classgrade.exports.grades import points_for
    from grader.classgrade.lms_downloads import add_flags as add_download_flags
    from grader.classgrade.run import grade_class
    from grader.classgrade.sandbox.modes import MODES
    library, weights = grade_class.__kwdefaults__, points_for.__kwdefaults__
    grade = _command(sub, "grade", cmd_grade, "grade a class of submissions in the sandbox")
    grade.add_argument("submissions", nargs="?",
                       default=str(paths.KIT_ROOT / "examples" / "submissions"),
                       help="<username>/assignment.ipynb folders or <username>.ipynb files"
                       + SHOW_DEFAULT)
    grade.add_argument("--out", default=str(paths.KIT_ROOT / "grading"), metavar="FOLDER",
                       help="folder of the gradebook and reports, created if needed" + SHOW_DEFAULT)
    grade.add_argument("-j", "--jobs", type=int, default=library["jobs"], metavar="N",
                       help="parallel submissions, at least 1 (default: all cores)")
    grade.add_argument("--sandbox", choices=MODES, default=library["sandbox"],
                       help="bwrap isolates each submission; plain runs it with resource limits "
                       "only (read docs/security.md first)" + SHOW_DEFAULT)
    grade.add_argument("--roster", default=library["roster_path"], metavar="CSV",
                       help="students.csv (default: SUBMISSIONS/students.csv if present)")
    grade.add_argument("--week", metavar="W[,W]",
                       help="grade these weeks' tasks, e.g. --week 2,3 (default: 3, this "
                       "assignment's functions)")
    grade.add_argument("--all", action="store_true",
                       help="grade every task, last week's included (default: this week's)")
    grade.add_argument("--tasks", metavar="A,B",
                       help="comma-separated task names to grade (default: this week's)")
    grade.add_argument("--force", action="store_true", default=library["force"],
                       help="grade every submission again, even what the gradebook already "
                       "holds for the same content and settings")
    grade.add_argument("--only", metavar="USER[,USER]",
                       help="grade these students again, the others as usual: only what is "
                       "new or changed (default: nobody)")
    grade.add_argument("--course", default=str(COURSE_FILE), metavar="TOML",
                       help="the course's settings: points, the LMS item's name" + SHOW_DEFAULT)
    grade.add_argument("--mandatory-points", type=float, metavar="W",
                       help="points of a [MAN] task, for this run (default: the course's, "
                       f"else {weights['mandatory']:g})")
    grade.add_argument("--optional-points", type=float, metavar="W",
                       help="points of an [OPT] task, for this run (default: the course's, "
                       f"else {weights['optional']:g})")
    grade.add_argument("--points", action="append", metavar="TASK=N[,TASK=N]",
                       help="points of some tasks, for this run, over the course's (repeatable)")
    grade.add_argument("--dask", default=library["dask"], metavar="SCHEDULER",
                       help="grade on a Dask cluster: tls://HOST:PORT (a running `dask scheduler`, "
                       "with --dask-certs) or local[:N] (N worker processes here) (default: the "
                       "local pool, -j)")
    grade.add_argument("--dask-certs", default=library["dask_certs"], metavar="DIR",
                       help="the folder made by `python -m grader cluster-certs` (or its client/) "
                       "for a tls:// scheduler (default: Dask's configuration)")
    grade.add_argument("--dask-insecure", action="store_true", default=library["dask_insecure"],
                       help="accept a tcp:// scheduler on another machine: unencrypted, and "
                       "whoever reaches it can run code on the workers and change grades")
    grade.add_argument("--execute", action="store_true", default=library["execute"],
                       help="also execute each whole notebook (nbclient, per-cell timeout) "
                       "for feedback")
    add_download_flags(grade, library)
    _add_limits(grade)


def _command(sub, name, run, help_text) -> argparse.ArgumentParser:
    """The subcommand ``name``, with ``help_text`` as its help and its description."""
    parser = sub.add_parser(name, help=help_text,
                            description=help_text[0].upper() + help_text[1:] + ".")
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    progress = _command(sub, "progress", cmd_progress, "print a student's AutoMark progress table")
    progress.add_argument("username", help="whose progress to print")
    progress.add_argument("--last-week", action="store_true",
                          help="also list last week's functions (Blocks.py)")
    check = _command(sub, "check", cmd_check, "check every graded function defined in a file")
    check.add_argument("path", help="a .py module or an .ipynb notebook")
    check.add_argument("username", help="whose cases to draw (and record, with --record)")
    check.add_argument("--record", action="store_true", help="record the attempts as progress")
    solver = _command(sub, "solve", cmd_solve,
                      "write the notebook with the references in the stubs")
    solver.add_argument("--notebook", default=str(DEFAULT_NOTEBOOK),
                        help="the assignment notebook with its stubs" + SHOW_DEFAULT)
    solver.add_argument("--out", default=str(DEFAULT_SOLVED),
                        help="where to write the solved notebook" + SHOW_DEFAULT)
    solver.add_argument("--html", action="store_true",
                        help="also execute it and write an HTML copy for teaching assistants")
    _add_grade(sub)
    release = _command(sub, "release", cmd_release,
                       "build the student kit (no solutions) and check it")
    release.add_argument("--out", default=str(paths.KIT_ROOT / "dist" / "student"),
                         help="folder of the student kit" + SHOW_DEFAULT)
    release.add_argument("--zip", default=str(paths.KIT_ROOT / "dist" / "student.zip"),
                         help="zip of the student kit" + SHOW_DEFAULT)
    release.add_argument("--server", metavar="URL",
                         help="build the kit for this AutoMark server (python -m grader serve): its "
                         "checks ask the server for the hidden cases and it ships no remote vectors "
                         "(default: none, the checks run offline)")
    gradescope = _command(sub, "gradescope", cmd_gradescope,
                          "build the Gradescope autograder package (setup.sh, run_autograder)")
    gradescope.add_argument("--out", default=str(paths.KIT_ROOT / "dist" / "autograder.zip"),
                            help="the zip to upload to Gradescope" + SHOW_DEFAULT)
    gradescope.add_argument("--course", default=str(paths.KIT_ROOT / "course.toml"),
                            metavar="TOML", help="the course file the package grades with "
                            "(points, packages)" + SHOW_DEFAULT)
    from grader.server.commands import add_commands
    add_commands(sub, _command)
    from grader.classgrade.cluster_certs import add_command as add_cluster_certs
    add_cluster_certs(sub, _command)
    from grader.classgrade.similarity.command import add_command as add_similarity
    add_similarity(sub, _command)
    from grader.task_cells import add_command as add_new_task_cells
    add_new_task_cells(sub, _command)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CheckRefused, NotebookError, OSError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1

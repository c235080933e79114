"""``python -m grader serve``, ``server add-users`` and ``server export``: flags over the library.

Every default comes from :class:`~grader.server.settings.ServerSettings` (and its
help text from that class's docstring), so the CLI and the library cannot disagree.
"""

from __future__ import annotations

import dataclasses
import sys

from grader.core.deadlines import LatePolicy
from grader.docstrings import attribute_docs  # every settings docstring is read the same way
from grader.server.settings import ServerSettings

SHOW_DEFAULT = " (default: %(default)s)"
FLAGS = {  # setting: (type, metavar)
    "host": (str, "H"), "port": (int, "P"), "roster": (str, "FILE"), "data": (str, "DIR"),
    "rate_limit_seconds": (float, "N"), "admin_token": (str, "T"),
    "admin_token_file": (str, "PATH"), "workers": (int, "N"), "request_seconds": (float, "S"),
    "max_connections": (int, "N"), "deadline": (str, "ISO"), "late_policy": (str, "POLICY"),
}
DEADLINE_FLAGS = {  # serve's and export's: not given is None, then the database, course.toml
    "deadline": " (default: the one this server's database was last started with, else "
                "course.toml's, else none; --deadline '' for none)",
    "late_policy": " (default: the one recorded with that deadline, else course.toml's, "
                   f"else {LatePolicy()})",
}
TOKEN_ON_COMMAND_LINE = ("Warning: --admin-token is visible to every user of this machine "
                         "(ps, /proc/<pid>/cmdline); set $AUTOMARK_ADMIN_TOKEN or use "
                         "--admin-token-file instead.")


def setting_docs() -> dict[str, str]:
    """``{field: description}`` from the ``Attributes:`` section of ``ServerSettings``."""
    return attribute_docs(ServerSettings)


def cmd_serve(args) -> int:
    from grader.classgrade.course import load_course
    from grader.server import course_deadline
    from grader.server.run import serve
    chosen = course_deadline.in_force(
        deadline_flag=args.deadline, policy_flag=args.late_policy,
        recorded=course_deadline.recorded(args.data), course=load_course(args.course))
    values = {name: getattr(args, name) for name in FLAGS}
    settings = ServerSettings(**values | {"deadline": chosen.deadline or None,
                                          "late_policy": chosen.late_policy})
    if args.admin_token is not None:
        print(TOKEN_ON_COMMAND_LINE, file=sys.stderr, flush=True)
    serve(settings, notes=chosen.notes, deadline_source=chosen.source)
    return 0


def cmd_add_users(args) -> int:
    from grader.server.run import add_users
    database = ServerSettings(data=args.data).database
    existed = database.is_file()
    roster = add_users(args.file, data=args.data)
    for problem in roster.problems:
        print(problem, file=sys.stderr)
    if not existed:   # a mistyped --data would otherwise feed a database no server reads
        print(f"Warning: there was no server database in {args.data}: a new one was created. "
              "If the server runs with another --data, import into that folder instead.",
              file=sys.stderr)
    if "extension" not in roster.columns:
        print(f"{args.file} has no extension column: the extensions already granted are kept.")
    print(f"Added or updated {len(roster.students)} user(s) in {database}")
    return 0


def cmd_export(args) -> int:
    from grader.classgrade.course import load_course
    from grader.client.roster import read_roster
    from grader.core.deadlines import parse_deadline, parse_late_policy
    from grader.server import course_deadline
    from grader.server.export import export_grades
    roster = read_roster(args.roster) if args.roster else None
    if args.roster and roster is None:
        raise ValueError(f"{args.roster}: no such roster file")
    tasks = [name.strip() for name in args.tasks.split(",") if name.strip()] if args.tasks else None
    course = load_course(args.course)
    chosen = course_deadline.in_force(   # as serve chooses: the flags, the database, the course
        deadline_flag=args.deadline, policy_flag=args.late_policy,
        recorded=course_deadline.recorded(args.data), course=course)
    done = export_grades(args.data, args.out,
                         deadline=parse_deadline(chosen.deadline) if chosen.deadline else None,
                         policy=parse_late_policy(chosen.late_policy), course=course,
                         task_names=tasks, roster=roster.students if roster else None)
    print(f"deadline: {chosen.deadline or 'none'} (from {chosen.source}), late policy: "
          f"{chosen.late_policy}", file=sys.stderr)
    for line in [*chosen.notes, course_deadline.not_yet_passed(chosen.deadline),
                 *course_deadline.shortening_extensions(args.data, chosen.deadline)]:
        if line:
            print(f"Warning: {line}", file=sys.stderr)
    for line in [*(roster.problems if roster else ()), *done.problems]:
        print(line, file=sys.stderr)
    for user, function, days, worth in done.late:
        print(f"late: {user} completed {function} {days} day(s) after their deadline: "
              f"{'not counted' if worth == 0 else f'{worth:.0%} of its points'}")
    print(f"Exported {done.students} student(s) to "
          f"{', '.join(str(path) for path in done.files)}")
    return 0


def add_commands(sub, command) -> None:
    """Add ``serve`` and ``server add-users`` to the CLI's subparsers.

    Args:
        sub: the CLI's subparsers action.
        command: ``command(sub, name, run, help_text) -> parser``, the CLI's helper.
    """
    docs = setting_docs()
    serve = command(sub, "serve", cmd_serve,
                    "run the AutoMark-compatible server (students' notebooks check against it)")
    for field in dataclasses.fields(ServerSettings):
        kind, metavar = FLAGS[field.name]
        text = docs[field.name].rstrip(".").replace("%", "%%")
        if field.name in DEADLINE_FLAGS:
            continue
        serve.add_argument("--" + field.name.replace("_", "-"), type=kind, default=field.default,
                           metavar=metavar,
                           help=text + (SHOW_DEFAULT if field.default is not None else ""))
    _add_deadline_flags(serve, docs)
    serve.add_argument("--course", default=None, metavar="TOML",
                       help="the course file whose deadline and late policy apply when neither "
                       "the flags nor the database give one (default: course.toml beside the kit)")
    server = command(sub, "server", None, "manage the server's database")
    actions = server.add_subparsers(dest="server_command", required=True, metavar="ACTION",
                                    help="add-users: import students.csv (username,name,email); "
                                    "export: the grades as of each student's deadline")
    add = command(actions, "add-users", cmd_add_users,
                  "add the students of a roster to the server's users (known ones are updated)")
    add.add_argument("file", help="students.csv with columns username,name,email")
    add.add_argument("--data", default=ServerSettings.data, metavar="DIR",
                     help=docs["data"].rstrip(".") + SHOW_DEFAULT)
    _add_export(command, actions, docs)


def _add_deadline_flags(parser, docs) -> None:
    """``--deadline`` and ``--late-policy``, None when not given (serve and export then choose:
    grader/server/course_deadline.py)."""
    for name, default in DEADLINE_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), default=None, metavar=FLAGS[name][1],
                            help=docs[name].split(" (default")[0].rstrip(".").replace("%", "%%")
                            + default)


def _add_export(command, actions, docs) -> None:
    export = command(actions, "export", cmd_export,
                     "write the grades as of each student's deadline: gradebook.csv and the LMS "
                     "imports, as class grading writes them")
    export.add_argument("--data", default=ServerSettings.data, metavar="DIR",
                        help="the folder of the server's database, as serve --data named it"
                        + SHOW_DEFAULT)
    export.add_argument("--out", required=True, metavar="DIR",
                        help="the folder to write gradebook.csv and lms/ into")
    _add_deadline_flags(export, docs)
    export.add_argument("--course", default=None, metavar="TOML",
                        help="the course file whose points and LMS item name the files use "
                        "(default: course.toml beside the kit, as grade reads it)")
    export.add_argument("--roster", default=None, metavar="FILE",
                        help="students.csv whose names and LMS ids (canvas_id, moodle_id, "
                        "brightspace_id) fill in the files (default: the server's users only)")
    export.add_argument("--tasks", default=None, metavar="A,B",
                        help="the graded functions (default: this week's, as grade grades)")

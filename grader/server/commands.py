"""``python -m grader serve`` and ``python -m grader server add-users``: flags over the library.

Every default comes from :class:`~grader.server.settings.ServerSettings` (and its
help text from that class's docstring), so the CLI and the library cannot disagree.
"""

from __future__ import annotations

import dataclasses
import sys

from grader.docstrings import attribute_docs  # every settings docstring is read the same way
from grader.server.settings import ServerSettings

SHOW_DEFAULT = " (default: %(default)s)"
FLAGS = {  # setting: (type, metavar)
    "host": (str, "H"), "port": (int, "P"), "roster": (str, "FILE"), "data": (str, "DIR"),
    "rate_limit_seconds": (float, "N"), "admin_token": (str, "T"),
    "admin_token_file": (str, "PATH"), "workers": (int, "N"), "request_seconds": (float, "S"),
    "max_connections": (int, "N"),
}
TOKEN_ON_COMMAND_LINE = ("Warning: --admin-token is visible to every user of this machine "
                         "(ps, /proc/<pid>/cmdline); set $AUTOMARK_ADMIN_TOKEN or use "
                         "--admin-token-file instead.")


def setting_docs() -> dict[str, str]:
    """``{field: description}`` from the ``Attributes:`` section of ``ServerSettings``."""
    return attribute_docs(ServerSettings)


def cmd_serve(args) -> int:
    from grader.server.run import serve
    settings = ServerSettings(**{name: getattr(args, name) for name in FLAGS})
    if args.admin_token is not None:
        print(TOKEN_ON_COMMAND_LINE, file=sys.stderr, flush=True)
    serve(settings)
    return 0


def cmd_add_users(args) -> int:
    from grader.server.run import add_users
    roster = add_users(args.file, data=args.data)
    for problem in roster.problems:
        print(problem, file=sys.stderr)
    print(f"Added or updated {len(roster.students)} user(s) in "
          f"{ServerSettings(data=args.data).database}")
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
        serve.add_argument("--" + field.name.replace("_", "-"), type=kind, default=field.default,
                           metavar=metavar,
                           help=text + (SHOW_DEFAULT if field.default is not None else ""))
    server = command(sub, "server", None, "manage the server's database")
    actions = server.add_subparsers(dest="server_command", required=True, metavar="ACTION",
                                    help="add-users: import students.csv (username,name,email)")
    add = command(actions, "add-users", cmd_add_users,
                  "add the students of a roster to the server's users (known ones are updated)")
    add.add_argument("file", help="students.csv with columns username,name,email")
    add.add_argument("--data", default=ServerSettings.data, metavar="DIR",
                     help=docs["data"].rstrip(".") + SHOW_DEFAULT)

"""Start the server under uvicorn; import a class list. The library behind the CLI.

uvicorn runs the Starlette app with uvloop and httptools (bounded by
:mod:`grader.server.http`), without access logs: a log line per request would
copy every answer (up to megabytes) to disk and slow every request, and the
database already records every attempt. With ``workers`` > 1 uvicorn starts that
many processes on one socket; each opens the same database.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import socket
import sys
import time
from pathlib import Path

from grader.client.roster import Roster
from grader.server import course_deadline
from grader.server.settings import SETTINGS_ENV, ServerSettings
from grader.server.store import ServerStore
from grader.server.users import add_users as import_users
from grader.server.users import read_students

APP = "grader.server.app:create_app"
LOCK_NAME = "server.lock"


def uvicorn_options(settings: ServerSettings, *, log_level: str = "info") -> dict:
    """Keyword arguments of ``uvicorn.run(APP, ...)`` / ``uvicorn.Config(APP, ...)`` for
    ``settings``; the settings themselves reach every worker through the environment."""
    from grader.server.http import BoundedHttpToolsProtocol
    os.environ[SETTINGS_ENV] = settings.to_env()
    return {"factory": True, "host": settings.host, "port": settings.port,
            "workers": settings.workers, "http": BoundedHttpToolsProtocol, "ws": "none",
            "loop": "auto",
            "lifespan": "on", "access_log": False, "log_level": log_level,
            "timeout_keep_alive": max(1, round(settings.request_seconds)), "server_header": False}


def describe(settings: ServerSettings, *, deadline_source: str = "") -> list[str]:
    """What ``serve`` prints before it starts: where, who, what is stored, the staff page, the
    deadline (and where it came from, when ``deadline_source`` says)."""
    url = f"http://{settings.host}:{settings.port}/"
    limit = (f"{settings.rate_limit_seconds:g} s after each check_answer"
             if settings.rate_limit_seconds > 0 else "off")
    staff = (f"{url}?token=<token>" if settings.token else
             "disabled (no $AUTOMARK_ADMIN_TOKEN, no --admin-token-file)")
    origin = f" (from {deadline_source})" if deadline_source else ""
    deadline = (f"{settings.deadline}{origin}, extensions from the roster's extension column; late "
                f"attempts are recorded and answered, and worth: {settings.late_policy}"
                if settings.deadline else "none (late attempts: --deadline ISO --late-policy ...)")
    return [f"AutoMark server on {url} ({settings.workers} worker(s))",
            f"  students point their notebook at it: am.Config.host = '{url}'",
            f"  roster: {settings.roster or 'none (add users with: python -m grader server add-users FILE)'}",
            f"  database: {settings.database}",
            f"  rate limit: {limit}",
            f"  deadline: {deadline}",
            f"  staff page: {staff}"]


def serve(settings: ServerSettings, *, log_level: str = "info", notes=(),
          deadline_source: str = "") -> None:
    """Run until interrupted.

    Args:
        settings: the server's settings (its deadline and policy already chosen:
            :mod:`grader.server.course_deadline`).
        notes: lines to print before it starts (the choice's notes).
        deadline_source: where the deadline came from, for the banner.

    Raises:
        FileNotFoundError, ValueError: a port already in use, a missing or bad roster, a bad
            database (checked here, before uvicorn starts and before anything is written, so
            the CLI can say so in one line).
    """
    import uvicorn
    check_port_free(settings.host, settings.port)
    hold_data_folder(settings.data)
    problems = ()
    with ServerStore(settings.database) as store:
        if settings.roster:
            problems = import_users(store, settings.roster).problems
        store.record_course_settings(deadline=settings.deadline or "",
                                     late_policy=settings.late_policy, now=time.time())
    notes = [*notes, *course_deadline.shortening_extensions(settings.data, settings.deadline or "")]
    banner = describe(settings, deadline_source=deadline_source)
    print("\n".join([*problems, *(f"Warning: {note}" for note in notes), *banner]),
          file=sys.stderr, flush=True)
    # The roster is imported here, once: a worker that uvicorn starts again (after a crash, a
    # reload) imported it anew and undid every add-users since (a red team's finding).
    uvicorn.run(APP, **uvicorn_options(dataclasses.replace(settings, roster=None),
                                       log_level=log_level))


_held: list = []   # the data folder's lock file, open for as long as this process serves


def hold_data_folder(data) -> None:
    """Hold ``data``'s lock (``server.lock``, ``flock``) until this process ends; uvicorn's
    workers inherit it. A second server on the same folder wrote the same database and
    replaced the deadline the first one ran with.

    Raises:
        ValueError: another server holds it.
    """
    folder = Path(data)
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / LOCK_NAME, "a+b")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ValueError(f"another server runs on {data} (it holds {folder / LOCK_NAME}): stop "
                         "it first, or give this one another --data") from None
    _held.append(lock)


def check_port_free(host: str, port: int) -> None:
    """Raise ValueError when ``host:port`` cannot be listened on (another server holds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ValueError(f"cannot listen on {host}:{port}: {error.strerror or error} "
                             "(is another server running there? choose another --port)") from None


def add_users(roster, *, data: str = ServerSettings.data) -> Roster:
    """Import ``roster`` (students.csv) into the database under ``data``; returns what was read
    (``.students`` added or updated, ``.problems`` the rows left out). A roster that cannot be
    read leaves the database untouched (and uncreated)."""
    read_students(roster)
    with ServerStore(ServerSettings(data=data, roster=str(roster)).database) as store:
        return import_users(store, roster)

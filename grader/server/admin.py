"""The staff pages: the class live (``GET /``) and its CSV exports (``/admin/progress.csv``,
``/admin/stuck.csv``: who is stuck on what, :mod:`grader.server.stuck`).

Both need the admin token, as ``Authorization: Bearer <token>`` or ``?token=<token>``
(compared in constant time); a server started without a token refuses them
outright. Students only ever reach their own progress, through
``/get_progress/<their username>``. The page is rendered by Jinja2 with
autoescaping (names come from the roster), sends no script, and forbids caching,
framing and referrers (the token may sit in its address).
"""

from __future__ import annotations

import csv
import hmac
import io
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from grader.classgrade.exports.table import cell
from grader.core.tasks import ordered_for_progress, this_week_names
from grader.server import deadlines, local_checks, stuck
from grader.server.store import ServerStore

REFRESH_SECONDS = 30
DISABLED = ("the staff pages are disabled: start the server with $AUTOMARK_ADMIN_TOKEN set "
            "or --admin-token-file.")
NEEDS_TOKEN = "the staff pages need the admin token (?token=... or Authorization: Bearer ...)."
STATES = ("completed", "attempted", "not attempted")
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                                autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass(frozen=True)
class ClassView:
    """What both staff views show: every user's state of every graded function."""

    functions: list[str]       # this week's first (what the export grades), then last week's
    rows: list[dict]           # username, name, email, states {function: state}, completed
                               # (this week's), earlier (last week's completed), attempts, late
                               # (attempts after their own deadline), deadline (text)
    per_function: list[dict]   # function, label, this_week, counts {state: n}, percent (completed)
    by_hour: list[dict]        # hour (text), attempts, successful, width (percent of the busiest)
    this_week: tuple[str, ...] = ()   # the functions the export grades by default


def class_view(store: ServerStore, deadline: float | None = None) -> ClassView:
    """Every user's states; with the course's ``deadline`` (Unix seconds), each user's own
    deadline and how many of their attempts came after it."""
    tasks = ordered_for_progress()
    functions = [task.name for task in tasks]
    this_week = this_week_names()
    progress, attempts = store.class_progress(), store.attempt_counts()
    late = deadlines.late_counts(store, deadline) if deadline is not None else {}
    own = deadlines.own_deadlines(store, deadline) if deadline is not None else {}
    rows = []
    for student in store.users():
        states = {name: progress.get(student.username, {}).get(name, "not attempted")
                  for name in functions}
        rows.append({"username": student.username, "name": student.name, "email": student.email,
                     "states": states,
                     "completed": sum(states[name] == "completed" for name in this_week),
                     "earlier": sum(states[name] == "completed" for name in functions
                                    if name not in this_week),
                     "attempts": attempts.get(student.username, (0, 0))[0],
                     "late": late.get(student.username, 0),
                     "deadline": _utc(own.get(student.username))})
    per_function = []
    for task in tasks:
        counts = {state: sum(row["states"][task.name] == state for row in rows) for state in STATES}
        percent = 100.0 * counts["completed"] / len(rows) if rows else 0.0
        per_function.append({"function": task.name, "label": task.label, "counts": counts,
                             "percent": percent, "this_week": task.name in this_week})
    hours = store.attempts_by_hour()
    busiest = max((n for _, n, _ in hours), default=1)
    by_hour = [{"hour": time.strftime("%Y-%m-%d %H:00 UTC", time.gmtime(hour)), "attempts": n,
                "successful": ok, "width": 100.0 * n / busiest} for hour, n, ok in hours]
    return ClassView(functions, rows, per_function, by_hour, this_week)


def _utc(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at)) if at is not None else ""


def refusal(request: Request) -> Response | None:
    """None when the request carries the admin token; else the JSON refusal."""
    token = request.app.state.settings.token
    if not token:
        return JSONResponse({"error": DISABLED}, status_code=403, headers=PAGE_HEADERS)
    given = request.query_params.get("token", "")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = credentials.strip()
    if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
        return JSONResponse({"error": NEEDS_TOKEN}, status_code=401,
                            headers={**PAGE_HEADERS, "WWW-Authenticate": "Bearer"})
    return None


async def off_the_loop(request: Request, build):
    """``build(store)`` in a worker thread, on a connection of its own: the staff views read
    every attempt (hundreds of milliseconds for a long course), which on the event loop would
    hold every student's request that long."""
    database = request.app.state.settings.database

    def run():
        with ServerStore(database) as store:
            return build(store)
    return await run_in_threadpool(run)


async def page(request: Request) -> Response:
    """The class at a glance: students x functions, completion per function, attempts per hour."""
    refused = refusal(request)
    if refused is not None:
        return refused
    settings = request.app.state.settings
    view, stuck_now = await off_the_loop(request, lambda store: (
        class_view(store, settings.deadline_at), stuck.stuck_view(store)))
    html = _templates.get_template("admin.html").render(
        deadline=_utc(settings.deadline_at), late_policy=settings.late_policy,
        view=view, stuck=stuck_now, when=stuck.when,
        refused_records=local_checks.refused["rate"], refresh=REFRESH_SECONDS,
        unknown=sorted(request.app.state.service.unknown_users.items(),
                       key=lambda item: -item[1][1]),
        token=request.query_params.get("token", ""),
        now=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    return HTMLResponse(html, headers=PAGE_HEADERS)


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula: class grading's one rule
    (a leading =, +, -, @, tab or carriage return; control characters shown escaped)."""
    return cell(str(value))


def progress_csv_text(view: ClassView, *, with_deadlines: bool = False) -> str:
    """The students table as CSV; ``with_deadlines`` adds each one's deadline and late attempts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    late = ["deadline", "late attempts"] if with_deadlines else []
    writer.writerow(["username", "name", "email", *view.functions, "completed",
                     "completed last week", "attempts", *late])
    for row in view.rows:
        writer.writerow([_cell(row["username"]), _cell(row["name"]), _cell(row["email"]),
                         *(row["states"][name] for name in view.functions),
                         row["completed"], row["earlier"], row["attempts"],
                         *([row["deadline"], row["late"]] if with_deadlines else [])])
    return out.getvalue()


async def progress_csv(request: Request) -> Response:
    """The same table as CSV: one row per student, one column per function."""
    refused = refusal(request)
    if refused is not None:
        return refused
    deadline = request.app.state.settings.deadline_at
    view = await off_the_loop(request, lambda store: class_view(store, deadline))
    return Response(progress_csv_text(view, with_deadlines=deadline is not None),
                    media_type="text/csv",
                    headers={**PAGE_HEADERS,
                             "Content-Disposition": 'attachment; filename="progress.csv"'})


async def stuck_csv(request: Request) -> Response:
    """Who is stuck on what as CSV: one row per student, one column per function."""
    refused = refusal(request)
    if refused is not None:
        return refused
    view = await off_the_loop(request, stuck.stuck_view)
    return Response(stuck.stuck_csv_text(view, _cell),
                    media_type="text/csv",
                    headers={**PAGE_HEADERS, "Content-Disposition": 'attachment; filename="stuck.csv"'})

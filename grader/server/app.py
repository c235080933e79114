"""The ASGI application (Starlette): AutoMark's five endpoints and the staff pages.

Parameters travel in the path, percent-encoded. The path is split on the raw
bytes *before* decoding (``scope["raw_path"]``), so a username holding ``%2F``
stays one segment (``user 'a/b' is not registered.``) instead of becoming two;
each segment's length is checked (:mod:`grader.server.limits`), then it is
percent-decoded and read as UTF-8; the answer is decoded last, by the service. Every refusal is JSON
``{"error": text}`` with AutoMark's status 300; an unknown path is a JSON 404,
and even an unexpected failure answers JSON, never an HTML page.

The endpoints call SQLite directly on the event loop: every statement is short
(a few indexed rows), so this costs less than handing them to a thread pool.
Several workers share the database file; when another worker holds the write
lock, SQLite is told not to wait (it would sleep, stalling the loop) and the
request is answered again after an ``await``-ed pause.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from grader.core.tasks import TASKS
from grader.server import admin, cases, checkpoints, local_checks, log_bounds, users
from grader.server.limits import MAX_PARAM_BYTES
from grader.server.service import AutoMarkService, ProtocolError
from grader.server.settings import ServerSettings
from grader.server.store import ServerStore, is_busy

ERROR_STATUS = 300  # AutoMark's status for every refusal
JSON = b"application/json"
INTERNAL_ERROR = b'{"error": "internal error; the staff can find it in the server\'s log."}'
BUSY = b'{"error": "the server is busy; try again in a moment."}'
BUSY_DELAYS = [0.0002 * 2 ** min(i, 6) for i in range(400)]  # 0.2 ms doubling to 12.8 ms; ~5 s
HEAVY_PATH_BYTES = 64 << 10  # a request longer than this is answered by the HeavyLane
METHOD_NOT_ALLOWED = b'{"error": "AutoMark\'s endpoints take GET requests only."}'
OTHER_REQUEST_BYTES = 8 << 10   # path and query of a staff page (a token, a few parameters), a 404
TOO_LONG_TEXT = "the request is longer than any staff page or endpoint takes."
TOO_LONG = json.dumps({"error": TOO_LONG_TEXT}).encode("ascii")
ENDPOINTS = {  # name: (its parameters, the method of AutoMarkService)
    "check_sum": (("md5",), "check_sum"),
    "load_tests": (("username",), "load_tests"),
    "get_test_input": (("username", "function"), "get_test_input"),
    "check_answer": (("username", "function", "ipd", "answer"), "check_answer"),
    "get_progress": (("username",), "get_progress"),
}
ROUTES = {**ENDPOINTS,  # and the kit's own, which AutoMark's clients never call
          local_checks.NAME: (local_checks.PARAMS, local_checks.record_local_check)}
ENDPOINT_BYTES = {name.encode("ascii") for name in ROUTES}
MAX_SEGMENTS = 1 + max(len(params) for params, _ in ENDPOINTS.values())
log = logging.getLogger("grader.server")


def error(text: str, status: int = ERROR_STATUS) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


def path_arguments(raw_path: bytes) -> tuple[str, list]:
    """The endpoint's name and its arguments: each percent-decoded and read as UTF-8, except
    ``check_answer``'s answer, passed on as it travelled (the service decodes it only once
    the user, the window, the function and the ipd are checked). Leading slashes (``//x``)
    are dropped.

    Raises:
        ProtocolError: more segments than any endpoint has (counted before anything is
            split, so a path of a million slashes costs no more than a short one), a
            parameter longer than :data:`MAX_PARAM_BYTES` (checked before decoding), or one
            that is not UTF-8 once decoded.
    """
    path = raw_path.lstrip(b"/")
    count = path.count(b"/") + 1
    if count > MAX_SEGMENTS:
        raise ProtocolError(f"the path has {count} segments; AutoMark's have at most "
                            f"{MAX_SEGMENTS}: " + ", ".join(usage(n) for n in ENDPOINTS) + ".")
    name, *segments = path.split(b"/")
    name = name.decode("ascii")  # one of ENDPOINT_BYTES (AutoMarkApp checked)
    params, _ = ROUTES[name]
    if len(segments) != len(params):
        raise ProtocolError(f"expected {usage(name)}, got {len(segments)} parameter(s) instead "
                            f"of {len(params)}.")
    arguments = []
    for param, segment in zip(params, segments):
        if param == "answer":
            arguments.append(segment)
            continue
        if len(segment) > MAX_PARAM_BYTES:
            raise ProtocolError(f"the {param} is {len(segment)} bytes long percent-encoded; at "
                                f"most {MAX_PARAM_BYTES} are accepted.")
        try:
            arguments.append(unquote_to_bytes(segment).decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtocolError(f"the {param} is not valid UTF-8 once percent-decoded.") from None
    return name, arguments


def usage(name: str) -> str:
    params, _ = ROUTES[name]
    return f"GET /{name}/" + "/".join(f"<{p}>" for p in params)


def respond(service: AutoMarkService, raw_path: bytes) -> tuple[int, bytes, bytes]:
    """``(status, body, content type)`` of ``/<endpoint>/<param>/...`` (a known endpoint)."""
    try:
        name, args = path_arguments(raw_path)
        method = ROUTES[name][1]
        result = method(service, *args) if callable(method) else getattr(service, method)(*args)
    except ProtocolError as refusal:
        return ERROR_STATUS, json.dumps({"error": str(refusal)}).encode(), JSON
    if isinstance(result, bytes):
        return 200, result, b"application/octet-stream"
    return 200, result.encode(), JSON


class AutoMarkApp:
    """The ASGI entry point: AutoMark's endpoints answered directly, the rest by Starlette.

    The five endpoints are most of the traffic and need nothing of a framework
    (no body, no cookies, no middleware): answering them here, with two ASGI
    messages, instead of through Starlette's middleware, router and response
    objects, serves about a third more requests per second (``make bench``).
    Starlette runs the staff pages, the errors and the lifespan.
    """

    def __init__(self, starlette: Starlette):
        self.starlette = starlette
        self.state = starlette.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.starlette(scope, receive, send)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        if raw_path.lstrip(b"/").split(b"/", 1)[0] not in ENDPOINT_BYTES:
            if len(raw_path) + len(scope.get("query_string", b"")) > OTHER_REQUEST_BYTES:
                # Starlette parses a query whole on the loop before a page can refuse it (a red
                # team's four 3 MiB queries without the token held check_sum for 4.2 s).
                return await self._send(send, 414, TOO_LONG)
            return await self.starlette(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            status, body, content_type = 405, METHOD_NOT_ALLOWED, JSON
        else:
            status, body, content_type = await self.answer(raw_path)
        await self._send(send, status, body, content_type)

    @staticmethod
    async def _send(send, status: int, body: bytes, content_type: bytes = JSON) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode("ascii"))]})
        await send({"type": "http.response.body", "body": body})  # uvicorn drops it for HEAD


    def answer_now(self, method: bytes, raw_path: bytes) -> tuple[int, bytes, bytes] | None:
        """``(status, body, content type)`` of a GET of one of the endpoints, answered at once
        by the HTTP layer (:mod:`grader.server.direct`); None leaves the request to
        :meth:`__call__`: another method or path, a request for the heavy lane, or a
        database busy with another worker's write (answered again after a pause there)."""
        if (method != b"GET" or len(raw_path) > HEAVY_PATH_BYTES
                or raw_path.lstrip(b"/").split(b"/", 1)[0] not in ENDPOINT_BYTES):
            return None
        try:
            return respond(self.state.service, raw_path)
        except Exception as error:  # noqa: BLE001 - a bug must still answer JSON
            if is_busy(error):
                return None
            log.exception("unexpected failure on %s", raw_path[:200])
            return 500, INTERNAL_ERROR, JSON

    async def answer(self, raw_path: bytes) -> tuple[int, bytes, bytes]:
        """:func:`respond`, again after a pause while another worker holds the write lock.

        A refused transaction has written nothing (it is rolled back), so the whole
        request is simply answered again; the pause is ``await``-ed, so this worker
        serves other requests meanwhile.
        """
        lane = getattr(self.state, "lane", None)
        heavy = lane is not None and len(raw_path) > HEAVY_PATH_BYTES
        for delay in BUSY_DELAYS:
            try:
                if heavy:
                    return await lane.respond(raw_path)
                return respond(self.state.service, raw_path)
            except Exception as error:  # noqa: BLE001 - a bug must still answer JSON
                if not is_busy(error):
                    log.exception("unexpected failure on %s", raw_path[:200])
                    return 500, INTERNAL_ERROR, JSON
            await asyncio.sleep(delay)
        return 503, BUSY, JSON


class HeavyLane:
    """One thread, with a database connection of its own, for the requests that carry a long
    answer: decoding and judging the longest accepted one takes about 70 ms, which on the
    event loop stalled every other client of the worker (check_sum's p99 went from 3 ms to
    about 200 ms while another client sent such requests back to back). Answered here, they
    leave the loop free; the connection of its own makes it one more writer to SQLite, as a
    second worker is (a busy database is retried by :meth:`AutoMarkApp.answer`).
    """

    def __init__(self, settings: ServerSettings, service: AutoMarkService):
        self.settings, self.shared = settings, service
        self.executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="heavy")
        self.local = threading.local()
        self.stores: list[ServerStore] = []

    def _respond(self, raw_path: bytes) -> tuple[int, bytes, bytes]:
        service = getattr(self.local, "service", None)
        if service is None:
            store = ServerStore(self.settings.database)
            store.wait_when_busy(0)
            checkpoints.no_checkpoints_here(store.db)
            self.stores.append(store)
            service = self.local.service = AutoMarkService(
                store, self.shared.local_tests, rate_limit_seconds=self.shared.rate_limit_seconds,
                tasks=self.shared.tasks.values(), clock=self.shared.clock)
        return respond(service, raw_path)

    async def respond(self, raw_path: bytes) -> tuple[int, bytes, bytes]:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._respond,
                                                                raw_path)

    def close(self) -> None:
        self.executor.submit(lambda: [store.close() for store in self.stores]).result()
        self.executor.shutdown()


async def not_found(request: Request, exc: HTTPException) -> Response:
    """Starlette's 404 and 405 as JSON; a 404 names AutoMark's endpoints."""
    if exc.status_code == 404:
        name = request.url.path.lstrip("/").split("/", 1)[0][:100]
        return error(f"no such endpoint '{name}': AutoMark's are "
                     + ", ".join(usage(n) for n in ENDPOINTS) + ".", 404)
    return error(str(exc.detail), exc.status_code)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected failure on %s", request.url.path[:200])
    return Response(INTERNAL_ERROR, status_code=500, media_type=JSON.decode())


def open_state(app: Starlette, settings: ServerSettings) -> ServerStore:
    """Open the database, import the roster, build the local tests; attach them to ``app``."""
    log_bounds.bound_client_lines()
    store = ServerStore(settings.database)
    if settings.roster:
        users.add_users(store, settings.roster)
    store.wait_when_busy(0)  # the requests wait for the write lock asynchronously (AutoMarkApp)
    checkpoints.no_checkpoints_here(store.db)
    app.state.checkpointer = checkpoints.Checkpointer(settings.database)
    app.state.store = store
    app.state.settings = settings
    app.state.service = AutoMarkService(store, cases.build_local_tests(TASKS),
                                        rate_limit_seconds=settings.rate_limit_seconds)
    app.state.lane = HeavyLane(settings, app.state.service)
    return store


def create_app(settings: ServerSettings | None = None) -> AutoMarkApp:
    """The application; with no ``settings``, those in the environment (a uvicorn worker)."""
    settings = settings or ServerSettings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        store = open_state(app, settings)
        try:
            yield
        finally:
            app.state.lane.close()
            app.state.checkpointer.close()
            store.close()

    routes = [Route("/", admin.page, methods=["GET"]),
              Route("/admin/progress.csv", admin.progress_csv, methods=["GET"]),
              Route("/admin/stuck.csv", admin.stuck_csv, methods=["GET"])]
    return AutoMarkApp(Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        404: not_found, 405: not_found, Exception: internal_error}))

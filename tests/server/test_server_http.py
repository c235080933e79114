"""grader/server/http.py's speed changes: a response's head and body leave in one write, and
AutoMark's endpoints are answered in the parser's callback (grader/server/direct.py), byte for
byte as the ASGI way answers them.

The protocol is driven in-process with a transport that records its writes, so the test
counts what the kernel would be asked to send; the limits and refusals of the same module
are tested against a real server in test_server_limits.py and test_server_hostile.py.
"""

import asyncio
import logging

import pytest
import uvicorn
from uvicorn.server import ServerState

from grader.server import http
from grader.server.held_head import HeadHeldTransport
from grader.server.http import BoundedHttpToolsProtocol
from grader.server.settings import SETTINGS_ENV


class Recorder:
    """A transport that keeps what is written to it."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 1234)}.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def abort(self) -> None:
        self.closed = True


@pytest.mark.parametrize("steps, want_writes, want_closed", [
    (["head", "body"], [b"headbody"], False),
    (["head", "body", "more"], [b"headbody", b"more"], False),
    (["head", "flush"], [b"head"], False),                 # a HEAD response: no body follows
    (["head", "close"], [b"head"], True),                  # closed before any body
    (["head", "body", "flush", "close"], [b"headbody"], True),
    (["flush", "close"], [], True),
])
def test_the_head_waits_for_the_body_or_the_end(steps, want_writes, want_closed):
    recorder = Recorder()
    held = HeadHeldTransport(recorder)
    for step in steps:
        if step == "flush":
            held.flush()
        elif step == "close":
            held.close()
        else:
            held.write(step.encode())
    assert recorder.writes == want_writes and recorder.closed is want_closed
    assert held.is_closing() is want_closed                 # the rest is the transport's own


async def plain_app(scope, receive, send):
    body = b'{"success": true}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def protocol_for(app, transport) -> BoundedHttpToolsProtocol:
    """A protocol on ``transport``, in the running loop, as uvicorn makes one per connection."""
    config = uvicorn.Config(app, lifespan="off", access_log=False)
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Sun, 06 Dec 2026 17:00:00 GMT")]
    protocol = BoundedHttpToolsProtocol(config=config, server_state=state, app_state={},
                                        _loop=asyncio.get_running_loop())
    protocol.connection_made(transport)
    return protocol


def served(requests: bytes, app=plain_app, recorder=None) -> Recorder:
    """What the protocol writes for ``requests`` on one connection."""
    async def run() -> Recorder:
        protocol = protocol_for(app, recorder)
        protocol.data_received(requests)
        for _ in range(200):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return recorder
    recorder = recorder or Recorder()
    return asyncio.run(run())


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    monkeypatch.delenv(SETTINGS_ENV, raising=False)   # this worker runs with the defaults
    http.limits.cache_clear()
    yield
    http.limits.cache_clear()


@pytest.mark.parametrize("requests, want_bodies", [
    (b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1),
    (b"GET /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n\r\n", 2),  # pipelined
])
def test_each_response_leaves_in_one_write(requests, want_bodies):
    writes = served(requests).writes
    assert len(writes) == want_bodies
    for write in writes:
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == b'{"success": true}'


def test_a_head_request_gets_its_head_and_no_body():
    (write,) = served(b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n").writes
    head, _, body = write.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: 17" in head and body == b""


class EndpointApp:
    """Answers ``/fast/<n>`` at once when ``direct`` (as AutoMarkApp answers its endpoints) and
    anything else through ASGI, after a few turns of the loop; records which way each went."""

    def __init__(self, direct: bool = True):
        self.direct, self.ways = direct, []

    @staticmethod
    def answer(raw_path: bytes) -> tuple[int, bytes, bytes]:
        status = 300 if raw_path.endswith(b"/refused") else 200
        return status, b'{"path": "%s"}' % raw_path, b"application/json"

    def answer_now(self, method: bytes, raw_path: bytes):
        if not self.direct or method != b"GET" or not raw_path.startswith(b"/fast/"):
            return None
        self.ways.append(("direct", raw_path))
        return self.answer(raw_path)

    async def __call__(self, scope, receive, send):
        for _ in range(3):
            await asyncio.sleep(0)
        self.ways.append(("asgi", scope["raw_path"]))
        status, body, content_type = self.answer(scope["raw_path"])
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("requests", [
    b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /fast/refused HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /fast/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET /fast/1 HTTP/1.0\r\n\r\n",
    b"GET /fast/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /fast/2 HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /fast/%41%2Fb?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
])
def test_an_endpoint_answered_in_the_callback_is_what_the_asgi_way_sends(requests):
    fast, slow = EndpointApp(direct=True), EndpointApp(direct=False)
    direct_writes, asgi_writes = served(requests, fast), served(requests, slow)
    assert fast.ways[0][0] == "direct"       # one per read: a pipelined second goes the ASGI way
    assert [way for way, _ in slow.ways] == ["asgi"] * len(slow.ways)
    assert direct_writes.writes == asgi_writes.writes and direct_writes.writes
    assert direct_writes.closed == asgi_writes.closed


def test_a_request_after_one_still_in_flight_waits_its_turn():
    """The first request goes the ASGI way (a staff page, a busy database): the endpoint
    pipelined behind it is answered after it, not before."""
    app = EndpointApp()
    recorder = served(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\n", app)
    assert app.ways == [("asgi", b"/page"), ("asgi", b"/fast/1")]
    assert [w.partition(b"\r\n\r\n")[2] for w in recorder.writes] == [
        b'{"path": "/page"}', b'{"path": "/fast/1"}']


class Unread(Recorder):
    """A client that has not read what was sent to it yet."""

    def get_write_buffer_size(self) -> int:
        return 1 << 20


def test_nothing_is_answered_in_the_callback_while_earlier_bytes_are_unsent():
    app = EndpointApp()
    served(b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\n", app, Unread())
    assert app.ways == [("asgi", b"/fast/1")]


@pytest.mark.parametrize("method", [b"HEAD", b"POST", b"DELETE"])
def test_only_a_get_is_answered_in_the_callback(method):
    app = EndpointApp()
    served(method + b" /fast/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", app)
    assert app.ways == [("asgi", b"/fast/1")]


@pytest.fixture
def automark_app(tmp_path):
    from starlette.applications import Starlette

    from grader.client.roster import Student
    from grader.server.app import AutoMarkApp, open_state
    from grader.server.settings import ServerSettings
    starlette = Starlette()
    store = open_state(starlette, ServerSettings(data=str(tmp_path), roster=""))
    store.add_users([Student("ada", "Ada", "")], now=0)
    yield AutoMarkApp(starlette)
    starlette.state.lane.close()
    starlette.state.checkpointer.close()
    store.close()


@pytest.mark.parametrize("method, path", [
    (b"HEAD", b"/check_sum/x"), (b"POST", b"/get_progress/ada"), (b"GET", b"/"),
    (b"GET", b"/admin/progress.csv"), (b"GET", b"/nothing/here"),
    (b"GET", b"/check_answer/ada/conv_matrix/1/" + b"1" * (70 << 10)),   # the heavy lane's
])
def test_the_app_leaves_to_asgi_what_is_not_a_short_get_of_an_endpoint(automark_app, method,
                                                                       path):
    assert automark_app.answer_now(method, path) is None


def test_the_app_answers_its_endpoints_at_once(automark_app):
    status, body, content_type = automark_app.answer_now(b"GET", b"/get_progress/ada")
    assert (status, content_type) == (200, b"application/json") and b'"name": "Ada"' in body
    status, body, _ = automark_app.answer_now(b"GET", b"/get_progress/zed")
    assert (status, body) == (300, b'{"error": "user \'zed\' is not registered."}')


def test_a_busy_database_goes_the_asgi_way_and_a_bug_answers_json(automark_app, monkeypatch):
    import sqlite3

    from grader.server import app as app_module
    def busy(service, raw_path):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(app_module, "respond", busy)
    assert automark_app.answer_now(b"GET", b"/get_progress/ada") is None
    def bug(service, raw_path):
        raise ZeroDivisionError
    monkeypatch.setattr(app_module, "respond", bug)
    assert automark_app.answer_now(b"GET", b"/get_progress/ada") == (
        500, app_module.INTERNAL_ERROR, app_module.JSON)


# -- pipelining, as a red team used it -----------------------------------------------------------
def many(request: bytes, count: int) -> bytes:
    return request * count


def test_one_read_of_pipelined_endpoints_gets_one_answer_here_and_the_connection_is_bounded():
    """A red team pipelined thousands of GETs of an endpoint per read: each was answered in the
    parser's callback, all within one read, and the worker served no one else for seconds.
    One answer per read is given here; the rest queue, and past the bound the connection is
    refused (AutoMark's clients never pipeline)."""
    app = EndpointApp()
    recorder = served(many(b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\n", 5000), app)
    assert [way for way, _ in app.ways].count("direct") == 1
    assert len(app.ways) <= 2 + http.MAX_PIPELINED
    assert recorder.closed
    status = [int(w.split(None, 2)[1]) for w in recorder.writes]
    assert status[0] == 200 and 429 in status


def test_pipelined_pages_are_bounded_too():
    app = EndpointApp()
    recorder = served(many(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n", 5000), app)
    assert len(app.ways) <= 1 + http.MAX_PIPELINED and recorder.closed


def test_a_few_pipelined_requests_are_all_answered_in_order():
    app = EndpointApp()
    requests = b"".join(b"GET /fast/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i
                        for i in range(http.MAX_PIPELINED))
    recorder = served(requests, app)
    bodies = [w.partition(b"\r\n\r\n")[2] for w in recorder.writes]
    assert bodies == [b'{"path": "/fast/%d"}' % i for i in range(http.MAX_PIPELINED)]


@pytest.mark.parametrize("second", [b"GET /fast/2", b"GET /page", b"HEAD /page"])
def test_a_head_request_keeps_its_response_when_another_is_pipelined_behind_it(second):
    """The HEAD's head was held back for a body that never comes and flushed at "response
    complete" through whichever cycle was current: the pipelined one's. The client got one
    response for two requests, and every later answer was off by one."""
    app = EndpointApp()
    recorder = served(b"HEAD /page HTTP/1.1\r\nHost: t\r\n\r\n" + second
                      + b" HTTP/1.1\r\nHost: t\r\n\r\n", app)
    assert len(recorder.writes) == 2
    first, then = (w.partition(b"\r\n\r\n") for w in recorder.writes)
    assert first[0].startswith(b"HTTP/1.1 200") and first[2] == b""
    assert then[0].startswith(b"HTTP/1.1 200")
    assert then[2] == (b"" if second.startswith(b"HEAD") else b'{"path": "%s"}' % second[4:])


class Logged(logging.Handler):
    """The messages of the records it is given."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class ClosedRaises(Recorder):
    """A transport that refuses writes once closed, as uvloop's does ("the handler is
    closed")."""

    def write(self, data: bytes) -> None:
        if self.closed:
            raise RuntimeError("unable to perform operation on a TCPTransport: the handler is closed")
        super().write(data)


@pytest.mark.parametrize("pipelined", [0, 1, 3])
def test_a_client_that_leaves_mid_response_stops_every_cycle_quietly(pipelined):
    """uvicorn marks only its newest cycle disconnected: with a request pipelined behind the
    running one, the running one wrote to the closed transport, and uvloop's exception left a
    traceback in the log for every such client (a red team's)."""
    async def run():
        app, transport = EndpointApp(), ClosedRaises()
        protocol = protocol_for(app, transport)
        logged = Logged()   # after the config, which sets up uvicorn's loggers
        logging.getLogger("uvicorn.error").addHandler(logged)
        protocol.data_received(b"".join(b"GET /page/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i
                                        for i in range(1 + pipelined)))
        transport.closed = True                      # the client resets the connection
        protocol.connection_lost(ConnectionResetError())
        for _ in range(50):
            await asyncio.sleep(0)
        logging.getLogger("uvicorn.error").removeHandler(logged)
        return app, transport, logged.messages
    app, transport, messages = asyncio.run(run())
    assert messages == []
    assert transport.writes == [] and app.ways == [("asgi", b"/page/0")]


# -- long targets are never decoded on the loop ---------------------------------------------------
@pytest.fixture
def decodes(monkeypatch):
    """The lengths of every percent-decoding of a target in the HTTP layer (uvicorn's; the
    kit's own decoder is no longer imported there)."""
    import urllib.parse

    from uvicorn.protocols.http import httptools_impl
    assert not hasattr(http, "percent_decode")
    seen = []
    unquote = urllib.parse.unquote

    def counted_unquote(text, *args, **kwargs):
        seen.append(len(text))
        return unquote(text, *args, **kwargs)
    monkeypatch.setattr(httptools_impl.urllib.parse, "unquote", counted_unquote)
    return seen


def test_a_long_target_that_is_no_endpoint_is_refused_before_it_is_decoded(decodes):
    """A red team's 64 KiB paths of % escapes cost 15-22 ms of the loop each in uvicorn's
    unquote (3 MiB ones 40-79 ms in the kit's decoder) before the application refused them:
    four connections kept every check_sum waiting 220 ms."""
    app = EndpointApp()
    for size in (9 << 10, 60 << 10, 3 << 20):
        recorder = served(b"GET /x" + b"%41" * (size // 3) + b" HTTP/1.1\r\nHost: t\r\n\r\n", app)
        (write,) = recorder.writes
        assert write.startswith(b"HTTP/1.1 414") and recorder.closed
    assert app.ways == [] and max(decodes, default=0) <= 8 << 10


@pytest.mark.parametrize("method", [b"HEAD", b"GET"])
@pytest.mark.parametrize("size", [9 << 10, 60 << 10, 1 << 20])
def test_a_long_endpoint_target_reaches_the_app_undecoded(decodes, method, size):
    app = EndpointApp(direct=False)
    path = b"/check_answer/ada/conv_matrix/1/" + b"%20" * (size // 3)
    recorder = served(method + b" " + path + b"?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", app)
    assert app.ways == [("asgi", path)]
    assert recorder.writes[0].startswith(b"HTTP/1.1 200")
    assert max(decodes, default=0) <= 8 << 10


def test_a_finished_cycle_is_not_kept_by_its_connection():
    """The connection's list of its ASGI cycles (for telling them it is gone) kept a finished
    cycle, and its 3 MB target, for as long as the client kept the connection open and sent
    only requests answered in the parser's callback: a red team held 446 MB with 100
    connections."""
    async def run():
        app = EndpointApp()
        protocol = protocol_for(app, Recorder())
        protocol.data_received(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        after_page = list(protocol._asgi_cycles)
        protocol.data_received(b"GET /fast/1 HTTP/1.1\r\nHost: t\r\n\r\n")   # answered directly
        kept = list(protocol._asgi_cycles)
        protocol.connection_lost(None)
        return app, after_page, kept
    app, after_page, kept = asyncio.run(run())
    assert [way for way, _ in app.ways] == ["asgi", "direct"]
    assert after_page == [] and kept == []


def test_a_header_sent_slowly_is_refused_once_past_the_headers_bound():
    """httptools gathers a header value with ``bytes +=``: a value sent 1 KiB at a time cost
    the worker four times the CPU of the same bytes in the target (a red team's), and the
    headers' bound was only checked once the value was complete (up to the whole head's
    3 MiB). Now the head's bytes beyond the target are counted as they come."""
    from grader.server.limits import MAX_HEADER_BYTES
    recorder = Recorder()

    async def run():
        protocol = protocol_for(plain_app, recorder)
        protocol.data_received(b"GET /check_sum/x HTTP/1.1\r\nHost: t\r\nX-Pad: ")
        sent = 0
        while not recorder.closed and sent < 4 * MAX_HEADER_BYTES:
            protocol.data_received(b"a" * 1024)
            sent += 1024
        protocol.connection_lost(None)
        return sent
    sent = asyncio.run(run())
    assert recorder.closed and sent <= MAX_HEADER_BYTES + 2048
    assert recorder.writes[-1].startswith(b"HTTP/1.1 431")


class HalfClosable(Recorder):
    """A transport with uvloop's rule: no write after ``write_eof``."""

    eof = False

    def write_eof(self) -> None:
        self.eof = True

    def write(self, data: bytes) -> None:
        if self.eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        super().write(data)


@pytest.mark.parametrize("second", [
    b"GARBAGE\r\n\r\n",                                                       # the parser's 400
    b"GET /x HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n",             # refused upgrade
    b"GET /check_answer/" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",   # long, pipelined
])
def test_a_refusal_waits_for_the_answers_already_owed(second):
    """A request answered through ASGI, then one refused in the same read: the refusal went
    out first (read by the client as the first request's answer), and the first answer's
    write after the half-close raised, a traceback in the log (red team round 3)."""
    async def run():
        app, transport = EndpointApp(), HalfClosable()
        protocol = protocol_for(app, transport)
        logged = Logged()
        logging.getLogger("uvicorn.error").addHandler(logged)
        protocol.data_received(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\n" + second)
        for _ in range(50):
            await asyncio.sleep(0)
        logging.getLogger("uvicorn.error").removeHandler(logged)
        protocol.connection_lost(None)
        return transport, logged.messages
    transport, messages = asyncio.run(run())
    assert [w.split(b" ", 2)[1] for w in transport.writes][:1] == [b"200"]
    assert transport.writes[0].endswith(b'{"path": "/page"}')
    assert len(transport.writes) == 2 and transport.writes[1].split(b" ", 2)[1] in (b"400", b"429")
    assert transport.eof and not [m for m in messages if "Exception" in m or "failure" in m]


def test_a_refusal_that_waits_keeps_a_deadline():
    """A head timing out (408) behind an answer still owed: the refusal waits for that answer,
    and the 408 had used up the connection's only timer. With a client that never reads the
    answer, nothing would have closed the connection; the response's deadline is armed."""
    async def never_answers(scope, receive, send):
        await asyncio.Event().wait()

    async def run():
        protocol = protocol_for(never_answers, Recorder())
        protocol.data_received(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\nGET /pa")   # 2nd unfinished
        await asyncio.sleep(0)
        protocol._cancel_timer()
        protocol._head_timed_out()            # as the head's timer would, 5 s later
        armed = protocol._timer and protocol._timer._callback
        protocol.connection_lost(None)
        return protocol, armed
    protocol, armed = asyncio.run(run())
    assert protocol._refusal_waits is not None and protocol._refusal_waits[0] == 408
    assert armed == protocol._response_timed_out


def test_a_long_target_behind_an_owed_answer_is_refused_as_it_comes():
    """The 429 for a long target pipelined behind an owed answer came only once the whole
    target was read, and the deferred refusal kept it: two 3 MiB targets per connection for
    50 s (red team round 4). The target is refused past 8 KiB, and dropped."""
    async def never_answers(scope, receive, send):
        await asyncio.Event().wait()

    async def run():
        recorder = Recorder()
        protocol = protocol_for(never_answers, recorder)
        protocol.data_received(b"GET /page HTTP/1.1\r\nHost: t\r\n\r\nGET /check_answer/")
        await asyncio.sleep(0)
        fed = 0
        while protocol._lingering is None and fed < 1 << 20:
            protocol.data_received(b"a" * 4096)
            fed += 4096
        kept = len(protocol.url or b"")
        protocol.connection_lost(None)
        return protocol, fed, kept
    protocol, fed, kept = asyncio.run(run())
    assert protocol._refusal_waits[0] == 429 and fed <= 16 << 10 and kept == 0

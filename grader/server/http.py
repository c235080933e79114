"""uvicorn's httptools protocol, bounded for hostile clients, refusing in JSON.

AutoMark puts the student's answer in the path: request lines of tens of KB are normal and
256 KiB must work. uvicorn's httptools protocol has no limit on the request head and no
timeout while one arrives (its h11 protocol has a size bound but serves about half as many
requests per second here, and no head timeout), so this subclass adds them
(docs/server.md, "Hostile clients", has each one's story):

- Size: a target past :data:`~grader.server.limits.MAX_TARGET_BYTES` is refused (414) as
  soon as its bytes pass it; the head's other bytes are counted as they come (431 past
  :data:`~grader.server.limits.MAX_HEADER_BYTES`: httptools copies a header value whole on
  every read), every byte of an unfinished head too (:data:`~grader.server.limits.MAX_HEAD_BYTES`);
  a request announcing a body is refused (413), a ``CONNECT`` (405).
- Time: a head must arrive within ``request_seconds``, else 408; a response must be read
  within ten times that, else the connection is dropped; idle keep-alive connections close
  after ``request_seconds`` (uvicorn's ``timeout_keep_alive``).
- Count: at most ``max_connections`` a worker (one more: 503, closed at once); at most
  :data:`MAX_PIPELINED` requests queued behind the one being answered, and none past
  :data:`~grader.server.app.OTHER_REQUEST_BYTES` (429). AutoMark's clients never pipeline.
- No upgrade: an ``Upgrade`` header is refused (400) before uvicorn reads it (with wsproto
  installed it switched to WebSocket, outside every bound here; the server also runs with
  ``ws="none"``); a ``Connection`` header past :data:`MAX_CONNECTION_HEADER` (431); a
  ``#fragment`` is dropped on arrival.

A refusal is JSON ``{"error": ...}`` like the application's, sent after the answers still
owed to earlier requests, then the connection half-closes and drops what still comes
(:data:`LINGER_BYTES`, :data:`LINGER_SECONDS`) before it closes, so no reset loses it.
A target past ``OTHER_REQUEST_BYTES`` is refused (414) unless it names an endpoint, whose
raw path goes to the application undecoded (never percent-decoded on the event loop); the
target is gathered in a ``bytearray`` (uvicorn's ``bytes +=`` is quadratic).

For speed, AutoMark's endpoints are answered in the parser's callback, without an ASGI
cycle (:mod:`grader.server.direct`), and every ASGI response leaves in one send
(:class:`~grader.server.held_head.HeadHeldTransport`).
"""

from __future__ import annotations

import functools
import json

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from grader.server import direct
from grader.server.app import ENDPOINT_BYTES, OTHER_REQUEST_BYTES, TOO_LONG_TEXT
from grader.server.held_head import HeadHeldTransport
from grader.server.limits import MAX_HEAD_BYTES, MAX_HEADER_BYTES, MAX_HEADERS, MAX_TARGET_BYTES
from grader.server.settings import ServerSettings

PARSE_URL_LIMIT = 65535       # httptools.parse_url's largest URL
MAX_PIPELINED = 8             # requests a connection may queue behind the one being answered
MAX_CONNECTION_HEADER = 256   # AutoMark's clients send "keep-alive" or "close"
HEADERS_SHARE = MAX_HEAD_BYTES - MAX_TARGET_BYTES   # a head's bytes that are not its target
RESPONSE_TIME_FACTOR = 10     # a response may take this many times request_seconds to be read
LINGER_SECONDS, LINGER_BYTES = 2.0, 1 << 20   # what a refused client may still send, dropped
TOO_MANY_AHEAD = (f"more than {MAX_PIPELINED} requests, or a long one, were sent before the "
                  "previous answers; send each after the previous one's answer.")


@functools.cache
def limits() -> ServerSettings:
    """This worker's settings (from the environment), read once."""
    return ServerSettings.from_env()


class Refused(Exception):
    """Raised in a parser callback; the parser turns it into an ``HttpParserError``."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with bounded sizes, times and connections (pass as ``http=``)."""

    max_target = MAX_TARGET_BYTES
    max_head = MAX_HEAD_BYTES

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._refusal: tuple[int, str] | None = None
        self._head_bytes = 0
        self._head_started = False
        self._timer = self._drain_timer = None
        self._direct_left = 0   # answers still allowed in the parser's callback during this read
        self._lingering: int | None = None   # refused: bytes still to read and drop (refuse())
        self._refusal_waits: tuple[int, str] | None = None   # until the answers owed are sent
        self._asgi_cycles: list = []   # this connection's ASGI cycles, running or queued
        if len(self.connections) > limits().max_connections:
            self.refuse(503, "the server has too many open connections; try again in a moment.",
                        linger=False)
            return
        self._expect_head()

    def connection_lost(self, exc) -> None:
        self._cancel_timer()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        # uvicorn tells only the newest cycle (a queued one, when requests were pipelined):
        # the running one went on to write to the closed transport, which uvloop answers with
        # an exception and a traceback in the log (a red team's pipelining client that left).
        for cycle in self._asgi_cycles:
            if not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        super().connection_lost(exc)

    # -- deadlines -----------------------------------------------------------------------------
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expect_head(self) -> None:
        """A head must now arrive within ``request_seconds``."""
        self._cancel_timer()
        self._timer = self.loop.call_later(limits().request_seconds, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.refuse(408, f"the request did not arrive within {limits().request_seconds:g} s.")

    def _response_timed_out(self) -> None:
        self._timer = None
        self.transport.abort()  # the client does not read its response: drop it and its buffer

    def _watch_drain(self) -> None:
        """What was written must reach the client within the response time, whatever happens
        next: a red team pipelined a few hundred requests on a tiny receive buffer and never
        read; the kernel took all but a little of the answers, every response "completed"
        (cancelling its deadline), and uvicorn's keep-alive close waited for the rest to
        drain, for ever, holding a connection slot. Past the response time with bytes still
        unsent, the connection is dropped."""
        if self._drain_timer is None:
            self._drain_timer = self.loop.call_later(
                limits().request_seconds * RESPONSE_TIME_FACTOR, self._drain_checked)

    def _drain_checked(self) -> None:
        self._drain_timer = None
        if self.transport.get_write_buffer_size() > 0:
            self.transport.abort()

    def on_response_complete(self) -> None:
        self._watch_drain()
        self._cancel_timer()
        super().on_response_complete()  # uvicorn's keep-alive timeout now covers the idle time
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:  # a pipelined request
            self._timer = self.loop.call_later(
                limits().request_seconds * RESPONSE_TIME_FACTOR, self._response_timed_out)
        elif self._head_started:  # part of the next request is already here: it has a
            self._unset_keepalive_if_required()  # deadline, the connection is not idle
            self._expect_head()

    # -- sizes ---------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._lingering is not None:   # refused: what still comes is read and dropped
            self._lingering -= len(data)
            if self._lingering < 0:
                self.transport.abort()
            return
        if self._timer is None:  # the first bytes of a request after an idle keep-alive
            self._expect_head()
        self._head_bytes += len(data)
        self._direct_left = 1        # one answer in the parser's callback per read (direct.py)
        super().data_received(data)  # one read of the transport at most past the bound
        if self.transport.is_closing() or self._lingering is not None:   # refused already
            return
        if self._head_bytes > self.max_head or (   # the headers' share, as they come: httptools
                self._head_bytes - len(self.url or b"") > HEADERS_SHARE):  # gathers a value by +=
            self.refuse(431, f"the request head is longer than {self.max_head} bytes, or its "
                             f"headers than {MAX_HEADER_BYTES}.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._head_started = True
        if self._timer is None:  # pipelined after a request answered in the parser's callback:
            self._unset_keepalive_if_required()  # the connection is not idle, and this head
            self._expect_head()                  # has its deadline too

    def on_url(self, url: bytes) -> None:
        if not self.url:
            self.url = url
            size = len(url)
        else:
            if type(self.url) is bytes:
                self.url = bytearray(self.url)
            self.url += url
            size = len(self.url)
        if size > OTHER_REQUEST_BYTES and self._answers_owed():   # one long target a
            self._refusal = (429, TOO_MANY_AHEAD)                   # connection, as it comes
            raise Refused
        if size > self.max_target:
            self._refusal = (414, f"the request line is longer than {self.max_target} bytes "
                                  "(AutoMark's longest answer, percent-encoded).")
            raise Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES or len(self.headers) >= MAX_HEADERS:
            self._refusal = (431, f"the headers are larger than {MAX_HEADER_BYTES} bytes "
                                  f"or more than {MAX_HEADERS}.")
            raise Refused
        name = name.lower()
        if name == b"transfer-encoding" or (
                name == b"content-length" and value.strip() not in (b"0", b"")):
            self._refusal = (413, "AutoMark's requests are GETs without a body.")
            raise Refused
        if name == b"upgrade":   # before uvicorn reads it: see the module's docstring
            self._refusal = (400, "this server speaks HTTP/1.1 only: protocol upgrades "
                                  "(WebSocket, h2c) are refused.")
            raise Refused
        if name == b"connection" and len(value) > MAX_CONNECTION_HEADER:
            self._refusal = (431, f"the Connection header is longer than {MAX_CONNECTION_HEADER} "
                                  "bytes.")
            raise Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if len(self.pipeline) >= MAX_PIPELINED:
            self._refusal = (429, TOO_MANY_AHEAD)
            raise Refused
        if self.parser.get_method() == b"CONNECT":   # llhttp stops parsing after one
            self._refusal = (405, "AutoMark's requests are GETs.")
            raise Refused
        self._cancel_timer()
        self._head_bytes = 0
        self._head_started = False
        url = bytes(self.url).partition(b"#")[0]   # a fragment is the client's: never used,
        self.url = url                              # never decoded, never logged
        if len(url) <= PARSE_URL_LIMIT and self._answered_now(url):
            return
        self._timer = self.loop.call_later(limits().request_seconds * RESPONSE_TIME_FACTOR,
                                           self._response_timed_out)
        path, _, query = url.partition(b"?")
        if len(path) + len(query) <= OTHER_REQUEST_BYTES:
            self.url = url
            super().on_headers_complete()
            self._hold_head()
            return
        # A long target is never percent-decoded on the loop (a red team's 64 KiB paths of %
        # escapes cost 15-22 ms each in uvicorn's unquote): one that is no endpoint is refused
        # now, an endpoint's goes to the application as raw_path, which is all it reads.
        if not path.startswith(b"/"):
            self._refusal = (400, "a request target this long must be a path starting with /.")
            raise Refused
        name = path.lstrip(b"/").split(b"/", 1)[0]
        if name not in ENDPOINT_BYTES:
            self._refusal = (414, TOO_LONG_TEXT)
            raise Refused
        self.url = b"/"
        super().on_headers_complete()  # builds the scope and schedules the application
        # The application's task has not run yet (asyncio starts tasks on the next turn of
        # the loop), and the scope is shared: it reads the real path.
        self.scope["raw_path"] = self.root_path.encode("ascii") + path
        self.scope["path"] = self.root_path + "/" + name.decode("ascii")   # the endpoint only
        self.scope["query_string"] = query
        self._hold_head()

    def _answered_now(self, url: bytes) -> bool:
        """Answer the request here, in one write, when the application can
        (:mod:`grader.server.direct`); False leaves it to the ASGI cycle."""
        answerer = direct.answerer_of(self.app)
        if (answerer is None or not self._direct_left
                or (self.cycle is not None and not self.cycle.response_complete)
                or self.flow.write_paused or self.transport.get_write_buffer_size()
                or self.parser.should_upgrade()):
            return False
        answer = answerer.answer_now(self.parser.get_method(),
                                     self.root_path.encode("ascii") + httptools.parse_url(url).path)
        if answer is None:
            return False
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        self.transport.write(direct.response(*answer, self.server_state.default_headers,
                                             keep_alive))
        self.cycle = direct.ANSWERED
        self._direct_left -= 1
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
        return True

    def _hold_head(self) -> None:
        """The new request's cycle writes its head with its body (:class:`HeadHeldTransport`);
        whatever is still held when that cycle's response completes (a HEAD's head, which no
        body follows) is sent then, by that cycle: a red team's HEAD with a request pipelined
        behind it lost its response when the flush went through the current cycle instead."""
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:
            held = cycle.transport = HeadHeldTransport(self.transport)
            cycle.on_response = functools.partial(self._response_sent, held, cycle)
            self._asgi_cycles.append(cycle)

    def _response_sent(self, held: HeadHeldTransport, cycle) -> None:
        held.flush()
        self._asgi_cycles.remove(cycle)   # a finished cycle (and its target) is not kept
        self.on_response_complete()
        if self._refusal_waits is not None and not self._answers_owed():
            (status, text), self._refusal_waits = self._refusal_waits, None
            self._lingering = None
            self.refuse(status, text)

    def _answers_owed(self) -> bool:
        """Whether a request before now still waits for its answer (an ASGI cycle)."""
        return bool(self.pipeline) or any(not c.response_complete for c in self._asgi_cycles)

    # -- refusals ------------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        """Every refusal of the parser as JSON ``{"error": ...}``, then close."""
        self.refuse(*(self._refusal or (400, "invalid HTTP request.")))

    def refuse(self, status: int, text: str, *, linger: bool = True) -> None:
        """Answer ``{"error": text}`` with ``status`` and close the connection (after reading
        and dropping what the client still sends, unless not ``linger``); once, and after the
        answers still owed to the requests before it (their ASGI cycles)."""
        if self._lingering is not None:
            return
        self._lingering = LINGER_BYTES   # from now on what comes is dropped
        self.url = b""                   # and what came of this request's target too
        if linger and self._answers_owed():
            self._refusal_waits = (status, text)   # sent by _response_sent; the answers owed
            if self._timer is None:                # have their deadline (a 408 took it)
                self._timer = self.loop.call_later(
                    limits().request_seconds * RESPONSE_TIME_FACTOR, self._response_timed_out)
            return
        self._cancel_timer()
        body = json.dumps({"error": text}).encode("ascii")
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: application/json\r\n",
                        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n", b"\r\n", body])
        self.transport.write(b"".join(content))
        self._watch_drain()
        if not linger:
            self.transport.close()
            return
        # No reset: closing with bytes unread (a head past its bound) loses the refusal unread.
        try:
            self.transport.write_eof()
        except (AttributeError, NotImplementedError, RuntimeError):
            self.transport.close()
            return
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

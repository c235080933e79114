"""One GET to the AutoMark server, bounded in time and in size whatever the server does.

``urllib.request.urlopen(address, timeout=60)`` bounds each socket operation, not the
request: a server (or a proxy) that sends one byte every 50 s keeps it waiting for ever,
in the status line, the headers or the body; and ``response.read()`` reads a body of any
size into memory. Here every request has a deadline: when it passes, a timer shuts the
connection's socket down (``shutdown(2)`` on a duplicate of its descriptor, so the kernel
ends the read in progress, TLS handshake included), and the body is read at most
``limit + 1`` bytes, refused at once when its declared length is larger. Proxies from the
environment are used as ``urlopen`` uses them.

Only ``http://`` and ``https://`` are spoken, through the handlers here alone (``build_opener``
would add FTP, ``file:`` and ``data:`` handlers, whose sockets and files no deadline watches),
and a redirect to any other scheme is no reply: AutoMark never redirects, and the one
legitimate redirect, from ``http://`` to ``https://`` of the same server, still works.

Only the name lookup is outside the deadline: the system's resolver bounds it itself.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# The largest reply the client accepts. The server accepts answers of at most 1 MiB of
# JSON (grader/server/limits.py, MAX_ANSWER_CHARS) and an input holds arrays of the same
# sizes (the largest input the kit's server draws is about 10 KB); a verdict and a
# progress table are a few hundred bytes. 4 MiB leaves room for a course's larger tasks
# and bounds what a hostile server can make the student's kernel hold.
MAX_REPLY_BYTES = 4 << 20
MAX_REFUSAL_BYTES = 64 << 10   # AutoMark's refusals are one sentence of JSON
CHUNK_BYTES = 64 << 10
SCHEMES = ("http", "https")   # what the client speaks, and the only redirects it follows


class NoReply(Exception):
    """No complete reply: the connection failed, the deadline passed; ``str()`` says why."""


class TooLarge(NoReply):
    """The reply is longer than the limit (declared or read)."""

    def __init__(self, limit: int):
        super().__init__(f"a reply of more than {limit / (1 << 20):g} MiB")
        self.limit = limit


class Refusal(Exception):
    """The server answered an HTTP status outside 2xx (AutoMark refuses with 300).

    Attributes:
        status: the HTTP status.
        body: the reply's body, or ``b""`` when it was longer than
            :data:`MAX_REFUSAL_BYTES` or did not arrive whole in time.
    """

    def __init__(self, status: int, body: bytes):
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body


class _Deadline:
    """Shuts down every socket it watches when ``seconds`` have passed (until closed)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.passed = threading.Event()
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.ends - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down at the deadline (now, if it has passed)."""
        duplicate = sock.dup()   # stays valid when TLS detaches ``sock`` or urllib closes it
        with self._lock:
            self._watched.append(duplicate)
            expired = self.passed.is_set()
        if expired:
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            self.passed.set()
            for duplicate in self._watched:
                try:
                    duplicate.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass    # closed by the server already

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for duplicate in self._watched:
                duplicate.close()
            self._watched.clear()


def _watched(connection_class, deadline: _Deadline):
    """``connection_class`` whose sockets ``deadline`` watches from the moment they connect."""
    def connect(address, timeout=None, source_address=None, **kwargs):
        left = deadline.left()
        if isinstance(timeout, (int, float)):
            left = min(left, timeout)
        sock = socket.create_connection(address, max(left, 0.001), source_address, **kwargs)
        deadline.watch(sock)
        return sock

    def make(host, **kwargs):
        connection = connection_class(host, **kwargs)
        connection._create_connection = connect
        return connection
    return make


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_watched(http.client.HTTPConnection, self.deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(_watched(http.client.HTTPSConnection, self.deadline), req,
                            context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows a redirect to ``http://`` or ``https://`` only; any other is :class:`NoReply`."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri") or ""
        scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, location)).scheme
        if scheme.lower() not in SCHEMES:
            raise NoReply(f"a redirect to {scheme or 'an address without a scheme'}://..., "
                          "which AutoMark never sends")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    """An opener of the handlers here alone: proxies from the environment, HTTP and HTTPS
    watched by ``deadline``, redirects to those two only; no FTP, ``file:`` or ``data:``."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(),
                    _HTTPHandler(deadline), _HTTPSHandler(deadline),
                    urllib.request.HTTPDefaultErrorHandler(), _RedirectHandler(),
                    urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def _read(response, limit: int, deadline: _Deadline) -> bytes:
    """The body, at most ``limit`` bytes, read in chunks against the deadline.

    Raises:
        TooLarge: the declared or the received length is over ``limit``.
        NoReply: the deadline passed.
    """
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit)
    chunks, size = [], 0
    while size <= limit:
        if deadline.left() <= 0:
            raise NoReply(f"timed out (no complete answer within {deadline.seconds:g} s)")
        chunk = response.read(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise TooLarge(limit)
    return b"".join(chunks)


def _refusal(error: urllib.error.HTTPError, deadline: _Deadline) -> Refusal:
    try:
        return Refusal(error.code, _read(error, MAX_REFUSAL_BYTES, deadline))
    except (NoReply, OSError, http.client.HTTPException):
        return Refusal(error.code, b"")
    finally:
        error.close()


def get(address: str, *, seconds: float, limit: int | None = None) -> bytes:
    """GET ``address``; the body of a 2xx reply, within ``seconds`` and ``limit`` bytes.

    Args:
        address: an ``http://`` or ``https://`` URL, already percent-encoded.
        seconds: the deadline of the whole request: connection, head and body.
        limit: the longest body accepted (default :data:`MAX_REPLY_BYTES`).

    Raises:
        Refusal: the server answered a status outside 2xx.
        TooLarge: the body is longer than ``limit``.
        NoReply: no complete reply within ``seconds``, or none at all; ``str()`` says why.
    """
    limit = MAX_REPLY_BYTES if limit is None else limit
    scheme = urllib.parse.urlsplit(str(address)).scheme.lower()
    if scheme not in SCHEMES:
        raise NoReply(f"an address of scheme {scheme or '(none)'}:, not http: or https:")
    deadline = _Deadline(seconds)
    try:
        try:
            with _opener(deadline).open(address, timeout=seconds) as response:
                return _read(response, limit, deadline)
        except urllib.error.HTTPError as error:   # before OSError: it is one
            raise _refusal(error, deadline) from None
    # URLError is an OSError; a port of 30 digits is an OverflowError of getaddrinfo's
    except (OSError, http.client.HTTPException, ValueError, OverflowError) as error:
        if deadline.passed.is_set() or deadline.left() <= 0:
            raise NoReply(f"timed out (no complete answer within {seconds:g} s)") from None
        reason = getattr(error, "reason", None) or error
        raise NoReply(str(reason) or type(reason).__name__) from None
    finally:
        deadline.close()

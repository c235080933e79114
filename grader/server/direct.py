"""AutoMark's endpoints answered by the HTTP layer itself, without an ASGI cycle.

Almost every request a class sends is one of AutoMark's five endpoints (or the kit's
local-check record): a GET whose answer needs nothing of ASGI (no body, no streaming).
Through uvicorn's ASGI cycle each one also built a scope, a cycle object, an
``asyncio.Event``, a task, and two messages whose headers were checked again; answered
here, in the parser's callback, the response is one write. The application decides what
it answers (:meth:`grader.server.app.AutoMarkApp.answer_now`); everything it declines (a
staff page, an unknown path, a method other than GET, a request long enough for the
heavy lane, a database busy with another worker's write, which the ASGI way answers
again after an awaited pause) takes the ASGI way as before.

A request is answered here only when nothing is in flight on its connection (no earlier
request still being answered: pipelined requests keep their order), nothing is left
unsent (a client that does not read its responses meets uvicorn's flow control on the
ASGI way instead of a growing buffer), and no other request of the same read of the
connection was answered here (a red team's thousands of pipelined requests per read, all
answered in one callback, kept a worker from everyone else for seconds).
"""

from __future__ import annotations

import functools

from uvicorn.protocols.http.httptools_impl import STATUS_LINE


class _NoEvent:
    """The ``message_event`` uvicorn sets when a connection is lost; nothing waits on it."""

    @staticmethod
    def set() -> None:
        return None


class Answered:
    """Stands, as the protocol's ``cycle``, for a request answered here: complete, with no
    transport of its own (the attributes uvicorn's protocol reads of a finished cycle)."""

    response_complete = True
    transport = None
    keep_alive = False
    disconnected = False
    message_event = _NoEvent()


ANSWERED = Answered()


@functools.cache
def answerer_of(app):
    """The application that has ``answer_now``, found through uvicorn's middleware
    (``ProxyHeadersMiddleware`` keeps the application as ``.app``); None when there is none."""
    seen = 0
    while app is not None and seen < 8:
        if callable(getattr(app, "answer_now", None)):
            return app
        app, seen = getattr(app, "app", None), seen + 1
    return None


def response(status: int, body: bytes, content_type: bytes, default_headers,
             keep_alive: bool) -> bytes:
    """The whole response as uvicorn writes it: the status line, its default headers (the
    date), the content type and length, ``connection: close`` unless kept alive, the body."""
    parts = [STATUS_LINE[status]]
    for name, value in default_headers:
        parts += [name, b": ", value, b"\r\n"]
    parts += [b"content-type: ", content_type, b"\r\ncontent-length: ",
              str(len(body)).encode("ascii"), b"\r\n"]
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts += [b"\r\n", body]
    return b"".join(parts)

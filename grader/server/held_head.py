"""A response cycle's view of the transport: its head leaves with its body, in one send.

uvicorn writes a response's head and its body separately: two sends (two system calls, two
wake-ups of the client) per response. :class:`HeadHeldTransport` holds the head back until
the body's first bytes (or the end of the response, or the close), so a response leaves in
one send (``grader/server/http.py`` gives one to every ASGI cycle).
"""

from __future__ import annotations


class HeadHeldTransport:
    """The transport as one response cycle sees it: its first write (the response head) is
    held and sent with the next one (the body), or when the response completes or the
    connection is closed; everything else is the transport's own."""

    __slots__ = ("transport", "head", "started")

    def __init__(self, transport):
        self.transport = transport
        self.head: bytes | None = None
        self.started = False

    def write(self, data: bytes) -> None:
        if not self.started:
            self.started, self.head = True, data
        elif self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head + data)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str):
        return getattr(self.transport, name)

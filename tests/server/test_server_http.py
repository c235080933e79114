"""grader/server/http.py's speed change: a response's head and body leave in one write.

The protocol is driven in-process with a transport that records its writes, so the test
counts what the kernel would be asked to send; the limits and refusals of the same module
are tested against a real server in test_server_limits.py and test_server_hostile.py.
"""

import asyncio

import pytest
import uvicorn
from uvicorn.server import ServerState

from grader.server import http
from grader.server.http import BoundedHttpToolsProtocol, HeadHeldTransport
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


def served(requests: bytes) -> Recorder:
    """What the protocol writes for ``requests`` on one connection."""
    async def run() -> Recorder:
        config = uvicorn.Config(plain_app, lifespan="off", access_log=False)
        config.load()
        protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(),
                                            app_state={}, _loop=asyncio.get_running_loop())
        recorder = Recorder()
        protocol.connection_made(recorder)
        protocol.data_received(requests)
        for _ in range(20):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return recorder
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

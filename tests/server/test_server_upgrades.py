"""Protocol upgrades and what a client can make the server log (a red team's findings).

uvicorn switches a connection to WebSocket when wsproto happens to be installed; the kit's
bounds, timers and refusals then no longer applied to it: a bad handshake leaked a connection
slot for good (every later client got 503), its log line held the whole target (megabytes,
past the 8 KiB bound through a ``#fragment``), a reset after it left a traceback, and its
timer held 130 KB for 50 s. AutoMark's clients never upgrade: every upgrade is refused now,
and the lines a client can make the server log are bounded.
"""

import socket

import pytest
import requests
from server_fixtures import start_server  # noqa: F401 - a fixture

HANDSHAKE = (b"GET /check_sum/x HTTP/1.1\r\nHost: \xff\r\nConnection: Upgrade\r\n"
             b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n\r\n")


def exchange(port: int, data: bytes, *, reset: bool = False) -> bytes:
    """Send ``data`` on a new connection; everything the server sends until it closes (or the
    connection reset at once when ``reset``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        if reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            return b""
        chunks = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


@pytest.fixture
def small_server(start_server):  # noqa: F811
    return start_server("--rate-limit-seconds", "0", "--max-connections", "20")


def test_a_websocket_handshake_is_refused_and_gives_its_slot_back(small_server):
    answers = [exchange(small_server.port, HANDSHAKE) for _ in range(60)]
    assert all(answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer for answer in answers)
    assert b"upgrade" in answers[0].lower()
    response = requests.get(small_server.url + "check_sum/x", timeout=10)
    assert response.status_code == 200                        # was 503 for good after 20


@pytest.mark.parametrize("upgrade", [b"websocket", b"h2c", b"anything"])
def test_every_upgrade_is_refused_and_the_connection_closed(small_server, upgrade):
    """uvicorn logged a warning per such request and dropped the requests pipelined behind
    it without a word; now the refusal closes the connection, which the client sees."""
    request = (b"GET /check_sum/x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: " + upgrade + b"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    answer = exchange(small_server.port, request + b"GET /check_sum/y HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"HTTP/1.1 200" not in answer
    assert b"connection: close" in answer.lower() and b"upgrades" in answer


def test_a_long_connection_header_is_refused_before_anyone_reads_its_tokens(small_server):
    tokens = b"a," * 30_000 + b"upgrade"
    answer = exchange(small_server.port, b"GET /check_sum/x HTTP/1.1\r\nHost: t\r\nConnection: "
                      + tokens + b"\r\nUpgrade: websocket\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


def test_what_a_client_can_make_the_server_log_is_bounded(small_server):
    """A fragment of megabytes, resets behind handshakes, refusals by the hundred: the log
    grows by a few lines, not by what the clients sent."""
    before = len(small_server.log())
    fragment = b"/check_sum/x#" + b"A" * 1_000_000
    for _ in range(5):
        exchange(small_server.port, b"GET " + fragment + b" HTTP/1.1\r\nHost: t\r\n"
                 b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        exchange(small_server.port, b"GET " + fragment + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    long_target = b"/check_sum/" + b"A" * 70_000
    for _ in range(20):
        exchange(small_server.port, b"GET " + long_target + b" HTTP/1.1\r\nHost: t\r\n\r\n"
                 + HANDSHAKE, reset=True)
    for _ in range(200):
        exchange(small_server.port, b"GARBAGE\r\n\r\n")
    assert requests.get(small_server.url + "check_sum/x", timeout=10).status_code == 200
    grown = small_server.log()[before:]
    assert "Traceback" not in grown
    assert len(grown) < 4000 and grown.count("\n") < 20, grown[-2000:]


def test_connect_is_refused_and_closed_not_left_idle(small_server):
    """llhttp stops parsing after a CONNECT: the request pipelined behind it got no answer and
    the connection idled until the keep-alive close (red team round 3)."""
    import time
    started = time.monotonic()
    answer = exchange(small_server.port, b"CONNECT example.org:443 HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"GET /check_sum/x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405") and b"AutoMark's requests are GETs" in answer
    assert time.monotonic() - started < 4      # closed at once, not after 5 s idle

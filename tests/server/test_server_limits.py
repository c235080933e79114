"""Hostile clients cannot hold the server: requests are bounded in size (what the protocol
needs), in time (slow senders and readers are dropped) and in number (connections per worker).

Every wait here is bounded by a socket timeout far above the server's own limit, so a
server without the limit fails the test instead of hanging it.
"""

import json
import socket
import time
from urllib.parse import quote

import pytest
import requests
from server_fixtures import Server, start_server, write_roster  # noqa: F401

from grader.server.limits import MAX_ANSWER_CHARS, MAX_HEAD_BYTES, MAX_PARAM_BYTES, MAX_TARGET_BYTES

REQUEST_SECONDS = 1.0
MAX_CONNECTIONS = 8
WAIT = 15.0  # far above REQUEST_SECONDS: only a server without limits waits this long


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A server with a 1 s request deadline and 8 connections at most."""
    folder = tmp_path_factory.mktemp("strict-server")
    server = Server(folder, ["--roster", str(write_roster(folder / "students.csv")),
                             "--rate-limit-seconds", "0", "--request-seconds", str(REQUEST_SECONDS),
                             "--max-connections", str(MAX_CONNECTIONS)]).start()
    yield server
    server.stop()


def connect(server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    return connection


def read_all(connection: socket.socket) -> bytes:
    """Everything until the server closes (a socket timeout fails the test)."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def refusal(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def send_quietly(connection: socket.socket, data: bytes) -> None:
    """Send what the server takes; it may refuse and close before reading it all."""
    try:
        connection.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


# -- size --------------------------------------------------------------------------------------
@pytest.mark.parametrize("start, size, want", [
    (b"GET /check_sum/", MAX_TARGET_BYTES, (414, "the request line is longer than")),
    (b"GET /check_answer/ada/conv_matrix/1/", MAX_TARGET_BYTES,
     (414, "the request line is longer than")),
    (b"GET /check_sum/x HTTP/1.1\r\nX-", MAX_HEAD_BYTES, (431, "the request head is longer than")),
])
def test_a_head_past_the_bound_is_refused_before_it_ends(strict, start, size, want):
    """The head is never finished: the refusal comes as soon as the bound is passed."""
    with connect(strict) as connection:
        send_quietly(connection, start + b"%20" * ((size - len(start)) // 3 + 10))
        status, text = refusal(read_all(connection))
    assert (status, text[:len(want[1])]) == want


def test_the_bounds_follow_from_the_longest_answer():
    assert MAX_TARGET_BYTES >= 3 * MAX_ANSWER_CHARS + len("/check_answer///") + 3 * MAX_PARAM_BYTES
    assert MAX_TARGET_BYTES < 4 * MAX_ANSWER_CHARS


def test_the_longest_accepted_answer_is_judged(strict):
    data = requests.get(f"{strict.url}get_test_input/ada/conv_matrix", timeout=WAIT).json()
    answer = "[" + "0," * ((MAX_ANSWER_CHARS - 3) // 2) + "0]"
    assert len(answer) <= MAX_ANSWER_CHARS
    encoded = quote(answer, safe="").replace("0", "%30")  # every character as %XX
    path = f"/check_answer/ada/conv_matrix/{data['ipd']}/{encoded}"
    assert len(path) > 3 * MAX_ANSWER_CHARS - 10
    response = requests.get(strict.url.rstrip("/") + path, timeout=WAIT)
    assert (response.status_code, response.json()) == (200, {"success": False})


@pytest.mark.parametrize("path, want", [
    ("get_progress/" + "z" * (MAX_PARAM_BYTES + 1),
     f"the username is {MAX_PARAM_BYTES + 1} bytes long percent-encoded; at most"),
    ("check_sum/" + "%20" * (MAX_PARAM_BYTES // 3 + 1),
     f"the md5 is {MAX_PARAM_BYTES + 3} bytes long percent-encoded"),
    ("check_answer/ada/" + "f" * (MAX_PARAM_BYTES + 1) + "/1/[1]", "the function is"),
])
def test_a_parameter_past_its_bound_is_refused_before_it_is_decoded(strict, path, want):
    response = requests.get(strict.url + path, timeout=WAIT)
    assert response.status_code == 300 and response.json()["error"].startswith(want)


@pytest.mark.parametrize("head", [
    b"GET /check_sum/x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
    b"GET /check_sum/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /check_answer/ada/conv_matrix/1/x HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
])
def test_a_request_with_a_body_is_refused(strict, head):
    with connect(strict) as connection:
        connection.sendall(head)
        assert refusal(read_all(connection)) == (413, "AutoMark's requests are GETs without a body.")


# -- time --------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", [
    b"",                                                  # connects and says nothing
    b"GET /check_sum/" + b"0" * 100_000,                  # half a request line
    b"GET /check_sum/x HTTP/1.1\r\nHost: x\r\n",          # headers never ended
    b"GET /check_sum/x HTTP/1.1\r\nHost: x\r\n\r\nGET /check_sum/y",  # a pipelined half
])
def test_a_request_not_sent_in_time_is_dropped(strict, start):
    with connect(strict) as connection:
        connection.sendall(start)
        response = read_all(connection)
    got = response.rsplit(b"HTTP/1.1 ", 1)[-1]
    assert refusal(b"HTTP/1.1 " + got) == (408, f"the request did not arrive within "
                                                f"{REQUEST_SECONDS:g} s.")


def test_a_trickle_does_not_extend_the_deadline(strict):
    """One byte every 0.2 s: the deadline counts from the first byte, not the last."""
    with connect(strict) as connection:
        start = time.monotonic()
        try:
            for byte in b"GET /check_sum/" + b"0" * 200:
                connection.sendall(bytes([byte]))
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert refusal(read_all(connection))[0] == 408
    assert time.monotonic() - start < WAIT


def test_a_client_that_never_reads_is_dropped(strict):
    """Many pipelined requests whose answers are never read: the connection is dropped."""
    with connect(strict) as connection:
        request = b"GET /load_tests/ada HTTP/1.1\r\nHost: x\r\n\r\n"
        deadline = time.monotonic() + WAIT
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while time.monotonic() < deadline:
                connection.sendall(request * 20)
                time.sleep(0.05)


# -- count -------------------------------------------------------------------------------------
def test_connections_past_the_cap_are_refused_at_once_and_the_server_recovers(strict):
    held = [connect(strict) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)
        with connect(strict) as extra:
            status, text = refusal(read_all(extra))
        assert status == 503 and text.startswith("the server has too many open connections")
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.2)
    assert requests.get(strict.url + "check_sum/x", timeout=WAIT).json() == {"success": False}


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))


def test_memory_is_bounded_per_connection(start_server):
    """Every allowed connection sending 15 MB heads (as the red team did): the server's peak
    memory grows by at most about the longest head per connection."""
    server = start_server("--max-connections", str(MAX_CONNECTIONS))
    before = peak_rss_bytes(server.process.pid)
    held = [connect(server) for _ in range(MAX_CONNECTIONS - 1)]
    try:
        for connection in held:
            send_quietly(connection, b"GET /check_sum/" + b"0" * (15 << 20))
        assert all(refusal(read_all(connection))[0] in (408, 414, 431) for connection in held)
    finally:
        for connection in held:
            connection.close()
    grown = peak_rss_bytes(server.process.pid) - before
    assert grown < 2 * len(held) * MAX_HEAD_BYTES + (16 << 20), f"grew {grown >> 20} MiB"


# -- answers written but never read -------------------------------------------------------------
class _Transport:
    def __init__(self, unsent):
        self.unsent, self.aborted = unsent, False

    def get_write_buffer_size(self):
        return self.unsent

    def abort(self):
        self.aborted = True


@pytest.mark.parametrize("unsent, dropped", [(1, True), (64 << 10, True), (0, False)])
def test_answers_still_unsent_at_the_response_deadline_drop_the_connection(monkeypatch, unsent,
                                                                            dropped):
    """A red team's hold: a tiny receive buffer and a few hundred pipelined requests never
    read. The kernel took all but a little of the answers, every response "completed" and
    cancelled its deadline, and the keep-alive close waited for the rest to drain for ever,
    holding a connection slot (8 of them kept every other client out with 503s). Whatever
    closes or completes, bytes still unsent at the response deadline drop the connection."""
    import asyncio
    import types

    from grader.server import http
    monkeypatch.setattr(http, "limits", lambda: types.SimpleNamespace(request_seconds=0.01))
    loop = asyncio.new_event_loop()
    try:
        protocol = types.SimpleNamespace(loop=loop, transport=_Transport(unsent), _drain_timer=None)
        protocol._drain_checked = lambda: http.BoundedHttpToolsProtocol._drain_checked(protocol)
        http.BoundedHttpToolsProtocol._watch_drain(protocol)
        http.BoundedHttpToolsProtocol._watch_drain(protocol)   # watched once, not twice
        loop.run_until_complete(asyncio.sleep(0.01 * http.RESPONSE_TIME_FACTOR + 0.1))
    finally:
        loop.close()
    assert protocol.transport.aborted is dropped and protocol._drain_timer is None


def test_long_requests_are_answered_off_the_event_loop(tmp_path, monkeypatch):
    """The longest accepted answer takes ~70 ms to decode and judge: on the event loop it
    stalled every other client of the worker (check_sum's p99 3 ms -> ~200 ms under such a
    load, make bench's server section). Long requests go to a thread of their own, with a
    database connection of its own; short ones stay on the loop."""
    import asyncio
    import threading

    from starlette.applications import Starlette

    from grader.server import app as server_app
    from grader.server.settings import ServerSettings
    starlette = Starlette()
    store = server_app.open_state(starlette, ServerSettings(data=str(tmp_path), roster=""))
    seen, real = [], server_app.respond

    def recording(service, raw_path):
        seen.append((threading.current_thread().name, service is starlette.state.service))
        return real(service, raw_path)
    monkeypatch.setattr(server_app, "respond", recording)
    application = server_app.AutoMarkApp(starlette)

    async def both():
        short = await application.answer(b"/check_sum/x")
        long = await application.answer(b"/check_sum/" + b"0" * (server_app.HEAVY_PATH_BYTES + 1))
        return short, long
    try:
        short, long = asyncio.run(both())
    finally:
        starlette.state.lane.close()
        store.close()
    assert short[0] == 200 and long[0] in (200, server_app.ERROR_STATUS)
    assert seen[0] == ("MainThread", True)
    assert seen[1][0].startswith("heavy") and seen[1][1] is False   # its own connection


# -- pipelining ----------------------------------------------------------------------------------
def flood_pipelined(server, request: bytes, seconds: float, rcvbuf: int | None = None) -> int:
    """Send ``request`` pipelined in 256 KiB writes for ``seconds``, connecting again whenever
    the server closes; the connections it took."""
    chunk = request * ((256 << 10) // len(request))
    deadline, connections = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        connection = socket.socket()
        if rcvbuf:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        connection.settimeout(WAIT)
        connection.connect(("127.0.0.1", server.port))
        connections += 1
        try:
            while time.monotonic() < deadline:
                connection.sendall(chunk)
                if rcvbuf is None:
                    connection.recv(1 << 20)
        except OSError:
            pass
        finally:
            connection.close()
    return connections


def test_pipelined_requests_neither_hold_a_worker_nor_fill_its_memory(start_server):
    """A red team's two attacks: thousands of pipelined GETs of an endpoint per read, each
    read, answered in the parser's callback one after another while the worker served no one
    else (8 s for a student's four requests); and megabytes of tiny pipelined requests never
    read, each queued (2.4 GB). A connection now queues a few requests at most and is refused
    past that."""
    import threading
    server = start_server()
    before = peak_rss_bytes(server.process.pid)
    floods = [threading.Thread(target=flood_pipelined, args=(server, request, 4.0, rcvbuf))
              for request, rcvbuf in [(b"GET /check_sum/0 HTTP/1.1\r\n\r\n", None),
                                      (b"GET /x HTTP/1.1\r\n\r\n", 1024)]]
    for flood in floods:
        flood.start()
    time.sleep(1.0)
    slowest = 0.0
    for _ in range(5):
        start = time.monotonic()
        assert requests.get(server.url + "check_sum/x", timeout=WAIT).json() == {"success": False}
        slowest = max(slowest, time.monotonic() - start)
        time.sleep(0.2)
    for flood in floods:
        flood.join()
    grown = peak_rss_bytes(server.process.pid) - before
    assert slowest < 1.0, f"a request took {slowest:.2f} s during the flood"
    assert grown < 64 << 20, f"grew {grown >> 20} MiB"

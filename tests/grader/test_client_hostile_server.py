"""The kit's client against a server that is broken or hostile: a page that is not JSON (a
Wi-Fi login page), JSON of another shape, a reply dripped one byte at a time, a reply of
hundreds of megabytes. Each ends as "the hidden check waits for the server" within a bound
of time and memory, with the local result shown; never a traceback, never a hang."""

import functools
import http.server
import json
import socket
import threading
import time
import tracemalloc

import pytest

from grader.client import automark_api, bounded_get, local_record, messages
from grader.core.checking import check_function
from grader.core.tasks import get_task
from grader.server import cases

TASK = get_task("conv_matrix")
LOCAL_PASSED = ["Running local tests...", "conv_matrix successfully passed local tests",
                "Running remote test..."]
WAITS = "The hidden check waits for the server: "
NOT_AUTOMARKS = "answered something that is not AutoMark's"
DEADLINE_SECONDS = 1.0


def refused_300() -> str:
    """What a refusal without words that can be shown prints after the local report."""
    return messages.server_refused(
        "", plain=f"the AutoMark server at {automark_api.server_url()} answered HTTP 300")


def good_input() -> dict:
    return {"username": "ada", "ipd": 7,
            "input": cases.encode_input(TASK, cases.draw_case(TASK, 1))}


def with_input(**changes) -> bytes:
    """A get_test_input reply with ``changes`` (a value None deletes the key)."""
    reply = good_input()
    for key, value in changes.items():
        if value is None:
            reply.pop(key)
        else:
            reply[key] = value
    return json.dumps(reply).encode()


def with_argument(name, argument) -> bytes:
    reply = good_input()
    if argument is None:
        reply["input"].pop(name)
    else:
        reply["input"][name] = argument
    return json.dumps(reply).encode()


# --- the fake server -------------------------------------------------------------------------

def answer(handler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def drip_body(handler, pause=0.2, count=60) -> None:
    """Headers at once, then one byte of the body every ``pause`` s (``count`` bytes, then close:
    a client without a deadline waits ``pause * count`` s). The length declared is short, so
    only the time can stop the client."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(count + 100))
    handler.end_headers()
    drip(handler, b" " * count, pause)


def drip_head(handler, pause=0.2, count=60) -> None:
    """The status line, then one byte of a header every ``pause`` s: the client never gets
    to the body."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
    drip(handler, b"X-Slow: " + b"y" * count, pause)


def drip(handler, data: bytes, pause: float) -> None:
    for byte in data:
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            return
        if handler.server.stopped.wait(pause):
            return


def flood(handler, *, declared: bool, status=200, total=64 << 20) -> None:
    """``total`` bytes of spaces (valid JSON whitespace), with or without a Content-Length."""
    handler.send_response(status)
    if declared:
        handler.send_header("Content-Length", str(total))
    handler.end_headers()
    chunk = b" " * (1 << 20)
    try:
        for _ in range(total // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers each endpoint as ``server.replies`` says: ``(status, body)`` or a callable."""

    def do_GET(self):
        endpoint = self.path.strip("/").split("/")[0]
        reply = self.server.replies.get(endpoint, (404, b'{"error": "no such endpoint"}'))
        if callable(reply):
            reply(self)
        else:
            answer(self, *reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(monkeypatch):
    """A server on 127.0.0.1 whose replies each test sets (``hostile.replies[endpoint]``);
    the kit's client points at it, with a deadline of :data:`DEADLINE_SECONDS` per request."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.replies = {"get_test_input": (200, with_input()), "check_answer": (200, b'{"success": true}')}
    server.stopped = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(automark_api.Config, "host", f"http://127.0.0.1:{server.server_address[1]}/")
    monkeypatch.setattr(automark_api, "SERVER_SECONDS", DEADLINE_SECONDS)
    monkeypatch.setattr(automark_api, "_window_closes", {})
    monkeypatch.setattr(local_record, "RECORD_SECONDS", 0.5)
    yield server
    server.stopped.set()
    server.shutdown()
    server.server_close()


def reference(name):
    function = functools.partial(get_task(name).reference)
    function.__name__ = name
    return function


def checked(capsys) -> tuple[list[str], float]:
    """What ``test_student_function`` prints for a correct conv_matrix, and how long it took."""
    started = time.monotonic()
    automark_api.test_student_function("ada", reference("conv_matrix"), ["matrix", "kernel"])
    return capsys.readouterr().out.splitlines(), time.monotonic() - started


def assert_waits(lines, words, isolated_progress):
    assert lines[:3] == LOCAL_PASSED and len(lines) == 4, lines
    assert lines[3].startswith(WAITS) and words in lines[3], lines[3]
    assert "Traceback" not in "\n".join(lines)
    assert not isolated_progress.exists()      # the server keeps progress: nothing offline
    assert automark_api._window_closes == {}


# --- a well-formed server still works (the fake is not what fails below) ----------------------

@pytest.mark.parametrize("verdict, want", [(b'{"success": true}', messages.REMOTE_PASSED),
                                           (b'{"success": false}', messages.REMOTE_FAILED)])
def test_a_well_formed_fake_server_is_believed(hostile, capsys, verdict, want):
    hostile.replies["check_answer"] = (200, verdict)
    lines, _ = checked(capsys)
    assert lines[:4] == LOCAL_PASSED + [want]


# --- replies that are not AutoMark's -----------------------------------------------------------

GOOD = good_input()["input"]
NOT_INPUTS = [
    ("a login page", b"<html><body>Log in to the Wi-Fi</body></html>"),
    ("a JSON list", b"[1, 2, 3]"),
    ("JSON null", b"null"),
    ("bytes that are not UTF-8", b'{"ipd": 7, "input": "\xff\xfe"}'),
    ("JSON nested past Python's recursion limit", b"[" * 200_000 + b"]" * 200_000),
    ("no ipd", with_input(ipd=None)),
    ("an ipd that is a boolean", with_input(ipd=True)),
    ("an ipd that is a float", with_input(ipd=7.5)),
    ("an ipd that is a word", with_input(ipd="seven")),
    ("no input", with_input(input=None)),
    ("an input that is a list", with_input(input=[1, 2])),
    ("an argument missing", with_argument("kernel", None)),
    ("an argument too many", with_argument("bias", GOOD["kernel"])),
    ("an argument without its type", with_argument("kernel", {"data": GOOD["kernel"]["data"]})),
    ("an argument without its data", with_argument("kernel", {"type": "ndarray"})),
    ("an argument that is a number", with_argument("kernel", 3)),
    ("a type that is not a string", with_argument("kernel", {"type": [1], "data": 1})),
    ("a type AutoMark does not send", with_argument("kernel", {"type": "pickle", "data": "x"})),
    ("a ragged array", with_argument("kernel", {"type": "ndarray", "data": [[1, 2], [3]]})),
    ("an array of strings", with_argument("kernel", {"type": "ndarray", "data": [["a", "b"]]})),
    ("an int that is a list", with_argument("kernel", {"type": "int", "data": [1]})),
]


@pytest.mark.parametrize("body", [body for _, body in NOT_INPUTS], ids=[name for name, _ in NOT_INPUTS])
def test_an_input_that_is_not_automarks_waits_for_the_server(hostile, capsys, isolated_progress, body):
    hostile.replies["get_test_input"] = (200, body)
    lines, _ = checked(capsys)
    assert_waits(lines, NOT_AUTOMARKS, isolated_progress)


NOT_VERDICTS = [("a login page", b"<html>proxy login</html>"), ("a JSON list", b"[true]"),
                ("no success", b"{}"), ("a success that is a word", b'{"success": "yes"}'),
                ("a success that is a number", b'{"success": 1}')]


@pytest.mark.parametrize("body", [body for _, body in NOT_VERDICTS], ids=[name for name, _ in NOT_VERDICTS])
def test_a_verdict_that_is_not_automarks_waits_for_the_server(hostile, capsys, isolated_progress, body):
    hostile.replies["check_answer"] = (200, body)
    lines, _ = checked(capsys)
    assert_waits(lines, NOT_AUTOMARKS, isolated_progress)


NOT_REFUSALS = [("words that are a list", b'{"error": ["not", "a", "string"]}'),
                ("words that are a number", b'{"error": 30}'), ("a JSON list", b"[]"),
                ("a page", b"<html>Moved</html>"), ("two lines", b'{"error": "one\\ntwo"}'),
                ("a terminal escape", b'{"error": "\\u001b[2Jcleared"}'),
                ("a page of words", json.dumps({"error": "word " * 1000}).encode())]


@pytest.mark.parametrize("body", [body for _, body in NOT_REFUSALS], ids=[name for name, _ in NOT_REFUSALS])
def test_a_refusal_whose_words_are_not_one_line_of_text_is_one_line(hostile, capsys, body):
    hostile.replies["get_test_input"] = (300, body)
    lines, _ = checked(capsys)
    assert lines == LOCAL_PASSED + [refused_300()]


NOT_PROGRESS = [("a login page", b"<html>login</html>"), ("a JSON list", b"[]"),
                ("no progress", b'{"name": "Ada", "mail": "a@b.c"}'),
                ("progress that is a list", b'{"name": "Ada", "mail": "a@b.c", "progress": []}'),
                ("a state that is a number",
                 b'{"name": "Ada", "mail": "a@b.c", "progress": {"conv_matrix": 1}}'),
                ("a name that is a list", b'{"name": [], "mail": "a@b.c", "progress": {}}'),
                ("a name of two lines", b'{"name": "Ada\\nLovelace", "mail": "a@b.c", "progress": {}}'),
                ("a state of a page", json.dumps({"name": "Ada", "mail": "a@b.c",
                                                  "progress": {"conv_matrix": "x" * 10_000}}).encode())]


@pytest.mark.parametrize("body", [body for _, body in NOT_PROGRESS], ids=[name for name, _ in NOT_PROGRESS])
def test_a_progress_table_that_is_not_automarks_is_one_line(hostile, capsys, body):
    hostile.replies["get_progress"] = (200, body)
    automark_api.get_progress("ada")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and NOT_AUTOMARKS in lines[0], lines


# --- time: a reply dripped one byte at a time ---------------------------------------------------

@pytest.mark.parametrize("endpoint", ["get_test_input", "check_answer"])
@pytest.mark.parametrize("dripping", [drip_body, drip_head], ids=["body", "head"])
def test_a_dripping_server_is_given_up_at_the_deadline(hostile, capsys, isolated_progress, endpoint,
                                                       dripping):
    hostile.replies[endpoint] = dripping
    lines, seconds = checked(capsys)
    assert seconds < 3 * DEADLINE_SECONDS + 3     # a request each, the record, the local cases
    assert_waits(lines, "timed out", isolated_progress)


def test_get_progress_from_a_dripping_server_is_given_up_at_the_deadline(hostile, capsys):
    hostile.replies["get_progress"] = drip_body
    started = time.monotonic()
    automark_api.get_progress("ada")
    assert time.monotonic() - started < DEADLINE_SECONDS + 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "timed out" in lines[0]


@pytest.mark.parametrize("dripping", [drip_body, drip_head], ids=["body", "head"])
def test_the_record_thread_ends_within_its_bound(hostile, dripping):
    hostile.replies[local_record.ENDPOINT] = dripping
    local = check_function(TASK, lambda matrix, kernel: matrix, "ada", hidden=False).local
    started = time.monotonic()
    assert local_record.record_local_check(automark_api.server_url(), "ada", local, seconds=0.5) is False
    for _ in range(20):
        if not any(thread.name == "automark-record" for thread in threading.enumerate()):
            break
        time.sleep(0.1)
    assert not any(thread.name == "automark-record" for thread in threading.enumerate())
    assert time.monotonic() - started < 2.5


def test_a_dripped_tls_handshake_is_given_up_at_the_deadline():
    """The deadline bounds a TLS connection too, before its handshake ends."""
    stopped = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def serve():
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)                      # the client's hello
                for byte in b"\x16\x03\x03\x00\x40" + b"x" * 64:  # a record, one byte at a time
                    if stopped.wait(0.2):
                        return
                    connection.sendall(bytes([byte]))
        threading.Thread(target=serve, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(bounded_get.NoReply, match="timed out"):
            bounded_get.get(f"https://127.0.0.1:{listener.getsockname()[1]}/get_test_input/ada/x",
                            seconds=DEADLINE_SECONDS)
        stopped.set()
    assert time.monotonic() - started < DEADLINE_SECONDS + 1


# --- memory: a reply of many megabytes -----------------------------------------------------------

@pytest.mark.parametrize("status", [200, 300])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_a_huge_reply_is_not_read_whole(hostile, capsys, isolated_progress, monkeypatch, declared,
                                        status):
    monkeypatch.setattr(bounded_get, "MAX_REPLY_BYTES", 1 << 20)
    monkeypatch.setattr(bounded_get, "MAX_REFUSAL_BYTES", 1 << 20)
    hostile.replies["get_test_input"] = functools.partial(flood, declared=declared, status=status)
    tracemalloc.start()
    try:
        lines, _ = checked(capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20              # the 64 MiB sent were never held
    if status == 200:
        assert_waits(lines, "more than 1 MiB", isolated_progress)
    else:                               # a refusal's words are read up to their own bound
        assert lines == LOCAL_PASSED + [refused_300()]


def test_the_bound_leaves_room_for_every_tasks_input():
    """The reply bound is a protocol bound, not a guess: the largest input the kit's server
    draws fits in it many times over (and so does the largest answer the server accepts)."""
    from grader.core.tasks import TASKS
    largest = max(len(with_input(input=cases.encode_input(task, cases.draw_case(task, seed))))
                  for task in TASKS for seed in range(3))
    assert 64 * largest < bounded_get.MAX_REPLY_BYTES
    from grader.server.limits import MAX_ANSWER_CHARS
    assert MAX_ANSWER_CHARS <= bounded_get.MAX_REPLY_BYTES

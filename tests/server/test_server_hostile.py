"""Hostile and broken requests: a clear JSON error, never a 500 or an HTML page, nothing written;
long request lines (256 KiB) work."""

import json
import socket
import sqlite3
from urllib.parse import quote

import numpy as np
import pytest
import requests
from server_fixtures import server  # noqa: F401

from grader.core.tasks import get_task
from grader.server.limits import MAX_ANSWER_CHARS, MAX_TARGET_BYTES

TABLES = ("users", "issued", "attempts", "progress", "windows")


def snapshot(server) -> dict:
    """Every row of every table, read from the file as another process would."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall()) for table in TABLES}


def fresh_input(server, username="ada", function="conv_matrix"):
    data = requests.get(f"{server.url}get_test_input/{username}/{function}", timeout=30).json()
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in data["input"].items()}
    return data["ipd"], np.asarray(get_task(function).reference(**case), dtype=float)


def raw_request(server, data: bytes) -> bytes:
    """Send raw bytes; the whole response (the server closes or answers one request)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        try:
            connection.sendall(data)
        except (BrokenPipeError, ConnectionResetError):  # refused and closed before the end
            pass
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and not data.endswith(b"keep"):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")]
                if length and len(body) >= length[0]:
                    break
        return b"".join(chunks)


DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE_ANSWERS = [  # (the answer segment, already percent-encoded, the error's start)
    ("%5B1%2C2", "the answer is not valid JSON"),
    ("x" * 10, "the answer is not valid JSON"),
    ("%7B%22a%22%3A1%7D", "the answer is not an array of numbers (it holds null, objects"),
    ("%22text%22", "the answer is not an array of numbers (it holds text)"),
    ("null", "the answer is not an array of numbers (it holds null"),
    ("%5B%5B1%2C2%5D%2C%5B3%5D%5D", "the answer is not a regular array of numbers"),
    ("%5B%5B1%2C%5B2%5D%5D%2C%7B%22a%22%3Anull%7D%5D", "the answer is not a regular array"),
    ("%5B1%2C%22x%22%5D", "the answer is not an array of numbers (it holds text)"),
    (quote(DEEP), "the answer is not valid JSON"),
    (quote("[" * 20 + "1" + "]" * 20), "the answer has 20 dimensions; at most 8 are accepted"),
    ("1" * 5000, "the answer is not valid JSON"),
    ("%FF%FE", "the answer is not valid UTF-8 once percent-decoded."),
]


@pytest.mark.parametrize("answer, want", HOSTILE_ANSWERS, ids=lambda v: str(v)[:24])
def test_a_bad_answer_is_a_json_error_and_writes_nothing(server, answer, want):
    ipd, _ = fresh_input(server)
    before = snapshot(server)
    response = requests.get(f"{server.url}check_answer/ada/conv_matrix/{ipd}/{answer}", timeout=60)
    assert response.status_code == 300
    assert response.json()["error"].startswith(want)
    assert snapshot(server) == before


@pytest.mark.parametrize("path, want", [
    ("check_answer/ada/conv_matrix/NaN/[1]", "ipd must be the integer"),
    ("check_answer/ada/conv_matrix/-1/[1]", "ipd must be the integer"),
    ("check_answer/ada/conv_matrix/1e3/[1]", "ipd must be the integer"),
    ("check_answer/ada/conv_matrix/" + "9" * 30 + "/[1]", "ipd must be the integer"),
    ("check_answer/ada/conv_matrix/123456789/[1]", "ipd 123456789 was not issued"),
    ("get_progress/a%2Fb", "user 'a/b' is not registered."),
    ("get_progress/%2E%2E", "user '..' is not registered."),
    ("load_tests/..%2F..%2Fetc%2Fpasswd", "user '../../etc/passwd' is not registered."),
    ("get_test_input/ada/..%2Fconv_matrix", "assignment '../conv_matrix' is not found."),
    ("get_test_input/ada/__init__", "assignment '__init__' is not found."),
    ("get_progress/" + "z" * 3000, "user '" + "z" * 100 + "...' is not registered."),
    ("get_progress/%FF", "the username is not valid UTF-8 once percent-decoded."),
    ("get_progress/%00", "user '\x00' is not registered."),
])
def test_bad_parameters_are_json_errors_and_write_nothing(server, path, want):
    before = snapshot(server)
    response = requests.get(server.url + path, timeout=30)
    assert response.status_code == 300
    assert response.json()["error"].startswith(want)
    assert snapshot(server) == before


def test_dot_segments_are_not_resolved(server):
    """``requests`` resolves ``..`` itself; sent raw, it is one more segment, never a path."""
    before = snapshot(server)
    head, _, body = raw_request(server, b"GET /get_progress/a/../ada HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 300")
    assert json.loads(body)["error"].startswith("expected GET /get_progress/<username>, got 3")
    assert snapshot(server) == before


@pytest.mark.parametrize("path, status, want", [
    ("/" * 1_000_000 + "check_sum/x", 200, {"success": False}),   # leading slashes are dropped
    ("check_sum/" + "a/" * 500_000, 300, {"error": "the path has 500002 segments; AutoMark's "
                                                  "have at most 5: GET /check_sum/<md5>, "}),
    ("check_answer/ada/conv_matrix/1/[1]/extra", 300, {"error": "the path has 6 segments"}),
])
def test_a_path_of_many_segments_is_answered_at_once(server, path, status, want):
    before = snapshot(server)
    response = requests.get(server.url + path, timeout=30)
    assert response.status_code == status and response.elapsed.total_seconds() < 5
    got = response.json()
    assert {key: got[key][:len(text)] if isinstance(text, str) else got[key]
            for key, text in want.items()} == want
    assert snapshot(server) == before


def test_an_answer_past_1_mib_is_refused_in_json_before_it_is_parsed(server):
    ipd, _ = fresh_input(server)
    before = snapshot(server)
    answer = "1" * (MAX_ANSWER_CHARS + 1)
    response = requests.get(f"{server.url}check_answer/ada/conv_matrix/{ipd}/{answer}", timeout=60)
    assert response.status_code == 300
    assert response.json() == {"error": f"the answer is {MAX_ANSWER_CHARS + 1} characters long; "
                                        f"at most {MAX_ANSWER_CHARS} are accepted."}
    assert snapshot(server) == before


@pytest.mark.parametrize("size", [MAX_TARGET_BYTES + 1, 17 << 20])
def test_a_request_line_past_the_bound_is_refused_in_json_by_the_http_layer(server, size):
    before = snapshot(server)
    target = b"/check_sum/" + b"0" * (size - len(b"/check_sum/"))
    response = raw_request(server, b"GET " + target + b" HTTP/1.1\r\n\r\n")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414")
    assert json.loads(body)["error"].startswith(
        f"the request line is longer than {MAX_TARGET_BYTES} bytes")
    assert snapshot(server) == before


@pytest.mark.parametrize("request_bytes, status", [
    (b"THIS IS NOT HTTP\r\n\r\n", b"400"),
    (b"GET /check_sum/x HTTP/1.1\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n", b"431"),
])
def test_broken_http_is_a_json_error(server, request_bytes, status):
    head, _, body = raw_request(server, request_bytes).partition(b"\r\n\r\n")
    assert head.split()[1] == status and "error" in json.loads(body)


@pytest.mark.parametrize("change, want", [
    (lambda e: np.full_like(e, np.nan), False),
    (lambda e: np.where(np.arange(e.size).reshape(e.shape) == 0, np.inf, e), False),
    (lambda e: e, True),
])
def test_nan_and_inf_are_wrong_answers_not_errors(server, change, want):
    """NaN, Infinity and -Infinity are what json.dumps writes for a student's NaN or inf:
    a wrong answer, judged and recorded like any other, so the student reads "Test failed"."""
    ipd, expected = fresh_input(server, "bob")
    answer = json.dumps(change(expected).tolist())
    assert ("NaN" in answer or "Infinity" in answer) != want
    response = requests.get(f"{server.url}check_answer/bob/conv_matrix/{ipd}/{answer}", timeout=30)
    assert (response.status_code, response.json()) == (200, {"success": want})


def test_a_256_kib_request_line_works(server):
    ipd, expected = fresh_input(server, "cy")
    answer = json.dumps(expected.tolist())
    padding = (256 << 10) // 3 + 1   # each space travels as %20
    path = f"check_answer/cy/conv_matrix/{ipd}/{answer}{' ' * padding}"
    response = requests.get(server.url + path, timeout=60)
    assert len(response.request.path_url) >= 256 << 10
    assert (response.status_code, response.json()) == (200, {"success": True})


def test_a_32x32_answer_of_40_kb_works(server):
    ipd, _ = fresh_input(server, "dee")
    answer = json.dumps(np.random.default_rng(0).uniform(-10, 10, (32, 32)).tolist())
    assert len(answer) > 20_000
    response = requests.get(f"{server.url}check_answer/dee/conv_matrix/{ipd}/{answer}", timeout=30)
    assert (response.status_code, response.json()) == (200, {"success": False})


def test_the_server_never_logged_a_traceback(server):
    assert requests.get(server.url + "check_sum/x", timeout=10).status_code == 200
    assert "Traceback" not in server.log()

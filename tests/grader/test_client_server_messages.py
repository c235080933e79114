"""The kit's client when the server says "not now" or does not answer: the local checks run and
are shown, the hidden check waits (with the seconds left, read from AutoMark's own words), and
the original clients still receive those words unchanged."""

import functools
import http.server
import json
import math
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from protocol_client import ProtocolClient, ServerError  # noqa: E402
from server_fixtures import free_port, start_server  # noqa: E402, F401

from grader.client import automark_api, messages  # noqa: E402
from grader.core.tasks import get_task  # noqa: E402
from grader.server import service  # noqa: E402

LOCAL_PASSED = ["Running local tests...", "conv_matrix successfully passed local tests",
                "Running remote test..."]
COMPLETED = LOCAL_PASSED + ["Test was successful. Congratulations!"]
WAIT_FOR_SERVER = "The hidden check waits for the server: cannot reach the AutoMark server at "


@pytest.fixture(autouse=True)
def no_window_known(monkeypatch):
    """Each test starts with no rate-limit window remembered."""
    monkeypatch.setattr(automark_api, "_window_closes", {})


@pytest.fixture
def asked(monkeypatch):
    """The hidden-check endpoints the kit's client asked the server, in order."""
    calls, ask = [], automark_api._ask

    def spy(url, *segments):
        if segments[0] in ("get_test_input", "check_answer"):
            calls.append(segments[0])
        return ask(url, *segments)
    monkeypatch.setattr(automark_api, "_ask", spy)
    return calls


def reference(name):
    function = functools.partial(get_task(name).reference)
    function.__name__ = name
    return function


def check(username="ada", function=None) -> list[str]:
    task, result = automark_api.run_check(username, function or reference("conv_matrix"),
                                          ["matrix", "kernel"])
    return messages.check_report(task.name, result)


def wrong_locally(matrix, kernel):
    return get_task("conv_matrix").reference(matrix, kernel) + 1.0


wrong_locally.__name__ = "conv_matrix"


# --- AutoMark's words carry the seconds ------------------------------------------------------

@pytest.mark.parametrize("seconds_left", [0.001, 1, 1.5, 29.2, 30, 3600])
def test_the_client_reads_the_seconds_from_the_servers_exact_words(seconds_left):
    assert messages.timeout_seconds(service.timeout_text(seconds_left)) == max(1, math.ceil(seconds_left))


@pytest.mark.parametrize("text", [
    "user 'ada' is not registered.", "your timeout expires in 29 sec", "x your timeout expires in 2 sec.",
    "your timeout expires in -3 sec.", "your timeout expires in 29 sec. and more",
    "assignment 'your timeout expires in 2 sec.' is not found."])
def test_other_refusals_are_not_read_as_the_rate_limit(text):
    assert messages.timeout_seconds(text) is None


@pytest.mark.parametrize(("seconds_left", "want"), [(0.2, "in 1 s "), (29.0, "in 29 s "),
                                                     (29.01, "in 30 s ")])
def test_the_seconds_shown_are_rounded_up(seconds_left, want):
    assert want in messages.next_hidden_check(seconds_left)


# --- the rate limit, against a real server --------------------------------------------------

def test_inside_the_window_the_local_checks_run_and_the_hidden_one_waits(start_server, monkeypatch,
                                                                         asked):
    limited = start_server("--rate-limit-seconds", "30")
    monkeypatch.setenv(automark_api.SERVER_ENV, limited.url)
    assert check() == COMPLETED
    lines = check()
    assert lines[:3] == LOCAL_PASSED and len(lines) == 4
    seconds = int(lines[3].split(" possible in ")[1].split(" s ")[0])
    assert 28 <= seconds <= 30
    assert lines[3] == messages.next_hidden_check(seconds)
    assert "Test failed" not in "\n".join(lines)
    assert asked == ["get_test_input", "check_answer", "get_test_input"]
    # a local failure inside the window is shown as always, and nothing is asked
    failed = check(function=wrong_locally)
    assert failed[:2] == ["Running local tests...", "conv_matrix failed some local tests"]
    assert asked == ["get_test_input", "check_answer", "get_test_input"]


def test_a_known_window_is_not_asked_again_and_never_ends_too_early(start_server, monkeypatch, asked):
    limited = start_server("--rate-limit-seconds", "2")
    monkeypatch.setenv(automark_api.SERVER_ENV, limited.url)
    assert check() == COMPLETED
    assert check()[3].startswith("Your next hidden check is possible in ")
    asked.clear()
    again = check()
    assert again[:3] == LOCAL_PASSED and again[3].startswith("Your next hidden check is possible in ")
    assert asked == []   # the window is remembered: no hidden input is asked for
    closes = automark_api._window_closes[(limited.url, "ada")]
    time.sleep(max(0.0, closes - time.monotonic()) + 0.05)
    assert check() == COMPLETED   # the server agrees the window has closed
    assert asked == ["get_test_input", "check_answer"]


def test_the_window_is_per_student_and_per_server(start_server, monkeypatch, asked):
    limited, other = start_server("--rate-limit-seconds", "30"), start_server("--rate-limit-seconds", "30")
    monkeypatch.setenv(automark_api.SERVER_ENV, limited.url)
    assert check("ada") == COMPLETED
    assert check("ada")[3].startswith("Your next hidden check is possible in ")
    assert set(automark_api._window_closes) == {(limited.url, "ada")}
    assert check("bob") == COMPLETED
    monkeypatch.setenv(automark_api.SERVER_ENV, other.url)
    assert check("ada") == COMPLETED
    assert asked == ["get_test_input", "check_answer", "get_test_input"] + ["get_test_input",
                                                                         "check_answer"] * 2


def test_original_clients_still_get_automarks_exact_words(start_server, tmp_path, monkeypatch):
    limited = start_server("--rate-limit-seconds", "30")
    monkeypatch.setenv(automark_api.SERVER_ENV, limited.url)
    check()   # the kit's client opens ada's window
    original = ProtocolClient(limited.url, tmp_path)
    with pytest.raises(ServerError) as refused:
        original.test_student_function("ada", reference("conv_matrix"), ["matrix", "kernel"])
    assert messages.timeout_seconds(str(refused.value)) in (28, 29, 30)
    response = requests.get(limited.url + "get_test_input/ada/conv_matrix", timeout=10)
    assert response.status_code == 300 and set(response.headers) >= {"content-type"}
    assert response.content == json.dumps({"error": str(refused.value)}).encode()


# --- a server out of reach -------------------------------------------------------------------

class Answering(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the class's ``status`` and ``body`` (a proxy's page, a busy server)."""

    status, body = 502, b"<html>Bad Gateway</html>"

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def dead_address(request, monkeypatch):
    """``(url, the reason the student reads)`` of a server that does not answer, by each way."""
    how = request.param
    if how == "refused":
        yield f"http://127.0.0.1:{free_port()}/", "Connection refused"
    elif how == "timeout":
        monkeypatch.setattr(automark_api, "SERVER_SECONDS", 0.5)
        with socket.socket() as silent:   # accepts connections (the kernel does) and never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            yield f"http://127.0.0.1:{silent.getsockname()[1]}/", "timed out"
    elif how == "dns":
        def no_such_name(host, *args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
        yield "http://automark.invalid:1234/", "Name or service not known"
    else:
        status, body = {"proxy": (502, b"<html>Bad Gateway</html>"),
                        "busy": (503, b'{"error": "the server is busy; try again in a moment."}')}[how]
        handler = type("Handler", (Answering,), {"status": status, "body": body})
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        yield (f"http://127.0.0.1:{proxy.server_address[1]}/",
               "answered HTTP 502" if how == "proxy" else "the server is busy; try again in a moment")
        proxy.shutdown()
        proxy.server_close()


WAYS = ["refused", "timeout", "dns", "proxy", "busy"]


@pytest.mark.parametrize("dead_address", WAYS, indirect=True)
def test_without_the_server_the_local_checks_run_and_the_hidden_one_waits(dead_address, monkeypatch,
                                                                          isolated_progress):
    url, reason = dead_address
    monkeypatch.setenv(automark_api.SERVER_ENV, url)
    lines = check()
    assert lines[:3] == LOCAL_PASSED and len(lines) == 4
    assert lines[3].startswith("The hidden check waits for the server: ") and reason in lines[3]
    assert "Nothing is recorded until the server answers" in lines[3]
    assert not isolated_progress.exists()   # the server keeps progress: nothing offline
    assert automark_api._window_closes == {}


@pytest.mark.parametrize("dead_address", ["refused"], indirect=True)
def test_without_the_server_a_local_failure_reads_as_always(dead_address, monkeypatch, capsys):
    url, _ = dead_address
    monkeypatch.setenv(automark_api.SERVER_ENV, url)
    automark_api.test_student_function("ada", wrong_locally, ["matrix", "kernel"])
    out = capsys.readouterr().out
    assert out.startswith("Running local tests...\nconv_matrix failed some local tests\n")
    assert "not sent to the server: the local cases must pass first" in out
    assert "waits for the server" not in out


@pytest.mark.parametrize("dead_address", ["refused", "dns"], indirect=True)
def test_without_the_server_get_progress_is_one_line(dead_address, monkeypatch, capsys):
    url, reason = dead_address
    monkeypatch.setenv(automark_api.SERVER_ENV, url)
    automark_api.get_progress("ada")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"cannot reach the AutoMark server at {url}: " + lines[0].split(": ", 1)[1]]
    assert reason in lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1:18234", "localhost:1234/", "ftp://host:1/",
                                  "HOST:1234"])
@pytest.mark.parametrize("call", ["check", "progress"])
def test_an_address_without_its_scheme_is_a_slip_not_a_server_that_is_down(host, call,
                                                                          monkeypatch, capsys):
    """``am.Config.host = "127.0.0.1:18234"`` read as a server that was down: "run this check
    again when it is back", which it never would be."""
    monkeypatch.setattr(automark_api.Config, "host", host)
    if call == "check":
        automark_api.test_student_function("ada", get_task("conv_matrix").reference,
                                           ["matrix", "kernel"])
    else:
        automark_api.get_progress("ada")
    out = capsys.readouterr().out.strip()
    assert out == (f"am.Config.host is {host!r}: give the server's address with its scheme, "
                   f"e.g. 'http://{host.split('://')[-1]}'; nothing was checked")

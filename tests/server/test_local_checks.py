"""The kit's own endpoint, /record_local_check: what it records, what it refuses, its rate
limit (which never touches check_answer's window), AutoMark's clients unchanged beside it;
and the kit's client that sends the records, which a dead or slow server never breaks."""

import socket
import sqlite3
import threading
import time
import urllib.parse

import numpy as np
import pytest
import requests
from protocol_client import ProtocolClient
from server_fixtures import server, start_server  # noqa: F401

from grader.client import automark_api, local_record
from grader.client.roster import Student
from grader.core.checking import check_function
from grader.core.tasks import TASKS, get_task
from grader.server import local_checks
from grader.server.local_checks import MAX_RECORDS, RATE_SECONDS, record_local_check
from grader.server.service import AutoMarkService, ProtocolError
from grader.server.store import ServerStore

FLIPPED = "true convolution (kernel flipped)"
HALF = "without the factor 1/2"     # a name with a slash: one percent-encoded segment


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def service(tmp_path):
    store = ServerStore(tmp_path / "server.sqlite")
    store.add_users([Student("ada", "Ada", ""), Student("bob", "Bob", "")], now=0)
    yield AutoMarkService(store, None, rate_limit_seconds=30, clock=Clock())
    store.close()


def rows(store):
    return store.db.execute("SELECT username, function, at, passed, mistake FROM local_checks "
                            "ORDER BY id").fetchall()


@pytest.mark.parametrize("function, passed, mistake, want", [
    ("conv_matrix", "0", FLIPPED, ("conv_matrix", 0, FLIPPED)),
    ("conv_matrix", "0", "", ("conv_matrix", 0, "")),
    ("conv_matrix", "1", "", ("conv_matrix", 1, "")),
    ("mse_forward", "0", HALF, ("mse_forward", 0, HALF)),
])
def test_a_record_is_stored(service, function, passed, mistake, want):
    assert record_local_check(service, "ada", function, passed, mistake) == '{"success": true}'
    assert rows(service.store) == [("ada", *want[:1], service.clock.now, *want[1:])]


@pytest.mark.parametrize("username, function, passed, mistake, want", [
    ("zed", "conv_matrix", "0", "", "user 'zed' is not registered."),
    ("ada", "conv_matrx", "0", "", "assignment 'conv_matrx' is not found."),
    ("ada", "conv_matrix", "yes", "", 'passed must be 1 (the local cases passed) or 0, got "yes".'),
    ("ada", "conv_matrix", "", "", "passed must be 1"),
    ("ada", "conv_matrix", "0", "kernel flipped", '"kernel flipped" is not a known mistake of'),
    ("ada", "conv_matrix", "0", HALF, "is not a known mistake of conv_matrix"),   # another's
    ("ada", "conv_matrix", "1", FLIPPED, "a passed check has none"),
    ("ada", "conv_matrix", "0", FLIPPED + "x" * 200, "is not a known mistake"),
    ("ada", "conv_matrix", "0", "<script>", "is not a known mistake"),
])
def test_refusals_write_nothing_and_are_counted(service, username, function, passed, mistake, want):
    before = sum(local_checks.refused.values())
    with pytest.raises(ProtocolError) as refusal:
        record_local_check(service, username, function, passed, mistake)
    assert want in str(refusal.value)
    assert len(str(refusal.value)) < 300
    assert rows(service.store) == []
    assert sum(local_checks.refused.values()) == before + 1


def test_the_rate_limit_bounds_a_user_per_minute_across_functions(service):
    names = [task.name for task in TASKS]
    for i in range(MAX_RECORDS):
        record_local_check(service, "ada", names[i % len(names)], "0", "")
    before = local_checks.refused["rate"]
    with pytest.raises(ProtocolError, match=f"at most {MAX_RECORDS} local-check records"):
        record_local_check(service, "ada", "box_blur", "1", "")
    assert local_checks.refused["rate"] == before + 1
    assert record_local_check(service, "bob", "box_blur", "1", "")   # another user is not held
    service.clock.now += RATE_SECONDS + 0.001
    assert record_local_check(service, "ada", "box_blur", "1", "")
    assert len(rows(service.store)) == MAX_RECORDS + 2


def statements_run(store, action) -> list[str]:
    seen = []
    store.db.set_trace_callback(seen.append)
    try:
        action()
    finally:
        store.db.set_trace_callback(None)
    return seen


def test_a_user_past_the_bound_is_refused_from_memory_until_the_oldest_record_leaves(service):
    start = service.clock.now
    for i in range(MAX_RECORDS):                       # one a second: the oldest leaves first
        service.clock.now = start + i
        record_local_check(service, "ada", "conv_matrix", "0", "")
    service.clock.now = start + MAX_RECORDS
    with pytest.raises(ProtocolError):                 # found past the bound by a read
        record_local_check(service, "ada", "conv_matrix", "0", "")
    assert service.records_held_until["ada"] == start + RATE_SECONDS

    def refused_again():
        with pytest.raises(ProtocolError, match=f"at most {MAX_RECORDS} local-check records"):
            record_local_check(service, "ada", "box_blur", "1", "")
    service.clock.now = start + RATE_SECONDS - 0.001
    assert statements_run(service.store, refused_again) == []      # no statement at all
    service.clock.now = start + RATE_SECONDS            # the first record is 60 s old: 39 left
    assert record_local_check(service, "ada", "box_blur", "1", "") == '{"success": true}'
    assert len(rows(service.store)) == MAX_RECORDS + 1
    with pytest.raises(ProtocolError):                 # full again, until the second one leaves
        record_local_check(service, "ada", "box_blur", "1", "")
    assert service.records_held_until["ada"] == start + 1 + RATE_SECONDS


def test_another_workers_records_count_against_the_bound(service, tmp_path):
    other = AutoMarkService(ServerStore(tmp_path / "server.sqlite"), None, rate_limit_seconds=30,
                            clock=service.clock)
    try:
        for _ in range(MAX_RECORDS):
            record_local_check(other, "ada", "conv_matrix", "0", "")
        with pytest.raises(ProtocolError, match="local-check records"):
            record_local_check(service, "ada", "conv_matrix", "0", "")
        assert record_local_check(service, "bob", "conv_matrix", "0", "")
    finally:
        other.store.close()


def test_users_are_remembered_once_found_and_unknown_ones_are_looked_up_each_time(service):
    record_local_check(service, "ada", "conv_matrix", "0", "")
    lookups = statements_run(service.store, lambda: service.get_test_input("ada", "conv_matrix"))
    assert not any("FROM users" in sql for sql in lookups)
    for _ in range(2):
        with pytest.raises(ProtocolError, match="user 'cy' is not registered"):
            service.get_test_input("cy", "conv_matrix")
    service.store.add_users([Student("cy", "Cy", "")], now=0)   # the roster imported again
    assert service.get_test_input("cy", "conv_matrix").startswith('{"username": "cy"')
    assert '"name": "Cy"' in service.get_progress("cy")


def test_records_never_touch_the_hidden_checks_window(service):
    assert service.store.seconds_left("ada", service.clock.now) == 0
    record_local_check(service, "ada", "conv_matrix", "0", FLIPPED)
    assert service.store.seconds_left("ada", service.clock.now) == 0   # none opened
    service.store.open_window("ada", now=service.clock.now, seconds=30)
    service.clock.now += 10
    record_local_check(service, "ada", "conv_matrix", "1", "")         # recorded inside it
    assert service.store.seconds_left("ada", service.clock.now) == pytest.approx(20)
    assert len(rows(service.store)) == 2


def get(server, *segments):
    return requests.get(server.url + "/".join(urllib.parse.quote(s, safe="") for s in segments),
                        timeout=30)


def database_rows(server):
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT username, function, passed, mistake FROM local_checks "
                          "ORDER BY id").fetchall()


def test_over_http_each_parameter_is_one_percent_encoded_segment(start_server):
    live = start_server()
    assert get(live, "record_local_check", "ada", "mse_forward", "0", HALF).json() == {
        "success": True}
    assert get(live, "record_local_check", "ada", "conv_matrix", "1", "").json() == {
        "success": True}
    refused = get(live, "record_local_check", "ada", "conv_matrix", "0", "x" * 5000)
    assert refused.status_code == 300 and "bytes long percent-encoded" in refused.json()["error"]
    wrong = requests.get(live.url + "record_local_check/ada/conv_matrix/0", timeout=30)
    assert wrong.status_code == 300 and "expected GET /record_local_check/<username>/<function>/" \
        "<passed>/<mistake>" in wrong.json()["error"]
    assert database_rows(live) == [("ada", "mse_forward", 0, HALF), ("ada", "conv_matrix", 1, "")]


def test_automarks_words_do_not_mention_the_kits_endpoint(server):
    text = requests.get(server.url + "no_such_endpoint", timeout=30).json()["error"]
    assert text.startswith("no such endpoint 'no_such_endpoint': AutoMark's are GET /check_sum/")
    assert "record_local_check" not in text


def flipped_conv_matrix(matrix, kernel):
    return get_task("conv_matrix").reference(matrix, np.asarray(kernel)[::-1, ::-1])


flipped_conv_matrix.__name__ = "conv_matrix"


def reference(name):
    def function(*args, **kwargs):
        return get_task(name).reference(*args, **kwargs)
    function.__name__ = name
    return function


def test_the_original_clients_flow_is_unchanged_beside_the_records(start_server, tmp_path):
    live = start_server("--rate-limit-seconds", "30")
    client = ProtocolClient(live.url, tmp_path)
    client.test_student_function("ada", reference("box_blur"), ["image", "box_size"])
    assert client.printed[-1] == "Test was successful. Congratulations!"
    for _ in range(3):   # the kit's client of another student, and of ada inside her window
        assert get(live, "record_local_check", "bob", "conv_matrix", "0", FLIPPED).ok
        assert get(live, "record_local_check", "ada", "conv_matrix", "1", "").ok
    held = get(live, "get_test_input", "ada", "conv_matrix").json()["error"]
    assert held.startswith("your timeout expires in ") and int(held.split()[4]) <= 30
    client.test_student_function("bob", reference("conv_matrix"), ["matrix", "kernel"])
    assert client.printed[-1] == "Test was successful. Congratulations!"   # no window for bob
    client.get_progress("bob")
    assert "| conv_matrix              | completed      |" in client.printed


@pytest.fixture
def kit_client(start_server, monkeypatch):
    live = start_server("--rate-limit-seconds", "0")
    monkeypatch.setattr(automark_api.Config, "host", live.url)
    return live


@pytest.mark.parametrize("function, arg_keys, want, printed", [
    (flipped_conv_matrix, ["matrix", "kernel"], [("ada", "conv_matrix", 0, FLIPPED)],
     "Recognised mistake: " + FLIPPED),
    (reference("box_blur"), ["image", "box_size"], [("ada", "box_blur", 1, "")],
     "Test was successful. Congratulations!"),
])
def test_the_kits_client_records_each_local_check(kit_client, capsys, function, arg_keys, want,
                                                  printed):
    automark_api.test_student_function("ada", function, arg_keys)
    assert database_rows(kit_client) == want
    assert printed in capsys.readouterr().out


def test_a_placeholder_is_not_recorded(kit_client, capsys):
    def relu_forward(x_input):
        raise NotImplementedError
    automark_api.test_student_function("ada", relu_forward, ["x_input"])
    assert database_rows(kit_client) == []


def local_result(function=flipped_conv_matrix):
    return check_function(get_task("conv_matrix"), function, "ada", hidden=False).local


class SilentServer:
    """Accepts connections and answers one byte every ``pause`` s, for ever (until closed)."""

    def __init__(self, pause=0.2):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.pause, self.stopped = pause, threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.drip, args=(connection,), daemon=True).start()

    def drip(self, connection):
        with connection:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 10_000:
                if self.stopped.wait(self.pause):
                    return
                connection.sendall(bytes([byte]))

    def close(self):
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def slow_server():
    silent = SilentServer()
    yield silent
    silent.close()


def dead_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


@pytest.mark.parametrize("where", ["dead", "slow", "not a URL"])
def test_a_record_that_cannot_be_sent_returns_false_in_bounded_time(slow_server, where):
    url = {"dead": dead_url(), "slow": slow_server.url, "not a URL": "nonsense:/"}[where]
    started = time.monotonic()
    assert local_record.record_local_check(url, "ada", local_result(), seconds=0.5) is False
    assert time.monotonic() - started < 1.5


def test_a_slow_server_delays_a_failing_check_by_the_bound_only(slow_server, monkeypatch, capsys):
    monkeypatch.setattr(local_record, "RECORD_SECONDS", 0.5)
    monkeypatch.setattr(automark_api.Config, "host", slow_server.url)
    started = time.monotonic()
    automark_api.test_student_function("ada", flipped_conv_matrix, ["matrix", "kernel"])
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "conv_matrix failed some local tests" in out and "Recognised mistake: " + FLIPPED in out


def test_a_404_from_automarks_own_server_is_ignored(kit_client):
    assert local_record.record_local_check(kit_client.url + "no/such/prefix/", "ada",
                                           local_result()) is False
    assert local_record.record_local_check(kit_client.url, "ada", local_result()) is True

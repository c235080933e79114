"""Refused work is limited like judged work, and an issued input is judged once.

A ``check_answer`` of a registered user refused after the window check (a bad function,
ipd or answer, an input answered already) opens the rate-limit window as a judged one
does; and a refused answer is refused before it is decoded: the cheap checks come first.
"""

import json
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
from server_fixtures import server, start_server  # noqa: F401

from grader.client.roster import Student
from grader.core.tasks import get_task
from grader.server import answers, cases
from grader.server.app import respond
from grader.server.limits import MAX_ANSWER_CHARS
from grader.server.service import AutoMarkService
from grader.server.store import ServerStore

TIMEOUT = re.compile(r"your timeout expires in (\d+) sec\.")


def get(server, path):
    return requests.get(server.url + path, timeout=60)


def issued_input(server, username, function="conv_matrix"):
    data = get(server, f"get_test_input/{username}/{function}").json()
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in data["input"].items()}
    return data["ipd"], np.asarray(get_task(function).reference(**case), dtype=float)


def attempts(server, username) -> list[tuple]:
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT function, ipd, success FROM attempts WHERE username = ?",
                          (username,)).fetchall()


# -- an ipd is judged once ---------------------------------------------------------------------
def test_a_right_answer_after_a_wrong_one_to_the_same_input_is_refused(server):
    ipd, expected = issued_input(server, "ada")
    wrong = get(server, f"check_answer/ada/conv_matrix/{ipd}/{json.dumps((expected + 1).tolist())}")
    assert (wrong.status_code, wrong.json()) == (200, {"success": False})
    right = get(server, f"check_answer/ada/conv_matrix/{ipd}/{json.dumps(expected.tolist())}")
    assert (right.status_code, right.json()) == (300, {
        "error": f"ipd {ipd} of 'conv_matrix' was answered already; each input is judged once: "
                 "call get_test_input for a new one."})
    assert get(server, "get_progress/ada").json()["progress"]["conv_matrix"] == "attempted"
    assert attempts(server, "ada") == [("conv_matrix", ipd, 0)]
    new_ipd, _ = issued_input(server, "ada")
    assert new_ipd != ipd


def test_concurrent_answers_to_one_input_are_judged_once(start_server):
    """Two workers, no rate limit, the same right answer sent eight times at once."""
    server = start_server("--rate-limit-seconds", "0", "--workers", "2")
    ipd, expected = issued_input(server, "bob")
    path = f"check_answer/bob/conv_matrix/{ipd}/{json.dumps(expected.tolist())}"
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: get(server, path), range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [300] * 7
    assert attempts(server, "bob") == [("conv_matrix", ipd, 1)]


# -- refused work opens the window -------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "check_answer/{u}/conv_matrix/{ipd}/" + "x" * 1000,            # not JSON
    "check_answer/{u}/conv_matrix/{ipd}/" + "1" * (MAX_ANSWER_CHARS + 1),  # too long
    "check_answer/{u}/conv_matrix/{ipd}/%FF",                      # not UTF-8
    "check_answer/{u}/conv_matrix/12345/[1]",                      # not issued
    "check_answer/{u}/conv_matrix/x/[1]",                          # not an ipd
    "check_answer/{u}/no_such_function/{ipd}/[1]",                 # no such function
])
def test_a_refused_answer_opens_the_window(start_server, path):
    server = start_server("--rate-limit-seconds", "30")
    ipd, _ = issued_input(server, "cy")
    refused = get(server, path.format(u="cy", ipd=ipd))
    assert refused.status_code == 300 and not TIMEOUT.fullmatch(refused.json()["error"])
    for later in ("get_test_input/cy/conv_matrix", f"check_answer/cy/conv_matrix/{ipd}/[1]"):
        window = TIMEOUT.fullmatch(get(server, later).json()["error"])
        assert window and 28 <= int(window[1]) <= 30
    assert attempts(server, "cy") == []
    assert get(server, "get_test_input/dee/conv_matrix").status_code == 200  # others unaffected


def test_an_answer_to_an_answered_input_opens_the_window(start_server):
    server = start_server("--rate-limit-seconds", "1")
    ipd, expected = issued_input(server, "dee")
    assert get(server, f"check_answer/dee/conv_matrix/{ipd}/[1]").json() == {"success": False}
    time.sleep(1.1)
    assert "answered already" in get(server, f"check_answer/dee/conv_matrix/{ipd}/[1]").json()["error"]
    assert TIMEOUT.fullmatch(get(server, "get_test_input/dee/conv_matrix").json()["error"])


# -- the cheap checks come first ---------------------------------------------------------------
@pytest.fixture
def service(tmp_path):
    store = ServerStore(tmp_path / "server.sqlite")
    store.add_users([Student("ada", "Ada", ""), Student("bob", "Bob", "")], now=0.0)
    service = AutoMarkService(store, cases.build_local_tests([get_task("conv_matrix")]),
                              rate_limit_seconds=30, tasks=[get_task("conv_matrix")],
                              clock=lambda: 1000.0)
    yield service
    store.close()


@pytest.fixture
def decoded(monkeypatch):
    """The answer segments the service decoded."""
    seen = []
    original = answers.percent_decode
    monkeypatch.setattr(answers, "percent_decode", lambda raw: seen.append(raw) or original(raw))
    return seen


HUGE = b"%5B" + b"%30%2C" * ((MAX_ANSWER_CHARS - 3) // 2) + b"%30%5D"  # 1 MiB, all %XX


@pytest.mark.parametrize("who, function, ipd, want", [
    ("zed", "conv_matrix", "{ipd}", "user 'zed' is not registered."),
    ("bob", "conv_matrix", "{ipd}", "your timeout expires in 30 sec."),
    ("ada", "nope", "{ipd}", "assignment 'nope' is not found."),
    ("ada", "conv_matrix", "1x", "ipd must be the integer"),
    ("ada", "conv_matrix", "77", "ipd 77 was not issued"),
])
def test_a_refused_answer_is_never_decoded(service, decoded, who, function, ipd, want):
    issued = json.loads(service.get_test_input("ada", "conv_matrix"))["ipd"]
    service.store.open_window("bob", now=1000.0, seconds=30)
    path = f"/check_answer/{who}/{function}/{ipd.format(ipd=issued)}/".encode() + HUGE
    status, body, _ = respond(service, path)
    assert status == 300 and json.loads(body)["error"].startswith(want)
    assert decoded == []


def test_an_accepted_answer_is_decoded_once(service, decoded):
    issued = json.loads(service.get_test_input("ada", "conv_matrix"))["ipd"]
    status, body, _ = respond(service, f"/check_answer/ada/conv_matrix/{issued}/".encode() + HUGE)
    assert (status, json.loads(body)) == (200, {"success": False})
    assert decoded == [HUGE]

"""AutoMark's rate limit: each judged check_answer opens a window for that user in which
get_test_input, check_answer and load_tests are refused; kept in the database, so it holds
across workers and restarts."""

import json
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
from server_fixtures import start_server  # noqa: F401

from grader.core.tasks import TASKS, get_task

TIMEOUT = re.compile(r"your timeout expires in (\d+) sec\.")


def get(server, path):
    return requests.get(server.url + path, timeout=30)


def answer_path(server, username, function):
    data = get(server, f"get_test_input/{username}/{function}").json()
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in data["input"].items()}
    answer = np.asarray(get_task(function).reference(**case), dtype=float)
    return f"check_answer/{username}/{function}/{data['ipd']}/{json.dumps(answer.tolist())}"


def seconds_left(response) -> int:
    assert response.status_code == 300, response.text
    match = TIMEOUT.fullmatch(response.json()["error"])
    assert match, response.json()
    return int(match[1])


def attempts(server) -> int:
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM attempts").fetchone()[0]


@pytest.fixture
def limited(start_server):
    return start_server("--rate-limit-seconds", "30")


def test_a_check_answer_opens_a_window_for_that_user_only(limited):
    assert get(limited, answer_path(limited, "ada", "conv_matrix")).json() == {"success": True}
    for path in ("get_test_input/ada/box_blur", "load_tests/ada",
                 "check_answer/ada/conv_matrix/1/[1]", "get_test_input/ada/no_such_function"):
        assert 28 <= seconds_left(get(limited, path)) <= 30, path
    assert get(limited, "check_sum/" + "0" * 32).json() == {"success": False}
    assert get(limited, "get_progress/ada").json()["progress"]["conv_matrix"] == "completed"
    assert get(limited, "get_test_input/bob/conv_matrix").status_code == 200
    assert get(limited, "get_test_input/zed/conv_matrix").json() == {
        "error": "user 'zed' is not registered."}


def test_a_refused_check_answer_writes_nothing(limited):
    first = answer_path(limited, "bob", "relu_forward")
    second = answer_path(limited, "bob", "relu_grad_input")
    get(limited, first)
    before = attempts(limited)
    seconds_left(get(limited, second))
    assert attempts(limited) == before == 1


def test_the_window_survives_a_restart(limited):
    get(limited, answer_path(limited, "cy", "maxpool_forward"))
    limited.restart()
    assert 1 <= seconds_left(get(limited, "get_test_input/cy/maxpool_forward")) <= 30


def test_the_window_closes(start_server):
    server = start_server("--rate-limit-seconds", "1")
    get(server, answer_path(server, "ada", "relu_forward"))
    assert seconds_left(get(server, "get_test_input/ada/relu_forward")) == 1
    time.sleep(1.1)
    assert get(server, "get_test_input/ada/relu_forward").status_code == 200


def test_the_limit_holds_across_workers(start_server):
    """Concurrent check_answers of one user on two workers: exactly one is judged."""
    server = start_server("--rate-limit-seconds", "30", "--workers", "2")
    paths = [answer_path(server, "dee", task.name) for task in TASKS[:10]]
    with ThreadPoolExecutor(len(paths)) as pool:
        responses = list(pool.map(lambda path: get(server, path), paths))
    judged = [r for r in responses if r.status_code == 200]
    assert len(judged) == 1 and judged[0].json() == {"success": True}
    assert all(1 <= seconds_left(r) <= 30 for r in responses if r.status_code != 200)
    assert attempts(server) == 1

"""kill -9 of the server under load loses no acknowledged attempt, and it always restarts."""

import json
import sqlite3
import threading
import time
from collections import Counter

import numpy as np
import pytest
import requests
from server_fixtures import start_server  # noqa: F401

from grader.core.tasks import TASKS

LOAD_SECONDS = 1.5


def student_loop(server, username, stop, acknowledged):
    """Answer every function in turn (right on even turns) until the server dies or ``stop``."""
    session = requests.Session()
    turn = 0
    while not stop.is_set():
        task = TASKS[turn % len(TASKS)]
        try:
            data = session.get(f"{server.url}get_test_input/{username}/{task.name}", timeout=10).json()
            case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
                    for name, arg in data["input"].items()}
            result = np.asarray(task.reference(**case), dtype=float) + (turn % 2)
            response = session.get(f"{server.url}check_answer/{username}/{task.name}/{data['ipd']}/"
                                   f"{json.dumps(result.tolist())}", timeout=10)
        except (requests.RequestException, ValueError):  # the server was killed
            session.close()
            return
        if response.status_code == 200:
            acknowledged.append((username, task.name, data["ipd"], int(response.json()["success"])))
        turn += 1


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_under_load_loses_no_acknowledged_attempt(start_server, workers):
    server = start_server("--rate-limit-seconds", "0", "--workers", workers)
    stop, acknowledged = threading.Event(), []
    threads = [threading.Thread(target=student_loop, args=(server, name, stop, acknowledged))
               for name in ("ada", "bob", "cy", "dee")]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    server.kill9()                      # mid-request, without warning
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) > 20
    server.start()                      # the same database folder, the same port
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = Counter(db.execute("SELECT username, function, ipd, success FROM attempts"))
        progress = dict(((u, f), s) for u, f, s in
                        db.execute("SELECT username, function, state FROM progress"))
    missing = Counter(acknowledged) - stored
    assert not missing, f"acknowledged but lost: {list(missing)[:5]}"
    for username, function, _, success in acknowledged:
        assert progress[(username, function)] in (("completed",) if success else
                                                  ("attempted", "completed"))
    after = requests.get(f"{server.url}get_progress/ada", timeout=10).json()["progress"]
    assert {f: s for (u, f), s in progress.items() if u == "ada"}.items() <= after.items()


def test_a_restart_keeps_users_progress_and_issued_inputs(start_server):
    server = start_server("--rate-limit-seconds", "0")
    issued = requests.get(f"{server.url}get_test_input/ada/relu_forward", timeout=10).json()
    server.kill9()
    server.start()
    assert requests.get(f"{server.url}get_test_input/ada/relu_forward", timeout=10).json() == issued


def test_a_database_of_a_newer_schema_is_refused_at_start(start_server, tmp_path):
    server = start_server()
    server.stop()
    with sqlite3.connect(server.database) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="schema version 99"):
        server.start()

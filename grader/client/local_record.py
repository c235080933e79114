"""Tell the class's server how a local check went, so the staff see who is stuck.

With a server configured, the kit's client sends, after each local check of a
function the student has started, ``GET /record_local_check/<username>/<function>/
<1|0>/<mistake>``: whether the local cases passed and the recognised mistake's name
(empty when none). Never the code, the inputs or the answers. AutoMark's own
server does not know this endpoint; its 404 is ignored like any other failure.

Sending must never fail or slow down the student's check: it runs in a daemon
thread that is waited for at most :data:`RECORD_SECONDS`, and the request itself has
the same deadline (:mod:`grader.client.bounded_get`), so a server that accepts the
connection and then answers one byte at a time holds neither the check nor the thread
longer; every failure, refusal included, is ignored silently.
"""

from __future__ import annotations

import threading
import urllib.parse

from grader.client import bounded_get
from grader.core.mistakes import known_mistakes
from grader.core.results import TaskResult

ENDPOINT = "record_local_check"
RECORD_SECONDS = 2.0
MAX_REPLY_BYTES = 4096


def mistake_name(task_name: str, label: str) -> str:
    """The known mistake's name from the label the check shows (``"name: explanation"``);
    ``""`` when ``label`` is empty or names no known mistake of the task."""
    if not label:
        return ""
    return next((mistake.name for mistake in known_mistakes(task_name) if mistake.label == label),
                "")


def record_address(url: str, username: str, local: TaskResult) -> str:
    """The record's address on the server at ``url`` (ending with ``/``)."""
    mistake = "" if local.passed else mistake_name(local.task, local.mistake)
    segments = (ENDPOINT, username, local.task, "1" if local.passed else "0", mistake)
    return url + "/".join(urllib.parse.quote(segment, safe="") for segment in segments)


def _send(address: str, seconds: float, outcome: list) -> None:
    try:
        bounded_get.get(address, seconds=seconds, limit=MAX_REPLY_BYTES)
        outcome.append(True)
    except Exception:  # noqa: BLE001 - a record is a courtesy to the staff, never an error
        outcome.append(False)


def record_local_check(url: str, username: str, local: TaskResult, *,
                       seconds: float | None = None) -> bool:
    """Send one local check's outcome; True when the server recorded it.

    A function still at its placeholder (``NotImplementedError``) is not sent: the
    student has not started it. Returns after at most ``seconds`` (default
    :data:`RECORD_SECONDS`); never raises.
    """
    seconds = RECORD_SECONDS if seconds is None else seconds
    try:
        if local.not_implemented:
            return False
        outcome: list[bool] = []
        sender = threading.Thread(target=_send, args=(record_address(url, username, local), seconds, outcome),
                                  name="automark-record", daemon=True)
        sender.start()
        sender.join(seconds)
        return bool(outcome) and outcome[0]
    except Exception:  # noqa: BLE001 - nothing here may break the student's check
        return False

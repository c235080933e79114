"""AutoMark's five endpoints as plain methods: what each answers, in AutoMark's words.

The HTTP layer (:mod:`grader.server.app`) only splits the path and wraps the
result. Every refusal is a :class:`ProtocolError` whose text the client shows
(``ServerError: <text>``), checked in the original's order: the user, then the
rate-limit window, then the function. A ``check_answer`` that is judged writes
its attempt, progress and window in one transaction before it answers; one that
is refused after the window check (a bad function, ipd or answer) opens the
window too and writes nothing else, so refused work is limited like judged work.
Each issued input (ipd) is judged once.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
import time
from typing import Callable

from grader.core.tasks import TASKS, Task, ordered_for_progress
from grader.server import answers, cases
from grader.server.store import AlreadyAnswered, Issued, ServerStore, WindowOpen

NOT_ATTEMPTED = "not attempted"
SHOWN_CHARS = 100            # longer values are cut in error texts
MAX_ISSUE_TRIES = 5
UNKNOWN_KEPT = 50            # usernames not on the roster a worker remembers for the staff page
_MD5 = re.compile(r"[0-9a-f]{32}")
_IPD = re.compile(r"[0-9]{1,18}")


class ProtocolError(Exception):
    """A refusal; ``str(error)`` is the text sent as ``{"error": ...}``."""


def shown(value: str) -> str:
    """``value`` as it appears in an error text, cut after :data:`SHOWN_CHARS` characters."""
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "..."


def not_registered(username: str) -> str:
    return f"user '{shown(username)}' is not registered."


def timeout_text(seconds_left: float) -> str:
    """AutoMark's text; the seconds are rounded up, so never 0."""
    return f"your timeout expires in {max(1, math.ceil(seconds_left))} sec."


def not_found(function: str) -> str:
    return f"assignment '{shown(function)}' is not found."


def already_answered(ipd: int, function: str) -> str:
    return (f"ipd {ipd} of '{shown(function)}' was answered already; each input is judged "
            "once: call get_test_input for a new one.")


class AutoMarkService:
    """The endpoints over one store.

    Args:
        store: the database.
        local_tests: the pickle ``/load_tests`` serves.
        rate_limit_seconds: the window each judged ``check_answer`` opens; 0 disables it.
        tasks: the graded functions.
        clock: ``time.time``, replaceable in tests.
    """

    def __init__(self, store: ServerStore, local_tests: cases.LocalTests, *,
                 rate_limit_seconds: float, tasks=TASKS, clock: Callable[[], float] = time.time):
        self.store = store
        self.local_tests = local_tests
        self.rate_limit_seconds = float(rate_limit_seconds)
        self.tasks = {task.name: task for task in tasks}
        self.clock = clock
        self._registered: set[str] = set()
        # The kit's local-check records: a user past their bound, and until when (this worker's
        # knowledge; see grader.server.local_checks).
        self.records_held_until: dict[str, float] = {}
        self.unknown_users: dict[str, tuple[int, float]] = {}   # see unregistered()

    def unregistered(self, username: str) -> "ProtocolError":
        """The refusal of ``username``, remembered for the staff page (a student who typed
        "Bob" for "bob" is otherwise seen by no one): the :data:`UNKNOWN_KEPT` names last
        refused by this worker, with how often and when."""
        name = shown(username)
        count = self.unknown_users.pop(name, (0, 0.0))[0]
        self.unknown_users[name] = (count + 1, self.clock())
        while len(self.unknown_users) > UNKNOWN_KEPT:
            self.unknown_users.pop(next(iter(self.unknown_users)))
        return ProtocolError(not_registered(username))

    def is_registered(self, username: str) -> bool:
        """Whether ``username`` is in the database's users. A user once found is remembered:
        the kit adds and updates users but never removes one (a user deleted from the file by
        hand stays accepted by a running server until it restarts)."""
        if username in self._registered:
            return True
        if self.store.user(username) is None:
            return False
        self._registered.add(username)
        return True

    def _admit(self, username: str, function: str | None = None, *, limited: bool) -> Task | None:
        """Refuse an unknown user, an open window (when ``limited``), an unknown function."""
        if not self.is_registered(username):
            raise self.unregistered(username)
        if limited and self.rate_limit_seconds > 0:
            left = self.store.seconds_left(username, self.clock())
            if left > 0:
                raise ProtocolError(timeout_text(left))
        if function is None:
            return None
        task = self.tasks.get(function)
        if task is None:
            raise ProtocolError(not_found(function))
        return task

    # -- the endpoints -------------------------------------------------------------------------
    def check_sum(self, md5: str) -> str:
        """``{"success": true}`` when ``md5`` is the MD5 of the local tests; never refused."""
        return json.dumps({"success": bool(_MD5.fullmatch(md5)) and md5 == self.local_tests.md5})

    def load_tests(self, username: str) -> bytes:
        """The local-tests pickle."""
        self._admit(username, limited=True)
        return self.local_tests.data

    def get_test_input(self, username: str, function: str) -> str:
        """A hidden input: the one still unanswered for this function, or a new one."""
        task = self._admit(username, function, limited=True)
        issued = self.store.outstanding(username, function) or self._issue(task, username)
        return ('{"username": %s, "ipd": %d, "input": %s}'
                % (json.dumps(username), issued.ipd, issued.input_json))

    def _issue(self, task: Task, username: str) -> Issued:
        for _ in range(MAX_ISSUE_TRIES):
            ipd = secrets.randbelow(2**31 - 1) + 1
            seed = cases.hidden_seed(username, task.name, ipd)
            fresh = Issued(username, task.name, ipd, seed,
                           cases.input_json(task, cases.draw_case(task, seed)))
            try:
                return self.store.issue(fresh, now=self.clock())
            except sqlite3.IntegrityError:  # that ipd was drawn before for this function
                continue
        raise ProtocolError("could not issue a test input; try again.")

    def check_answer(self, username: str, function: str, ipd_text: str,
                     answer_segment: bytes) -> str:
        """Judge the answer to an issued input once; record the attempt; ``{"success": bool}``.

        Args:
            answer_segment: the answer's path segment as it travelled (percent-encoded):
                it is decoded only once everything cheaper has been checked.
        """
        self._admit(username, limited=True)
        try:
            task, issued = self._issued_input(username, function, ipd_text)
            answer = answers.read_answer_segment(answer_segment)
        except (ProtocolError, answers.AnswerError) as refusal:
            self._open_window(username)   # refused work counts like judged work
            raise ProtocolError(f"{refusal}." if isinstance(refusal, answers.AnswerError)
                                else str(refusal)) from None
        case, expected = cases.expected_output(task, issued.input_json)
        verdict = answers.judge_answer(task, case, expected, answer)
        try:
            self.store.record_attempt(issued, success=verdict.passed, verdict=verdict.kind,
                                      now=self.clock(), window_seconds=self.rate_limit_seconds)
        except WindowOpen as window:  # another request of this user got there first
            raise ProtocolError(timeout_text(window.seconds_left)) from None
        except AlreadyAnswered:       # another request answered this ipd first
            raise ProtocolError(already_answered(issued.ipd, function)) from None
        return '{"success": true}' if verdict.passed else '{"success": false}'

    def _issued_input(self, username: str, function: str, ipd_text: str) -> tuple[Task, Issued]:
        """The task and the unanswered input that ``ipd_text`` names; refused otherwise."""
        task = self._admit(username, function, limited=False)
        if not _IPD.fullmatch(ipd_text):
            raise ProtocolError(f"ipd must be the integer that get_test_input sent, "
                                f"got '{shown(ipd_text)}'.")
        issued = self.store.issued(username, function, int(ipd_text))
        if issued is None:
            raise ProtocolError(f"ipd {int(ipd_text)} was not issued to '{shown(username)}' for "
                                f"'{function}': call get_test_input first.")
        if issued.answered:
            raise ProtocolError(already_answered(issued.ipd, function))
        return task, issued

    def _open_window(self, username: str) -> None:
        if self.rate_limit_seconds > 0:
            self.store.open_window(username, now=self.clock(), seconds=self.rate_limit_seconds)

    def get_progress(self, username: str) -> str:
        """Name, mail and the state of every graded function; never rate limited."""
        student = self.store.user(username)
        if student is None:
            raise self.unregistered(username)
        states = self.store.progress(username)
        progress = {task.name: states.get(task.name, NOT_ATTEMPTED)
                    for task in ordered_for_progress() if task.name in self.tasks}
        return json.dumps({"name": student.name or username, "mail": student.email,
                           "progress": progress})

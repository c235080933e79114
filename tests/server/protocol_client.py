"""An AutoMark client written from the protocol description alone, with ``requests``.

It does what the course's ``automark.py`` does, and prints the same lines:
``check_sum`` before every check (downloading the local tests again when the
server says no), the local tests from the pickle (keyword calls,
``np.allclose(answer, output, rtol=1e-5, atol=1e-5)``), then ``get_test_input``,
a positional call in ``arg_keys`` order, ``check_answer`` with
``json.dumps(np.array(result).tolist())`` in the path; and ``get_progress``'s
45-character table. Errors are JSON ``{"error": text}``, shown as
``ServerError: text``, except after ``check_answer``, where anything but 200 is
``Internal Error Occurred``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import requests


class ServerError(Exception):
    pass


class ProtocolClient:
    """The course's client against ``host`` (ending with ``/``), caching tests in ``folder``."""

    def __init__(self, host: str, folder: Path):
        self.host = host
        self.tests_path = Path(folder) / "local_tests" / "tests.pickle"
        self.printed: list[str] = []

    def say(self, line: str) -> None:
        self.printed.append(line)

    # -- the endpoints -------------------------------------------------------------------------
    def get(self, *segments) -> requests.Response:
        return requests.get(self.host + "/".join(str(s) for s in segments), timeout=60)

    def json_or_raise(self, response: requests.Response) -> dict:
        data = response.json()
        if "error" in data:
            raise ServerError(data["error"])
        return data

    def check_sum(self, md5: str) -> bool:
        return self.get("check_sum", md5).json()["success"]

    def load_tests(self, username: str) -> bytes:
        response = self.get("load_tests", username)
        if response.status_code != 200:
            raise ServerError(response.json()["error"])
        return response.content

    def get_test_input(self, username: str, function: str) -> dict:
        return self.json_or_raise(self.get("get_test_input", username, function))

    def check_answer(self, username: str, function: str, ipd, answer_text: str) -> requests.Response:
        return self.get("check_answer", username, function, ipd, answer_text)

    # -- what the notebook calls ---------------------------------------------------------------
    def local_tests_are_valid(self) -> bool:
        if not self.tests_path.is_file():
            return False
        return self.check_sum(hashlib.md5(self.tests_path.read_bytes()).hexdigest())

    def passed_local_tests(self, function, arg_keys) -> bool:
        with open(self.tests_path, "rb") as handle:
            tests = pickle.load(handle, encoding="latin1")
        data = tests[function.__name__]
        for inputs, output in zip(data["inputs"], data["outputs"]):
            answer = function(**{key: inputs[key] for key in arg_keys})
            if not np.allclose(answer, output, rtol=1e-5, atol=1e-5):
                return False
        return True

    def passed_remote_test(self, username: str, function, arg_keys) -> bool:
        data = self.get_test_input(username, function.__name__)
        args = [np.array(data["input"][key]["data"]) if data["input"][key]["type"] == "ndarray"
                else data["input"][key]["data"] for key in arg_keys]
        result = np.array(function(*args)).tolist()
        response = self.check_answer(username, function.__name__, data["ipd"], json.dumps(result))
        if response.status_code != 200:
            raise ServerError("Internal Error Occurred")
        return response.json()["success"]

    def test_student_function(self, username: str, function, arg_keys) -> None:
        if not self.local_tests_are_valid():
            self.tests_path.parent.mkdir(parents=True, exist_ok=True)
            self.say("Downloading local tests...")
            self.tests_path.write_bytes(self.load_tests(username))
            self.say("Local tests are downloaded.")
        self.say("Running local tests...")
        if self.passed_local_tests(function, arg_keys):
            self.say(f"{function.__name__} successfully passed local tests")
            self.say("Running remote test...")
            if self.passed_remote_test(username, function, arg_keys):
                self.say("Test was successful. Congratulations!")
            else:
                self.say("Test failed. Please review your code.")
        else:
            self.say(f"{function.__name__} failed some local tests")

    def get_progress(self, username: str) -> None:
        data = self.json_or_raise(self.get("get_progress", username))
        self.say("-" * 45)
        self.say("| {:42}|".format(data["name"]))
        self.say("| {:42}|".format(data["mail"]))
        self.say("-" * 45)
        for function, state in data["progress"].items():
            self.say("| {:25}| {:15}|".format(function, state))
        self.say("-" * 45)

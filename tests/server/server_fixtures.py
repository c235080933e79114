"""A real server on a loopback port: ``python -m grader serve`` in a subprocess.

Test modules import the fixtures they use (``from server_fixtures import server``), as
``tests/grader`` does: a ``conftest.py`` here would shadow ``tests/conftest.py``'s name.

``start_server(...)`` starts one with its own database folder and roster and
waits until it answers; ``Server.kill9()`` and ``Server.restart()`` exercise
durability. Every server started is stopped when its test (or module) ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "staff-token-for-tests"
STUDENTS = [("ada", "Ada Lovelace", "ada@example.org"), ("bob", "Bob Example", "bob@example.org"),
            ("cy", "", ""), ("dee", "Dee <b>Bold</b>", "dee@example.org")]
STARTUP_SECONDS = 60


def write_roster(path: Path, students=STUDENTS) -> Path:
    path.write_text("username,name,email\n" + "".join(f"{u},{n},{e}\n" for u, n, e in students),
                    encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """One ``python -m grader serve`` process and where it keeps its data."""

    folder: Path
    args: list
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def database(self) -> Path:
        return self.folder / "data" / "server.sqlite"

    def start(self) -> "Server":
        command = [sys.executable, "-m", "grader", "serve", "--port", str(self.port),
                   "--data", str(self.folder / "data"), *self.args]
        env = {k: v for k, v in os.environ.items() if k != "AUTOMARK_ADMIN_TOKEN"} | self.env
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, env=env,
                                        start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited:\n" + self.log()[-2000:])
            try:
                if requests.get(self.url + "check_sum/x", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not answer in time:\n" + self.log()[-2000:])

    def log(self) -> str:
        return (self.folder / "server.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> "Server":
        self.stop()
        return self.start()


@pytest.fixture
def start_server(tmp_path_factory):
    """``start_server(*args, roster=STUDENTS, env=None)``: a running server with those extra
    flags (and environment variables)."""
    started = []

    def start(*args, roster=STUDENTS, env=None) -> Server:
        folder = tmp_path_factory.mktemp("server")
        flags = list(args)
        if roster is not None:
            flags = ["--roster", str(write_roster(folder / "students.csv", roster)), *flags]
        else:
            flags = ["--roster", "", *flags]
        server = Server(folder, flags, env=env or {})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server shared by a module: rate limit off, the admin token set."""
    folder = tmp_path_factory.mktemp("shared-server")
    roster = write_roster(folder / "students.csv")
    server = Server(folder, ["--roster", str(roster), "--rate-limit-seconds", "0",
                             "--admin-token", TOKEN]).start()
    yield server
    server.stop()

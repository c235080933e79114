"""Section 6: the AutoMark server under load, on loopback, rate limit off.

N simulated students (200 by default) run AutoMark's client sequence at once
against ``python -m grader serve`` started in a subprocess with a fresh
database: ``check_sum`` and ``load_tests`` once, then for every graded function
``check_sum``, ``get_test_input``, the answer (the reference's, or a wrong one
for every seventh student and function), ``check_answer``; then
``get_progress``. Three phases:

1. *paced*: each student pauses a random 0-``THINK_SECONDS`` between requests
   (a person runs local tests and reads the output; the offered load, about
   1,000 requests/s, stays below capacity) and, as the course's client does,
   opens a new connection for every request (``requests.get``): the latencies
   per endpoint, judged against issue 22's 10 ms;
2. *saturated*: the same sequence with no pause at all, 200 requests always in
   flight: requests per second. Here a request mostly waits for the ~199
   ahead of it (Little's law: latency = in flight / throughput), so these
   latencies measure the queue, not the server;
3. *check_answer only*: every student first takes a fresh input for every
   function (untimed; an input is judged once), then answers them back to back:
   ``check_answer`` per second, the throughput target.

Then :mod:`bench.server_students` runs the course client's loop (a new connection
per request) and reports the server's own CPU per request at the start and the end
of a long run, :mod:`bench.server_peer` the same loop against the original AutoMark
server (when its code can be found), and :mod:`bench.server_hostile` measures
``check_sum`` while another client sends the longest request the server accepts, in a loop.

Afterwards the database must hold exactly one attempt per judged request and one
progress row per student and function, each in the state the answers earned.

The load generator runs in this process: uvloop and a minimal HTTP/1.1 client
over asyncio streams, a connection per request in phase 1 and kept alive in 2 and 3
(far lighter than a general client, which matters when it shares the 2 cores with the
server). Latency is measured at the client, from opening the connection (phase 1) or
writing the request to reading the last byte of the response.
Paths are encoded as the course's client does (``requests.utils.requote_uri``).
Every run is bounded: ``LOAD_SECONDS`` for the whole load, then the server is stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.kit import ROOT
from bench.rows import Row, seconds_below
from bench.settings import Settings

SECTION = "server"
STUDENTS, QUICK_STUDENTS = 200, 20
WORKERS = (1, 2)
WRONG_EVERY = 7
LOAD_SECONDS = 300.0
THINK_SECONDS = 0.3
P99_TARGET = seconds_below(0.010)   # issue 22: paced, 200 students, ~1,000 req/s
CHECK_TARGET = seconds_below(1 / 2000)  # >= 2,000 check_answer per second
ENDPOINTS = ("check_sum", "load_tests", "get_test_input", "check_answer", "get_progress")


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole responses."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port, limit=1 << 20))

    async def get(self, path: str) -> tuple[int, bytes]:
        self.writer.write(b"GET " + path.encode("ascii") + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def as_requests_get(port: int, target: bytes) -> bytes:
    """A GET as ``requests.get`` makes it: a new connection, ``Connection: keep-alive``, the
    response read to its ``Content-Length`` (to the end without one), then the client closes.
    (``Connection: close`` instead costs our server about 20 us less CPU per request.)"""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n"
                     b"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return head + await reader.readexactly(int(value))
        return head + await reader.read()
    finally:
        writer.close()


class NewConnections:
    """The course's client: :meth:`get` opens a new connection for every request."""

    def __init__(self, port: int):
        self.port = port

    async def get(self, path: str) -> tuple[int, bytes]:
        head, _, body = (await as_requests_get(self.port, path.encode("ascii"))).partition(
            b"\r\n\r\n")
        return int(head.split(None, 2)[1]), body

    def close(self) -> None:
        pass


class Load:
    """Latencies per endpoint and what each student was told."""

    def __init__(self, think: float = 0.0, seed: int = 0, *, new_connections: bool = False):
        self.new_connections = new_connections   # a connection per request, as requests.get
        self.latency = defaultdict(list)
        self.verdicts = {}   # (student, function) -> whether any answer was right
        self.errors = []
        self.think = think
        self.rng = np.random.default_rng(seed)

    async def connect(self, port: int) -> Connection | NewConnections:
        return NewConnections(port) if self.new_connections else await Connection.open(port)

    async def timed(self, connection: Connection | NewConnections, endpoint: str,
                    path: str) -> bytes:
        if self.think:
            await asyncio.sleep(self.rng.uniform(0.0, self.think))
        start = time.perf_counter()
        status, body = await connection.get(path)
        self.latency[endpoint].append(time.perf_counter() - start)
        if status != 200:
            self.errors.append(f"{endpoint} {status} {body[:200]!r}")
        return body


def answer_for(task, payload: dict, wrong: bool) -> str:
    """The client's ``json.dumps(np.array(result).tolist())`` for the reference's result."""
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in payload.items()}
    result = np.asarray(task.reference(**case), dtype=float)
    return json.dumps((result + 1.0 if wrong else result).tolist())


async def student(port: int, username: str, tasks, load: Load, md5: str, index: int) -> None:
    """AutoMark's client sequence for every task."""
    from requests.utils import requote_uri
    connection = await load.connect(port)
    try:
        await load.timed(connection, "check_sum", "/check_sum/" + "0" * 32)
        await load.timed(connection, "load_tests", f"/load_tests/{username}")
        for position, task in enumerate(tasks):
            await load.timed(connection, "check_sum", f"/check_sum/{md5}")
            data = json.loads(await load.timed(connection, "get_test_input",
                                               f"/get_test_input/{username}/{task.name}"))
            wrong = (index + position) % WRONG_EVERY == 0
            answer = answer_for(task, data["input"], wrong)
            path = requote_uri(f"/check_answer/{username}/{task.name}/{data['ipd']}/{answer}")
            verdict = json.loads(await load.timed(connection, "check_answer", path))
            key = (username, task.name)
            load.verdicts[key] = load.verdicts.get(key, False) or verdict["success"]
        await load.timed(connection, "get_progress", f"/get_progress/{username}")
    finally:
        connection.close()


async def fresh_paths(port: int, username: str, tasks, index: int) -> list[str]:
    """Phase 3's requests (untimed): a new input for every function, answered as before."""
    from requests.utils import requote_uri
    connection = await Connection.open(port)
    paths = []
    try:
        for position, task in enumerate(tasks):
            _, body = await connection.get(f"/get_test_input/{username}/{task.name}")
            data = json.loads(body)
            answer = answer_for(task, data["input"], (index + position) % WRONG_EVERY == 0)
            paths.append(requote_uri(f"/check_answer/{username}/{task.name}/{data['ipd']}/{answer}"))
    finally:
        connection.close()
    return paths


async def answer_all(port: int, paths: list[str], load: Load) -> None:
    """Phase 3: check_answer requests back to back on one connection."""
    connection = await Connection.open(port)
    try:
        for path in paths:
            await load.timed(connection, "check_answer", path)
    finally:
        connection.close()


async def sequence(port, usernames, tasks, md5, load: Load) -> float:
    """Every student's sequence at once; the seconds it took."""
    start = time.perf_counter()
    await asyncio.gather(*(student(port, name, tasks, load, md5, i)
                           for i, name in enumerate(usernames)))
    return time.perf_counter() - start


async def drive(port: int, usernames: list[str], tasks, md5: str) -> dict:
    """The three phases; ``{phase: (Load, seconds)}``."""
    paced, saturated, again = Load(think=THINK_SECONDS, new_connections=True), Load(), Load()
    paced_seconds = await sequence(port, usernames, tasks, md5, paced)
    saturated.verdicts = paced.verdicts
    saturated_seconds = await sequence(port, usernames, tasks, md5, saturated)
    fresh = await asyncio.gather(*(fresh_paths(port, name, tasks, i)
                                   for i, name in enumerate(usernames)))
    start = time.perf_counter()
    await asyncio.gather(*(answer_all(port, paths, again) for paths in fresh))
    return {"paced": (paced, paced_seconds), "saturated": (saturated, saturated_seconds),
            "check_answer only": (again, time.perf_counter() - start)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen:
    """``python -m grader serve`` on loopback, rate limit off; returns once it answers."""
    command = [sys.executable, "-m", "grader", "serve", "--port", str(port), "--data",
               str(folder / "data"), "--roster", str(folder / "students.csv"),
               "--rate-limit-seconds", "0", "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=open(folder / "server.log", "w"), start_new_session=True)
    return answering(process, port, folder / "server.log", "the server")


def answering(process: subprocess.Popen, port: int, log: Path, name: str) -> subprocess.Popen:
    """``process`` once it answers ``GET /check_sum/x`` on ``port``; killed after 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-800:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                probe.sendall(b"GET /check_sum/x HTTP/1.1\r\nHost: b\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not answer within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def accounting(database: Path, phases: dict) -> tuple[bool, str]:
    """Every judged check_answer is one attempt; every (student, function) one progress row
    in the state its answers earned."""
    loads = [load for load, _ in phases.values()]
    n_checks = sum(len(load.latency["check_answer"]) for load in loads)
    errors = sum(len(load.errors) for load in loads)
    with sqlite3.connect(database) as db:
        attempts = db.execute("SELECT count(*) FROM attempts").fetchone()[0]
        progress = dict(((u, f), s) for u, f, s in
                        db.execute("SELECT username, function, state FROM progress"))
    want = {key: "completed" if ok else "attempted" for key, ok in loads[0].verdicts.items()}
    ok = attempts == n_checks and progress == want and not errors
    return ok, (f"attempts {attempts}/{n_checks}, progress rows {len(progress)}/{len(want)}, "
                f"states {'match' if progress == want else 'DIFFER'}, errors {errors}")


def measure(settings: Settings, n_students: int, workers: int, tasks) -> list[Row]:
    from grader.server.cases import build_local_tests
    md5 = build_local_tests(tasks).md5
    usernames = [f"bench{i:04d}" for i in range(n_students)]
    with tempfile.TemporaryDirectory(prefix="bench-server-") as scratch:
        folder = Path(scratch)
        (folder / "students.csv").write_text(
            "username,name,email\n" + "".join(f"{u},Student {u},{u}@example.org\n" for u in usernames))
        port = free_port()
        server = start_server(folder, port, workers)
        try:
            phases = asyncio.run(asyncio.wait_for(drive(port, usernames, tasks, md5), LOAD_SECONDS))
        finally:
            stop_server(server)
        ok, check = accounting(folder / "data" / "server.sqlite", phases)
    return rows_of(settings, phases, n_students, workers, ok, check)


def _percentiles(samples) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def rows_of(settings, phases: dict, n: int, workers: int, ok: bool, check: str) -> list[Row]:
    label = f"{n} students, {workers} worker{'s' if workers > 1 else ''}"
    extra = {"workers": workers, "students": n}
    again, again_seconds = phases["check_answer only"]
    rate = len(again.latency["check_answer"]) / again_seconds
    saturated, saturated_seconds = phases["saturated"]
    n_requests = sum(len(v) for v in saturated.latency.values())
    mixed = n_requests / saturated_seconds
    checks_saturated = len(saturated.latency["check_answer"]) / saturated_seconds
    paced, paced_seconds = phases["paced"]
    paced_rate = sum(len(v) for v in paced.latency.values()) / paced_seconds
    settings.say(f"  {SECTION} {label}: {rate:.0f} check_answer/s alone, {mixed:.0f} requests/s "
                 f"saturated, {paced_rate:.0f} requests/s paced; {check}")
    rows = [Row(SECTION, f"check_answer alone, {label}", 1 / rate, target=CHECK_TARGET,
                check=check if ok else "LOST OR WRONG: " + check,
                note=f"{rate:.0f} check_answer/s ({len(again.latency['check_answer'])} in "
                     f"{again_seconds:.2f} s, {n} connections)",
                extra={**extra, "check_answer_per_second": rate, "accounted": ok}),
            Row(SECTION, f"whole sequence saturated, {label}", 1 / mixed,
                note=(f"{mixed:.0f} requests/s, {checks_saturated:.0f} check_answer/s "
                      f"({n_requests} requests in {saturated_seconds:.2f} s)"),
                extra={**extra, "requests_per_second": mixed})]
    for endpoint in ENDPOINTS:
        p50, p99 = _percentiles(paced.latency[endpoint])
        s50, s99 = _percentiles(saturated.latency[endpoint])
        rows.append(Row(SECTION, f"{endpoint} p99 paced, {label}", p99, target=P99_TARGET,
                        note=(f"p50 {p50 * 1e3:.1f} ms ({len(paced.latency[endpoint])} requests, "
                              f"{paced_rate:.0f} req/s offered, a new connection each); "
                              f"saturated (kept-alive connections) p50/p99 "
                              f"{s50 * 1e3:.0f}/{s99 * 1e3:.0f} ms"),
                        extra={**extra, "p50_seconds": p50, "p99_seconds": p99,
                               "saturated_p50_seconds": s50, "saturated_p99_seconds": s99,
                               "paced_requests_per_second": paced_rate}))
    return rows


def run(settings: Settings) -> list[Row]:
    from grader.core.tasks import TASKS
    n = QUICK_STUDENTS if settings.quick else int(os.environ.get("BENCH_SERVER_STUDENTS", STUDENTS))
    workers = WORKERS[-1:] if settings.quick else WORKERS
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        settings.say("  uvloop is missing: the load generator uses asyncio's own loop")
    from bench import server_hostile, server_peer, server_students
    rows = [row for count in workers for row in measure(settings, n, count, TASKS)]
    students = server_students.run(settings)
    return rows + students + server_peer.run(settings, students) + server_hostile.run(settings)

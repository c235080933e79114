"""Section 6, student-like rows: the server's own CPU per request, and whether it grows.

Each simulated student behaves like the course's client: a new TCP connection per
request (as ``requests.get`` makes), ``get_test_input`` then ``check_answer`` (a wrong
answer every :data:`WRONG_EVERY`-th round), every 5th round ``get_progress``; no pause.
Against our server each round starts, as the kit's client does, with a local-check record
(``/record_local_check``, passed); with no pause most are refused by that endpoint's bound
(40 per user per minute), cheaply, and counted apart from the errors.
Each student keeps to one function (``tasks[i % n]``), so its history for that function
grows by one input per round: the shape that made each request slower as a course went
on. The load generator shares the machine's cores, so the server is judged by its own
CPU: the CPU seconds of its process tree (the server and its workers, read from
``/proc/<pid>/stat``) divided by the requests it answered, over the first and the last
:data:`WINDOW_SHARE` of a long run. A single student's ``check_answer``/s is reported
too. :mod:`bench.server_peer` runs the same loop against the original AutoMark server, in
the same run. Bounded: :data:`ROUNDS_CAP` rounds per student and a
time limit per phase; loopback only.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.rows import Row, seconds_below
from bench.server import (
    SECTION,
    WRONG_EVERY,
    answer_for,
    as_requests_get,
    free_port,
    start_server,
    stop_server,
)
from bench.server_hostile import one_request
from bench.settings import Settings

WORKERS = 2
CLASS_STUDENTS, QUICK_CLASS_STUDENTS = 50, 10
CLASS_SECONDS, QUICK_CLASS_SECONDS = 240.0, 30.0
SINGLE_SECONDS, QUICK_SINGLE_SECONDS = 20.0, 5.0
ROUNDS_CAP = 100_000
PROGRESS_EVERY = 5
SAMPLE_SECONDS = 1.0
WINDOW_SHARE = 0.2       # the first and the last fifth of the run are compared
CPU_TARGET = seconds_below(150e-6)   # the goal: at most 150 us of server CPU per request
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
LOOP = "student-like loop"


def tree_cpu_seconds(group: int) -> float:
    """CPU seconds (user + system, with reaped children) of every process in ``group``.

    The server is started in a session of its own, so its process group is its tree.
    """
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:      # the process ended meanwhile
            continue
        if int(fields[2]) == group:        # field 5, pgrp (fields here start at 3, state)
            total += sum(int(value) for value in fields[11:15])   # utime stime cutime cstime
    return total / CLOCK_TICK


class Counts:
    """Requests answered and the server's CPU, sampled while the students run."""

    def __init__(self, group: int, *, kit_client: bool = True):
        self.group = group
        self.kit_client = kit_client   # False: the original server, which knows AutoMark's calls only
        self.requests = self.check_answers = self.errors = self.refused_records = 0
        self.rounds: dict[str, int] = {}
        self.samples: list[tuple[float, float, int, int]] = []  # (time, cpu, requests, rounds)

    def sample(self) -> None:
        self.samples.append((time.perf_counter(), tree_cpu_seconds(self.group), self.requests,
                             max(self.rounds.values(), default=0)))

    async def get(self, port: int, target: str) -> bytes:
        response = await as_requests_get(port, target.encode("ascii"))
        self.requests += 1
        if not response.startswith(b"HTTP/1.1 200"):
            self.errors += 1
        return response.partition(b"\r\n\r\n")[2]


async def student(port: int, username: str, task, counts: Counts, stop: asyncio.Event) -> None:
    """The course's client, round after round, on one function."""
    from requests.utils import requote_uri
    for turn in range(1, ROUNDS_CAP + 1):
        if stop.is_set():
            return
        if counts.kit_client:  # the kit's client records the local check first (local_record)
            reply = await one_request(port, f"/record_local_check/{username}/{task.name}/1/".encode())
            counts.requests += 1
            counts.refused_records += not reply.startswith(b"HTTP/1.1 200")  # 40/min/user kept
        data = json.loads(await counts.get(port, f"/get_test_input/{username}/{task.name}"))
        answer = answer_for(task, data["input"], turn % WRONG_EVERY == 0)
        await counts.get(port, requote_uri(
            f"/check_answer/{username}/{task.name}/{data['ipd']}/{answer}"))
        counts.check_answers += 1
        counts.rounds[username] = turn
        if turn % PROGRESS_EVERY == 0:
            await counts.get(port, f"/get_progress/{username}")


async def drive(port: int, usernames: list[str], tasks, counts: Counts, seconds: float) -> None:
    stop = asyncio.Event()
    students = [asyncio.ensure_future(student(port, name, tasks[i % len(tasks)], counts, stop))
                for i, name in enumerate(usernames)]
    counts.sample()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not all(job.done() for job in students):
        await asyncio.sleep(SAMPLE_SECONDS)
        counts.sample()
    stop.set()
    await asyncio.gather(*students)


def per_request(samples: list, first: int, last: int) -> tuple[float, int]:
    """Server CPU seconds per request between two samples, and the requests counted."""
    (_, cpu0, n0, _), (_, cpu1, n1, _) = samples[first], samples[last]
    return (cpu1 - cpu0) / max(1, n1 - n0), n1 - n0


def start_ours(folder: Path, port: int, usernames: list[str], tasks) -> subprocess.Popen:
    """``python -m grader serve`` with these students, :data:`WORKERS` workers."""
    (folder / "students.csv").write_text(
        "username,name,email\n" + "".join(f"{u},Student {u},\n" for u in usernames))
    return start_server(folder, port, WORKERS)


def run_phase(n_students: int, seconds: float, tasks, *, start=start_ours,
              kit_client: bool = True) -> Counts:
    """The loop for ``seconds`` against the server ``start(folder, port, usernames, tasks)``
    starts (in a session of its own) in a fresh temporary folder."""
    usernames = [f"learner{i:04d}" for i in range(n_students)]
    with tempfile.TemporaryDirectory(prefix="bench-students-") as scratch:
        folder = Path(scratch)
        port = free_port()
        server = start(folder, port, usernames, tasks)
        try:
            counts = Counts(os.getpgid(server.pid), kit_client=kit_client)
            asyncio.run(asyncio.wait_for(drive(port, usernames, tasks, counts, seconds),
                                         seconds + 60))
        finally:
            stop_server(server)
    return counts


def class_rows(counts: Counts, n_students: int) -> list[Row]:
    samples = counts.samples
    window = max(1, int(len(samples) * WINDOW_SHARE))
    start, n_start = per_request(samples, 0, window)
    end, n_end = per_request(samples, len(samples) - 1 - window, len(samples) - 1)
    whole, n_all = per_request(samples, 0, len(samples) - 1)
    seconds = samples[-1][0] - samples[0][0]
    history = samples[-1][3]
    shape = (f"{n_students} students, {WORKERS} workers, a new connection per request, no pause; "
             f"{n_all} requests in {seconds:.0f} s ({n_all / seconds:.0f}/s), up to {history} "
             f"inputs per student and function, {counts.errors} errors")
    extra = {"students": n_students, "workers": WORKERS, "requests": n_all,
             "requests_per_second": n_all / seconds, "history": history, "errors": counts.errors,
             "refused_records": counts.refused_records}   # local-check records past 40/min/user
    return [Row(SECTION, f"{LOOP}: server CPU per request, first {WINDOW_SHARE:.0%}",
                start, target=CPU_TARGET, note=f"{n_start} requests; " + shape,
                extra={**extra, "window_requests": n_start}),
            Row(SECTION, f"{LOOP}: server CPU per request, last {WINDOW_SHARE:.0%}",
                end, target=CPU_TARGET, baseline=f"first {WINDOW_SHARE:.0%} of the same run",
                baseline_seconds=start, note=f"{n_end} requests; " + shape,
                extra={**extra, "window_requests": n_end, "whole_run_seconds": whole})]


def single_row(counts: Counts) -> Row:
    samples = counts.samples
    seconds = samples[-1][0] - samples[0][0]
    cpu, n = per_request(samples, 0, len(samples) - 1)
    rate = counts.check_answers / seconds
    return Row(SECTION, f"{LOOP}: 1 student, seconds per check_answer", 1 / rate,
               note=(f"{rate:.0f} check_answer/s, {n} requests in {seconds:.1f} s, server CPU "
                     f"{cpu * 1e6:.0f} us per request, {counts.errors} errors"),
               extra={"check_answer_per_second": rate, "cpu_per_request_seconds": cpu,
                      "errors": counts.errors})


def run(settings: Settings) -> list[Row]:
    from grader.core.tasks import TASKS
    quick = settings.quick
    single = run_phase(1, QUICK_SINGLE_SECONDS if quick else SINGLE_SECONDS, TASKS[:1])
    n_students = QUICK_CLASS_STUDENTS if quick else CLASS_STUDENTS
    many = run_phase(n_students, QUICK_CLASS_SECONDS if quick else CLASS_SECONDS, TASKS)
    rows = [single_row(single)] + class_rows(many, n_students)
    for row in rows:
        settings.say(f"  {SECTION} {row.name}: {row.ours_seconds * 1e6:.0f} us; {row.note}")
    return rows

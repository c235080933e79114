"""Section 6, last rows: does one hostile client stall the others?

A probe sends ``check_sum`` on a new connection per request (as the course's
client does) and times each; first alone (the baseline, measured in this run),
then while a hostile client sends, in a loop, the longest request the server
accepts: ``check_answer`` with an answer of :data:`MAX_ANSWER_CHARS` of JSON with
every character percent-encoded (3 MiB), to a fresh input each time (so each one
is decoded, parsed and judged, the most work a request can cause), also on a new
connection per request. The server runs with the rate limit off (with it on, a
user gets one such request judged per window). Reported: the probe's p99 under
the hostile loop as a ratio to its p99 alone, with the shape that produced it.
Bounded: :data:`HOSTILE_REQUESTS` requests or :data:`HOSTILE_SECONDS`, loopback only.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np

from bench.rows import Row
from bench.server import SECTION, free_port, start_server, stop_server
from bench.settings import Settings

PROBES_ALONE = 300
PROBE_PAUSE = 0.005
HOSTILE_REQUESTS, QUICK_HOSTILE_REQUESTS = 60, 10
HOSTILE_SECONDS = 60.0


async def one_request(port: int, target: bytes) -> bytes:
    """A GET on a new connection (``Connection: close``); the whole response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()


async def probe(port: int, latencies: list, until) -> None:
    """``check_sum`` on a new connection each, until ``until()`` is true."""
    while not until():
        start = time.perf_counter()
        response = await one_request(port, b"/check_sum/" + b"0" * 32)
        latencies.append(time.perf_counter() - start)
        if not response.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"check_sum failed: {response[:200]!r}")
        await asyncio.sleep(PROBE_PAUSE)


def longest_answer() -> bytes:
    """The longest answer accepted: 1 MiB of JSON, every character as %XX (3 MiB)."""
    from grader.server.limits import MAX_ANSWER_CHARS
    answer = "[" + "0," * ((MAX_ANSWER_CHARS - 3) // 2) + "0]"
    return quote(answer, safe="").replace("0", "%30").encode("ascii")


async def hostile(port: int, n_requests: int, sizes: list, deadline: float) -> None:
    answer = longest_answer()  # built once: the probe shares this process's loop
    for _ in range(n_requests):
        if time.monotonic() > deadline:
            break
        response = await one_request(port, b"/get_test_input/mallory/conv_matrix")
        ipd = json.loads(response.partition(b"\r\n\r\n")[2])["ipd"]
        target = f"/check_answer/mallory/conv_matrix/{ipd}/".encode("ascii") + answer
        response = await one_request(port, target)
        if not response.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"the longest answer was not judged: {response[:300]!r}")
        sizes.append(len(target))


async def drive(port: int, n_hostile: int) -> dict:
    alone: list[float] = []
    await probe(port, alone, lambda: len(alone) >= PROBES_ALONE)
    under: list[float] = []
    sizes: list[int] = []
    done = asyncio.Event()
    start = time.perf_counter()

    async def attack():
        try:
            await hostile(port, n_hostile, sizes, time.monotonic() + HOSTILE_SECONDS)
        finally:
            done.set()

    await asyncio.gather(attack(), probe(port, under, done.is_set))
    return {"alone": alone, "under": under, "sizes": sizes,
            "seconds": time.perf_counter() - start}


def run(settings: Settings) -> list[Row]:
    n_hostile = QUICK_HOSTILE_REQUESTS if settings.quick else HOSTILE_REQUESTS
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch:
        folder = Path(scratch)
        (folder / "students.csv").write_text("username,name,email\nmallory,Mallory,\n")
        port = free_port()
        server = start_server(folder, port, 1)
        try:
            result = asyncio.run(asyncio.wait_for(drive(port, n_hostile), 3 * HOSTILE_SECONDS))
        finally:
            stop_server(server)
    alone, under = np.array(result["alone"]), np.array(result["under"])
    p99_alone, p99_under = float(np.percentile(alone, 99)), float(np.percentile(under, 99))
    n, size = len(result["sizes"]), max(result["sizes"], default=0)
    shape = (f"{n} check_answer of {size / 2**20:.2f} MiB (1 MiB answer, every character %XX), "
             f"each on a new connection, {n / result['seconds']:.1f}/s; probe p50 "
             f"{np.median(under) * 1e3:.1f} ms vs {np.median(alone) * 1e3:.1f} ms alone, "
             f"{len(under)} vs {len(alone)} probes, 1 worker, rate limit off")
    settings.say(f"  {SECTION} check_sum p99 {p99_under * 1e3:.1f} ms under the longest requests, "
                 f"{p99_alone * 1e3:.1f} ms alone; {shape}")
    return [Row(SECTION, "check_sum p99 while another client sends the longest request",
                p99_under, baseline="check_sum p99 alone, same run", baseline_seconds=p99_alone,
                check=f"{n} longest requests judged (200)", note=shape,
                extra={"hostile_requests": n, "hostile_bytes": size, "probes": len(under),
                       "p99_alone_seconds": p99_alone, "p99_under_seconds": p99_under})]

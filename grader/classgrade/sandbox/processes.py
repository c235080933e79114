"""The processes of sandboxed code: whose uid they run as, and reading what they send.

Graded as root, the student's code runs as an unprivileged uid of its own, one
per grading thread, so that the process limit holds per submission, no two
submissions graded at once can touch each other's processes, and everything
left running by that uid can be killed: here (:func:`kill_uid`, which waits
until they are gone) and inside the sandbox (``inside/uid_processes.py``).
"""

from __future__ import annotations

import itertools
import os
import selectors
import threading
import time

UID_BASE = 100_000
THREAD_SLOTS = 64   # grading threads per process with a uid of their own

_slots = itertools.count()
_local = threading.local()


def sandbox_uid() -> int:
    """The unprivileged uid of this thread's submissions (unique among running graders).

    A pool process grades with one thread; a Dask worker may run several, each of
    which gets its own uid (up to ``THREAD_SLOTS`` per process).
    """
    slot = getattr(_local, "slot", None)
    if slot is None:
        slot = _local.slot = next(_slots) % THREAD_SLOTS
    return UID_BASE + os.getpid() * THREAD_SLOTS + slot


def pump(stream, deadline: float, receive, until=lambda: False) -> str:
    """Feed what ``stream`` (a pipe) carries to ``receive`` until one of four things.

    Returns:
        ``"until"`` once ``until()`` is true, ``"eof"`` at the end of the stream,
        ``"refused"`` when ``receive(data)`` returned False, ``"timeout"`` past ``deadline``
        (a ``time.monotonic()`` value).
    """
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            if not selector.select(timeout=min(remaining, 1.0)):
                continue
            data = os.read(stream.fileno(), 1 << 16)
            if not data:
                return "eof"
            if not receive(data):
                return "refused"
    return "until"


def kill_uid(uid: int, rounds: int = 20) -> int:
    """SIGKILL every process of ``uid`` (as root); returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                    uids = next((line.split()[1:] for line in f if line.startswith("Uid:")), [])
            except OSError:
                continue
            if str(uid) in uids:
                found.append(int(entry.name))
        for pid in found:
            try:
                os.kill(pid, 9)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        if not found:
            break
        time.sleep(0.01)
    return killed


def die_with_parent() -> None:
    """In a child before exec: be killed when the grading process dies (Linux only)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass

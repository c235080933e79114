"""CPU time of this process and everything it starts, however deep and whoever reaps it.

``grade_class``'s own rusage never sees the sandbox's processes (bubblewrap reaps them), so
grading's CPU is counted by the kernel: graded as root where cgroup v1's ``cpuacct``
controller is mounted, this process moves into a cgroup of its own for the measure, and
everything it starts is counted there and nowhere else (other sessions on the machine do not
disturb the figure). Elsewhere the whole machine's CPU is read from ``/proc/stat``, so the
machine must be quiet. (On cgroup v2 the sandbox moves each submission into a memory cgroup
of its own, out of any cgroup this process could count, so v2 also reads ``/proc/stat``.)
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def system_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent (user, nice, system, irq, softirq)."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(value) for value in handle.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _own_cpuacct() -> Path | None:
    """This process's cpuacct cgroup folder, when it can make one beneath it."""
    if os.geteuid() != 0 or not (CPUACCT / "cpuacct.usage").exists():
        return None
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            return CPUACCT / path.lstrip("/")
    return None


@contextmanager
def cpu_meter():
    """Yields ``(read, how)``: ``read()`` gives CPU seconds so far, ``how`` names the meter."""
    home = _own_cpuacct()
    folder = home / f"automark-bench-{os.getpid()}" if home is not None else None
    try:
        folder.mkdir()
        (folder / "cgroup.procs").write_text(str(os.getpid()))
    except (OSError, AttributeError):
        folder = None
    if folder is None:
        start = system_cpu_seconds()
        yield (lambda: system_cpu_seconds() - start), "system-wide (/proc/stat)"
        return
    try:
        yield (lambda: int((folder / "cpuacct.usage").read_text()) / 1e9), "cgroup (cpuacct)"
    finally:
        (home / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(100):
            try:
                folder.rmdir()
                break
            except OSError:  # a child still leaving
                import time
                time.sleep(0.05)

"""The trusted side of the sandbox: stage a submission, run the worker, read back answers.

The worker runs in bubblewrap (:mod:`.modes`) or, when asked for, as a plain
subprocess. Graded as root, in either mode, it becomes an unprivileged user
of its own (:func:`sandbox_uid`), so that the process limit holds per
submission, no two submissions graded at once can touch each other's
processes, and everything left running by that uid is killed afterwards.

What comes back is read without following links, bounded in size, and decoded
by :mod:`grader.core.wire`. Nothing is compared here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


from grader.core import wire
from grader.classgrade.sandbox.modes import bwrap_command, sandbox_env
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.staging import stage

WORKER = Path(__file__).with_name("worker.py")


def sandbox_uid() -> int:
    """An unprivileged uid for this grading process's submissions (unique while it runs)."""
    return 100_000 + os.getpid()


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


MAX_STREAM_BYTES = 64 << 20   # everything one function sends back
MAX_ANSWER_VALUES = 1 << 20   # float64 values in one answer (8 MB)


@dataclass(frozen=True)
class RawTask:
    """What the sandbox reported for one task, before any comparison.

    Attributes:
        name: the task.
        outcomes: the calls' outcomes, consecutive from case 0.
        problem: ``(status, message)`` when no case ran (``wire.MISSING``, ``wire.NOT_SUBMITTED``).
        ended: how the task's process ended: exit | signal | task_timeout | not_run.
        signal: the signal that ended it, if any.
        damage: why its stream could not be read to the end ("" if it could).
        load_notes: statements that failed to load (the load probe's stream).
    """

    name: str
    outcomes: tuple = ()
    problem: tuple[str, str] | None = None
    ended: str = "not_run"
    signal: str = ""
    damage: str = ""
    load_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxRun:
    """One submission's run: per-task raw results, the mode used, and any failure."""

    tasks: dict = field(default_factory=dict)
    mode: str = "plain"
    seconds: float = 0.0
    error: str = ""
    load_error: str = ""
    load_notes: tuple[str, ...] = ()


def safe_read(root: Path, parts: tuple[str, ...], limit: int) -> bytes | None:
    """Read root/parts... without following any link; None if absent, not a file or too big."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fds = []
    try:
        fds.append(os.open(root, flags | getattr(os, "O_DIRECTORY", 0)))
        for part in parts[:-1]:
            fds.append(os.open(part, flags | getattr(os, "O_DIRECTORY", 0), dir_fd=fds[-1]))
        fd = os.open(parts[-1], flags | getattr(os, "O_NONBLOCK", 0), dir_fd=fds[-1])
        fds.append(fd)
        info = os.fstat(fd)
        if not (info.st_mode & 0o170000 == 0o100000) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(limit + 1)[:limit]
    except OSError:
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _clean(text, limit=600) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text[:limit]


def _read_task(io_dir: Path, name: str, n_cases: int, ending: dict | None) -> RawTask:
    data = safe_read(io_dir, ("answers", f"{name}.bin"), MAX_STREAM_BYTES) or b""
    decoded = wire.decode_outcomes(data, n_cases=n_cases, max_values=MAX_ANSWER_VALUES)
    outcomes = []
    while len(outcomes) in decoded.outcomes:  # consecutive from case 0; a gap ends the list
        outcomes.append(decoded.outcomes[len(outcomes)])
    ended, signal_name = "not_run", ""
    if isinstance(ending, dict):
        ended = _clean(ending.get("ended", "not_run"), 20)
        signal_name = _clean(ending.get("signal", ""), 20) if ended == "signal" else ""
    notes = tuple(message for status, message in decoded.problems if status == wire.LOAD_ERROR)
    problem = next((p for p in decoded.problems if p[0] != wire.LOAD_ERROR), None)
    return RawTask(name=name, outcomes=tuple(outcomes), problem=problem, ended=ended,
                   signal=signal_name, damage=decoded.damage, load_notes=notes)


def _endings(io_dir: Path) -> dict:
    raw = safe_read(io_dir, ("endings.json",), 64 << 10)
    try:
        entries = json.loads(raw) if raw else []
        return {e["task"]: e for e in entries if isinstance(e, dict) and "task" in e}
    except (ValueError, TypeError, RecursionError):
        return {}


def run_in_sandbox(submission, chunks: list, cases_by_task: dict, limits: Limits, *,
                   workdir: Path, mode: str) -> SandboxRun:
    """Run one submission's functions on the given cases.

    Args:
        submission: a :class:`grader.submissions.Submission`.
        chunks: the definitions to execute, ``[{"origin", "source"}]``.
        cases_by_task: ``{Task: (case inputs, n_local)}``, local cases first.
        limits: the resource limits.
        workdir: an empty scratch folder for this run (removed by the caller).
        mode: ``"bwrap"`` or ``"plain"``.

    Returns:
        A :class:`SandboxRun`; a crash of the whole run is reported in ``error``.
    """
    run_as = sandbox_uid() if os.geteuid() == 0 else None
    stage(submission, chunks, cases_by_task, limits, workdir, WORKER, chown_to=run_as)
    start = time.perf_counter()
    try:
        error = launch(workdir, mode, "worker.py", limits.submission_seconds)
    finally:
        if run_as is not None:
            kill_uid(run_as)
    endings = _endings(workdir / "io")
    load = _read_task(workdir / "io", "__load__", 0, endings.get("__load__"))
    tasks = {task.name: _read_task(workdir / "io", task.name, len(cases),
                                   endings.get(task.name))
             for task, (cases, _) in cases_by_task.items()}
    return SandboxRun(tasks=tasks, mode=mode, seconds=time.perf_counter() - start, error=error,
                      load_error=_load_problem(load, limits), load_notes=load.load_notes)


def launch(workdir: Path, mode: str, script: str, seconds: float) -> str:
    """Run ``script`` on a staged ``workdir`` in the sandbox; returns "" or what went wrong."""
    if mode == "bwrap":
        command, env, cwd = bwrap_command(workdir, script), None, None
    else:
        command = [sys.executable, "-I", str(workdir / "bin" / script), str(workdir / "code"),
                   str(workdir / "io")]
        env = sandbox_env() | {"HOME": str(workdir / "io"), "TMPDIR": str(workdir / "io"),
                               "MPLCONFIGDIR": str(workdir / "io")}
        cwd = str(workdir / "code")
    error = ""
    with open(workdir / "worker.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            error = f"the whole submission ran longer than {seconds:g} s and was stopped"
        finally:
            _kill_session(process)
    if not error and process.returncode != 0:
        error = f"the sandbox ended with status {process.returncode}: {_tail(workdir / 'worker.log')}"
    return error


def _load_problem(load: RawTask, limits: Limits) -> str:
    if load.ended == "task_timeout":
        return f"loading the code took longer than {limits.load_seconds:g} s"
    if load.ended == "signal":
        return f"loading the code was killed by {load.signal}"
    return ""


def _kill_session(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _tail(path: Path, limit: int = 300) -> str:
    try:
        return _clean(path.read_bytes()[-limit:].decode("utf-8", "replace"), limit)
    except OSError:
        return ""

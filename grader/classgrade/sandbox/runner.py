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

import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.modes import bwrap_command, sandbox_env
from grader.classgrade.sandbox.staging import stage
from grader.core import wire

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


def _raw_task(name: str, stream: bytes, n_cases: int, ending: dict | None,
              damage: str = "") -> RawTask:
    decoded = wire.decode_outcomes(stream, n_cases=n_cases, max_values=MAX_ANSWER_VALUES)
    outcomes = []
    while len(outcomes) in decoded.outcomes:  # consecutive from case 0; a gap ends the list
        outcomes.append(decoded.outcomes[len(outcomes)])
    ended, signal_name = "not_run", ""
    if isinstance(ending, dict):
        ended = ending.get("ended", "not_run")
        signal_name = ending.get("signal") or "" if ended == "signal" else ""
    notes = tuple(message for status, message in decoded.problems if status == wire.LOAD_ERROR)
    problem = next((p for p in decoded.problems if p[0] != wire.LOAD_ERROR), None)
    return RawTask(name=name, outcomes=tuple(outcomes), problem=problem, ended=ended,
                   signal=signal_name, damage=decoded.damage or damage, load_notes=notes)


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
    scratch = "/tmp" if mode == "bwrap" else str(workdir / "scratch")
    stage(submission, chunks, cases_by_task, limits, workdir, WORKER, chown_to=run_as,
          scratch=scratch)
    start = time.perf_counter()
    demux = wire.Demux(n_tasks=len(cases_by_task) + 1, max_bytes=limits.return_mb << 20)
    try:
        error = launch(workdir, mode, "worker.py", limits.submission_seconds, receive=demux.feed,
                       tmp_mb=limits.tmp_mb, writable_io=False)
    finally:
        if run_as is not None:
            kill_uid(run_as)
    damage = f"the submission {demux.damage}" if demux.damage else ""
    load = _raw_task("__load__", bytes(demux.streams.get(0, b"")), 0, demux.endings.get(0))
    tasks = {task.name: _raw_task(task.name, bytes(demux.streams.get(number, b"")), len(cases),
                                  demux.endings.get(number), damage)
             for number, (task, (cases, _)) in enumerate(cases_by_task.items(), start=1)}
    return SandboxRun(tasks=tasks, mode=mode, seconds=time.perf_counter() - start,
                      error=error or damage, load_error=_load_problem(load, limits),
                      load_notes=load.load_notes)


def launch(workdir: Path, mode: str, script: str, seconds: float, receive=None, *,
           tmp_mb: int = 64, writable_io: bool = True) -> str:
    """Run ``script`` on a staged ``workdir`` in the sandbox; returns "" or what went wrong.

    Args:
        workdir: the staged run (``bin/``, ``code/``, ``io/``, ``scratch/`` in plain mode).
        mode: ``"bwrap"`` or ``"plain"``.
        script: the file in ``bin/`` to run.
        seconds: wall time of the whole run, enforced here.
        receive: ``receive(bytes) -> bool`` takes the script's stdout as it comes (False:
            stop the run); None sends stdout to the log.
        tmp_mb: size of the private /tmp (bwrap).
        writable_io: bind ``io/`` writable (``--execute``); the worker's is read-only.
    """
    if mode == "bwrap":
        command, env, cwd = bwrap_command(workdir, script, tmp_mb, writable_io), None, None
    else:
        scratch = str(workdir / "scratch")
        command = [sys.executable, "-I", str(workdir / "bin" / script), str(workdir / "code"),
                   str(workdir / "io")]
        env = sandbox_env() | {"HOME": scratch, "TMPDIR": scratch, "MPLCONFIGDIR": scratch}
        cwd = str(workdir / "code")
    with open(workdir / "worker.log", "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE if receive else log,
                                   stderr=log, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=die_with_parent)
        try:
            error = _wait(process, seconds, receive)
        finally:
            _kill_session(process)
    if not error and process.returncode != 0:
        error = f"the sandbox ended with status {process.returncode}: {_tail(workdir / 'worker.log')}"
    return error


def _wait(process: subprocess.Popen, seconds: float, receive) -> str:
    """Wait for the run, feeding its stdout to ``receive``; "" or why it was stopped."""
    deadline = time.monotonic() + seconds
    stopped = f"the whole submission ran longer than {seconds:g} s and was stopped"
    if receive is None:
        try:
            process.wait(timeout=seconds)
            return ""
        except subprocess.TimeoutExpired:
            return stopped
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return stopped
            if not selector.select(timeout=min(remaining, 1.0)):
                continue
            data = os.read(process.stdout.fileno(), 1 << 16)
            if not data:
                break
            if not receive(data):
                return ""  # the receiver said why (too much output, a broken stream)
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        return stopped
    return ""


def die_with_parent() -> None:
    """In a child before exec: be killed when the grading process dies (Linux only)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


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
    if process.stdout is not None:
        process.stdout.close()


def _tail(path: Path, limit: int = 300) -> str:
    try:
        return _clean(path.read_bytes()[-limit:].decode("utf-8", "replace"), limit)
    except OSError:
        return ""

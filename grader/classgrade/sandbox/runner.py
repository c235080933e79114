"""The trusted side of the sandbox: stage a submission, have it run, read back answers.

Submissions run in this thread's warm sandbox (:mod:`.warm`), in bubblewrap
(:mod:`.modes`) or, when asked for, as plain subprocesses. Graded as root, in
either mode, the code becomes an unprivileged user of its own
(:func:`.processes.sandbox_uid`), and everything left running by that uid is
killed after each submission. :func:`launch` runs one script in a sandbox of
its own (``grade --execute``).

What comes back is bounded in size and decoded by :mod:`grader.core.wire`;
files are read without following links. Nothing is compared here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.classgrade.sandbox import warm
from grader.classgrade.sandbox.environment import explain, grading_environment
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.modes import sandbox_env, staged_command
from grader.classgrade.sandbox.processes import die_with_parent, pump, sandbox_uid
from grader.classgrade.sandbox.staging import stage
from grader.core import wire

MAX_STREAM_BYTES = 64 << 20   # everything one function sends back
MAX_ANSWER_VALUES = 1 << 20   # float64 values in one answer (8 MB)


class SandboxFailed(RuntimeError):
    """The grader's sandbox failed, not the submission: no verdict can be given (not graded).

    Raised when the sandbox ended twice before it took the submission (it does not start), or
    when its supervisor's stream is damaged (not by its size: that is the submission's doing).
    """


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
        load_notes: statements that failed to load (stream 0, from the first function's child).
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


def _raw_task(name: str, stream: bytes, n_cases: int, ending: dict | None, damage: str = "", *,
              environment=None) -> RawTask:
    """The task's outcomes as decoded; with ``environment``, a message naming a module graded
    code lacks says so (:func:`~.environment.explain`)."""
    decoded = wire.decode_outcomes(stream, n_cases=n_cases, max_values=MAX_ANSWER_VALUES)
    outcomes = []
    while len(outcomes) in decoded.outcomes:  # consecutive from case 0; a gap ends the list
        outcome = decoded.outcomes[len(outcomes)]
        message = explain(outcome.message, environment) if environment else outcome.message
        outcomes.append(outcome if message == outcome.message else replace(outcome, message=message))
    ended, signal_name = "not_run", ""
    if isinstance(ending, dict):
        ended = ending.get("ended", "not_run")
        signal_name = ending.get("signal") or "" if ended == "signal" else ""
    notes = tuple(explain(message, environment) if environment else message
                  for status, message in decoded.problems if status == wire.LOAD_ERROR)
    problem = next((p for p in decoded.problems if p[0] != wire.LOAD_ERROR), None)
    return RawTask(name=name, outcomes=tuple(outcomes), problem=problem, ended=ended,
                   signal=signal_name, damage=decoded.damage or damage, load_notes=notes)


def run_in_sandbox(submission, chunks: list, cases_by_task: dict, limits: Limits, *,
                   mode: str, scratch: Path | None = None) -> SandboxRun:
    """Run one submission's functions on the given cases, in this thread's warm sandbox.

    Args:
        submission: a :class:`grader.submissions.Submission`.
        chunks: the definitions to execute, ``[{"origin", "source"}]``.
        cases_by_task: ``{Task: (case inputs, n_local)}``, local cases first.
        limits: the resource limits.
        mode: ``"bwrap"`` or ``"plain"``.
        scratch: where the sandbox keeps its folder (system default if None).

    Returns:
        A :class:`SandboxRun`; a crash of the whole run is reported in ``error``.

    Raises:
        SandboxFailed: the sandbox itself failed (the submission gets no verdict).
    """
    run_as = sandbox_uid() if os.geteuid() == 0 else None
    start = time.perf_counter()
    for _attempt in (1, 2):  # a sandbox found ended between submissions is replaced once
        sandbox = warm.sandbox_for(mode, limits.tmp_mb, run_as, scratch, limits.packages)
        folder, inside = sandbox.new_folder()
        demux = wire.Demux(n_tasks=len(cases_by_task) + 1, max_bytes=limits.return_mb << 20)
        try:
            stage(submission, chunks, cases_by_task, limits, folder, chown_to=run_as,
                  scratch="/tmp" if mode == "bwrap" else f"{inside}/scratch")
            error = sandbox.grade(folder, demux, limits.submission_seconds)
            break
        except warm.SandboxBroke as broke:
            raise SandboxFailed(str(broke)) from None
        except warm.SandboxGone as gone:
            error = str(gone)
            if _attempt == 2:
                raise SandboxFailed(f"the sandbox ended twice before it took the submission: "
                                    f"{gone}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if demux.damage and demux.held <= demux.max_bytes:
        raise SandboxFailed(f"the sandbox's supervisor sent a damaged stream: {demux.damage}")
    damage = f"the submission {demux.damage}" if demux.damage else ""
    environment = grading_environment(limits.packages)
    load = _raw_task("__load__", bytes(demux.streams.get(0, b"")), 0, demux.endings.get(0),
                     environment=environment)
    tasks = {task.name: _raw_task(task.name, bytes(demux.streams.get(number, b"")), len(cases),
                                  demux.endings.get(number), damage, environment=environment)
             for number, (task, (cases, _)) in enumerate(cases_by_task.items(), start=1)}
    return SandboxRun(tasks=tasks, mode=mode, seconds=time.perf_counter() - start,
                      error=error or damage, load_error=_load_problem(load, limits),
                      load_notes=load.load_notes)


def launch(workdir: Path, mode: str, script: str, seconds: float, receive=None, *,
           tmp_mb: int = 64, writable_io: bool = True, packages: str = "") -> str:
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
        packages: the instructor's extra packages (``Limits.packages``).
    """
    if mode == "bwrap":
        command, env, cwd = staged_command(workdir, script, tmp_mb, writable_io,
                                           packages), None, None
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
    ended = pump(process.stdout, deadline, receive)
    if ended == "timeout":
        return stopped
    if ended == "refused":
        return ""  # the receiver said why (too much output, a broken stream)
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        return stopped
    return ""


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

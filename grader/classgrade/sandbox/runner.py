"""The trusted side of the sandbox: stage a submission, run the worker, read back arrays.

On Linux with bubblewrap the worker sees a read-only system, the Python
installation, its own scratch folders and nothing else: no network, a private
/tmp and PID namespace, not the kit's ``solutions/``, the gradebook or other
submissions. As root it then becomes an unprivileged user of its own
(:func:`sandbox_uid`), so that the process limit holds per submission and no
two submissions graded at once can touch each other's processes. Without bubblewrap it runs as a plain subprocess with the same resource
limits, and :func:`sandbox_mode` says loudly that files are not hidden.

What comes back is read without following links, bounded in size, as plain
arrays (``allow_pickle=False``) and JSON lines. Nothing is compared here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


from grader.client import paths
from grader.core import wire
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.staging import stage

WORKER = Path(__file__).with_name("worker.py")


def sandbox_uid() -> int:
    """An unprivileged uid for this grading process's submissions (unique while it runs)."""
    return 100_000 + os.getpid()
MAX_STREAM_BYTES = 64 << 20   # everything one function sends back
MAX_ANSWER_VALUES = 1 << 20   # float64 values in one answer (8 MB)


@dataclass(frozen=True)
class RawTask:
    """What the sandbox reported for one task, before any comparison.

    Attributes:
        name: the task.
        outcomes: the calls' outcomes, consecutive from case 0.
        problem: ``(status, message)`` when no case ran (``wire.MISSING``, ``wire.LOAD_ERROR``).
        ended: how the task's process ended: exit | signal | task_timeout | not_run.
        signal: the signal that ended it, if any.
        damage: why its stream could not be read to the end ("" if it could).
    """

    name: str
    outcomes: tuple = ()
    problem: tuple[str, str] | None = None
    ended: str = "not_run"
    signal: str = ""
    damage: str = ""


@dataclass(frozen=True)
class SandboxRun:
    """One submission's run: per-task raw results, the mode used, and any failure."""

    tasks: dict = field(default_factory=dict)
    mode: str = "plain"
    seconds: float = 0.0
    error: str = ""
    load_error: str = ""


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """True when bubblewrap is installed and can start a sandbox here."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return False
    try:
        probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                                "--die-with-parent", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def sandbox_mode(requested: str = "auto") -> str:
    """``"bwrap"`` or ``"plain"``; ``requested`` may force either."""
    if requested not in ("auto", "bwrap", "plain"):
        raise ValueError(f"sandbox must be auto, bwrap or plain, got {requested!r}")
    if requested == "bwrap" and not bwrap_works():
        raise ValueError("bubblewrap (bwrap) is not usable here: install the Debian package "
                         "'bubblewrap', or pass --sandbox plain")
    if requested == "auto":
        return "bwrap" if bwrap_works() else "plain"
    return requested


PLAIN_WARNING = ("WARNING: bubblewrap (bwrap) is not available, so submissions run as plain "
                 "subprocesses with resource limits only: they can read files this user can "
                 "read and reach the network. Install bubblewrap (Debian: apt-get install "
                 "bubblewrap) for the full sandbox.")


def _python_dirs() -> list[str]:
    """Folders the interpreter needs: its prefixes and site-packages, none inside the kit."""
    kit = str(paths.KIT_ROOT)
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    dirs |= {p for p in sys.path if p and os.path.isdir(p)}
    keep = []
    venv = os.path.realpath(sys.prefix)
    for folder in sorted(os.path.realpath(d) for d in dirs):
        inside_kit = folder == kit or folder.startswith(kit + os.sep)
        holds_kit = kit.startswith(folder + os.sep) or folder == os.sep
        if (inside_kit and not folder.startswith(venv)) or holds_kit:
            continue  # never bind the kit (solutions/, gradebooks) or a folder around it
        if not any(folder.startswith(k + os.sep) for k in keep):
            keep.append(folder)
    return keep


def bwrap_command(workdir: Path, script: str = "worker.py") -> list[str]:
    """The bubblewrap command line that runs ``script`` on a staged submission."""
    command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
               "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    for folder in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        command += ["--ro-bind-try", folder, folder]
    command += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made = {"/tmp"}  # mounted above; binds below may live inside it (a kit under /tmp)
    for folder in _python_dirs():
        # Parents such as /root must be traversable once the worker is unprivileged.
        for parent in reversed(Path(folder).parents):
            if str(parent) not in made and str(parent) != "/":
                made.add(str(parent))
                command += ["--perms", "0755", "--dir", str(parent)]
        command += ["--ro-bind", folder, folder]
    command += ["--perms", "0755", "--dir", "/sandbox",
                "--ro-bind", str(workdir / "bin"), "/sandbox/bin",
                "--ro-bind", str(workdir / "code"), "/sandbox/code",
                "--bind", str(workdir / "io"), "/sandbox/io",
                "--chdir", "/sandbox/code", "--clearenv"]
    for name, value in _sandbox_env().items():
        command += ["--setenv", name, value]
    return command + [sys.executable, "-I", f"/sandbox/bin/{script}", "/sandbox/code", "/sandbox/io"]


def _sandbox_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "MPLBACKEND": "Agg",
            "JUPYTER_RUNTIME_DIR": "/tmp", "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": "/tmp",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}


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
    return RawTask(name=name, outcomes=tuple(outcomes), problem=decoded.problem, ended=ended,
                   signal=signal_name, damage=decoded.damage)


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
    stage(submission, chunks, cases_by_task, limits, workdir, WORKER,
          chown_to=sandbox_uid() if mode == "bwrap" else None)
    start = time.perf_counter()
    error = launch(workdir, mode, "worker.py", limits.submission_seconds)
    endings = _endings(workdir / "io")
    load = _read_task(workdir / "io", "__load__", 0, endings.get("__load__"))
    tasks = {task.name: _read_task(workdir / "io", task.name, len(cases),
                                   endings.get(task.name))
             for task, (cases, _) in cases_by_task.items()}
    return SandboxRun(tasks=tasks, mode=mode, seconds=time.perf_counter() - start, error=error,
                      load_error=_load_problem(load, limits))


def launch(workdir: Path, mode: str, script: str, seconds: float) -> str:
    """Run ``script`` on a staged ``workdir`` in the sandbox; returns "" or what went wrong."""
    if mode == "bwrap":
        command, env, cwd = bwrap_command(workdir, script), None, None
    else:
        command = [sys.executable, "-I", str(workdir / "bin" / script), str(workdir / "code"),
                   str(workdir / "io")]
        env, cwd = _sandbox_env() | {"HOME": str(workdir / "io")}, str(workdir / "code")
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
    return load.problem[1] if load.problem else ""


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

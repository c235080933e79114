"""The trusted side of a warm sandbox: one sandbox that grades many submissions in turn.

Starting a sandbox costs about half a second of CPU, nearly all of it Python
importing NumPy and matplotlib. A :class:`WarmSandbox` starts ``zygote.py`` once
(in bubblewrap, or plain), which imports them once, then grades each submission
staged in its spool in a fresh fork, in namespaces of its own, and kills
everything of the submission's uid afterwards (see ``zygote.py``).

A sandbox takes another submission only when the last one's code ran as a uid
of its own (graded as root) in fresh namespaces, and ended cleanly. Otherwise
(graded as an ordinary user, a stream that could not be read, a submission out
of time) it is killed, and the next submission gets a new one: the same
isolation as one sandbox per submission.

Each grading thread has its own sandbox and uid (:func:`sandbox_for`).
"""

from __future__ import annotations

import atexit
import json
import multiprocessing.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.classgrade.sandbox import cgroups
from grader.classgrade.sandbox.modes import bwrap_command, python_dirs_in_tmp, sandbox_env, sandbox_python
from grader.classgrade.sandbox.processes import die_with_parent, kill_uid, pump
from grader.classgrade.sandbox.staging import INSIDE, preload_names, write_bin
from grader.core import wire

ZYGOTE = INSIDE / "zygote.py"
SPOOL_INSIDE = "/sandbox/spool"
FRESH_TMP = "/sandbox/fresh"  # isolation.STAGE: where each submission's /tmp is built
CGROUP_INSIDE = "/sandbox/cgroup"  # zygote.CGROUP_INSIDE: the sandbox's memory cgroup
CLEAN_ENDS = (0, 1)  # the supervisor's exit codes when it ran the submission (fresh or not)

_local = threading.local()
_open: set = set()  # every sandbox this process started, to close at its exit
_exit_hooks: set = set()  # the processes that have registered _close_all


class SandboxGone(RuntimeError):
    """The sandbox ended between two submissions: the next one was never given to it."""


class SandboxBroke(RuntimeError):
    """The sandbox itself failed during a submission (the zygote ended, or the submission's
    supervisor, root inside and out of the student's reach, did not end cleanly): the
    grader's failure, not the student's, so no verdict."""


class WarmSandbox:
    """A running ``zygote.py`` and the spool it grades from.

    Attributes:
        mode: ``"bwrap"`` or ``"plain"``.
        key: what it was started for: ``(mode, tmp_mb, uid, scratch, packages)``.
        home: its folder on this side: ``bin/``, ``spool/``, ``sandbox.log``.
        served: submissions it has graded.
    """

    def __init__(self, mode: str, tmp_mb: int, uid: int | None, scratch: Path | None,
                 packages: str = ""):
        self.mode, self.uid, self.owner = mode, uid, os.getpid()
        self.process, self.cgroup = None, None
        self.key, self.packages = (mode, tmp_mb, uid, str(scratch), packages), packages
        self.home = Path(tempfile.mkdtemp(prefix="automark-sandbox-", dir=scratch))
        self.spool = self.home / "spool"
        self.served, self._count = 0, 0
        try:
            self.spool.mkdir()
            write_bin(self.home / "bin", ZYGOTE)
            for path in (self.home, self.spool):
                os.chmod(path, 0o711)  # passable, not listable
            for path in (self.home / "bin").rglob("*"):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
            os.chmod(self.home / "bin" / "kit", 0o700)  # the zygote's (root's) alone
            made = cgroups.make_sandbox_cgroup() if uid is not None else None
            self.cgroup, version = made if made else (None, 0)
            inside = "" if self.cgroup is None else \
                CGROUP_INSIDE if mode == "bwrap" else str(self.cgroup)
            settings = json.dumps({"preload": preload_names(),
                                   "fresh_tmp_mb": tmp_mb if mode == "bwrap" else 0,
                                   "keep": python_dirs_in_tmp(self.home) if mode == "bwrap" else [],
                                   "cgroup": inside, "cgroup_version": version})
            self._log = open(self.home / "sandbox.log", "wb")
            command, options = self._command(settings, tmp_mb)
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                start_new_session=True, preexec_fn=die_with_parent, **options)
            _open.add(self)
            _close_at_exit()
        except BaseException:
            if self.cgroup is not None:
                cgroups.remove_cgroup(self.cgroup)
            shutil.rmtree(self.home, ignore_errors=True)
            raise

    def _command(self, settings: str, tmp_mb: int) -> tuple[list, dict]:
        """The zygote's command line, and ``Popen``'s environment and folder (plain mode)."""
        if self.mode == "bwrap":
            argv = [sandbox_python(), "-I", "/sandbox/bin/zygote.py", SPOOL_INSIDE, settings]
            mounts = [(self.home / "bin", "/sandbox/bin", False),
                      (self.spool, SPOOL_INSIDE, False)]
            if self.cgroup is not None:
                mounts.append((self.cgroup, CGROUP_INSIDE, True))
            return bwrap_command(mounts, argv, chdir=SPOOL_INSIDE, tmp_mb=tmp_mb,
                                 hide=self.home, folders=[FRESH_TMP], packages=self.packages), {}
        own_tmp = self.home / "tmp"  # the zygote's own; each submission gets a scratch folder
        own_tmp.mkdir(mode=0o700)
        env = sandbox_env() | {"HOME": str(own_tmp), "TMPDIR": str(own_tmp),
                               "MPLCONFIGDIR": str(own_tmp)}
        argv = [sys.executable, "-I", str(self.home / "bin" / "zygote.py"), str(self.spool),
                settings]
        return argv, {"env": env, "cwd": str(self.spool)}

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def new_folder(self) -> tuple[Path, str]:
        """An empty folder of the spool for the next submission: its path here and inside."""
        self._count += 1
        folder = self.spool / str(self._count)
        folder.mkdir()
        inside = f"{SPOOL_INSIDE}/{self._count}" if self.mode == "bwrap" else str(folder)
        return folder, inside

    def grade(self, folder: Path, demux: wire.Demux, seconds: float) -> str:
        """Have the zygote grade ``folder`` (from :meth:`new_folder`), feeding ``demux``.

        Returns:
            "" or what went wrong; then, or when the submission may have left something
            behind, the sandbox is closed, and :func:`sandbox_for` starts a new one.

        Raises:
            SandboxGone: the sandbox had ended before it took the submission (it is
                closed; the submission can be given to a new one).
            SandboxBroke: the sandbox failed during the submission (it is closed).
        """
        try:
            self.process.stdin.write(f"{folder.name}\n".encode("ascii"))
            self.process.stdin.flush()
        except (OSError, ValueError, AttributeError):
            raise SandboxGone(self.close(f"the sandbox had ended: {self._tail()}")) from None
        error = self._receive(demux, time.monotonic() + seconds, seconds)
        if error and demux.held == 0 and self.process.poll() is not None:
            raise SandboxGone(self.close(error))  # it ended before the submission began
        if error and self.process.poll() is not None:
            raise SandboxBroke(self.close(error))  # it ended during the submission
        if error:
            return self.close(error)
        self.served += 1
        ended = demux.finished
        if ended.get("ended") != "exit" or ended.get("code") not in CLEAN_ENDS:
            raise SandboxBroke(self.close(f"the sandbox's supervisor ended with "
                                          f"{ended.get('signal') or ended}: {self._tail()}"))
        if not ended.get("fresh") or self.uid is None:
            self.close()  # nothing guarantees the next submission a clean start
        return ""

    def _receive(self, demux: wire.Demux, deadline: float, seconds: float) -> str:
        """Read the zygote's stdout into ``demux`` until the submission's end; "" or why not."""
        ended = pump(self.process.stdout, deadline, demux.feed,
                     until=lambda: demux.finished is not None)
        if ended == "timeout":
            return f"the whole submission ran longer than {seconds:g} s and was stopped"
        if ended == "eof":
            self.process.wait()
            return f"the sandbox ended with status {self.process.returncode}: {self._tail()}"
        return f"the submission {demux.damage}" if ended == "refused" else ""

    def close(self, why: str = "") -> str:
        """Kill the sandbox and everything of its uid, remove its folder; returns ``why``."""
        _open.discard(self)
        if self.owner != os.getpid():
            return why  # a forked copy: the sandbox is its parent's
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.process = None
            self._log.close()
        if self.uid is not None:
            kill_uid(self.uid)
        if self.cgroup is not None:
            cgroups.remove_cgroup(self.cgroup)
            self.cgroup = None
        shutil.rmtree(self.home, ignore_errors=True)
        return why

    def _tail(self, limit: int = 300) -> str:
        try:
            text = (self.home / "sandbox.log").read_bytes()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""
        return "".join(ch if ch.isprintable() else "?" for ch in text)[:limit]


def sandbox_for(mode: str, tmp_mb: int, uid: int | None, scratch: Path | None,
                packages: str = "") -> WarmSandbox:
    """This thread's running sandbox for these settings, started if needed."""
    current = getattr(_local, "sandbox", None)
    key = (mode, tmp_mb, uid, str(scratch), packages)
    if current is not None and current.owner != os.getpid():
        current = None  # inherited through fork: the parent's, never to be used here
    if current is not None and (current.key != key or not current.alive):
        current.close()
        current = None
    if current is None:
        current = _local.sandbox = WarmSandbox(mode, tmp_mb, uid, scratch, packages)
    return current


def close_sandbox() -> None:
    """Close this thread's sandbox, if it has one (the next grade starts a new one)."""
    current = getattr(_local, "sandbox", None)
    if current is not None:
        current.close()
    _local.sandbox = None


def _close_all() -> None:
    for sandbox in list(_open):
        sandbox.close()


def _close_at_exit() -> None:
    """Close this process's sandboxes when it exits: atexit for a program, a finalizer for a
    pool's worker process (multiprocessing ends it without atexit, and runs only the
    finalizers the process made itself)."""
    if os.getpid() in _exit_hooks:
        return
    _exit_hooks.add(os.getpid())
    atexit.register(_close_all)
    multiprocessing.util.Finalize(None, _close_all, exitpriority=10)

"""Runs INSIDE the sandbox: the supervisor of one submission's functions.

Copied into the sandbox's ``bin/`` beside ``zygote.py``, ``task_child.py``,
``calling.py``, ``wire.py`` and ``archive.py`` (the kit's ``grader/core`` modules, the very ones
the notebook's checks use); it imports only the standard library and those.

``zygote.py`` forks one supervisor per submission, which runs
:func:`run_submission` (as root inside the sandbox when graded as root). It
reads the inputs once, then forks one child per function; the child becomes
the submission's unprivileged uid (when the supervisor runs as root), loads the
student's code and calls the function (``task_child.py``). The first child also
reports every statement that fails to load, on a pipe of its own (stream 0);
if loading hangs or kills it, no function runs. Each child writes its records
to a pipe of its own; the supervisor forwards them at once, as chunks of
``wire``'s pipe format, on its stdout to the trusted side, with how the child
ended. The student's code can therefore neither stop nor signal the supervisor
(another uid), nor reach its stdout (``/proc/<pid>/fd`` of another uid is
closed), nor write into another function's channel; the supervisor enforces
every function's time limit itself, and kills everything of the uid between
functions, so nothing of one function outlives it. Nothing is compared here.
The student's folder goes on ``sys.path`` only in the children, after they
became the uid: a student's ``matplotlib.py`` never runs as root.
"""

import json
import os
import resource
import select
import signal
import sys
import time

# With -I the script's own folder is not on sys.path: calling.py, wire.py, archive.py sit beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive  # noqa: E402
import seccomp_filter  # noqa: E402
import task_child  # noqa: E402
import uid_processes  # noqa: E402
import wire  # noqa: E402


def drop_privileges(uid):
    """As root, become the submission's unprivileged uid for good."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def apply_limits(limits, own_uid):
    """Memory, CPU, processes, file size and open files for this process and its children.

    The process limit counts every process of the user, so it is only set when the
    code runs as a uid of its own (graded as root); under a personal account it
    would count the instructor's other programs too.
    """
    mib = 1024 * 1024
    wanted = [(resource.RLIMIT_AS, limits["memory_mb"] * mib),
              (resource.RLIMIT_CPU, limits["cpu_seconds"]),
              (resource.RLIMIT_FSIZE, limits["output_mb"] * mib),
              (resource.RLIMIT_NOFILE, 256),
              (resource.RLIMIT_CORE, 0)]
    if limits.get("max_processes") and own_uid:
        wanted.append((resource.RLIMIT_NPROC, limits["max_processes"]))
    for kind, value in wanted:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


_write_all = task_child.write_all


def _first_to_kill():
    """When the submission's memory runs out, the kernel kills the student's code first, not
    the supervisor (raising one's own score needs no privilege; bubblewrap keeps none to
    lower the supervisor's)."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
            handle.write("1000")
    except OSError:
        pass


class Supervisor:
    """Forks one child per task and forwards what it sends; see the module's docstring."""

    def __init__(self, code_dir, scratch, limits, run_as, kit_files):
        self.code_dir, self.scratch, self.limits = code_dir, scratch, limits
        self.run_as, self.kit_files = run_as, kit_files

    def run(self, number, task, cases, seconds, load_seconds=None):
        """Run one function's child; forward its records; return how it ended (a dict).

        With ``load_seconds`` (the submission's first function) the child reports what
        fails to load as stream 0, on a pipe of its own that it closes once the code is
        loaded: loading has ``load_seconds``, then the calls have ``seconds``. If loading
        does not end well (out of time, killed, an exit), stream 0 gets that ending and
        None is returned: no function runs.
        """
        uid_processes.reap()  # orphans of the last function: this supervisor is their init
        read_end, write_end = os.pipe()
        load_read, load_write = os.pipe() if load_seconds else (None, None)
        sys.stdout.flush()
        try:
            pid = os.fork()
        except OSError as error:
            for fd in (read_end, write_end, load_read, load_write):
                if fd is not None:
                    os.close(fd)
            return {"ended": "not_run", "code": None, "signal": str(error)[:20]}
        if pid == 0:
            self._child(task, cases, write_end, load_write, (read_end, load_read))
        grace = self.limits.get("grace_seconds", 1.0)  # past its own budget it is killed
        os.close(write_end)
        ended = None
        if load_read is not None:
            os.close(load_write)
            ended = self._forward_load(load_read, read_end, pid,
                                       time.monotonic() + load_seconds + grace)
            os.close(load_read)
            loaded = ended or {"ended": "exit", "code": 0}
            _write_all(1, wire.encode_chunk(b"E", 0, json.dumps(loaded).encode()))
            if loaded != {"ended": "exit", "code": 0}:
                os.close(read_end)
                self.kill_leftovers(pid)
                return None
        if ended is None:
            ended = self._forward(number, read_end, pid, time.monotonic() + seconds + grace)
        else:  # the child loaded, then ended before its loading was seen to end
            self._drain(number, read_end)
        os.close(read_end)
        self.kill_leftovers(pid)
        return ended

    def _child(self, task, cases, write_end, load_write, unused):
        code = 0
        try:
            for fd in unused:
                if fd is not None:
                    os.close(fd)
            os.setpgid(0, 0)
            task_child.fresh_process_state()
            _first_to_kill()
            if self.run_as:
                drop_privileges(self.run_as)
            apply_limits(self.limits, own_uid=bool(self.run_as))
            seccomp_filter.install()
            task_child.run_task_child(self.code_dir, self.scratch, task, cases, self.limits,
                                      lambda record: _write_all(write_end, record),
                                      self.kit_files, load_channel=load_write)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)

    def _forward_load(self, load_read, read_end, pid, deadline):
        """Forward the first child's load reports (stream 0) until loading is over.

        Loading is over when the child closes its load pipe, or sends a function's record
        (a process it started while loading may hold the load pipe open). Returns None
        then (the function's first bytes stay in its pipe); how the child ended if it
        ended first; ``task_timeout`` past ``deadline``.
        """
        while True:
            remaining = self._time_left(pid, deadline)
            if remaining <= 0:
                return {"ended": "task_timeout"}
            ready, _, _ = select.select([load_read, read_end], [], [], min(remaining, 0.5))
            data = os.read(load_read, 1 << 16) if load_read in ready else None
            if data:
                _write_all(1, wire.encode_chunk(b"D", 0, data))
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and (read_end in ready or data == b"") and _exiting(pid):
                done, status = os.waitpid(pid, 0)   # its pipes closed as it died: its end
            if done or read_end in ready or data == b"":
                self._drain(0, load_read)
                return ending(status) if done else None

    def _time_left(self, pid, deadline):
        """Seconds left before ``deadline``; none left, the child is killed and collected."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.kill_leftovers(pid)
            os.waitpid(pid, 0)
        return remaining

    def _forward(self, number, read_end, pid, deadline):
        """Forward the child's bytes until it closes its pipe and exits, or its time is up."""
        while True:
            remaining = self._time_left(pid, deadline)
            if remaining <= 0:
                return {"ended": "task_timeout"}
            ready, _, _ = select.select([read_end], [], [], min(remaining, 0.5))
            data = os.read(read_end, 1 << 16) if ready else None
            if data:
                _write_all(1, wire.encode_chunk(b"D", number, data))
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if data == b"" or done:  # pipe closed (the child and its heirs) or child gone
                if not done:
                    self.kill_leftovers(pid)
                    done, status = os.waitpid(pid, 0)
                self._drain(number, read_end)
                return ending(status)

    @staticmethod
    def _drain(number, read_end):
        """Forward what is still in the pipe after its child ended."""
        while True:
            ready, _, _ = select.select([read_end], [], [], 0)
            tail = os.read(read_end, 1 << 16) if ready else b""
            if not tail:
                return
            _write_all(1, wire.encode_chunk(b"D", number, tail))

    def kill_leftovers(self, pid):
        """Kill the task's process group and, with a uid of its own, everything of that uid."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.run_as:
            uid_processes.kill_all_of(self.run_as)


def _exiting(pid):
    """True once ``pid`` has begun to exit (PF_EXITING): its files close before its parent
    can collect it, so a closed pipe alone does not tell a child that died from one that
    finished loading."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[0] in ("Z", "X") or bool(int(fields[6]) & 0x4)
    except (OSError, IndexError, ValueError):
        return False


def ending(status):
    """How a child ended, from its wait status."""
    if os.WIFSIGNALED(status):
        return {"ended": "signal", "signal": signal.Signals(os.WTERMSIG(status)).name}
    return {"ended": "exit", "code": os.WEXITSTATUS(status)}


def run_submission(code_dir, io_dir):
    """Grade the submission staged in ``code_dir`` and ``io_dir``; chunks go to stdout."""
    with open(os.path.join(io_dir, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    limits, run_as = manifest["limits"], manifest.get("run_as")
    cases = archive.read_cases(os.path.join(io_dir, "inputs.npz"))
    scratch = manifest.get("scratch") or "/tmp"
    os.environ.update(HOME=scratch, TMPDIR=scratch)
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # found again from TMPDIR
    os.chdir(code_dir)
    supervisor = Supervisor(code_dir, scratch, limits, run_as,
                            tuple(manifest.get("kit_files", ())))
    # The first function's child loads the code before anything is called and reports,
    # on stream 0, every statement that fails; if loading hangs or kills it, nothing runs.
    for number, task in enumerate(manifest["tasks"], start=1):
        ended = supervisor.run(number, task, cases[task["name"]][0], limits["task_seconds"],
                               load_seconds=limits["load_seconds"] if number == 1 else None)
        if ended is None:
            return
        _write_all(1, wire.encode_chunk(b"E", number, json.dumps(ended).encode()))

"""Runs INSIDE the sandbox: the supervisor of one submission's functions.

Copied into the sandbox's ``bin/`` beside ``zygote.py``, ``task_child.py``,
``calling.py``, ``wire.py`` and ``archive.py`` (the kit's ``grader/core`` modules, the very ones
the notebook's checks use); it imports only the standard library and those.

``zygote.py`` forks one supervisor per submission, which runs
:func:`run_submission` (as root inside the sandbox when graded as root). It
reads the inputs once, then forks a child that becomes the submission's
unprivileged uid (when the supervisor runs as root), loads the student's code
once and calls the functions in turn (``task_child.py``), as the notebook does in
one kernel. The first child reports every statement that fails to load, on a
pipe of its own (stream 0); if loading hangs or kills it, no function runs.

The child speaks to the supervisor over a Unix socket on which the kernel vouches
for each message's sender (``SO_PASSCRED``), and which the supervisor never writes
to: after loading and after each function the child says so, handing over the read
end of a new pipe for the next function's records, which the supervisor forwards
at once, as chunks of ``wire``'s pipe format, on its stdout to the trusted side,
with how each function ended. The supervisor also ends a function that used more
than its CPU time (it may ignore SIGXCPU). Before it says a function is over, the
child (as a uid of its own) kills every other process of that uid and waits until
they are gone, clears what could make the shared socket signal it,
and removes the System V objects left in the submission's IPC namespace: no
process a function started lives on into the next, holds its pipe or its memory,
and no other process can say a function is over. A function that ends the child
(an exit, a crash, a signal, its time) gets that ending as its own, and the
functions after it run in a new child, which loads the code again in a load time
of its own (the submission's time limit allows for it): every verdict
already earned is kept, and no function's end costs another its verdict. What
stays shared between the functions of one submission is its one process, as in
the notebook: a thread or a monkeypatch one function leaves behind is there for
the next (security.md, "What is not guaranteed").

The student's code can neither stop nor signal the supervisor (another uid), nor
reach its stdout (``/proc/<pid>/fd`` of another uid is closed); the supervisor
enforces every function's time limit itself. Nothing is compared here. The
student's folder goes on ``sys.path`` only in the children, after they became the
uid: a student's ``matplotlib.py`` never runs as root.
"""

import json
import os
import resource
import select
import signal
import socket
import sys
import time

# With -I the script's own folder is not on sys.path: calling.py, wire.py, archive.py sit beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import archive  # noqa: E402
import channels  # noqa: E402
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


def apply_limits(limits, own_uid, cpu_seconds=None):
    """Memory, CPU, processes, file size and open files for this process and its children.

    The process limit counts every process of the user, so it is only set when the
    code runs as a uid of its own (graded as root); under a personal account it
    would count the instructor's other programs too. ``cpu_seconds``, when given,
    replaces the limits' own CPU time (a child that calls several functions).
    """
    mib = 1024 * 1024
    wanted = [(resource.RLIMIT_AS, limits["memory_mb"] * mib),
              (resource.RLIMIT_CPU, cpu_seconds or limits["cpu_seconds"]),
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
    """Runs the submission's functions in children and forwards what they send; see the
    module's docstring."""

    def __init__(self, code_dir, scratch, limits, run_as, kit_files):
        self.code_dir, self.scratch, self.limits = code_dir, scratch, limits
        self.run_as, self.kit_files = run_as, kit_files

    def run(self, tasks, cases, load_seconds):
        """Run ``tasks`` (``[(number, task)]``); send each one's ending as an ``E`` chunk.

        One child loads the code and calls the functions in turn. When a function ends its
        child (an exit, a crash, a signal, its time), that function's ending is its own and
        the functions after it run in a new child, which loads the code again: no function
        loses its verdict to another. Loading has ``load_seconds`` in the first child; if it
        does not end well, stream 0 gets that ending and no function runs.
        """
        pending, first = list(tasks), True
        while pending:
            ended = self.run_child(pending, cases, load_seconds if first else None)
            if ended is None:
                return
            pending, first = pending[ended:], False

    def run_child(self, tasks, cases, load_seconds=None):
        """One child for ``tasks``; each one's ending is sent as soon as it is over. Returns
        how many ended (the last may be the one that ended the child), or None when loading
        failed."""
        uid_processes.reap()  # orphans of the last child: this supervisor is their init
        control, theirs = socket.socketpair()   # the child's words only: never written to
        control.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # who sent each message
        load_read, load_write = os.pipe() if load_seconds else (None, None)
        sys.stdout.flush()
        try:
            pid = os.fork()
        except OSError as error:
            channels.close([control.detach(), theirs.detach(), load_read, load_write])
            why = json.dumps({"ended": "not_run", "code": None, "signal": str(error)[:20]})
            _write_all(1, wire.encode_chunk(b"E", tasks[0][0], why.encode()))
            return 1
        if pid == 0:
            control.close()
            self._child(tasks, cases, theirs, load_write, load_read)
        theirs.close()
        channels.close([load_write])
        control.setblocking(False)   # nothing the child does can make a read here wait
        if load_read is not None:
            os.set_blocking(load_read, False)
        exited = channels.pidfd(pid)
        grace = self.limits.get("grace_seconds", 1.0)  # past its own budget it is killed
        count, ended = 0, None
        try:
            if load_read is not None:
                ended, read_end = self._forward(0, load_read, control, exited, pid,
                                                time.monotonic() + load_seconds + grace)
                loaded = ended or {"ended": "exit", "code": 0}
                _write_all(1, wire.encode_chunk(b"E", 0, json.dumps(loaded).encode()))
                if ended is not None:
                    return None
            else:   # a child after one that ended loads silently, in a load time of its own
                ended, read_end = self._forward(0, None, control, exited, pid, time.monotonic()
                                                + self.limits["load_seconds"] + grace)
            for number, _ in tasks:
                if ended is None:   # the child's word came with this function's pipe
                    deadline = time.monotonic() + self.limits["task_seconds"] + grace
                    ended, next_read = self._forward(number, read_end, control, exited, pid,
                                                     deadline)
                    channels.close([read_end])
                    read_end = next_read
                ending_now = json.dumps(ended or {"ended": "exit", "code": 0}).encode()
                _write_all(1, wire.encode_chunk(b"E", number, ending_now))
                count += 1
                if ended is not None:
                    break
            channels.close([read_end])
            return count
        finally:
            channels.close([load_read, control.detach()] + ([exited] if exited is not None else []))
            self.kill_leftovers(pid)
            _collect(pid)

    def _child(self, tasks, cases, control, load_write, load_read):
        code = 0
        try:
            channels.close([load_read])
            os.setpgid(0, 0)
            task_child.fresh_process_state()
            _first_to_kill()
            if self.run_as:
                drop_privileges(self.run_as)
            # CPU: each function gets cpu_seconds of its own (task_child), loading one more
            apply_limits(self.limits, own_uid=bool(self.run_as),
                         cpu_seconds=self.limits["cpu_seconds"] * (len(tasks) + 1))
            seccomp_filter.install()
            task_child.run_tasks_child(self.code_dir, self.scratch, tasks, cases, self.limits,
                                       control, self.kit_files, load_channel=load_write,
                                       own_uid=bool(self.run_as))
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)

    def _time_left(self, pid, deadline):
        """Seconds left before ``deadline``; none left, the child is killed and collected."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.kill_leftovers(pid)
            _collect(pid)
        return remaining

    def _forward(self, number, read_end, control, exited, pid, deadline):
        """Forward one stream's bytes (0: what fails to load) until the child says it is over,
        or the child ends, or its time or CPU is up.

        Returns:
            ``(None, the next function's pipe or None)`` when the child said so, or ``(how it
            ended, None)``: its wait status, ``task_timeout``, or SIGXCPU once the child used
            more than ``cpu_seconds`` since the stream began (it may have ignored SIGXCPU).
            ``read_end`` None: no stream, only the child's word or its end.
        """
        watched = [fd for fd in (read_end, control.fileno(), exited) if fd is not None]
        cpu_allowed = channels.cpu_seconds_of(pid) + self.limits["cpu_seconds"] + 0.5
        next_check = time.monotonic() + 0.25
        while True:
            remaining = self._time_left(pid, deadline)
            if remaining <= 0:
                return {"ended": "task_timeout"}, None
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + 0.25
                if channels.cpu_seconds_of(pid) > cpu_allowed:
                    self._time_left(pid, time.monotonic())   # kills and collects it
                    self._drain(number, read_end, deadline)
                    return {"ended": "signal", "signal": "SIGXCPU"}, None
            ready, _, _ = select.select(watched, [], [], min(remaining, 0.25))
            if read_end in ready:
                data = _read(read_end)
                if data:
                    _write_all(1, wire.encode_chunk(b"D", number, data))
                    continue
                if data == b"":
                    watched.remove(read_end)
            if control.fileno() in ready:
                said, handed = channels.said_by(control, pid)
                if said is not None and bytes([number & 0xFF]) in said:
                    self._drain(number, read_end, deadline)
                    return None, handed
                channels.close([handed])
                if said == b"":
                    watched.remove(control.fileno())
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and exited is None and control.fileno() not in watched and _exiting(pid):
                done, status = os.waitpid(pid, 0)
            if done:
                self._drain(number, read_end, deadline)
                return ending(status), None

    @staticmethod
    def _drain(number, read_end, deadline):
        """Forward what is still in the pipe (until ``deadline``: a process left behind
        may keep writing)."""
        while read_end is not None and time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], 0)
            tail = _read(read_end) if ready else b""
            if not tail:
                return
            _write_all(1, wire.encode_chunk(b"D", number, tail))

    def kill_leftovers(self, pid):
        """Kill the child's process group and, with a uid of its own, everything of that uid."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.run_as:
            uid_processes.kill_all_of(self.run_as)


def _read(fd):
    """What a non-blocking pipe holds: bytes, b"" at its end (or when it cannot be read), None
    when it is empty for now."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _collect(pid):
    """Wait for the (killed) child, once."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


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
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:   # a real-time signal, or one without a name
            name = f"signal {number}"
        return {"ended": "signal", "signal": name}
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
    # The first child loads the code before anything is called and reports, on stream 0,
    # every statement that fails; if loading hangs or kills it, nothing runs.
    supervisor.run(list(enumerate(manifest["tasks"], start=1)), cases, limits["load_seconds"])

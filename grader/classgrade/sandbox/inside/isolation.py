"""Runs INSIDE the sandbox: what makes each submission a world of its own, from the kernel.

The zygote (``zygote.py``) grades submission after submission in one warm sandbox. For each,
it forks the submission's init into a new PID namespace (:func:`new_pid_namespace`, then
:func:`back_to_own_pid_namespace` for itself). That init (:func:`enter_fresh_world`) first
joins the submission's memory cgroup, then enters network, IPC and mount namespaces of its
own, with a fresh ``/tmp`` and a ``/proc`` of its PID namespace, and runs the supervisor.

What each guarantee rests on:

* **Nothing outlives the submission**: when the init of a PID namespace ends, the kernel
  kills every process in it, whatever it did with threads, sessions, ``exit`` against
  ``exit_group``, stopped states or nested namespaces; the zygote's wait for the init
  returns only once they are all gone. :func:`SubmissionCgroup.remove` then proves it a
  second way: the cgroup can be removed only when no process is left in it.
* **No channel to the next submission**: abstract Unix sockets live in the network
  namespace, System V IPC and POSIX message queues in the IPC namespace, files in the
  mount namespace's ``/tmp``; all three are new for each submission and die with it. Key
  rings and new namespaces are refused by the seccomp filter (``seccomp_filter.py``).
* **Memory per submission**: the cgroup's limit holds for all of the submission's processes
  together; without a cgroup, ``RLIMIT_AS`` bounds each process alone.

Standard library only.
"""

import ctypes
import fcntl
import os
import socket
import struct

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x8000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE = 1, 2, 4, 8, 32, 4096, 8192
MS_REC, MS_PRIVATE = 1 << 14, 1 << 18
MNT_DETACH = 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
STAGE = "/sandbox/fresh"  # where each submission's /tmp is built before it is moved over /tmp

_libc = ctypes.CDLL(None, use_errno=True)


def new_pid_namespace():
    """In the zygote: the next child it forks is the init of a new PID namespace; True if so."""
    return _libc.unshare(CLONE_NEWPID) == 0


def back_to_own_pid_namespace(own_fd):
    """In the zygote, after the fork: later children go in its own PID namespace again."""
    if _libc.setns(own_fd, CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "setns back to the zygote's PID namespace failed")


class SubmissionCgroup:
    """One submission's memory cgroup, made by the zygote in the sandbox's cgroup folder.

    Args:
        parent: the sandbox's cgroup folder as the zygote sees it.
        version: 1 or 2.
        name: this submission's folder name.
        memory_mb: the submission's memory limit, all of its processes together.
    """

    def __init__(self, parent, version, name, memory_mb):
        self.path = os.path.join(parent, name)
        os.mkdir(self.path)
        limit = str(memory_mb << 20)
        try:
            if version == 2:
                self._write("memory.max", limit)
                self._write("memory.swap.max", "0", optional=True)
            else:
                self._write("memory.limit_in_bytes", limit)
                self._write("memory.memsw.limit_in_bytes", limit, optional=True)
                # v1 charges TCP buffers only once this is set (v2 always does)
                self._write("memory.kmem.tcp.limit_in_bytes", limit, optional=True)
        except OSError:
            os.rmdir(self.path)
            raise

    def _write(self, name, value, optional=False):
        try:
            with open(os.path.join(self.path, name), "w", encoding="ascii") as handle:
                handle.write(value)
        except OSError:
            if not optional:
                raise

    def join(self):
        """Put the calling process (and so all it will start) in this cgroup."""
        self._write("cgroup.procs", "0")

    def remove(self):
        """Remove the cgroup; True only if it was empty (the kernel refuses otherwise)."""
        try:
            os.rmdir(self.path)
            return True
        except OSError:
            return False


def _bring_up_loopback():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def _mount(source, target, kind, flags, options=None):
    if _libc.mount(source, target, kind, flags, options) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target!r} failed")


def _fresh_tmp(tmp_mb, keep):
    """A new /tmp: built aside in :data:`STAGE` (the Python folders in ``keep``, a kit or
    virtual environment under /tmp, bound in again read-only), then moved over /tmp."""
    options = f"size={tmp_mb << 20},mode=1777".encode()
    _mount(b"tmpfs", STAGE.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options)
    for folder in keep:
        target = (STAGE + folder[len("/tmp"):]).encode()
        os.makedirs(target, mode=0o755, exist_ok=True)
        _mount(folder.encode(), target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    _mount(STAGE.encode(), b"/tmp", None, MS_MOVE)


def enter_fresh_world(cgroup, tmp_mb, keep=(), hide=()):
    """In the submission's init (pid 1 of its PID namespace): a world of its own.

    Args:
        cgroup: the :class:`SubmissionCgroup` to join first, or None.
        tmp_mb: the new /tmp's size; 0 keeps the /tmp there is (plain mode's scratch
            folder is the submission's own).
        keep: Python folders under /tmp to bind into the new /tmp.
        hide: mount points to detach from this world (the cgroup folder).

    Returns:
        "" when every step worked, else what failed (then the submission is not run).
    """
    try:
        if cgroup is not None:
            cgroup.join()
        if _libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare of mount, IPC and network failed")
        _mount(b"none", b"/", None, MS_REC | MS_PRIVATE)
        _mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for mount_point in hide:
            if _libc.umount2(mount_point.encode(), MNT_DETACH) != 0:
                raise OSError(ctypes.get_errno(), f"unmounting {mount_point} failed")
        if tmp_mb:
            _fresh_tmp(tmp_mb, keep)
        _bring_up_loopback()
        return ""
    except OSError as error:
        return f"{error.strerror or error}: {error.filename or ''}".strip()

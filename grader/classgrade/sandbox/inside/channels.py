"""Runs INSIDE the sandbox: the supervisor's ends of what links it to a submission's child.

A Unix socket on which the kernel names each message's sender (``SO_PASSCRED``), so
only the child itself can say that it loaded or that a function is over; with that
word the child hands over (``SCM_RIGHTS``) the read end of the next function's pipe,
which it made once every other process of its uid was gone. The supervisor never
writes on the socket: what a dead process set on the child's end of it (a shutdown,
O_ASYNC) has nothing to act on. A pidfd tells the supervisor when the child ends;
``/proc/<pid>/stat`` how much CPU it used. Standard library only (copied into the
sandbox's ``bin/`` beside ``worker.py``).
"""

import os
import socket
import stat
import struct

_UCRED = struct.Struct("3i")   # struct ucred: pid, uid, gid
_ANCILLARY_SPACE = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(4)   # and one descriptor
_TICKS = os.sysconf("SC_CLK_TCK")


def close(fds):
    """Close each of ``fds`` that is not None."""
    for fd in fds:
        if fd is not None:
            os.close(fd)


def said_by(control, pid):
    """``(what the next message on control says, the pipe it handed over or None)`` if
    process ``pid`` sent it (the kernel vouches for the sender: SO_PASSCRED); ``(None, None)``
    if another process did (whatever it handed is closed); ``(b"", None)`` at the end."""
    try:
        data, ancillary, _, _ = control.recvmsg(64, _ANCILLARY_SPACE)
    except BlockingIOError:   # nothing there after all
        return None, None
    except OSError:   # reset: the other end closed with a message unread
        return b"", None
    sender, handed = None, []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            sender = _UCRED.unpack_from(payload)[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            handed += struct.unpack(f"{len(payload) // 4}i", payload[:len(payload) // 4 * 4])
    if not data or sender != pid:
        close(handed)
        return (b"" if not data else None), None
    pipe = next((fd for fd in handed if _is_pipe(fd)), None)
    reading = _read_end_of_our_own(pipe) if pipe is not None else None
    close(handed)
    return data, reading


def _is_pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _read_end_of_our_own(fd):
    """A new, non-blocking read end of the pipe ``fd`` belongs to (whichever end it is), or
    None: a description of the supervisor's own, so that the child, which made the pipe and
    may keep ends of it, can neither make reading it block nor hand a write end to read."""
    try:
        return os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None


def cpu_seconds_of(pid):
    """CPU seconds ``pid`` used so far (all its threads; 0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def pidfd(pid):
    """A file descriptor that becomes readable when ``pid`` ends, or None (an old kernel)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None

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
    pipes = [fd for fd in handed if _is_pipe(fd)]
    close([fd for fd in handed if fd not in pipes[:1]])
    return data, (pipes[0] if pipes else None)


def _is_pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


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

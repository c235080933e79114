"""Runs INSIDE the sandbox: the supervisor's ends of what links it to a submission's child.

A Unix socket on which the kernel names each message's sender (``SO_PASSCRED``), so
only the child itself can say that it loaded or that a function is over; over it,
the supervisor hands the child each function's pipe as that function starts
(``SCM_RIGHTS``). A pidfd tells the supervisor when the child ends. Standard library
only (copied into the sandbox's ``bin/`` beside ``worker.py``).
"""

import os
import socket
import struct

_UCRED = struct.Struct("3i")   # struct ucred: pid, uid, gid
_CREDENTIALS_SPACE = socket.CMSG_SPACE(_UCRED.size)


def close(fds):
    """Close each of ``fds`` that is not None."""
    for fd in fds:
        if fd is not None:
            os.close(fd)


def said_by(control, pid):
    """What the next message on ``control`` says if process ``pid`` sent it (the kernel
    vouches for the sender: SO_PASSCRED), None if another did, b"" at the end."""
    try:
        data, ancillary, _, _ = control.recvmsg(64, _CREDENTIALS_SPACE)
    except OSError:   # reset: the other end closed with a message unread
        return b""
    sender = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            sender = _UCRED.unpack_from(payload)[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:   # never kept
            close(struct.unpack(f"{len(payload) // 4}i", payload[:len(payload) // 4 * 4]))
    return data if not data or sender == pid else None


def send_channel(control, number):
    """A new pipe whose write end goes to the child for function ``number``: its read end,
    or None when the child is gone."""
    read_end, write_end = os.pipe()
    try:
        socket.send_fds(control, [bytes([number & 0xFF])], [write_end])
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    return read_end


def pidfd(pid):
    """A file descriptor that becomes readable when ``pid`` ends, or None (an old kernel)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None

"""Runs INSIDE the sandbox: refuse the system calls no graded function needs (seccomp).

Installed in each function's child before the student's code is loaded; the kernel then
answers these calls with an error, for that process and everything it starts:

* key rings (``add_key``, ``request_key``, ``keyctl``): a uid's key ring outlives its
  processes and would carry a message from one submission to the next;
* new namespaces (``unshare``, ``setns``, ``clone`` with a namespace flag; ``clone3``,
  whose flags a filter cannot read, answers ENOSYS so the C library falls back to
  ``clone``): a user namespace is no escape by itself, but kernel surface grading never needs;
* mounting, BPF programs, perf events, userfaultfd and io_uring: the same.

The program is classic BPF, written here (about twenty instructions): a system call of
another architecture (32-bit calls on x86_64, the x32 ABI) kills the process rather than
slip past the table. On machines other than x86_64 and aarch64 no filter is installed
(:func:`install` returns False) and docs/security.md says so.
"""

import ctypes
import errno
import os
import struct

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
LD_ABS_W, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
NAMESPACE_FLAGS = 0x7E020000   # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_BIT = 0x40000000

# (audit architecture, {refused call: number}, clone, clone3)
ARCHITECTURES = {
    "x86_64": (0xC000003E, {"add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
                            "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
                            "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
                            "io_uring_setup": 425, "io_uring_enter": 426,
                            "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
                            "fsopen": 430, "fsmount": 432, "fspick": 433}, 56, 435),
    "aarch64": (0xC00000B7, {"add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97,
                             "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
                             "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                             "io_uring_setup": 425, "io_uring_enter": 426,
                             "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
                             "fsopen": 430, "fsmount": 432, "fspick": 433}, 220, 435),
}


def _op(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine=None):
    """The filter as bytes of ``struct sock_filter``, or None for an architecture not known."""
    known = ARCHITECTURES.get(machine or os.uname().machine)
    if known is None:
        return None
    arch, refused, clone, clone3 = known
    ops = [_op(LD_ABS_W, 4), _op(JEQ_K, arch, jt=1), _op(RET_K, RET_KILL_PROCESS),
           _op(LD_ABS_W, 0)]
    if arch == ARCHITECTURES["x86_64"][0]:
        ops += [_op(JGE_K, X32_BIT, jf=1), _op(RET_K, RET_KILL_PROCESS)]
    for number in sorted(refused.values()):
        ops += [_op(JEQ_K, number, jf=1), _op(RET_K, RET_ERRNO | errno.EPERM)]
    ops += [_op(JEQ_K, clone3, jf=1), _op(RET_K, RET_ERRNO | errno.ENOSYS)]
    # Last: clone with a namespace flag. Its first argument (low 32 bits) replaces the number.
    ops += [_op(JEQ_K, clone, jf=3), _op(LD_ABS_W, 16), _op(JSET_K, NAMESPACE_FLAGS, jf=1),
            _op(RET_K, RET_ERRNO | errno.EPERM), _op(RET_K, RET_ALLOW)]
    return b"".join(ops)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(code=None):
    """Install the filter in this process (and all it will start); True if installed.

    Args:
        code: :func:`program`'s bytes (the zygote builds them once), None to build them.

    Raises:
        OSError: the kernel refused a filter this architecture should take.
    """
    code = program() if code is None else code
    if not code:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _Program(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the seccomp filter was refused")
    return True

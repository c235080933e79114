"""Nothing one submission starts reaches the next one graded in the same warm sandbox (issue 18,
points 1-3: each attack below was seen to zero or copy a classmate's grade before).

Each submission is the init of a PID namespace of its own (the kernel kills everything in it when
it ends), has its own network, IPC and mount namespaces, a memory cgroup that bounds all of its
processes together, and a seccomp filter that refuses the kernel objects no grading needs (key
rings, new namespaces)."""

import os
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader.classgrade.sandbox import cgroups, processes, warm
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.core import tasks

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a warm sandbox is reused only when "
                               "grading as root")
FLATTEN = [tasks.get_task("flatten_forward")]
LIMITS = Limits(call_seconds=3, task_seconds=8, load_seconds=10, submission_seconds=60)
CORRECT = """
def flatten_forward(x_input):
    return x_input.reshape(x_input.shape[0], -1)
"""


def submission(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("import ctypes, os, sys, time, threading\n"
                                     "import numpy as np\n" + textwrap.dedent(source))
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "assignment.ipynb"))
    return Submission(name, folder / "assignment.ipynb")


def grade(tmp_path, name, source, limits=LIMITS):
    return grade_submission(submission(tmp_path, name, source), FLATTEN, limits=limits,
                            mode="bwrap", scratch=tmp_path)


def said(result):
    failure = result.task("flatten_forward").first_failure
    return failure.message if failure else ""


# A process whose thread-group leader left with the raw exit system call (not exit_group)
# while another thread runs: /proc shows it as a zombie ("State: Z"), and a scan for the
# uid's living processes passed it over. Its thread then kills every process of the uid,
# over and over: the next student's, before the fix.
ZOMBIE_LEADER_SURVIVOR = """
def _survive():
    libc = ctypes.CDLL(None, use_errno=True)
    if os.fork() == 0:
        os.setsid()                         # out of the function's process group
        def kill_everything():
            time.sleep(0.5)                 # once its own function is over
            for _ in range(3000):
                try:
                    os.kill(-1, 9)
                except OSError:
                    pass
                time.sleep(0.01)
        threading.Thread(target=kill_everything).start()
        time.sleep(0.1)
        libc.syscall(60 if os.uname().machine == "x86_64" else 93, 0)   # exit, not exit_group
    time.sleep(0.2)

def flatten_forward(x_input):
    if not os.path.exists("/tmp/started"):
        open("/tmp/started", "w").close()
        _survive()
    return x_input.reshape(x_input.shape[0], -1)
"""


@root_only
def test_a_zombie_leaders_thread_never_reaches_the_next_submission(tmp_path):
    left = grade(tmp_path, "mallory", ZOMBIE_LEADER_SURVIVOR)
    assert left.task("flatten_forward").passed
    sandbox = warm._local.sandbox
    after = grade(tmp_path, "bob", CORRECT)
    assert after.task("flatten_forward").passed, (after.error, said(after))
    assert warm._local.sandbox is sandbox          # reused: proven clean, not merely hoped
    assert processes.kill_uid(processes.sandbox_uid()) == 0   # nothing of the uid lives


# Each submission reports the namespaces it runs in: none may be the warm sandbox's own, which
# the next submission would share (an abstract Unix socket lives in the network namespace, a
# message queue in the IPC one). Inode numbers of ended namespaces are reused, so the
# comparison is with the zygote's, alive all along.
REPORTS_NAMESPACES = """
def flatten_forward(x_input):
    kinds = ("pid", "net", "ipc", "mnt")
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:   # the listing's own descriptor, closed by now
            pass
    raise ValueError("ns " + " ".join(os.readlink(f"/proc/self/ns/{kind}") for kind in kinds)
                     + f" pid {os.getpid()} holds {held}")
"""


def zygote_namespaces(sandbox):
    """The namespaces of the warm sandbox's zygote (bubblewrap's child, on this side)."""
    bwrap = sandbox.process.pid
    children = Path(f"/proc/{bwrap}/task/{bwrap}/children").read_text().split()
    zygote = children[0]
    return [os.readlink(f"/proc/{zygote}/ns/{kind}") for kind in ("pid", "net", "ipc", "mnt")]


@root_only
def test_every_submission_gets_namespaces_of_its_own(tmp_path):
    for name in ("ann", "bob"):
        reported = said(grade(tmp_path, name, REPORTS_NAMESPACES))
        assert "ValueError: ns pid:[" in reported, reported
        words = reported.split("ValueError: ns ")[1].split()
        ours, pid = words[:4], int(words[5].strip("'\"()"))
        zygotes = zygote_namespaces(warm._local.sandbox)
        assert not set(ours) & set(zygotes), ours
        assert pid < 10      # the function's child, a few forks from its namespace's init
        assert not any(ns in reported for ns in zygotes), reported   # no descriptor of them


# The uid's key ring outlived its processes and carried a message to the next submission.
LEAVES_A_KEY = """
def flatten_forward(x_input):
    libc = ctypes.CDLL(None, use_errno=True)
    add_key = 248 if os.uname().machine == "x86_64" else 217
    libc.syscall(add_key, b"user", b"automark-leak", b"secret", 6, -4)   # the user key ring
    return x_input.reshape(x_input.shape[0], -1)
"""
LOOKS_FOR_A_KEY = """
def flatten_forward(x_input):
    libc = ctypes.CDLL(None, use_errno=True)
    keyctl = 250 if os.uname().machine == "x86_64" else 219
    found = libc.syscall(keyctl, 10, -4, b"user", b"automark-leak", 0)   # KEYCTL_SEARCH
    raise ValueError(f"key {found} errno {ctypes.get_errno()}")
"""


@root_only
def test_no_key_ring_carries_a_message_to_the_next_submission(tmp_path):
    assert grade(tmp_path, "mallory", LEAVES_A_KEY).task("flatten_forward").passed
    looked = said(grade(tmp_path, "trent", LOOKS_FOR_A_KEY))
    assert "ValueError: key -1 errno" in looked, looked


# Kernel surface no grading needs: new user (or other) namespaces, key rings.
TRIES_NAMESPACES = """
def flatten_forward(x_input):
    libc = ctypes.CDLL(None, use_errno=True)
    outcomes = []
    for flag in (0x10000000, 0x20000000, 0x40000000, 0x00020000):   # user, pid, net, mount
        outcomes.append(libc.unshare(flag))
    raise ValueError(f"unshare {outcomes}")
"""


@root_only
def test_student_code_cannot_create_namespaces(tmp_path):
    assert "ValueError: unshare [-1, -1, -1, -1]" in said(grade(tmp_path, "eve", TRIES_NAMESPACES))


# Three children of one function each hold 450 MB at once: 1,350 MB against a 1,024 MB limit
# that bounded each process alone, not the submission.
HOLDS_MEMORY_IN_CHILDREN = """
def flatten_forward(x_input):
    read_end, write_end = os.pipe()
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones(450 * 2**17)    # 450 MB, every page written
                os.write(write_end, b"+")
                time.sleep(4)
            finally:
                os._exit(0)
        children.append(pid)
    time.sleep(2.5)
    os.set_blocking(read_end, False)
    try:
        held = len(os.read(read_end, 16))
    except BlockingIOError:
        held = 0
    raise ValueError(f"held {held}")
"""


@root_only
@pytest.mark.skipif(cgroups.find_hierarchy() is None,
                    reason="no writable memory cgroup here: the limit is per process")
def test_the_memory_limit_bounds_all_of_a_submissions_processes_together(tmp_path):
    limits = Limits(call_seconds=6, task_seconds=8, load_seconds=10, submission_seconds=60,
                    memory_mb=1024)
    looked = said(grade(tmp_path, "greedy", HOLDS_MEMORY_IN_CHILDREN, limits))
    assert "ValueError: held" in looked, looked
    held = int(looked.split("ValueError: held ")[1].split()[0].strip("'\""))
    assert held <= 2, looked     # 2 x 450 MB fit in 1,024 MB; 3 never do
    after = grade(tmp_path, "bob", CORRECT)
    assert after.task("flatten_forward").passed


# Memory the kernel holds for the submission, not in its address space: unread bytes in loopback
# TCP buffers. A red team held 989 MB this way under a 300 MB limit (cgroup v1 charges TCP
# buffers only once its TCP limit is set).
HOLDS_TCP_BUFFERS = """
import socket
def _hold(connections):
    total, keep = 0, []
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    for _ in range(connections):
        sender = socket.socket()
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        sender.connect(server.getsockname())
        receiver, _ = server.accept()
        sender.setblocking(False)
        stalls = 0
        while stalls < 3:
            try:
                total += sender.send(b"x" * 65536)
                stalls = 0
            except (BlockingIOError, OSError):
                stalls += 1
                time.sleep(0.002)
        keep.append((sender, receiver))
    return total, keep

def flatten_forward(x_input):
    read_end, write_end = os.pipe()
    for _ in range(3):
        if os.fork() == 0:
            try:
                total, keep = _hold(16)
                os.write(write_end, f"{total >> 20} ".encode())
                time.sleep(5)
            finally:
                os._exit(0)
    os.close(write_end)
    got, deadline = b"", time.time() + 5
    while got.count(b" ") < 3 and time.time() < deadline:
        chunk = os.read(read_end, 100)
        if not chunk:
            break
        got += chunk
    raise ValueError(f"held MB {sum(int(n) for n in got.split())}")
"""


@root_only
@pytest.mark.skipif(cgroups.find_hierarchy() is None,
                    reason="no writable memory cgroup here: the limit is per process")
def test_kernel_buffers_count_against_the_submissions_memory(tmp_path):
    limits = Limits(call_seconds=8, task_seconds=10, load_seconds=10, submission_seconds=60,
                    memory_mb=200)
    looked = said(grade(tmp_path, "hoarder", HOLDS_TCP_BUFFERS, limits))
    if "ValueError: held MB" in looked:
        held = int(looked.split("ValueError: held MB ")[1].split()[0].strip("'\")"))
        assert held <= 200, looked
    else:   # or the kernel killed the holders: bounded too
        assert "was killed" in looked, looked

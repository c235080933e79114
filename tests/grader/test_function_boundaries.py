"""One child calls a submission's functions in turn (``sandbox/inside/worker.py``,
``task_child.py``): whatever one function does to that process, or leaves behind, every other
function keeps its own verdict. A function that ends the child takes its own verdict with it;
the functions after it run in a new child. Hostile fixtures of our own."""

import os
import textwrap

import pytest
from grader_fixtures import grade_one_cell

from grader.classgrade.sandbox.limits import Limits
from grader.core import results, tasks

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the code runs as a uid of its own "
                               "only when grading as root")

CORRECT = {
    "maxpool_forward": """
def maxpool_forward(x_input):
    h, w = x_input.shape
    return x_input.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
""",
    "flatten_forward": """
def flatten_forward(x_input):
    return x_input.reshape(x_input.shape[0], -1)
""",
    "conv_matrix": """
def conv_matrix(matrix, kernel):
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(np.asarray(matrix, float), ((p, p), (q, q)))
    out = np.zeros(np.shape(matrix))
    for a in range(kernel.shape[0]):
        for b in range(kernel.shape[1]):
            out += kernel[a, b] * padded[a:a + out.shape[0], b:b + out.shape[1]]
    return out
""",
}
# conv_matrix in the middle: one function before it shares its child, one after needs a new one
ORDER = ("maxpool_forward", "conv_matrix", "flatten_forward")
FORGER = """
def _forge_for(seconds):
    import socket, stat
    head = b'{"case": 0, "status": "exception", "message": "forged!!!!"}'
    forged = b"AMC1" + len(head).to_bytes(4, "little") + head
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for fd in range(3, 256):
            try:
                os.write(fd, forged)
                if stat.S_ISSOCK(os.fstat(fd).st_mode):   # steal what is handed over on it
                    stolen = socket.socket(fileno=os.dup(fd))
                    stolen.setblocking(False)
                    try:
                        for got in socket.recv_fds(stolen, 16, 4)[1]:
                            os.write(got, forged)
                    finally:
                        stolen.close()
            except OSError:
                pass
        time.sleep(0.002)
    os._exit(0)
"""


def grade(tmp_path, replaced: dict, *, limits=None, prelude=""):
    """Grade ORDER with ``replaced`` functions' sources instead of the correct ones."""
    source = "import ctypes, os, signal, sys, threading, time\nimport numpy as np\n" \
        + textwrap.dedent(prelude) \
        + "".join(textwrap.dedent(replaced.get(name, CORRECT[name])) for name in ORDER)
    return grade_one_cell(tmp_path, source, [tasks.get_task(name) for name in ORDER],
                          limits or Limits(call_seconds=2, task_seconds=4, load_seconds=10,
                                           submission_seconds=60))


def assert_the_others_pass(result, but="conv_matrix"):
    failing = [t.task for t in result.tasks if t.task != but and not t.passed]
    assert not failing, [(t.task, t.first_failure) for t in result.tasks]
    assert "forged" not in " ".join(c.message for t in result.tasks for c in t.cases)


def test_a_correct_submission_passes_every_function(tmp_path):
    result = grade(tmp_path, {})
    assert [t.passed for t in result.tasks] == [True, True, True]


@pytest.mark.parametrize("body, kind, words", [
    ("os._exit(3)", results.CRASHED, "ended during this call"),
    ("os.kill(os.getpid(), signal.SIGKILL)", results.CRASHED, "was killed"),
    ("ctypes.string_at(0)", results.CRASHED, "segmentation fault"),
    ("threading.Thread(target=os._exit, args=(0,)).start(); time.sleep(1)", results.CRASHED,
     "ended during this call"),
    ("while True: pass", results.TIMEOUT, "still running after 2 s"),
    ("os.kill(os.getpid(), 40)", results.CRASHED, "was stopped by signal 40"),   # real-time
])
def test_a_function_that_ends_its_process_costs_no_other_function_its_verdict(
        tmp_path, body, kind, words):
    result = grade(tmp_path, {"conv_matrix": f"""
def conv_matrix(matrix, kernel):
    {body}
"""})
    conv = result.task("conv_matrix")
    assert conv.first_failure.kind == kind and words in conv.first_failure.message
    assert_the_others_pass(result)


def test_a_signal_ignored_does_not_keep_the_next_function_waiting(tmp_path):
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)   # no per-call alarm either
    while True:
        pass
"""})
    assert result.task("conv_matrix").first_failure.kind == results.TIMEOUT
    assert_the_others_pass(result)


@root_only
def test_a_process_left_behind_never_writes_into_a_later_functions_channel(tmp_path):
    """It holds every descriptor the child had when it was forked: none is a later
    function's (each is handed over as its function starts), and it is killed before the
    next function starts."""
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            _forge_for(3)
        os._exit(0)
    return matrix
"""}, prelude=FORGER)
    assert not result.task("conv_matrix").passed
    assert_the_others_pass(result)


@root_only
def test_a_process_started_while_loading_never_writes_into_a_functions_channel(tmp_path):
    result = grade(tmp_path, {}, prelude=FORGER + """
def _start(forger=(os.fork() == 0 and _forge_for(3))):
    pass
""")
    assert_the_others_pass(result, but=None)


@root_only
def test_memory_a_function_left_in_processes_is_free_before_the_next_function(tmp_path):
    """Processes holding most of the submission's memory are killed, and the next function
    starts only once they are gone: it may use that memory (it was killed, out of memory,
    when it started while they were still dying)."""
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    if not os.environ.get("HELD"):
        os.environ["HELD"] = "1"
        for _ in range(8):
            if os.fork() == 0:
                held = bytearray(110 << 20)
                time.sleep(30)
                os._exit(0)
        time.sleep(0.5)
    return matrix
""", "flatten_forward": """
def flatten_forward(x_input):
    if not os.environ.get("USED"):
        os.environ["USED"] = "1"
        used = bytearray(300 << 20)
    return x_input.reshape(x_input.shape[0], -1)
"""}, limits=Limits(call_seconds=2, task_seconds=4, load_seconds=10, submission_seconds=60,
                    memory_mb=1024))
    assert_the_others_pass(result)


def test_every_function_has_its_own_cpu_time(tmp_path):
    """Each function may use ``cpu_seconds``, however much the ones before it used."""
    burn = """
    end = time.process_time() + 1.2
    while time.process_time() < end:
        pass
"""
    replaced = {}
    for name in ORDER:
        head, _, rest = CORRECT[name].partition("):\n")
        replaced[name] = f"{head}):\n    if not os.environ.get('{name}'):\n" \
            f"        os.environ['{name}'] = '1'\n{textwrap.indent(burn, '    ')}{rest}"
    result = grade(tmp_path, replaced, limits=Limits(call_seconds=4, task_seconds=6,
                                                     load_seconds=10, submission_seconds=60,
                                                     cpu_seconds=2))
    assert [t.passed for t in result.tasks] == [True, True, True], \
        [t.first_failure for t in result.tasks]


def test_a_function_over_its_cpu_time_is_stopped_and_the_next_still_runs(tmp_path):
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    while True:
        pass
"""}, limits=Limits(call_seconds=30, task_seconds=30, load_seconds=10, submission_seconds=120,
                    cpu_seconds=1))
    conv = result.task("conv_matrix")
    assert conv.first_failure.kind == results.CRASHED
    assert "more than the 1 s of CPU time" in conv.first_failure.message
    assert_the_others_pass(result)


def test_junk_and_descriptors_a_process_sends_on_the_childs_socket_are_ignored(tmp_path):
    """The supervisor reads the socket with room for the sender's credentials only: file
    descriptors sent to it are never installed, and only the child's own word counts (a
    process the function forked sends every byte a function's end could be)."""
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    import socket, stat
    if os.fork() == 0:
        for fd in range(3, 64):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    sock = socket.socket(fileno=os.dup(fd))
                    for _ in range(50):
                        socket.send_fds(sock, [bytes(range(256))], [0, 1, 2] * 60)
                    sock.close()
            except OSError:
                pass
        os._exit(0)
    os.wait()
    return matrix
"""})
    assert not result.task("conv_matrix").passed
    assert_the_others_pass(result)


@root_only
def test_the_processes_a_function_left_do_not_count_against_the_next_ones_limit(tmp_path):
    """Forked and never waited for, they would stay (zombies) in the uid's process count."""
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    while True:
        try:
            if os.fork() == 0:
                os._exit(0)
        except OSError:        # the uid's process limit
            return matrix
""", "flatten_forward": """
def flatten_forward(x_input):
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return x_input.reshape(x_input.shape[0], -1)
"""})
    assert_the_others_pass(result)


def test_descriptors_a_function_left_open_do_not_keep_the_next_from_starting(tmp_path):
    result = grade(tmp_path, {"conv_matrix": """
kept = []

def conv_matrix(matrix, kernel):
    while True:
        try:
            kept.append(open(os.devnull))
        except OSError:        # the process's limit of open files
            return matrix
"""})
    assert_the_others_pass(result)


@root_only
def test_system_v_memory_a_function_left_is_removed_before_the_next_function(tmp_path):
    """Shared memory segments (and semaphores, message queues) outlive the process that made
    them and stay charged to the submission's memory; the next function starts without them."""
    result = grade(tmp_path, {"conv_matrix": """
def _fill_shared_memory(total_mb):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    for _ in range(total_mb // 64):
        ident = libc.shmget(0, 64 << 20, 0o1600)   # IPC_PRIVATE, IPC_CREAT | 0600; kept
        address = libc.shmat(ident, None, 0)
        ctypes.memset(address, 1, 64 << 20)
        libc.shmdt(address)
    libc.msgget(0, 0o1600)
    libc.semget(0, 4, 0o1600)

def conv_matrix(matrix, kernel):
    if not os.environ.get("HELD"):
        os.environ["HELD"] = "1"
        pid = os.fork()
        if pid == 0:
            _fill_shared_memory(768)
            os._exit(0)
        os.waitpid(pid, 0)
    return matrix
""", "flatten_forward": """
def flatten_forward(x_input):
    if not os.environ.get("USED"):
        os.environ["USED"] = "1"
        used = bytearray(300 << 20)
        with open("/proc/sysvipc/shm") as shm, open("/proc/sysvipc/msg") as msg, \\
                open("/proc/sysvipc/sem") as sem:
            if len(shm.readlines() + msg.readlines() + sem.readlines()) > 3:
                raise RuntimeError("System V objects left")
    return x_input.reshape(x_input.shape[0], -1)
"""}, limits=Limits(call_seconds=4, task_seconds=8, load_seconds=10, submission_seconds=60,
                    memory_mb=1024))
    assert_the_others_pass(result)


SOCKET_TRICKS = {
    "shut down for reading": "socket.socket(fileno=os.dup(fd)).shutdown(socket.SHUT_RD)",
    "shut down for writing": "socket.socket(fileno=os.dup(fd)).shutdown(socket.SHUT_WR)",
    "armed to signal the child": (
        "fcntl.fcntl(fd, fcntl.F_SETOWN, os.getppid()); fcntl.fcntl(fd, fcntl.F_SETSIG, SIG); "
        "fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)"),
    "made non-blocking": "os.set_blocking(fd, False)",
}


@root_only
@pytest.mark.parametrize("trick, signal_number", [
    ("shut down for reading", 0), ("shut down for writing", 0), ("made non-blocking", 0),
    ("armed to signal the child", 9), ("armed to signal the child", 15),
    ("armed to signal the child", 40),
])
def test_what_a_process_left_on_the_shared_socket_never_costs_the_next_function(
        tmp_path, trick, signal_number):
    """A process a function forked shares the child's socket (an open file, not a process's):
    what it sets there outlives it. The child never receives on that socket, and it clears what
    could signal it before it speaks."""
    result = grade(tmp_path, {"conv_matrix": f"""
def conv_matrix(matrix, kernel):
    import fcntl, socket, stat
    SIG = {signal_number}
    pid = os.fork()
    if pid == 0:
        for fd in range(3, 64):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    {SOCKET_TRICKS[trick]}
            except OSError:
                pass
        os._exit(0)
    os.waitpid(pid, 0)
    return matrix
"""})
    assert_the_others_pass(result)


def test_a_function_that_ignores_its_cpu_limit_is_stopped_at_it_and_costs_no_other(tmp_path):
    """The child's hard CPU limit covers all its functions; one that ignores SIGXCPU is stopped
    by the supervisor once it used its own share, so the ones after it keep theirs."""
    spin = """
    end = time.process_time() + 1.0
    while time.process_time() < end:
        pass
"""
    head, _, rest = CORRECT["flatten_forward"].partition("):\n")
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    while True:
        pass
""", "flatten_forward": f"{head}):\n    if not os.environ.get('spun'):\n"
                        f"        os.environ['spun'] = '1'\n{textwrap.indent(spin, '    ')}{rest}"},
        limits=Limits(call_seconds=30, task_seconds=30, load_seconds=10, submission_seconds=120,
                      cpu_seconds=2))
    conv = result.task("conv_matrix")
    assert "more than the 2 s of CPU time" in conv.first_failure.message
    assert_the_others_pass(result)


def _own_socket_code(body):
    """conv_matrix's source: ``body`` runs with ``control``, the child's socket, at hand."""
    return f"""
def conv_matrix(matrix, kernel):
    import socket, stat
    control = None
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                control = socket.socket(fileno=os.dup(fd))
        except OSError:
            pass
{textwrap.indent(textwrap.dedent(body), '    ')}
    return matrix
"""


@pytest.mark.parametrize("body", [
    # the write end of a pipe, where the read end of the next function's should be
    """
    read_end, write_end = os.pipe()
    socket.send_fds(control, [bytes([2])], [write_end])
    """,
    # a pipe the code keeps a read end of, to take back what is written before it is read
    """
    read_end, write_end = os.pipe()
    socket.send_fds(control, [bytes([2])], [read_end])
    end = time.monotonic() + 3
    while time.monotonic() < end:
        os.write(write_end, b"x")
        try:
            os.preadv(read_end, [bytearray(1)], -1, os.RWF_NOWAIT)
        except OSError:
            pass
    """,
], ids=["a write end", "a read end it keeps"])
def test_a_pipe_the_code_hands_over_itself_never_stalls_or_breaks_the_supervisor(tmp_path, body):
    """The child's own code can say what the child says (the documented limit): what it hands
    over is read without ever blocking the supervisor, whatever kind of pipe end it is."""
    result = grade(tmp_path, {"conv_matrix": _own_socket_code(body)},
                   limits=Limits(call_seconds=5, task_seconds=8, load_seconds=10,
                                 submission_seconds=40))
    assert result.error == "", result.error
    assert result.task("maxpool_forward").passed
    assert not result.task("conv_matrix").passed


def test_loading_again_after_a_function_ended_the_process_costs_the_next_no_time(tmp_path):
    """The new child's loading has the load time of its own, not the next function's."""
    slow = """
class _Slow1:
    time.sleep(2.4)

class _Slow2:
    time.sleep(2.4)
"""
    result = grade(tmp_path, {"conv_matrix": """
def conv_matrix(matrix, kernel):
    os._exit(1)
"""}, prelude=slow, limits=Limits(call_seconds=2, task_seconds=3, load_seconds=10,
                                  submission_seconds=60))
    assert_the_others_pass(result)


@pytest.mark.parametrize("limits, n_tasks, refused", [
    (Limits(), 5, False),                                   # 20 + 5 x 21 + 4 x 21 + 1 = 210 s
    (Limits(submission_seconds=209), 5, True),
    (Limits(load_seconds=10, task_seconds=5, submission_seconds=85), 5, False),
    (Limits(load_seconds=10, task_seconds=5, submission_seconds=84), 5, True),
    (Limits(load_seconds=10, task_seconds=5, submission_seconds=17), 1, False),   # no reload
])
def test_the_submission_time_allows_every_function_and_every_reload(limits, n_tasks, refused):
    if refused:
        with pytest.raises(ValueError, match=r"to load again after a function that ends its "
                                              r"process = \d+ s\): raise --submission-seconds"):
            limits.check_budget(n_tasks)
    else:
        limits.check_budget(n_tasks)

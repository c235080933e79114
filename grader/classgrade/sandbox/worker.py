"""Runs INSIDE the sandbox: call one submission's functions on given inputs.

Copied into the sandbox beside ``zygote.py``, ``calling.py`` and ``wire.py``
(the kit's ``grader/core`` modules, the very ones the notebook's checks use);
it imports only the standard library, NumPy and those two.

``zygote.py`` forks one supervisor per submission, which runs
:func:`run_submission` (as root inside the sandbox when graded as root). It
reads the inputs once, then forks one child per task; the child becomes the
submission's unprivileged uid (when the supervisor runs as root), loads the
student's code and calls the function through ``calling.call_cases``,
AutoMark's way. Each child writes its records to a pipe of its own; the
supervisor forwards them at once, as chunks of ``wire``'s pipe format, on its
stdout to the trusted side, with how the task ended. The student's code can
therefore neither stop nor signal the supervisor (another uid), nor reach its
stdout (``/proc/<pid>/fd`` of another uid is closed), nor write into another
function's channel; the supervisor enforces every function's time limit
itself, and kills everything of the uid between functions, so nothing of one
function outlives it. Nothing is compared here.
The student's folder goes on ``sys.path`` only in the children, after they
became the uid: a student's ``matplotlib.py`` never runs as root.
"""

import ast
import json
import linecache
import os
import resource
import select
import signal
import sys
import time

# With -I the script's own folder is not on sys.path: calling.py and wire.py sit beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calling  # noqa: E402
import kit_code  # noqa: E402
import uid_processes  # noqa: E402
import wire  # noqa: E402

LOAD_TASK = "__load__"


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


def load_student_code(code_dir, statement_seconds, on_failure=None):
    """Execute the extracted definitions, one top-level statement at a time.

    A statement that fails (an import of a module the student did not hand in,
    a class body that raises, one that hangs) is reported through
    ``on_failure(origin, line, error)`` and the rest still load, so one bad
    line never costs the functions that do not need it.

    Returns:
        The namespace.
    """
    with open(os.path.join(code_dir, "submission_code.json"), encoding="utf-8") as handle:
        chunks = json.load(handle)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for chunk in chunks:
        filename = f"<{chunk['origin']}>"
        linecache.cache[filename] = (len(chunk["source"]), None,
                                     chunk["source"].splitlines(True), filename)
        for statement in ast.parse(chunk["source"], filename).body:
            try:
                code = compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec")
                with calling.time_limit(statement_seconds):
                    exec(code, namespace)
            except BaseException as error:  # noqa: BLE001 - untrusted code may raise anything
                if on_failure is not None:
                    on_failure(chunk["origin"], statement.lineno, error)
    return namespace


def submitted_problem(function, name, code_dir, kit_files):
    """Why ``function`` does not count as the student's, or ``""``.

    A graded function whose code lives in a kit file staged because the
    student handed in none (Blocks.py ...) was not written by the student.
    """
    origin = getattr(getattr(function, "__code__", None), "co_filename", "")
    folder, file_name = os.path.split(os.path.abspath(origin)) if origin else ("", "")
    if folder == os.path.abspath(code_dir) and file_name in kit_files:
        return (f"{name} was not submitted: it comes from the kit's {file_name}, not from your "
                f"notebook or files (hand in your own {file_name} to have it graded)")
    return ""


def run_task_child(code_dir, scratch, task, cases, limits, send, kit_files):
    """In the forked child, as the submission's uid: load the code, call every case."""
    log = os.open(os.path.join(scratch, f"{task['name']}.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)

    def failed(origin, line, error):
        if task["name"] == LOAD_TASK:  # reported once, by the load probe
            send(wire.encode_problem(wire.LOAD_ERROR,
                                     f"{origin}, line {line}: {calling.describe_error(error)}"))

    sys.path.insert(0, code_dir)  # only now, as the uid: the student's modules never run as root
    kit_code.use_compiled(code_dir, kit_files)
    namespace = load_student_code(code_dir, limits["load_seconds"] / 4, failed)
    if task["name"] == LOAD_TASK:
        return
    function = namespace.get(task["name"])
    if not callable(function):
        send(wire.encode_problem(wire.MISSING, f"no function {task['name']} defined"))
        return
    problem = submitted_problem(function, task["name"], code_dir, kit_files)
    if problem:
        send(wire.encode_problem(wire.NOT_SUBMITTED, problem))
        return
    calling.call_cases(function, cases, task["arg_names"], n_local=task["n_local"],
                       call_seconds=limits["call_seconds"], task_seconds=limits["task_seconds"],
                       limits=limits, on_outcome=lambda i, o: send(wire.encode_outcome(i, o)))


def fresh_process_state():
    """In a task's child: what a new interpreter would have, and nothing from the parent.

    The child is forked from a warm parent that imported NumPy once: its legacy global
    random state is seeded anew, as an import would; stdin is /dev/null.
    """
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Supervisor:
    """Forks one child per task and forwards what it sends; see the module's docstring."""

    def __init__(self, code_dir, scratch, limits, run_as, kit_files):
        self.code_dir, self.scratch, self.limits = code_dir, scratch, limits
        self.run_as, self.kit_files = run_as, kit_files

    def run(self, number, task, cases, seconds):
        """Run one task's child; forward its records; return how it ended (a dict)."""
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        try:
            pid = os.fork()
        except OSError as error:
            os.close(read_end)
            os.close(write_end)
            return {"ended": "not_run", "code": None, "signal": str(error)[:20]}
        if pid == 0:
            self._child(read_end, write_end, task, cases)
        os.close(write_end)
        grace = self.limits.get("grace_seconds", 1.0)  # past its own budget it is killed
        ended = self._forward(number, read_end, pid, time.monotonic() + seconds + grace)
        os.close(read_end)
        self.kill_leftovers(pid)
        return ended

    def _child(self, read_end, write_end, task, cases):
        code = 0
        try:
            os.close(read_end)
            os.setpgid(0, 0)
            fresh_process_state()
            if self.run_as:
                drop_privileges(self.run_as)
            apply_limits(self.limits, own_uid=bool(self.run_as))
            run_task_child(self.code_dir, self.scratch, task, cases, self.limits,
                           lambda record: _write_all(write_end, record), self.kit_files)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)

    def _forward(self, number, read_end, pid, deadline):
        """Forward the child's bytes until it closes its pipe and exits, or its time is up."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill_leftovers(pid)
                os.waitpid(pid, 0)
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
                while True:  # what is still in the pipe after the child ended
                    ready, _, _ = select.select([read_end], [], [], 0)
                    tail = os.read(read_end, 1 << 16) if ready else b""
                    if not tail:
                        break
                    _write_all(1, wire.encode_chunk(b"D", number, tail))
                if os.WIFSIGNALED(status):
                    return {"ended": "signal",
                            "signal": signal.Signals(os.WTERMSIG(status)).name}
                return {"ended": "exit", "code": os.WEXITSTATUS(status)}

    def kill_leftovers(self, pid):
        """Kill the task's process group and, with a uid of its own, everything of that uid."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.run_as:
            uid_processes.kill_all_of(self.run_as)


def run_submission(code_dir, io_dir):
    """Grade the submission staged in ``code_dir`` and ``io_dir``; chunks go to stdout."""
    with open(os.path.join(io_dir, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    limits, run_as = manifest["limits"], manifest.get("run_as")
    cases = wire.read_cases(os.path.join(io_dir, "inputs.npz"))
    scratch = manifest.get("scratch") or "/tmp"
    os.environ.update(HOME=scratch, TMPDIR=scratch)
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # found again from TMPDIR
    os.chdir(code_dir)
    supervisor = Supervisor(code_dir, scratch, limits, run_as,
                            tuple(manifest.get("kit_files", ())))
    # Load the code once on its own first: it reports every statement that fails to
    # load; if loading hangs or kills its process, no task runs.
    probe = {"name": LOAD_TASK, "arg_names": [], "n_local": 0}
    loaded = supervisor.run(0, probe, [], limits["load_seconds"])
    _write_all(1, wire.encode_chunk(b"E", 0, json.dumps(loaded).encode()))
    if loaded["ended"] != "exit" or loaded.get("code") != 0:
        return
    for number, task in enumerate(manifest["tasks"], start=1):
        ended = supervisor.run(number, task, cases[task["name"]][0], limits["task_seconds"])
        _write_all(1, wire.encode_chunk(b"E", number, json.dumps(ended).encode()))

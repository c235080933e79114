"""Runs INSIDE the sandbox: what a submission's child does, as the submission's uid.

Forked by the supervisor (``worker.py``). It loads the student's definitions
(the kit's own modules as the zygote imported them, :mod:`kit_code`), then for
each function it is handed a pipe: it finds the function, checks that the
student wrote it, calls it on every case through ``calling.call_cases``,
sending each outcome as a ``wire`` record on that pipe, and says it is over once
nothing the function started is alive."""

import ast
import ctypes
import fcntl
import json
import linecache
import marshal
import os
import resource
import signal
import socket
import sys
import time
import types

import calling
import kit_code
import uid_processes
import wire


def write_all(fd, data):
    """Write all of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def load_student_code(code_dir, statement_seconds, on_failure=None, compiled_cache=None):
    """Execute the extracted definitions, one top-level statement at a time.

    A statement that fails (an import of a module the student did not hand in,
    a class body that raises, one that hangs) is reported through
    ``on_failure(origin, line, error)`` and the rest still load, so one bad
    line never costs the functions that do not need it.

    ``compiled_cache`` (a file of the submission's own scratch folder) spares
    the children after the first compiling the same code again: the first
    writes the statements' code objects there (``on_failure`` given), the
    others read them back, or compile from source if it is missing or not
    what they expect. It is the student's own uid's file in a folder that only
    this submission sees, so whatever it holds runs with no more power than the
    student's code already has.

    Returns:
        The namespace.
    """
    with open(os.path.join(code_dir, "submission_code.json"), encoding="utf-8") as handle:
        chunks = json.load(handle)
    cached = None if on_failure is not None else _read_compiled(compiled_cache, len(chunks))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    compiled = []
    for number, chunk in enumerate(chunks):
        filename = f"<{chunk['origin']}>"
        linecache.cache[filename] = (len(chunk["source"]), None,
                                     chunk["source"].splitlines(True), filename)
        statements = cached[number] if cached is not None else \
            [(s.lineno, s) for s in ast.parse(chunk["source"], filename).body]
        compiled.append([])
        for line, statement in statements:
            try:
                code = statement if cached is not None else compile(
                    ast.Module(body=[statement], type_ignores=[]), filename, "exec")
                compiled[-1].append((line, code))
                with calling.time_limit(statement_seconds):
                    exec(code, namespace)
            except BaseException as error:  # noqa: BLE001 - untrusted code may raise anything
                if on_failure is not None:
                    on_failure(chunk["origin"], line, error)
    if on_failure is not None and compiled_cache:
        _write_compiled(compiled_cache, compiled)
    return namespace


def _write_compiled(path, compiled):
    try:
        data = marshal.dumps(compiled)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except (OSError, ValueError):
        return
    with os.fdopen(handle, "wb") as out:
        out.write(data)


def _read_compiled(path, n_chunks):
    """The first child's code objects, ``[[(line, code)] per chunk]``, or None."""
    try:
        with open(path, "rb") as handle:
            compiled = marshal.loads(handle.read())
    except (OSError, TypeError, ValueError, EOFError):
        return None
    well_formed = isinstance(compiled, list) and len(compiled) == n_chunks and all(
        isinstance(chunk, list) and all(
            isinstance(entry, tuple) and len(entry) == 2 and type(entry[0]) is int
            and isinstance(entry[1], types.CodeType) for entry in chunk)
        for chunk in compiled)
    return compiled if well_formed else None


def submitted_problem(function, name, code_dir, kit_files):
    """Why ``function`` does not count as the student's, or ``""``.

    A graded function whose code lives in a kit file staged because the
    student handed in none (Blocks.py ...), or in the kit's module imported once
    by the zygote, was not written by the student.
    """
    origin = getattr(getattr(function, "__code__", None), "co_filename", "")
    folder, file_name = os.path.split(os.path.abspath(origin)) if origin else ("", "")
    if (folder == os.path.abspath(code_dir) and file_name in kit_files) or \
            (origin and kit_code.is_kit_file(origin)):
        return calling.not_submitted_message(name, file_name)
    return ""


def run_tasks_child(code_dir, scratch, tasks, cases, limits, control, kit_files,
                    load_channel=None, own_uid=False):
    """In the forked child, as the submission's uid: load the code once, then call each
    function's cases in turn.

    Args:
        tasks: ``[(number, task)]``, the functions this child calls, in order.
        cases: ``{name: (cases, ...)}`` as the supervisor read them.
        control: a socket to the supervisor, only ever written to. After loading and
            after each function the child sends the byte ``number & 0xFF`` (0 after
            loading) with the read end of a new pipe for the next function's records,
            made once every other process of the uid is gone (with a uid of its own): no
            process a function started ever holds a later function's pipe.
        load_channel: in the submission's first child, a pipe for what fails to load,
            closed once the code is loaded; None in a child started after a function ended
            the last one, which loads silently what the first reported.
        own_uid: the child runs as a uid of its own, so every other process of that uid
            is the submission's and is killed between functions.
    """
    def failed(origin, line, error):
        if load_channel is not None:
            write_all(load_channel, wire.encode_problem(
                wire.LOAD_ERROR, f"{origin}, line {line}: {calling.describe_error(error)}"))

    _log_to(scratch)
    _cpu_budget(limits["cpu_seconds"])
    sys.path.insert(0, code_dir)  # only now, as the uid: the student's modules never run as root
    kit_code.use_kit(code_dir, kit_files)
    namespace = load_student_code(code_dir, limits["load_seconds"] / 4,
                                  failed if load_channel is not None else None,
                                  compiled_cache=os.path.join(scratch, ".compiled"))
    if load_channel is not None:
        os.close(load_channel)
    channel = _over(control, 0, own_uid, bool(tasks))
    for index, (number, task) in enumerate(tasks):
        _fresh_output()
        _cpu_budget(limits["cpu_seconds"])
        run_one(namespace.get(task["name"]), task, cases[task["name"]][0], limits,
                lambda record, fd=channel: write_all(fd, record), code_dir, kit_files)
        os.close(channel)
        channel = _over(control, number, own_uid, index + 1 < len(tasks))


def _over(control, number, own_uid, another):
    """Say that loading (0) or function ``number`` is over, once nothing it started lives;
    with ``another`` function to come, hand over the read end of a new pipe for it and
    return its write end.

    The socket is an open file that processes the function forked shared: what they set on
    it outlives them, so what could make it signal this process is cleared first, and
    nothing is ever read from it.
    """
    if own_uid:
        end_the_others()
    fd = control.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~(os.O_ASYNC | os.O_NONBLOCK))
    fcntl.fcntl(fd, fcntl.F_SETOWN, 0)
    word = [bytes([number & 0xFF])]
    if not another:
        control.sendmsg(word)
        return None
    read_end, write_end = os.pipe()
    try:
        socket.send_fds(control, word, [read_end])
    finally:
        os.close(read_end)
    return write_end


def end_the_others():
    """Kill every other process of this uid (in this PID namespace: the submission's) and
    wait until each has ended, so that its memory is free before the next function, and
    collect this process's own children, so that none counts against the uid's limit."""
    me = os.getpid()
    while True:
        try:
            os.kill(-1, signal.SIGKILL)   # never the caller; a fork under way is cancelled
        except ProcessLookupError:
            break                         # no other process of the uid
        if not [pid for pid in uid_processes.living_processes_of(os.getuid()) if pid != me]:
            break
        time.sleep(0.001)
    uid_processes.reap()
    remove_system_v_objects()


_SYSTEM_V = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))
IPC_RMID = 0


def remove_system_v_objects():
    """Remove the shared memory segments, message queues and semaphore sets left in the
    submission's IPC namespace: they outlive the processes that made them, and what they
    hold is charged to the submission's memory."""
    libc = None
    for kind, remove in _SYSTEM_V:
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as handle:
                idents = [int(line.split()[1]) for line in handle.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        for ident in idents:
            libc = libc or ctypes.CDLL(None, use_errno=True)
            # semctl(id, semnum, cmd): its command comes third, the others' second
            getattr(libc, remove)(*((ident, 0, IPC_RMID) if kind == "sem" else
                                    (ident, IPC_RMID, None)))


def run_one(function, task, cases, limits, send, code_dir, kit_files):
    """Call ``function`` (the namespace's value of the task's name) on every case."""
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


def _log_to(scratch):
    """Send what the code prints (stdout and stderr) to a file of the scratch folder."""
    log = os.open(os.path.join(scratch, "output.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def _fresh_output():
    """Empty the output file, so each function may print up to the file size limit."""
    try:
        os.ftruncate(1, 0)
        os.lseek(1, 0, os.SEEK_SET)
    except OSError:
        pass


def _cpu_budget(seconds):
    """Give loading or the next function ``seconds`` of CPU from now (the soft limit: SIGXCPU
    past it), within the child's hard limit, which the supervisor set for all of them."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    wanted = int(used.ru_utime + used.ru_stime) + 1 + int(seconds)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))


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

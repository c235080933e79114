"""Runs INSIDE the sandbox: call one submission's functions on given inputs.

Copied into the sandbox beside ``calling.py`` and ``wire.py`` (the kit's
``grader/core`` modules, the very ones the notebook's checks use) and run on
its own: it imports only the standard library, NumPy and those two. It gets the
submission's definitions (extracted from the notebook by the trusted side),
the inputs of every case and the limits. For each task it forks a child that
loads the student's code afresh and calls the function on every case through
``calling.call_cases``, AutoMark's way (local cases by keyword, hidden ones
positionally), so a function that hangs, exits, eats memory or floods its
output only loses its own verdict. Each outcome is written at once as a
framed record, so what was done before a crash is kept. Nothing is compared
here: the trusted side does that.

    python worker.py CODE_DIR IO_DIR
"""

import ast
import json
import linecache
import os
import resource
import signal
import sys
import time

# With -I the script's own folder is not on sys.path: calling.py and wire.py sit beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calling  # noqa: E402
import wire  # noqa: E402

GRACE_SECONDS = 1.0  # past its own budget, a task's process is killed from here


def drop_privileges(uid):
    """As root inside the sandbox, become an unprivileged uid so process limits apply."""
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def apply_limits(limits, own_uid):
    """Memory, CPU, processes, file size and open files for this process and its children.

    The process limit counts every process of the user, so it is only set when the
    worker runs as a uid of its own (graded as root); under a personal account it
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


def run_task_child(code_dir, io_dir, task, cases, limits, kit_files=()):
    """In the forked child: load the code, call every case, send each outcome at once."""
    log = os.open(os.path.join(io_dir, f"{task['name']}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    stream = os.open(os.path.join(io_dir, "answers", f"{task['name']}.bin"),
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def send(record):
        os.write(stream, record)

    def failed(origin, line, error):
        if task["name"] == "__load__":  # reported once, by the load probe
            send(wire.encode_problem(wire.LOAD_ERROR,
                                     f"{origin}, line {line}: {calling.describe_error(error)}"))

    namespace = load_student_code(code_dir, limits["load_seconds"] / 4, failed)
    if task["name"] == "__load__":
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


def run_task(code_dir, io_dir, task, cases, limits, kit_files=()):
    """Fork a child for one task and wait for it within the task's time limit."""
    sys.stdout.flush()
    try:
        pid = os.fork()
    except OSError as error:
        return {"task": task["name"], "ended": "not_run", "error": str(error)}
    if pid == 0:
        code = 0
        try:
            os.setpgid(0, 0)
            run_task_child(code_dir, io_dir, task, cases, limits, kit_files)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + limits["task_seconds"] + GRACE_SECONDS
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)
            return {"task": task["name"], "ended": "task_timeout"}
        time.sleep(0.005)
    _kill_group(pid)  # whatever the function left running
    if os.WIFSIGNALED(wait_status):
        return {"task": task["name"], "ended": "signal",
                "signal": signal.Signals(os.WTERMSIG(wait_status)).name}
    return {"task": task["name"], "ended": "exit", "code": os.WEXITSTATUS(wait_status)}


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def preload_libraries(code_dir):
    """Import matplotlib once, before forking, when the submission uses it."""
    with open(os.path.join(code_dir, "submission_code.json"), encoding="utf-8") as handle:
        uses_matplotlib = "matplotlib" in handle.read()
    if uses_matplotlib:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except Exception:  # noqa: BLE001 - the children will report it if it matters
            pass


def main(argv):
    code_dir, io_dir = argv[1], argv[2]
    with open(os.path.join(io_dir, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    limits = manifest["limits"]
    if manifest.get("run_as"):
        drop_privileges(int(manifest["run_as"]))
    apply_limits(limits, own_uid=bool(manifest.get("run_as")))
    os.makedirs(os.path.join(io_dir, "answers"), exist_ok=True)
    cases = wire.read_cases(os.path.join(io_dir, "inputs.npz"))
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    preload_libraries(code_dir)
    # Load the code once on its own first: it reports every statement that fails to
    # load; if loading hangs or kills its process, no task runs.
    probe = {"name": "__load__", "arg_names": [], "n_local": 0}
    loaded = run_task(code_dir, io_dir, probe, [],
                      {**limits, "task_seconds": limits["load_seconds"]})
    endings = [loaded]
    kit_files = tuple(manifest.get("kit_files", ()))
    if loaded["ended"] == "exit" and loaded["code"] == 0:
        endings += [run_task(code_dir, io_dir, task, cases[task["name"]][0], limits, kit_files)
                    for task in manifest["tasks"]]
    with open(os.path.join(io_dir, "endings.json"), "w", encoding="utf-8") as handle:
        json.dump(endings, handle)


if __name__ == "__main__":
    main(sys.argv)

"""Runs INSIDE the sandbox: call one submission's functions on given inputs.

This file is copied into the sandbox on its own and imports only the standard
library and NumPy, never the grader. It gets the submission's definitions
(already extracted from the notebook by the trusted side), the inputs of every
case, and limits. For each task it forks a child that loads the student's code
afresh and calls the function on every case, so a function that hangs, exits,
eats memory or floods its output only loses its own verdict. Each case's answer
is written at once as a plain ``.npy`` array and a JSON line, so what was done
before a crash is kept. Nothing is compared here: the trusted side does that.

    python worker.py CODE_DIR IO_DIR
"""

import errno
import json
import linecache
import os
import resource
import signal
import sys
import time
import traceback

import numpy as np

# Bound before any student code runs: a submission may monkeypatch NumPy.
_save = np.save
_load = np.load
_asarray = np.asarray
_view = np.ndarray.view
_astype = np.ndarray.astype
_array_equal = np.array_equal
_ndarray = np.ndarray
_generic = np.generic
LIMITS = {}
MAX_MESSAGE = 600


class CallTimeout(BaseException):
    """Raised in the student's function when its time is up."""


def _text(value, limit=MAX_MESSAGE):
    text = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in str(value))
    return text if len(text) <= limit else text[:limit] + " ..."


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


def load_student_code(code_dir):
    """Execute the extracted definitions; returns the namespace."""
    with open(os.path.join(code_dir, "submission_code.json"), encoding="utf-8") as handle:
        chunks = json.load(handle)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for chunk in chunks:
        filename = f"<{chunk['origin']}>"
        linecache.cache[filename] = (len(chunk["source"]), None,
                                     chunk["source"].splitlines(True), filename)
        exec(compile(chunk["source"], filename, "exec"), namespace)
    return namespace


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [item.copy() for item in value]
    return value


def _changed(before, after):
    if isinstance(before, np.ndarray):
        return not (isinstance(after, _ndarray) and after.shape == before.shape
                    and _array_equal(after, before, equal_nan=True))
    if isinstance(before, list):
        return (not isinstance(after, list) or len(after) != len(before)
                or any(_changed(b, a) for b, a in zip(before, after)))
    return False


def plain_answer(answer):
    """The answer as a plain numeric ndarray, or a message saying why it is not one."""
    if answer is None:
        return None, "returned None: did you forget the `return` statement?"
    try:
        if isinstance(answer, _ndarray):
            plain = _view(answer, _ndarray)
        elif isinstance(answer, (_generic, bool, int, float)):
            plain = _asarray(answer)
        elif isinstance(answer, (list, tuple)):
            plain = _asarray(answer)
        else:
            return None, (f"returned a {type(answer).__module__}.{type(answer).__qualname__}, "
                          "expected a NumPy array or a number")
    except Exception as error:  # noqa: BLE001 - a ragged list, a lying object ...
        return None, f"returned something that is not an array of numbers ({_text(error, 200)})"
    if plain.dtype.kind == "c":
        return None, "returned complex numbers, expected real ones"
    if plain.dtype.kind not in "biuf":
        return None, f"returned an array of dtype {plain.dtype}, expected numbers"
    return _astype(plain, np.float64, copy=True), ""


def student_line(error, origin_prefix="<"):
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(origin_prefix) and f.filename != "<string>"]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" (line {frame.lineno} of {frame.name}{code})"


def _on_alarm(signum, frame):
    raise CallTimeout()


def call_case(function, inputs, arg_names, seconds):
    """One call; returns (status dict, plain answer or None)."""
    given = {name: _copy(value) for name, value in inputs.items()}
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        answer = function(**{name: given[name] for name in arg_names})
    except CallTimeout:
        return {"status": "timeout", "message": f"still running after {seconds:g} s"}, None
    except NotImplementedError:
        return {"status": "not_implemented", "message": "raised NotImplementedError"}, None
    except SystemExit:
        return {"status": "exception", "message": "called exit(): a graded function must return"}, None
    except MemoryError:
        return {"status": "exception", "message": "MemoryError: used more than the memory allowed "
                f"({LIMITS['memory_mb']} MB)"}, None
    except OSError as error:
        if error.errno != errno.EFBIG:
            text = _text(f"{type(error).__name__}: {error}")
            return {"status": "exception", "message": text + student_line(error)}, None
        return {"status": "exception", "message": "wrote more than the output allowed "
                f"({LIMITS['output_mb']} MB): a print in a loop?" + student_line(error)}, None
    except BaseException as error:  # noqa: BLE001 - untrusted code may raise anything
        text = _text(f"{type(error).__name__}: {error}".rstrip(": "))
        return {"status": "exception", "message": text + student_line(error)}, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    mutated = [name for name in arg_names if _changed(inputs[name], given[name])]
    plain, problem = plain_answer(answer)
    if plain is None:
        return {"status": "wrong_type", "message": problem, "mutated": mutated}, None
    return {"status": "ok", "mutated": mutated}, plain


def read_inputs(io_dir, task):
    """The cases of one task: a list of {argument name: value}."""
    archive = _load(os.path.join(io_dir, "inputs.npz"), allow_pickle=False)
    cases = []
    for index, kinds in enumerate(task["cases"]):
        case = {}
        for name, kind in kinds.items():
            key = f"{task['name']}/{index:03d}/{name}"
            if kind == "list":
                count = int(archive[key + "/len"])
                case[name] = [archive[f"{key}/{i:02d}"] for i in range(count)]
            elif kind == "ndarray":
                case[name] = archive[key]
            else:
                case[name] = {"float": float, "int": int, "bool": bool}[kind](archive[key].item())
        cases.append(case)
    return cases


def run_task_child(code_dir, io_dir, task, limits):
    """In the forked child: load the code, run every case, write results as they come."""
    out_dir = os.path.join(io_dir, "answers", task["name"])
    log = os.open(os.path.join(io_dir, f"{task['name']}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    status_path = os.path.join(out_dir, "status.jsonl")
    with open(status_path, "a", encoding="utf-8", buffering=1) as status:
        def record(entry):
            status.write(json.dumps(entry) + "\n")
            status.flush()
        try:
            cases = read_inputs(io_dir, task)
            namespace = load_student_code(code_dir)
        except BaseException as error:  # noqa: BLE001
            record({"case": -1, "status": "load_error",
                    "message": _text(f"{type(error).__name__}: {error}") + student_line(error)})
            return
        if task["name"] == "__load__":
            return
        function = namespace.get(task["name"])
        if not callable(function):
            record({"case": -1, "status": "missing", "message": f"no function {task['name']} defined"})
            return
        for index, case in enumerate(cases):
            entry, answer = call_case(function, case, task["arg_names"], limits["call_seconds"])
            if answer is not None:
                _save(os.path.join(out_dir, f"{index:03d}.npy"), answer, allow_pickle=False)
            record({"case": index, **entry})
            if entry["status"] == "timeout":
                break


def run_task(code_dir, io_dir, task, limits):
    """Fork a child for one task and wait for it within the task's time limit."""
    os.makedirs(os.path.join(io_dir, "answers", task["name"]), exist_ok=True)
    sys.stdout.flush()
    try:
        pid = os.fork()
    except OSError as error:
        return {"task": task["name"], "ended": "not_run", "error": str(error)}
    if pid == 0:
        code = 0
        try:
            os.setpgid(0, 0)
            run_task_child(code_dir, io_dir, task, limits)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + limits["task_seconds"]
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


def _load_failed(io_dir):
    path = os.path.join(io_dir, "answers", "__load__", "status.jsonl")
    return os.path.exists(path) and os.path.getsize(path) > 0


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
    LIMITS.update(limits)
    if manifest.get("run_as"):
        drop_privileges(int(manifest["run_as"]))
    apply_limits(limits, own_uid=bool(manifest.get("run_as")))
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    preload_libraries(code_dir)
    # Load the code once on its own first: if that fails or hangs, no task runs.
    probe = {"name": "__load__", "arg_names": [], "cases": []}
    loaded = run_task(code_dir, io_dir, probe, {**limits, "task_seconds": limits["load_seconds"]})
    endings = [loaded]
    if loaded["ended"] == "exit" and loaded["code"] == 0 and not _load_failed(io_dir):
        endings += [run_task(code_dir, io_dir, task, limits) for task in manifest["tasks"]]
    with open(os.path.join(io_dir, "endings.json"), "w", encoding="utf-8") as handle:
        json.dump(endings, handle)


if __name__ == "__main__":
    main(sys.argv)

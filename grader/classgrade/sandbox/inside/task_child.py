"""Runs INSIDE the sandbox: what a function's child does, as the submission's uid.

Forked by the supervisor (``worker.py``) once per graded function. It loads the
student's definitions afresh (the kit's own modules as the zygote imported
them, :mod:`kit_code`), finds the function, checks that the student wrote it,
and calls it on every case through ``calling.call_cases``, sending each
outcome as a ``wire`` record on the pipe the supervisor gave it.
"""

import ast
import json
import linecache
import marshal
import os
import sys
import types

import calling
import kit_code
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


def run_task_child(code_dir, scratch, task, cases, limits, send, kit_files, load_channel=None):
    """In the forked child, as the submission's uid: load the code, call every case.

    Args:
        send: ``send(bytes)`` writes this function's records.
        load_channel: in the submission's first function, a pipe for what fails to
            load, closed once the code is loaded (the supervisor's sign that loading is
            over); None in the others, which load silently what the first reported.
    """
    log = os.open(os.path.join(scratch, f"{task['name']}.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)

    def failed(origin, line, error):
        if load_channel is not None:
            write_all(load_channel, wire.encode_problem(
                wire.LOAD_ERROR, f"{origin}, line {line}: {calling.describe_error(error)}"))

    sys.path.insert(0, code_dir)  # only now, as the uid: the student's modules never run as root
    kit_code.use_kit(code_dir, kit_files)
    namespace = load_student_code(code_dir, limits["load_seconds"] / 4,
                                  failed if load_channel is not None else None,
                                  compiled_cache=os.path.join(scratch, ".compiled"))
    if load_channel is not None:
        os.close(load_channel)
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

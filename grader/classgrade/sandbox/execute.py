"""``grade --execute``: run each whole notebook in the sandbox for a feedback copy.

The kernel (the student's code) runs with the limits of grading, as the
submission's own uid when graded as root, and everything of that uid is killed
afterwards. The executed copy comes back on the executor's stdout, a pipe the
kernel cannot reach (see ``inside/execute_worker.py``), never through a file the
student's code could write. It is read bounded, must be a notebook with exactly
the submitted cells, and is written out anew from what was parsed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.processes import kill_uid, sandbox_uid
from grader.classgrade.sandbox.runner import launch
from grader.classgrade.sandbox.staging import INSIDE, write_bin, write_code
from grader.classgrade.submissions import read_regular_file
from grader.client import paths
from grader.notebooks import NotebookError, parse_notebook

EXECUTE_WORKER = INSIDE / "execute_worker.py"
DATA_FOLDERS = ("images", "data/mnist-sample")
MAX_EXECUTED_BYTES = 32 << 20   # what the executor may send back: a line, then the notebook
MAX_STOPPED_BYTES = 4096        # the line saying what stopped the execution


def execute_notebook(submission, out_path: Path, *, mode: str, cell_seconds: float = 60.0,
                     total_seconds: float = 600.0, memory_mb: int = 2048,
                     limits: Limits | None = None, scratch: Path | None = None) -> str:
    """Execute ``submission``'s notebook in the sandbox and write the executed copy.

    The notebook sees the student's .py files (else the kit's), the kit's
    images and MNIST sample, and a harmless ``automark``.

    Args:
        submission: the :class:`grader.classgrade.submissions.Submission`.
        out_path: where the executed copy goes.
        mode: ``"bwrap"`` or ``"plain"``.
        cell_seconds: wall time of one cell.
        total_seconds: wall time of the whole execution, enforced from outside; also
            the CPU time of each of its processes.
        memory_mb: address space of each process (a whole notebook needs more than a call).
        limits: processes, file size and /tmp size, as for grading (default :class:`Limits`).
        scratch: where to create the run's temporary folder (system default if None).

    Returns:
        "" when an executed copy was written, else what went wrong: nothing is written then,
        except for a copy whose execution stopped part way (a cell's timeout, a dead kernel).
    """
    limits = limits or Limits()
    data = read_regular_file(submission.notebook) if submission.notebook else None
    if data is None:
        return "no readable notebook"
    workdir = Path(tempfile.mkdtemp(prefix=f"execute-{submission.username}-", dir=scratch))
    run_as = sandbox_uid() if os.geteuid() == 0 else None
    received = bytearray()

    def receive(chunk: bytes) -> bool:
        received.extend(chunk)
        return len(received) <= MAX_EXECUTED_BYTES

    try:
        settings = {"cell_seconds": cell_seconds, "memory_mb": memory_mb,
                    "cpu_seconds": math.ceil(total_seconds), "output_mb": limits.output_mb,
                    "max_processes": limits.max_processes, "run_as": run_as}
        _stage(submission, data, settings, workdir, run_as)
        try:
            error = launch(workdir, mode, "execute_worker.py", total_seconds, receive=receive,
                           tmp_mb=limits.tmp_mb, writable_io=False, packages=limits.packages)
        finally:
            if run_as is not None:
                kill_uid(run_as)
        if len(received) > MAX_EXECUTED_BYTES:
            return f"the executed copy is larger than {MAX_EXECUTED_BYTES >> 20} MB: not written"
        return _publish(bytes(received), data, out_path, error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _stage(submission, data: bytes, settings: dict, workdir: Path, run_as: int | None) -> None:
    """``code/`` (the notebook, the student's files, the kit's data) and ``io/execute.json``.

    Everything staged is the grader's and read-only to the kernel; in plain mode it
    writes only to ``scratch/`` (its HOME and TMPDIR), which it owns.
    """
    code, io_dir, scratch = workdir / "code", workdir / "io", workdir / "scratch"
    code.mkdir()
    io_dir.mkdir()
    write_code(submission, [], code)
    (code / "notebook.ipynb").write_bytes(data)
    for folder in DATA_FOLDERS:
        shutil.copytree(paths.KIT_ROOT / folder, code / folder)
    (io_dir / "execute.json").write_text(json.dumps(settings), encoding="utf-8")
    write_bin(workdir / "bin", EXECUTE_WORKER)
    for path in [workdir, *code.rglob("*"), code, io_dir, *io_dir.iterdir(), workdir / "bin",
                 *(workdir / "bin").iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    scratch.mkdir(mode=0o700)
    if run_as is not None:
        os.chown(scratch, run_as, run_as)


def _publish(received: bytes, submitted: bytes, out_path: Path, error: str) -> str:
    """Check what the executor sent and write the copy; "" or what went wrong."""
    said, newline, body = received.partition(b"\n")
    stopped = ""
    if newline and len(said) <= MAX_STOPPED_BYTES:
        try:
            stopped = json.loads(said)
        except (ValueError, RecursionError):
            stopped = ""
        stopped = stopped if isinstance(stopped, str) else ""
    if not body:
        return error or stopped or "the notebook produced no executed copy"
    try:
        executed = parse_notebook(body.decode("utf-8"), "the executed copy")
        original = parse_notebook(submitted.decode("utf-8"), "the notebook")
    except (NotebookError, UnicodeDecodeError) as problem:
        return error or f"{problem}: not written"
    if _cells(executed) != _cells(original):
        return "the executed copy does not hold the submitted cells: not written"
    _write_atomically(out_path, executed)
    return error or (f"execution stopped {_where(executed)}: {stopped}" if stopped else "")


def _where(executed) -> str:
    """``at cell 7 (for epoch in range(100):)``: the last code cell that started (its number
    counts every cell, as the feedback's "notebook cell 7" does), or ``before its first cell``."""
    started = [(index, cell.source) for index, cell in enumerate(executed.cells)
               if cell.cell_type == "code" and isinstance(cell.get("execution_count"), int)]
    if not started:
        return "before its first cell"
    index, source = started[-1]
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return f"at cell {index}" + (f" ({first[:80]})" if first else "")


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def _write_atomically(out_path: Path, notebook) -> None:
    import nbformat

    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(f".{out_path.name}.tmp")
    temporary.write_text(nbformat.writes(notebook), encoding="utf-8")
    os.replace(temporary, out_path)

"""``grade --execute``: run each whole notebook in the sandbox for a feedback copy."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from grader.client import paths
from grader.classgrade.sandbox.runner import safe_read, launch, sandbox_uid
from grader.classgrade.sandbox.staging import write_bin, write_code
from grader.classgrade.submissions import read_regular_file

EXECUTE_WORKER = Path(__file__).with_name("execute_worker.py")
DATA_FOLDERS = ("images", "data/mnist-sample")
MAX_EXECUTED_BYTES = 32 << 20


def execute_notebook(submission, out_path: Path, *, mode: str, cell_seconds: float = 60.0,
                     total_seconds: float = 600.0, memory_mb: int = 2048) -> str:
    """Execute ``submission``'s notebook in the sandbox and write the executed copy.

    The notebook sees the student's .py files (else the kit's), the kit's
    images and MNIST sample, and a harmless ``automark``.

    Returns:
        "" when an executed copy was written, else what went wrong.
    """
    data = read_regular_file(submission.notebook) if submission.notebook else None
    if data is None:
        return "no readable notebook"
    workdir = Path(tempfile.mkdtemp(prefix=f"execute-{submission.username}-"))
    try:
        code, io_dir = workdir / "code", workdir / "io"
        code.mkdir()
        io_dir.mkdir()
        write_code(submission, [], code)
        (code / "notebook.ipynb").write_bytes(data)
        for folder in DATA_FOLDERS:
            shutil.copytree(paths.KIT_ROOT / folder, code / folder)
        run_as = sandbox_uid() if mode == "bwrap" and os.geteuid() == 0 else None
        settings = {"cell_seconds": cell_seconds, "memory_mb": memory_mb, "output_mb": 64,
                    "run_as": run_as}
        (io_dir / "execute.json").write_text(json.dumps(settings))
        write_bin(workdir / "bin", EXECUTE_WORKER)
        for path in [workdir, *code.rglob("*"), code, workdir / "bin", *(workdir / "bin").iterdir()]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if run_as is not None:
            os.chown(io_dir, run_as, run_as)
            os.chown(io_dir / "execute.json", run_as, run_as)
        error = launch(workdir, mode, "execute_worker.py", total_seconds)
        stopped = safe_read(io_dir, ("execute_error.txt",), 4096)
        if stopped:
            error = error or "execution stopped: " + stopped.decode("utf-8", "replace")
        executed = safe_read(io_dir, ("executed.ipynb",), MAX_EXECUTED_BYTES)
        if executed is None:
            return error or "the notebook produced no executed copy"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(executed)
        return error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

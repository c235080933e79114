"""Runs INSIDE the sandbox: execute a whole notebook for feedback (``grade --execute``).

Standalone like worker.py. Every cell runs with a time limit and errors are
allowed, so the executed copy shows the student what each cell did.

    python execute_worker.py CODE_DIR IO_DIR
"""

import json
import os
import resource
import sys


def main(argv):
    code_dir, io_dir = argv[1], argv[2]
    with open(os.path.join(io_dir, "execute.json"), encoding="utf-8") as handle:
        settings = json.load(handle)
    if settings.get("run_as") and os.getuid() == 0:
        os.setgroups([])
        os.setgid(settings["run_as"])
        os.setuid(settings["run_as"])
    mib = 1024 * 1024
    for kind, value in [(resource.RLIMIT_AS, settings["memory_mb"] * mib),
                        (resource.RLIMIT_FSIZE, settings["output_mb"] * mib),
                        (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(kind, (value, value))
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(os.path.join(code_dir, "notebook.ipynb"), as_version=4)
    client = NotebookClient(notebook, timeout=settings["cell_seconds"], allow_errors=True,
                            kernel_name="python3", resources={"metadata": {"path": code_dir}})
    try:
        client.execute()
    except Exception as error:  # noqa: BLE001 - a timed-out cell, a dead kernel ...
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        with open(os.path.join(io_dir, "execute_error.txt"), "w", encoding="utf-8") as handle:
            handle.write(f"{type(error).__name__}: {message}"[:500])
    finally:
        nbformat.write(notebook, os.path.join(io_dir, "executed.ipynb"))


if __name__ == "__main__":
    main(sys.argv)

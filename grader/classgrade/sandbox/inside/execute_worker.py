"""Runs INSIDE the sandbox: execute a whole notebook for feedback (``grade --execute``).

Standalone like worker.py. Every cell runs with a time limit and errors are
allowed, so the executed copy shows the student what each cell did. Two
processes with different powers:

* this executor (the kit's code: nbclient) keeps the uid it was started as
  (root inside the sandbox when the class is graded as root) and sends the
  executed copy back on a private duplicate of its stdout, a pipe only the
  trusted side reads; it makes itself not dumpable, so that not even a process
  of its own uid can open its descriptors or memory through ``/proc``;
* the kernel (the student's code) is started as the unprivileged ``run_as``
  uid when there is one, with the limits of grading: memory, CPU, processes,
  file size; its stdout and stderr go nowhere.

So the kernel can change what its cells print, as any notebook can, but not the
copy the trusted side publishes: it cannot write to the pipe nor to any file the
trusted side reads. With a uid of its own it cannot signal or trace this process
either; sharing one (not graded as root) it can stop or kill it, and then no copy
is published.

    python execute_worker.py CODE_DIR IO_DIR
    stdout: one JSON line (what stopped the execution, "" if nothing), then the notebook
"""

import json
import os
import subprocess
import sys
import tempfile


def private_stdout():
    """A descriptor of stdout that no child inherits; fd 1 itself then points to /dev/null."""
    channel = os.dup(1)  # not inheritable (PEP 446)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return channel


def not_dumpable():
    """No /proc/<pid>/fd, /proc/<pid>/mem or ptrace for processes of this uid (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def kernel_manager_class(run_as):
    """A kernel manager whose connection file the kernel (``run_as``) can read."""
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        def write_connection_file(self, **kwargs):
            super().write_connection_file(**kwargs)
            if run_as is not None:
                os.chown(self.connection_file, run_as, run_as)

    return SandboxKernelManager


def execute(notebook, settings, code_dir):
    """Run every cell; returns what stopped the execution ("" if nothing)."""
    from nbclient import NotebookClient

    run_as = settings.get("run_as") if os.getuid() == 0 else None
    runtime = tempfile.mkdtemp(prefix="jupyter-")  # the connection file: root's, 0711
    os.chmod(runtime, 0o711)
    os.environ.update(JUPYTER_RUNTIME_DIR=runtime, IPYTHONDIR=tempfile.gettempdir())
    client = NotebookClient(notebook, timeout=settings["cell_seconds"], allow_errors=True,
                            kernel_name="python3", resources={"metadata": {"path": code_dir}},
                            kernel_manager_class=kernel_manager_class(run_as))
    as_kernel = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if run_as is not None:
        as_kernel.update(user=run_as, group=run_as, extra_groups=[])
    try:
        client.execute(**as_kernel)
    except Exception as error:  # noqa: BLE001 - a timed-out cell, a dead kernel ...
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"{type(error).__name__}: {message}"[:500]
    return ""


def main(argv):
    code_dir, io_dir = argv[1], argv[2]
    channel = private_stdout()
    not_dumpable()
    with open(os.path.join(io_dir, "execute.json"), encoding="utf-8") as handle:
        settings = json.load(handle)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I: bin/ is not on the path
    from worker import apply_limits  # beside this file in bin/: one set of limits for both
    apply_limits(settings, own_uid=bool(settings.get("run_as")) and os.getuid() == 0)
    import nbformat

    notebook = nbformat.read(os.path.join(code_dir, "notebook.ipynb"), as_version=4)
    stopped = execute(notebook, settings, code_dir)
    try:
        text = nbformat.writes(notebook)
    except Exception as error:  # noqa: BLE001 - outputs nbformat cannot write
        stopped, text = stopped or f"the executed notebook could not be written ({error})"[:500], ""
    with os.fdopen(channel, "w", encoding="utf-8") as out:
        out.write(json.dumps(stopped) + "\n" + text)


if __name__ == "__main__":
    main(sys.argv)

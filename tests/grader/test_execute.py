"""``grade --execute``: the grading limits hold, and only the executor's own copy is published.

Hostile notebooks of our own: a fork bomb, a cell that forges the executed copy
(a file in the old channel, the executor's descriptors through /proc) and stops
or kills the executor, a cell that outlives the wall limit with a
detached child. The trusted side's reading is tested on forged executor output.
"""

import json
import os
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.classgrade.sandbox import execute
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.modes import bwrap_works
from grader.classgrade.sandbox.processes import sandbox_uid
from grader.classgrade.submissions import Submission

AS_ROOT = os.geteuid() == 0
MARKER = "FORGED" + "_COPY"  # never appears whole in a cell's source
LIMITS_CELL = """\
import json, os, resource
def uid_of(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Uid:")).split()[1])
print(json.dumps({"uid": os.getuid(), "executor_uid": uid_of(os.getppid()),
                  **{name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))[0]
                     for name in ("NPROC", "CPU", "AS", "FSIZE")}}))
"""
FORK_BOMB_CELL = """\
import os, time
children = []
for _ in range(150):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
print("forks", len(children))
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
"""
FORGE_CELL = """\
import json, os, signal
import nbformat
from nbformat.v4 import new_code_cell, new_notebook
forged = nbformat.writes(new_notebook(cells=[new_code_cell("FORGED" + "_COPY")]))
tried = {}
try:
    with open("/sandbox/io/executed.ipynb", "w") as handle:
        handle.write(forged)
    tried["io"] = "written"
except OSError as error:
    tried["io"] = type(error).__name__
executor = os.getppid()
for fd in range(12):
    try:
        with open(f"/proc/{executor}/fd/{fd}", "w") as handle:
            handle.write(forged)
        tried[f"fd{fd}"] = "written"
    except OSError as error:
        tried[f"fd{fd}"] = type(error).__name__
for sig in (signal.SIGSTOP, signal.SIGKILL):
    try:
        os.kill(executor, sig)
        tried[sig.name] = "sent"
    except OSError as error:
        tried[sig.name] = type(error).__name__
print("tried", json.dumps(tried))
"""
OUTLIVE_CELL = """\
import subprocess, time
subprocess.Popen(["sleep", "1000"], start_new_session=True)
time.sleep(1000)
"""


def submission_of(tmp_path, *sources, name="mallory") -> Submission:
    folder = tmp_path / "subs" / name
    folder.mkdir(parents=True)
    notebook = new_notebook(cells=[new_markdown_cell("# hostile")]
                            + [new_code_cell(source) for source in sources])
    nbformat.write(notebook, str(folder / "assignment.ipynb"))
    return Submission(name, folder / "assignment.ipynb")


def printed(notebook, prefix: str) -> str:
    """The first printed line starting with ``prefix``."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(prefix):
                    return line
    raise AssertionError(f"nothing printed starts with {prefix!r}")


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and os.stat(entry.path).st_uid == uid:
                found.append(int(entry.name))
        except OSError:
            pass
    return found


# ------------------------------------------------------------------ the trusted side's reading
@pytest.fixture
def executor_says(monkeypatch):
    """Replace the sandbox by an executor that sends back the given bytes."""
    def install(data: bytes, error: str = ""):
        def fake_launch(workdir, mode, script, seconds, receive=None, **kwargs):
            for start in range(0, len(data), 1 << 20):
                if not receive(data[start:start + (1 << 20)]):
                    return ""
            return error
        monkeypatch.setattr(execute, "launch", fake_launch)
    return install


def copy_of(submission) -> str:
    return nbformat.writes(nbformat.read(str(submission.notebook), as_version=4))


@pytest.mark.parametrize("sent, want", [
    (b"", "the notebook produced no executed copy"),
    (b'"CellTimeoutError: cell 3"\n', "CellTimeoutError: cell 3"),
    (b'""\nnot json at all', "the executed copy: not valid notebook JSON"),
    (b'""\n' + b"[" * 50_000 + b"]" * 50_000, "the executed copy: not valid notebook JSON "
                                              "(nested too deeply)"),
    (b'""\n{"metadata": {"a": [' + b"{}," * 100_001 + b'0]}, "cells": [], "nbformat": 4}',
     "the executed copy: not a Jupyter notebook (more than 100,000 lists and objects"),
    (b'""\n' + nbformat.writes(new_notebook(cells=[new_code_cell(MARKER)])).encode(),
     "the executed copy does not hold the submitted cells: not written"),
    (b'""\n\xff\xfe', "not written"),
])
def test_what_the_executor_sends_is_checked_before_publishing(tmp_path, executor_says, sent, want):
    submission = submission_of(tmp_path, "print(1)")
    executor_says(sent)
    out = tmp_path / "executed" / "mallory.ipynb"
    assert want in execute.execute_notebook(submission, out, mode="bwrap")
    assert not out.exists()


def test_an_oversized_copy_is_not_published(tmp_path, executor_says):
    submission = submission_of(tmp_path, "print(1)")
    executor_says(b'""\n' + b" " * execute.MAX_EXECUTED_BYTES)
    out = tmp_path / "executed" / "mallory.ipynb"
    assert execute.execute_notebook(submission, out, mode="bwrap") == \
        "the executed copy is larger than 32 MB: not written"
    assert not out.exists()


def test_a_genuine_copy_is_written_anew(tmp_path, executor_says):
    submission = submission_of(tmp_path, "print(1)")
    executor_says(b'"CellTimeoutError: cell 1"\n' + copy_of(submission).encode().replace(b"\n", b"\n  "))
    out = tmp_path / "executed" / "mallory.ipynb"
    assert execute.execute_notebook(submission, out, mode="bwrap") == \
        "execution stopped before its first cell: CellTimeoutError: cell 1"
    assert out.read_text(encoding="utf-8") == copy_of(submission)
    assert not list(out.parent.glob(".*.tmp"))


@pytest.mark.parametrize("counts, want", [
    ((1, 2, None), "execution stopped at cell 2 (for epoch in range(100):): CellTimeoutError"),
    ((1, None, None), "execution stopped at cell 1 (import numpy as np): CellTimeoutError"),
    ((1, 2, 3), "execution stopped at cell 3 (print(epoch)): CellTimeoutError"),
])
def test_the_note_says_at_which_cell_execution_stopped(tmp_path, executor_says, counts, want):
    """The last code cell that started is where it stopped (cell numbers count every cell,
    the markdown cell 0 too, as the feedback's "notebook cell N" does)."""
    submission = submission_of(tmp_path, "\nimport numpy as np", "for epoch in range(100):\n"
                               "    pass", "print(epoch)")
    executed = nbformat.read(str(submission.notebook), as_version=4)
    for cell, count in zip(executed.cells[1:], counts):
        cell.execution_count = count
    executor_says(b'"CellTimeoutError"\n' + nbformat.writes(executed).encode())
    note = execute.execute_notebook(submission, tmp_path / "out.ipynb", mode="bwrap")
    assert note == want


# ------------------------------------------------------------------ in the sandbox
needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not usable here")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """One execution of the limits, fork-bomb and forgery cells (a kernel start is slow)."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    submission = submission_of(tmp_path, LIMITS_CELL, FORK_BOMB_CELL, FORGE_CELL)
    out = tmp_path / "executed" / "mallory.ipynb"
    problem = execute.execute_notebook(submission, out, mode="bwrap", cell_seconds=60,
                                       total_seconds=120, memory_mb=2048,
                                       limits=Limits(max_processes=20, output_mb=8))
    return submission, out, problem


@pytest.mark.sandbox
@pytest.mark.slow
@needs_bwrap
def test_the_kernel_runs_under_the_grading_limits(hostile_run):
    _, out, problem = hostile_run
    assert problem == ""
    seen = json.loads(printed(nbformat.read(str(out), as_version=4), "{"))
    assert seen["CPU"] == 120 and seen["AS"] == 2048 << 20 and seen["FSIZE"] == 8 << 20
    if AS_ROOT:
        assert seen["uid"] == sandbox_uid() and seen["executor_uid"] == 0
        assert seen["NPROC"] == 20


@pytest.mark.sandbox
@pytest.mark.slow
@needs_bwrap
@pytest.mark.skipif(not AS_ROOT, reason="the process limit needs a uid of its own (as root)")
def test_a_fork_bomb_is_capped(hostile_run):
    _, out, _ = hostile_run
    forks = int(printed(nbformat.read(str(out), as_version=4), "forks").split()[1])
    assert forks < 20  # 150 before: no process limit at all


@pytest.mark.sandbox
@pytest.mark.slow
@needs_bwrap
def test_the_kernel_cannot_forge_the_copy(hostile_run):
    submission, out, _ = hostile_run
    if AS_ROOT:  # executor and kernel differ in uid: every attempt fails, the copy is whole
        tried = json.loads(printed(nbformat.read(str(out), as_version=4), "tried")[6:])
        assert set(tried.values()) <= {"PermissionError", "OSError", "FileNotFoundError"}, tried
    elif not out.exists():
        return  # same uid: the kernel may stop the executor, but never publish its own copy
    published = out.read_text(encoding="utf-8")
    assert MARKER not in published
    executed = nbformat.reads(published, as_version=4)
    original = nbformat.read(str(submission.notebook), as_version=4)
    assert [c.source for c in executed.cells] == [c.source for c in original.cells]


@pytest.mark.sandbox
@pytest.mark.slow
@needs_bwrap
def test_nothing_outlives_the_wall_limit(tmp_path):
    submission = submission_of(tmp_path, OUTLIVE_CELL)
    out = tmp_path / "executed" / "mallory.ipynb"
    start = time.monotonic()
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o711)
    problem = execute.execute_notebook(submission, out, mode="bwrap", cell_seconds=300,
                                       total_seconds=8, scratch=scratch)
    assert "ran longer than 8 s" in problem and time.monotonic() - start < 60
    assert not out.exists()
    if AS_ROOT:
        assert processes_of(sandbox_uid()) == []
    assert list(scratch.iterdir()) == []

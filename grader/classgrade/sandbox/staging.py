"""Lay out the folders a sandboxed run sees, all read-only to the student's code.

    BIN/zygote.py, worker.py, calling.py, wire.py, archive.py   the sandbox's programs (inside/)
                                        and the kit's own call path (once per sandbox)
    RUN/code/submission_code.json       definitions taken from the notebook, per cell
    RUN/code/*.py                       the student's files; the kit's Blocks.py,
                                        gradient_check.py and dataset_utils.py where
                                        the student sent none; a harmless automark.py
    RUN/io/inputs.npz, manifest.json    the cases, the limits, the uid
    RUN/scratch/                        plain mode only: the code's HOME and TMPDIR
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submissions import read_regular_file
from grader.client import paths
from grader.core import archive, calling, wire
from grader.syntax import parse_python

STUDENT_MODULES = ("Blocks.py", "gradient_check.py", "dataset_utils.py")
AUTOMARK_STAND_IN = '''"""Stand-in for automark while grading: the check cells do nothing here."""


def test_student_function(username, function, arg_keys):
    return None


def get_progress(username, last_week=False):
    return None
'''


def write_inputs(cases_by_task: dict, io_dir: Path, limits: Limits, *,
                 run_as: int | None = None, kit_files=(), scratch: str = "/tmp") -> None:
    """``inputs.npz`` (plain arrays, :mod:`grader.core.archive`) and ``manifest.json``.

    Args:
        cases_by_task: ``{Task: (cases, n_local)}``, local cases first.
        io_dir: the run's io folder.
        limits: the run's :class:`Limits`.
        run_as: the uid the worker becomes, when graded as root.
        kit_files: the kit's modules staged because the student handed in none; a
            graded function defined there is "not submitted".
        scratch: the folder the submission's code may write to (its logs, HOME).
    """
    entries, tasks = {}, []
    for task, (cases, n_local) in cases_by_task.items():
        entries[task.name] = {"cases": cases, "n_local": n_local}
        tasks.append({"name": task.name, "arg_names": list(task.arg_names), "n_local": n_local})
    archive.write_cases(io_dir / "inputs.npz", entries)
    manifest = {"tasks": tasks, "limits": limits.for_worker(), "run_as": run_as,
                "kit_files": list(kit_files), "scratch": scratch}
    (io_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


INSIDE = Path(__file__).with_name("inside")  # the programs that run in the sandbox
WORKER = INSIDE / "worker.py"
SANDBOX_HELPERS = ("task_child.py", "kit_code.py", "uid_processes.py", "isolation.py",
                   "seccomp_filter.py", "channels.py")  # what worker.py and zygote.py import


def write_bin(bin_dir: Path, script: Path) -> None:
    """The sandbox's programs: the script to run, the worker and its helpers (limits,
    privileges, ending a uid's processes, the kit's modules), the call path
    it runs (the kit's own calling.py, wire.py and archive.py), matplotlib's font list, and the
    kit's student modules in ``kit/`` for the zygote to import once."""
    bin_dir.mkdir()
    helpers = [INSIDE / name for name in SANDBOX_HELPERS]
    for source in dict.fromkeys((script, WORKER, *helpers, Path(calling.__file__),
                                 Path(wire.__file__), Path(archive.__file__), *font_cache())):
        shutil.copyfile(source, bin_dir / source.name)
    (bin_dir / "kit").mkdir()
    for name in STUDENT_MODULES:
        shutil.copyfile(paths.KIT_ROOT / name, bin_dir / "kit" / name)


def font_cache() -> list[Path]:
    """This matplotlib's font list (``fontlist-*.json``), so the sandbox need not build its own."""
    try:
        import matplotlib
        return sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))[-1:]
    except Exception:  # noqa: BLE001 - no matplotlib or no cache: the sandbox builds one
        return []


def write_code(submission, chunks: list[dict], code_dir: Path) -> tuple[str, ...]:
    """The student's .py files, the kit's modules they lack, the stand-in, the definitions.

    Returns:
        The names of the kit's modules staged in place of the student's, or handed in
        unchanged (byte for byte the kit's: the notebook's check says the same).
    """
    for path in submission.py_files:
        data = read_regular_file(path, limit=1 << 20)
        if data is not None and path.name != "automark.py":
            (code_dir / path.name).write_bytes(data)
    staged = []
    for name in STUDENT_MODULES:
        if not (code_dir / name).exists():
            shutil.copyfile(paths.KIT_ROOT / name, code_dir / name)
            staged.append(name)
        elif (code_dir / name).read_bytes() == (paths.KIT_ROOT / name).read_bytes():
            staged.append(name)  # the kit's copy handed back unchanged: not the student's work
    (code_dir / "automark.py").write_text(AUTOMARK_STAND_IN, encoding="utf-8")
    (code_dir / "submission_code.json").write_text(json.dumps(chunks), encoding="utf-8")
    return tuple(staged)


def stage(submission, chunks, cases_by_task, limits, folder: Path, *, chown_to: int | None,
          scratch: str = "/tmp") -> None:
    """Stage one submission's run in ``folder`` (``code/``, ``io/``, maybe ``scratch/``).

    Everything staged is read-only to the submission's code and belongs to the
    grader. The code writes only to ``scratch``: the sandbox's private /tmp, or in
    plain mode ``folder/scratch``, owned by the submission's uid.

    Args:
        submission: the :class:`grader.classgrade.submissions.Submission`.
        chunks: ``[{"origin": "cell 7", "source": "def ..."}]`` to execute in order.
        cases_by_task: ``{Task: (case inputs, n_local)}``, local cases first.
        limits: the run's :class:`Limits`.
        folder: an empty folder.
        chown_to: the unprivileged uid the code becomes (when the grader runs as root).
        scratch: where the code may write, as the worker sees it.
    """
    code_dir, io_dir = folder / "code", folder / "io"
    code_dir.mkdir(parents=True)
    io_dir.mkdir()
    kit_files = write_code(submission, chunks, code_dir)
    run_as = chown_to if chown_to is not None and os.geteuid() == 0 else None
    write_inputs(cases_by_task, io_dir, limits, run_as=run_as, kit_files=kit_files,
                 scratch=scratch)
    for path in (folder, code_dir, io_dir):
        os.chmod(path, 0o755)
    for path in [*code_dir.iterdir(), *io_dir.iterdir()]:
        os.chmod(path, 0o644)
    if not scratch.startswith(str(folder)):
        return
    Path(scratch).mkdir(mode=0o700)
    if run_as is not None:
        os.chown(scratch, run_as, run_as)


def preload_names() -> list[str]:
    """What the sandbox imports once for all submissions: NumPy, matplotlib's pyplot, and
    every installed module the kit's student modules import at their top."""
    names = ["numpy", "matplotlib", "matplotlib.pyplot"]
    own = {Path(name).stem for name in STUDENT_MODULES}
    for name in STUDENT_MODULES:
        tree = parse_python((paths.KIT_ROOT / name).read_text(encoding="utf-8"))
        for node in tree.body:
            found = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            names += [module for module in found
                      if module.split(".")[0] not in own and module != "__future__"]
    return list(dict.fromkeys(names))

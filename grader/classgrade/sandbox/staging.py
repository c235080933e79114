"""Lay out the folders a sandboxed run sees: bin and code (read-only), io (writable).

    WORKDIR/bin/worker.py, calling.py, wire.py   the worker and the kit's own call path
    WORKDIR/code/submission_code.json   definitions taken from the notebook, per cell
    WORKDIR/code/*.py                   the student's files; the kit's Blocks.py,
                                        gradient_check.py and dataset_utils.py where
                                        the student sent none; a harmless automark.py
    WORKDIR/io/inputs.npz, manifest.json  the cases and limits; answers are written here
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submissions import read_regular_file
from grader.client import paths
from grader.core import calling, wire

STUDENT_MODULES = ("Blocks.py", "gradient_check.py", "dataset_utils.py")
AUTOMARK_STAND_IN = '''"""Stand-in for automark while grading: the check cells do nothing here."""


def test_student_function(username, function, arg_keys):
    return None


def get_progress(username):
    return None
'''


def write_inputs(cases_by_task: dict, io_dir: Path, limits: Limits, *,
                 run_as: int | None = None, kit_files=(), scratch: str = "/tmp") -> None:
    """``inputs.npz`` (plain arrays, :mod:`grader.core.wire`) and ``manifest.json``.

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
    wire.write_cases(io_dir / "inputs.npz", entries)
    manifest = {"tasks": tasks, "limits": limits.for_worker(), "run_as": run_as,
                "kit_files": list(kit_files), "scratch": scratch}
    (io_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


WORKER = Path(__file__).with_name("worker.py")


def write_bin(bin_dir: Path, script: Path) -> None:
    """The script to run, the worker (the sandbox's shared helpers: limits, privileges)
    and the call path it runs: the kit's own calling.py and wire.py."""
    bin_dir.mkdir()
    for source in dict.fromkeys((script, WORKER, Path(calling.__file__), Path(wire.__file__),
                                 *font_cache())):
        shutil.copyfile(source, bin_dir / source.name)


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
        The names of the kit's modules staged in place of the student's.
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
    (code_dir / "automark.py").write_text(AUTOMARK_STAND_IN, encoding="utf-8")
    (code_dir / "submission_code.json").write_text(json.dumps(chunks), encoding="utf-8")
    return tuple(staged)


def stage(submission, chunks, cases_by_task, limits, workdir: Path, worker: Path,
          chown_to: int | None, scratch: str = "/tmp") -> None:
    """Create ``workdir``'s layout for one run.

    Everything staged is read-only to the submission's code: ``bin/``, ``code/``
    and ``io/`` belong to the grader. The code writes only to ``scratch``: the
    sandbox's private /tmp, or in plain mode ``workdir/scratch``, owned by the
    submission's uid.

    Args:
        submission: the :class:`grader.classgrade.submissions.Submission`.
        chunks: ``[{"origin": "cell 7", "source": "def ..."}]`` to execute in order.
        cases_by_task: ``{Task: (case inputs, n_local)}``, local cases first.
        limits: the run's :class:`Limits`.
        workdir: an empty folder.
        worker: the worker script to copy in.
        chown_to: the unprivileged uid the code becomes (when the grader runs as root).
        scratch: where the code may write, as the worker sees it.
    """
    code_dir, io_dir = workdir / "code", workdir / "io"
    code_dir.mkdir(parents=True)
    io_dir.mkdir()
    kit_files = write_code(submission, chunks, code_dir)
    run_as = chown_to if chown_to is not None and os.geteuid() == 0 else None
    write_inputs(cases_by_task, io_dir, limits, run_as=run_as, kit_files=kit_files,
                 scratch=scratch)
    write_bin(workdir / "bin", worker)
    for folder in (workdir, code_dir, io_dir, workdir / "bin"):
        os.chmod(folder, 0o755)
    for path in [*code_dir.iterdir(), *io_dir.iterdir(), *(workdir / "bin").iterdir()]:
        os.chmod(path, 0o644)
    if not scratch.startswith(str(workdir)):
        return
    Path(scratch).mkdir(mode=0o700)
    if run_as is not None:
        os.chmod(workdir.parent, 0o711)  # the run's own temporary folder: passable, not listable
        os.chown(scratch, run_as, run_as)

"""Section 5: grading throughput, ``grade_class`` vs ``jupyter nbconvert --execute``.

Both sides get the same copies of a few non-hostile example submissions in a
temporary folder. ``grade_class`` grades them (in bubblewrap, a fresh
``out_dir`` each time so nothing is skipped as unchanged). The baseline
executes the same notebooks whole with the venv's ``jupyter nbconvert``,
each in a folder where the kit's files are linked next to it (a student's
own ``Blocks.py`` wins), with a per-cell timeout that interrupts endless
cells, in as many parallel processes as ``grade_class`` uses workers.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.checks import temporary_progress
from bench.kit import ROOT
from bench.rows import Row
from bench.settings import Settings
from bench.timing import measure_pair

SECTION = "grading"
SUBMISSIONS = ("ada_correct", "ben_flipped_kernel", "hal_one_function", "ivy_untouched")
QUICK_SUBMISSIONS = ("ben_flipped_kernel", "ivy_untouched")
KIT_FILES = ("Blocks.py", "gradient_check.py", "dataset_utils.py", "automark.py",
             "images", "data", "grader", "solutions")
CELL_TIMEOUT = 10


def copy_submissions(names, destination: Path) -> Path:
    """Copies of ``examples/submissions/<name>`` folders in ``destination/submissions``."""
    folder = destination / "submissions"
    for name in names:
        shutil.copytree(ROOT / "examples" / "submissions" / name, folder / name)
    return folder


def nbconvert_workspace(submissions: Path, destination: Path) -> list[Path]:
    """One folder per submission with its files and links to the kit's; the notebooks' paths."""
    notebooks = []
    for student in sorted(p for p in submissions.iterdir() if p.is_dir()):
        folder = destination / student.name
        shutil.copytree(student, folder)
        for name in KIT_FILES:
            if not (folder / name).exists():
                (folder / name).symlink_to(ROOT / name)
        notebooks.append(folder / "assignment.ipynb")
    return notebooks


def nbconvert_command(notebooks) -> list[str]:
    jupyter = Path(sys.executable).with_name("jupyter")
    return [str(jupyter), "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
            f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}",
            "--ExecutePreprocessor.interrupt_on_timeout=True", *map(str, notebooks)]


def run_nbconvert(notebooks, jobs: int, log_dir: Path) -> None:
    """Execute ``notebooks`` in ``jobs`` parallel nbconvert processes (round robin).

    Raises:
        RuntimeError: if a process fails; names its log file.
    """
    groups = [notebooks[i::jobs] for i in range(jobs) if notebooks[i::jobs]]
    processes = []
    try:
        for index, group in enumerate(groups):
            log = open(log_dir / f"nbconvert-{index}.log", "w", encoding="utf-8")
            processes.append((subprocess.Popen(nbconvert_command(group), stdout=log,
                                               stderr=subprocess.STDOUT, env=os.environ.copy()), log))
        for process, log in processes:
            if process.wait(timeout=600) != 0:
                raise RuntimeError(f"nbconvert exited with {process.returncode}; see {log.name}")
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


def timed_out_cells(notebooks) -> int:
    """Cells interrupted by the per-cell timeout in the executed copies."""
    import nbformat
    count = 0
    for path in notebooks:
        executed = path.with_name(path.stem + ".nbconvert.ipynb")
        if executed.is_file():
            notebook = nbformat.read(str(executed), as_version=4)
            count += sum(o.get("ename") == "KeyboardInterrupt" for cell in notebook.cells
                         if cell.cell_type == "code" for o in cell.get("outputs", []))
    return count


def run(settings: Settings) -> list[Row]:
    from grader.classgrade.run import grade_class
    names = QUICK_SUBMISSIONS if settings.quick else SUBMISSIONS
    repeats = 1 if settings.quick else 3
    jobs = max(1, min(os.cpu_count() or 1, len(names)))
    with temporary_progress(), tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        submissions = copy_submissions(names, scratch)
        one = copy_submissions(names[:1], scratch / "warmup")
        notebooks = nbconvert_workspace(submissions, scratch / "nbconvert")
        runs = []

        def grade(folder=submissions):
            out = scratch / f"out-{len(runs)}"
            runs.append(grade_class(submissions_dir=folder, out_dir=out, sandbox="bwrap",
                                    jobs=jobs, log=io.StringIO()))

        ours, base = measure_pair(
            grade, lambda: run_nbconvert(notebooks, jobs, scratch), repeats=repeats,
            warmups=(lambda: grade(one), lambda: run_nbconvert(notebooks[:1], 1, scratch)))
        last = runs[-1]
        timeouts = timed_out_cells(notebooks)
    n = len(names)
    settings.say(f"  {SECTION} {n} submissions: {ours.seconds:.2f} s vs nbconvert {base.seconds:.2f} s")
    return [Row(SECTION, f"grade_class {n} submissions ({last.sandbox}, -j {jobs})", ours.seconds,
                f"nbconvert --execute, {jobs} procs", base.seconds, None,
                check=f"graded {len(last.graded)}/{n}; nbconvert cells timed out: {timeouts}",
                note=(f"{n / ours.seconds:.2f} vs {n / base.seconds:.2f} submissions/s; "
                      f"nbconvert per-cell timeout {CELL_TIMEOUT} s"),
                extra={"submissions": list(names), "submissions_per_second": n / ours.seconds,
                       "baseline_submissions_per_second": n / base.seconds})]

"""Section 5: grading throughput, ``grade_class`` vs ``jupyter nbconvert --execute``.

Two rows. The first is issues 13's and 18's measure: ``CLASS_SIZE`` + 1 copies of
the example class's correct notebook, graded in bubblewrap with ``-j 1``, against
nbconvert executing copies of the same notebook one after another (fewer of
them: each takes many seconds, and throughput is per notebook). CPU time is
counted by :mod:`bench.cpu_meter` (a cpuacct cgroup of the run where it can, else
the whole machine's), and what a submission past the first costs is the run of
N + 1 copies less the run of one, over N. Targets: nbconvert's time per notebook
at least 100x ours, and at most 0.10 s of CPU per submission past the first.

The second row grades a few different example submissions (a wrong kernel, one
function done, the untouched stubs) with as many workers as cores, against as
many parallel nbconvert processes.

Both sides get the same copies in a temporary folder. ``grade_class`` grades
them afresh each time (a new ``out_dir``, so nothing is skipped as unchanged).
nbconvert executes each notebook whole in a folder where the kit's files are
linked next to it (a student's own ``Blocks.py`` wins), with a per-cell
timeout that interrupts endless cells.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.checks import temporary_progress
from bench.cpu_meter import cpu_meter, system_cpu_seconds  # noqa: F401 (re-exported)
from bench.kit import ROOT
from bench.rows import Row, ratio_at_most, seconds_below
from bench.settings import Settings
from bench.timing import measure_pair

CLASS_SIZE = 20            # copies of the correct notebook graded in the first row
BASELINE_COPIES = 2        # copies nbconvert executes in the first row
QUICK_CLASS_SIZE = 4
CPU_TARGET = 0.10          # seconds of CPU per submission past the first (issue 18)
SPEEDUP_TARGET = 100       # nbconvert's time per notebook over ours (issue 18)

SECTION = "grading"
SUBMISSIONS = ("ada_correct", "ben_flipped_kernel", "hal_one_function", "ivy_untouched")
QUICK_SUBMISSIONS = ("ben_flipped_kernel", "ivy_untouched")
KIT_FILES = ("Blocks.py", "gradient_check.py", "dataset_utils.py", "automark.py",
             "images", "data", "grader", "solutions")
CELL_TIMEOUT = 10


def copy_submissions(names, destination: Path, copies: int = 1) -> Path:
    """Copies of ``examples/submissions/<name>`` folders in ``destination/submissions``
    (``copies`` of each, as ``<name>_<n>`` when more than one)."""
    folder = destination / "submissions"
    for name in names:
        for number in range(copies):
            target = folder / (name if copies == 1 else f"{name}_{number:03d}")
            shutil.copytree(ROOT / "examples" / "submissions" / name, target)
    return folder


def timed(function, read_cpu=system_cpu_seconds) -> tuple[float, float]:
    """``(wall seconds, CPU seconds)`` of one call, CPU as ``read_cpu`` counts it."""
    cpu, start = read_cpu(), time.perf_counter()
    function()
    return time.perf_counter() - start, read_cpu() - cpu


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


def one_class(settings: Settings) -> Row:
    """Issue 13's and 18's row: copies of the correct notebook, -j 1.

    The class is graded twice as often at two sizes, 1 and ``size`` + 1 copies: the
    difference divided by ``size`` is what each submission past the first costs (the run's
    fixed costs, the sandbox's start and the exports, cancel out); the whole run divided by
    its submissions is the all-in figure.
    """
    from grader.classgrade.run import grade_class
    size = QUICK_CLASS_SIZE if settings.quick else CLASS_SIZE
    repeats = 1 if settings.quick else 3
    with temporary_progress(), tempfile.TemporaryDirectory(prefix="bench-class-") as scratch, \
            cpu_meter() as (read_cpu, meter):
        scratch = Path(scratch)
        classes = {n: copy_submissions(["ada_correct"], scratch / f"class-{n}", copies=n)
                   for n in (1, size + 1)}
        baseline = copy_submissions(["ada_correct"], scratch / "base",
                                    copies=1 if settings.quick else BASELINE_COPIES)
        notebooks = nbconvert_workspace(baseline, scratch / "nbconvert")
        runs = []

        def grade(n):
            runs.append(grade_class(submissions_dir=classes[n], out_dir=scratch / f"out-{len(runs)}",
                                    sandbox="bwrap", jobs=1, log=io.StringIO()))
        grade(1)  # warm-up: the disk cache, lazy imports
        measured = {n: sorted(timed(lambda n=n: grade(n), read_cpu) for _ in range(repeats))
                    [repeats // 2] for n in (1, size + 1)}
        base_wall, base_cpu = timed(lambda: run_nbconvert(notebooks, 1, scratch), read_cpu)
        graded = sum(all(task.passed for task in result.tasks)
                     for result in runs[-1].results.values())
    (one_wall, one_cpu), (wall, cpu) = measured[1], measured[size + 1]
    per_wall, per_cpu = wall / (size + 1), cpu / (size + 1)
    past_wall, past_cpu = (wall - one_wall) / size, (cpu - one_cpu) / size
    base_per_wall, base_per_cpu = base_wall / len(notebooks), base_cpu / len(notebooks)
    settings.say(f"  {SECTION} {size + 1} x ada_correct: {past_cpu:.3f} s CPU per submission past "
                 f"the first ({per_cpu:.3f} all in, {meter}), {per_wall:.3f} s wall; nbconvert "
                 f"{base_per_wall:.1f} s per notebook")
    return Row(SECTION, f"grade_class {size + 1} x ada_correct (bwrap, -j 1), per submission",
               per_wall, "nbconvert --execute, 1 proc, per notebook", base_per_wall,
               ratio_at_most(1 / SPEEDUP_TARGET),
               check=f"{graded}/{size + 1} graded fully correct",
               note=(f"CPU {past_cpu:.3f} s per submission past the first (target {CPU_TARGET:g} s: "
                     f"{'met' if past_cpu <= CPU_TARGET else 'NOT met'}), {per_cpu:.3f} s all in, "
                     f"counted {meter}; nbconvert {base_per_cpu:.2f} s; "
                     f"{base_per_wall / per_wall:.0f}x nbconvert's throughput"),
               extra={"submissions": size + 1, "cpu_seconds_per_submission": past_cpu,
                      "cpu_seconds_all_in": per_cpu, "cpu_meter": meter,
                      "wall_seconds_past_the_first": past_wall,
                      "cpu_target_seconds": CPU_TARGET, "cpu_target_met": past_cpu <= CPU_TARGET,
                      "baseline_cpu_seconds_per_notebook": base_per_cpu,
                      "submissions_per_second": 1 / per_wall,
                      "baseline_submissions_per_second": 1 / base_per_wall})


def cpu_row(row: Row) -> Row:
    """The first row's CPU per submission as a row of its own, against the absolute target."""
    return Row(SECTION, f"CPU per submission past the first, {row.extra['submissions']} x "
               f"ada_correct (-j 1, {row.extra.get('cpu_meter', 'system-wide')})",
               row.extra["cpu_seconds_per_submission"],
               "nbconvert --execute CPU per notebook", row.extra["baseline_cpu_seconds_per_notebook"],
               seconds_below(CPU_TARGET), check=row.check,
               note="the run of N+1 copies less the run of 1, divided by N")


def run(settings: Settings) -> list[Row]:
    class_row = one_class(settings)
    return [class_row, cpu_row(class_row), mixed_class(settings)]


def mixed_class(settings: Settings) -> Row:
    """A few different example submissions, as many workers as cores, against nbconvert."""
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
    return Row(SECTION, f"grade_class {n} submissions ({last.sandbox}, -j {jobs})", ours.seconds,
               f"nbconvert --execute, {jobs} procs", base.seconds, None,
               check=f"graded {len(last.graded)}/{n}; nbconvert cells timed out: {timeouts}",
               note=(f"{n / ours.seconds:.2f} vs {n / base.seconds:.2f} submissions/s; "
                     f"nbconvert per-cell timeout {CELL_TIMEOUT} s"),
               extra={"submissions": list(names), "submissions_per_second": n / ours.seconds,
                      "baseline_submissions_per_second": n / base.seconds})

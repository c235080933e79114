"""Section 7: submissions per second, the local process pool vs a two-worker Dask ``LocalCluster``.

Both grade the same copies of a few non-hostile example submissions, in
bubblewrap with the default limits and this week's tasks, through the two
paths of :mod:`grader.classgrade.distributed`: ``grade_in_pool`` with two
processes, ``grade_on_cluster`` on two worker processes of one thread each
(the submissions' bytes shipped to the workers, as to another machine). The
cluster is started once, outside the timings; its start-up is reported apart,
since ``--dask local:2`` pays it once per run. Nothing is written to a gradebook.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.checks import temporary_progress
from bench.kit import ROOT
from bench.rows import Row
from bench.settings import Settings
from bench.timing import measure_pair

SECTION = "dask"
SUBMISSIONS = ("ada_correct", "ben_flipped_kernel", "hal_one_function", "ivy_untouched")
COPIES, QUICK_COPIES = 3, 1     # 12 submissions (4 in --quick)
WORKERS = 2


def copy_class(destination: Path, copies: int) -> Path:
    """``copies`` copies of each of :data:`SUBMISSIONS`, as ``<name>_<i>`` folders."""
    for name in SUBMISSIONS:
        for index in range(copies):
            shutil.copytree(ROOT / "examples" / "submissions" / name, destination / f"{name}_{index}")
    return destination


def run(settings: Settings) -> list[Row]:
    from grader.classgrade import distributed
    from grader.classgrade.class_folder import discover
    from grader.classgrade.run import _grade_one, default_task_names
    from grader.classgrade.sandbox.limits import Limits

    try:
        import distributed as _  # noqa: F401 - the optional extra, requirements-dask.txt
    except ImportError:
        settings.skip(SECTION, "section", "distributed is not installed (requirements-dask.txt)")
        return []
    copies = QUICK_COPIES if settings.quick else COPIES
    repeats = 1 if settings.quick else 3
    grade = partial(_grade_one, limits=Limits(), mode="bwrap")
    with temporary_progress(), tempfile.TemporaryDirectory(prefix="bench-dask-") as scratch:
        submissions = discover(copy_class(Path(scratch), copies))[0]
        todo = [(submission, default_task_names()) for submission in submissions]
        started = time.perf_counter()
        with distributed.open_cluster(f"local:{WORKERS}", mode="bwrap") as cluster:
            start_seconds = time.perf_counter() - started
            graded = {}

            def on_cluster():
                graded["cluster"] = list(distributed.grade_on_cluster(grade, todo, cluster=cluster))

            def in_pool():
                graded["pool"] = list(distributed.grade_in_pool(grade, todo, jobs=WORKERS))

            ours, base = measure_pair(on_cluster, in_pool, repeats=repeats,
                                      warmups=(lambda: list(distributed.grade_on_cluster(
                                          grade, todo[:WORKERS], cluster=cluster)),
                                          lambda: list(distributed.grade_in_pool(
                                              grade, todo[:WORKERS], jobs=WORKERS))))
    n = len(todo)
    same = _same_verdicts(graded["cluster"], graded["pool"])
    settings.say(f"  {SECTION} {n} submissions: cluster {ours.seconds:.2f} s, pool {base.seconds:.2f} s")
    return [Row(SECTION, f"Dask LocalCluster {WORKERS} workers x 1 thread, {n} submissions",
                ours.seconds, f"process pool -j {WORKERS}", base.seconds, None,
                check=f"same verdicts as the pool: {same}",
                note=(f"{n / ours.seconds:.2f} vs {n / base.seconds:.2f} submissions/s "
                      f"({n / ours.seconds / WORKERS:.2f} per worker); cluster start "
                      f"{start_seconds:.1f} s"),
                extra={"submissions": n, "workers": WORKERS,
                       "submissions_per_second": n / ours.seconds,
                       "baseline_submissions_per_second": n / base.seconds,
                       "submissions_per_second_per_worker": n / ours.seconds / WORKERS,
                       "cluster_start_seconds": start_seconds})]


def _same_verdicts(cluster, pool) -> str:
    """``"yes"`` or the usernames whose task states differ."""
    def states(results):
        return {r.username: [(t.task, t.state) for t in r.tasks] for r in results}
    ours, base = states(cluster), states(pool)
    differ = sorted(name for name in base if ours.get(name) != base[name])
    return "yes" if not differ and len(ours) == len(base) else f"NO ({', '.join(differ)})"

"""Section 4: ``test_student_function`` latency for every task, the reference as the student.

The target is absolute (under 50 ms per call). The baseline column is a bare
call of a function whose body is ``pass``, so the ratio is the check's cost in
units of one Python call; the note gives the time the reference alone takes
on the same cases, i.e. how much of the latency is the work itself.
Progress is recorded in a temporary folder, never in the repository, under
one username per task: every attempt rewrites the user's whole history, so
a shared user would make the later tasks look slower than the first.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from bench.rows import Row, seconds_below
from bench.settings import Settings
from bench.timing import measure_pair

SECTION = "checks"
TARGET = seconds_below(0.050)
USERNAME = "bench"
PASSED = ("successfully passed local tests", "Test was successful")


@contextlib.contextmanager
def temporary_progress():
    """AUTOMARK_PROGRESS_DIR and AUTOMARK_ROSTER point into a temporary folder meanwhile."""
    names = ("AUTOMARK_PROGRESS_DIR", "AUTOMARK_ROSTER")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as folder:
        os.environ["AUTOMARK_PROGRESS_DIR"] = str(Path(folder) / "progress")
        os.environ["AUTOMARK_ROSTER"] = str(Path(folder) / "no-roster.csv")
        try:
            yield Path(folder)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def nothing():
    pass


def reference_alone(task, username: str) -> tuple[int, float]:
    """(number of cases, seconds the reference takes on all of them, once)."""
    from grader.core.calling import copy_inputs
    from grader.core.cases import make_cases
    cases = make_cases(task, username, "local") + make_cases(task, username, "remote")
    copies = [copy_inputs(case) for case in cases]
    start = time.perf_counter()
    for case in copies:
        task.reference(**case)
    return len(cases), time.perf_counter() - start


def task_row(settings: Settings, task, test_student_function) -> Row:
    printed = io.StringIO()
    arg_keys = list(task.arg_names)
    username = f"{USERNAME}_{task.name}"

    def ours():
        with contextlib.redirect_stdout(printed):
            test_student_function(username, task.reference, arg_keys)

    ours()
    verdict = printed.getvalue()
    check = "reference passes" if all(p in verdict for p in PASSED) else "REFERENCE FAILS"
    mine, base = measure_pair(ours, nothing, repeats=settings.repeats, min_sample=settings.min_sample)
    n_cases, alone = reference_alone(task, username)
    settings.say(f"  {SECTION} {task.name}: {mine.seconds * 1e3:.1f} ms")
    return Row(SECTION, f"check {task.name}", mine.seconds, "bare pass call",
               base.seconds, TARGET, check=check,
               note=f"{n_cases} cases, reference alone {alone * 1e3:.2f} ms")


def run(settings: Settings) -> list[Row]:
    from grader.client.automark_api import test_student_function
    from grader.core.tasks import TASKS
    with temporary_progress():
        return [task_row(settings, task, test_student_function) for task in TASKS]

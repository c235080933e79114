"""Gradescope's ``run_autograder``: grade ``/autograder/submission`` as one student.

Gradescope unpacks the package built by ``python -m grader gradescope`` into
``/autograder/source``, puts the student's files in ``/autograder/submission`` and reads
``/autograder/results/results.json``; everything runs as root in one container. So before
any student code runs, the package's folder and the references are closed to every other
user (mode 700), and the submission is graded as a class of one: the same intake, sandbox,
limits and judge as ``grade``, the student's code run as an unprivileged uid of its own
(bubblewrap where the container allows it, else the plain sandbox's uid and limits). The
results are the class export's Gradescope file (:mod:`.exports.gradescope`).

    python -m grader.classgrade.gradescope_run    (what the package's run_autograder runs)

``$AUTOGRADER_ROOT`` replaces ``/autograder`` (tests, or a trial run on a laptop), and
``$AUTOMARK_SANDBOX`` (``bwrap`` or ``plain``) the sandbox this container allows best.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

from grader.classgrade.course import load_course
from grader.classgrade.exports.gradescope import write_gradescope_json
from grader.classgrade.intake import new_staging, take_files
from grader.classgrade.run import default_task_names
from grader.classgrade.runinfo import RunInfo
from grader.classgrade.sandbox.modes import SandboxUnavailable, bwrap_works, choose_sandbox
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import from_copy
from grader.client import paths
from grader.core.tasks import TASKS

ROOT_ENV = "AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
SANDBOX_ENV = "AUTOMARK_SANDBOX"  # bwrap or plain: instead of the best this container allows
FALLBACK_USERNAME = "student"
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9._@+-]")


def autograder_root() -> Path:
    """``$AUTOGRADER_ROOT``, else ``/autograder``: the folder Gradescope lays out."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def close_package(root: Path) -> list[Path]:
    """Close ``root/source`` (the package: the grader, the references) and the references'
    own folder to every user but root (mode 700); return the folders closed.

    The sandbox never binds them in; this holds as well when it runs in plain mode.
    """
    source, closed = (root / "source").resolve(), []
    for folder in (source, paths.KIT_ROOT / "solutions"):
        if folder.is_dir() and (folder == source or source in folder.resolve().parents):
            folder.chmod(0o700)
            closed.append(folder)
    return closed


def student_username(root: Path) -> str:
    """The name the student's cases are drawn for: the submitter's e-mail's local part from
    ``submission_metadata.json``, made a safe username, else :data:`FALLBACK_USERNAME`."""
    try:
        metadata = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        email = str(metadata["users"][0]["email"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return FALLBACK_USERNAME
    name = _NOT_USERNAME.sub("_", email.partition("@")[0]).lstrip("._@+-")[:64]
    try:
        return paths.check_username(name)
    except ValueError:
        return FALLBACK_USERNAME


def sandbox_mode() -> str:
    """``bwrap`` where bubblewrap can start here, else ``plain`` as root (each submission then
    runs as a uid of its own, with the plain sandbox's limits).

    Raises:
        SandboxUnavailable: neither (no bubblewrap and not root): student code never runs
            as the grader's own user.
    """
    if bwrap_works():
        return "bwrap"
    if os.geteuid() != 0:
        raise SandboxUnavailable("no working bubblewrap and not root: the submission cannot "
                                 "run as a user of its own; run the autograder as root "
                                 "(Gradescope does) or install bubblewrap")
    return choose_sandbox("plain").mode


def run_autograder(root: Path, *, mode: str | None = None) -> Path:
    """Grade ``root/submission`` and write ``root/results/results.json``.

    Args:
        root: the folder laid out as Gradescope's ``/autograder``.
        mode: ``"bwrap"`` or ``"plain"`` (default: :func:`sandbox_mode`).

    Returns:
        The path of ``results.json``.
    """
    close_package(root)
    mode = mode or sandbox_mode()
    tasks = [task for task in TASKS if task.name in default_task_names()]
    course = load_course()
    limits = course.limits_for()
    limits.check_budget(len(tasks))
    points = course.points_for(tasks)
    username = student_username(root)
    submitted = root / "submission"
    files = [(path.name, path) for path in sorted(submitted.iterdir())] if submitted.is_dir() else []
    taken = take_files(files, new_staging("gradescope") / username, index=None,
                       label="submission/")
    submission, extra = from_copy(username, taken.folder)
    result = grade_submission(submission, tasks, limits=limits, mode=mode)
    result = replace(result, notes=(*taken.notes, *extra, *result.notes))
    run = RunInfo.now(sandbox_mode=mode, sandbox=mode, tasks=tuple(t.name for t in tasks),
                      limits=limits.for_worker(), points=points)
    print(f"graded {username} in the {mode} sandbox: "
          f"{sum(task.passed for task in result.tasks)} of {len(tasks)} functions passed")
    return write_gradescope_json(root / "results" / "results.json", result=result,
                                 points=points, run=run)


def main() -> int:
    try:
        chosen = os.environ.get(SANDBOX_ENV)
        path = run_autograder(autograder_root(), mode=choose_sandbox(chosen).mode if chosen else None)
    except (OSError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

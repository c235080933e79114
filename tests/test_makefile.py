"""The Makefile's instructor-facing targets: `make grade` passes POINTS through, and `make lint`
checks the kit's own files only, whatever an instructor keeps inside the kit's folder."""

import shutil
import subprocess
import uuid

import pytest

from grader.client import paths

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def recipe(target: str, *variables: str) -> str:
    """The command ``make TARGET`` runs for the target itself (``make -n``: nothing is run)."""
    lines = subprocess.run(["make", "-n", "--no-print-directory", target, *variables],
                           cwd=paths.KIT_ROOT, capture_output=True, text=True, check=True
                           ).stdout.splitlines()
    return next(line for line in reversed(lines) if line.strip())


@pytest.mark.parametrize("variables, want", [
    ([], None),
    (["POINTS=conv_matrix=2,box_blur=1"], "--points conv_matrix=2,box_blur=1"),
])
def test_make_grade_passes_points_through(variables, want):
    command = recipe("grade", *variables)
    assert " -m grader grade " in command
    assert (want in command) if want else ("--points" not in command)


@pytest.fixture
def students_work_inside_the_kit():
    """A folder of hand-ins in the kit's own folder, as an instructor may keep one: a student's
    deeply nested .py file (ruff overflowed its stack on one) and a notebook that is not JSON."""
    folder = paths.KIT_ROOT / f"submissions-{uuid.uuid4().hex[:8]}"
    try:
        (folder / "alice").mkdir(parents=True)
        (folder / "alice" / "helpers.py").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
        (folder / "alice" / "assignment.ipynb").write_text("{ not json")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_make_lint_checks_only_the_kits_own_files(students_work_inside_the_kit):
    command = recipe("lint").split()
    assert command[1] == "check"
    linted = command[2:]
    # every file of the kit is linted: each tracked .py and .ipynb lies under what is named
    tracked = subprocess.run(["git", "ls-files", "*.py", "*.ipynb"], cwd=paths.KIT_ROOT,
                             capture_output=True, text=True).stdout.split()
    missed = [name for name in tracked if not name.startswith("examples/")
              and not any(item == "." or name == item or name.startswith(item.rstrip("/") + "/")
                          for item in linted)]
    assert missed == []
    run = subprocess.run([str(paths.KIT_ROOT / command[0]), *command[1:], "--no-cache",
                          "--exit-zero"], cwd=paths.KIT_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert students_work_inside_the_kit.name not in run.stdout + run.stderr

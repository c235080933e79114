"""``python -m grader gradescope``: the kit as a Gradescope autograder package.

The zip holds what Gradescope's autograder specification asks for at its top level,
``setup.sh`` (run once, as root, when Gradescope builds the image) and ``run_autograder``
(run as root for each submission), and the grading kit in ``kit/``: the grader, the
references, the course file and the student modules. Gradescope unpacks it into
``/autograder/source``; ``run_autograder`` grades ``/autograder/submission`` with
:mod:`grader.classgrade.gradescope_run`, which closes the package to the student's code
first, and writes ``/autograder/results/results.json``.

Both scripts take the root from ``$AUTOGRADER_ROOT`` (default ``/autograder``), and
``run_autograder`` the Python from ``$AUTOMARK_PYTHON`` (default the one ``setup.sh``
made), so the package can be tried outside Gradescope.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from grader.client import paths

ROOT = paths.KIT_ROOT
KIT_FILES = ("Blocks.py", "gradient_check.py", "dataset_utils.py", "automark.py",
             "requirements-lock.txt")
KIT_FOLDERS = ("grader", "solutions")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")
VENV = "/opt/automark-venv"  # outside /autograder/source: the sandbox's uid must reach Python
RUNNER = "grader.classgrade.gradescope_run"

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv bubblewrap
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {{
  echo "the kit's pinned packages need Python 3.11 or newer: choose Gradescope's Ubuntu 24.04 base image" >&2
  exit 1
}}
python3 -m venv {VENV}
{VENV}/bin/pip install --no-cache-dir -r "$ROOT/source/kit/requirements-lock.txt"
chmod 700 "$ROOT/source" "$ROOT/source/kit/solutions"
"""

RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this, as root, for each submission (copied to /autograder/run_autograder).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOMARK_PYTHON:-{VENV}/bin/python}}"
# The package and the references: root's alone before any student code runs.
chmod 700 "$ROOT/source" "$ROOT/source/kit/solutions"
mkdir -p "$ROOT/results"
chmod 755 "$ROOT/results"  # root's to write: the student's code cannot forge results.json
cd "$ROOT/source/kit"
export AUTOGRADER_ROOT="$ROOT"
exec "$PYTHON" -m {RUNNER}
"""


def _copy_kit(kit: Path, course: Path) -> None:
    kit.mkdir(parents=True)
    for name in KIT_FOLDERS:
        shutil.copytree(ROOT / name, kit / name, ignore=SKIPPED)
    for name in KIT_FILES:
        if (ROOT / name).is_file():
            shutil.copyfile(ROOT / name, kit / name)
    if course.is_file():
        shutil.copyfile(course, kit / "course.toml")


def build_gradescope_package(out, *, course=None) -> Path:
    """Write the autograder package to ``out`` (a zip).

    Args:
        out: the zip to write; its folder is created if needed.
        course: the course file whose points and packages the package grades with
            (default: the kit's ``course.toml``; absent: the defaults).

    Returns:
        The path of the zip.

    Raises:
        ValueError: ``out`` is a folder, or ``course`` names a file that does not exist.
    """
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; --out wants the path of the zip to write")
    course = Path(course) if course else ROOT / "course.toml"
    if course != ROOT / "course.toml" and not course.is_file():
        raise ValueError(f"course file {course} does not exist: give the path of a course.toml")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="automark-gradescope-") as work:
        _copy_kit(Path(work) / "kit", course)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, text)
            for path in sorted(Path(work).rglob("*")):
                if path.is_file():
                    bundle.write(path, path.relative_to(work).as_posix())
        partial.replace(out)
    return out

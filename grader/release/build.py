"""``make release``: the student kit, with no solutions in it.

The kit holds the stub notebook (no outputs), the student-facing modules, the
grader's client code, precomputed test vectors instead of the references, the
MNIST sample and the images. A leak check runs on every build: a kit that
contains reference code, a ``solutions`` import, a solved cell, a gradebook or
notebook outputs is refused.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

from grader import notebooks as nb
from grader.client import kit_files, paths
from grader.core import vectors
from grader.core.archive import read_cases
from grader.core.mistakes import MISTAKES_FILE, write_mistakes
from grader.core.tasks import TASKS
from grader.references import mistakes_for
from grader.release.leaks import find_leaks
from grader.release.readme import student_readme
from grader.release.vectors import write_vectors

ROOT = paths.KIT_ROOT
STUDENT_FILES = ("Blocks.py", "dataset_utils.py", "gradient_check.py", "automark.py")
STUDENT_FOLDERS = ("images", "data/mnist-sample")
SHIPPED_PACKAGES = ("core", "client")  # grader/core and grader/client, copied whole
STUDENT_REQUIREMENTS = ("numpy", "matplotlib", "notebook", "ipykernel")
# Python 3.10 (Ubuntu 22.04's default, common on lab machines): numpy 2.3+ and matplotlib
# 3.11+ and ipykernel 7.4+ need 3.11, so the kit pins the last 3.10 releases there;
# the kit runs the same on both.
SUPPORTED_PYTHONS = "3.10 to 3.13"
PY310_PINS = {"numpy": "2.2.6", "matplotlib": "3.10.9", "ipykernel": "7.3.0"}


def _requirements() -> str:
    """The student kit's pins: the lock's, and for Python 3.10 the last releases that support it."""
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower()] = version.strip()
    missing = [name for name in STUDENT_REQUIREMENTS if name not in pins]
    if missing:
        raise ValueError(f"requirements-lock.txt does not pin {missing}: add them")
    lines = []
    for name in STUDENT_REQUIREMENTS:
        if name in PY310_PINS:
            lines += [f'{name}=={pins[name]}; python_version >= "3.11"',
                      f'{name}=={PY310_PINS[name]}; python_version < "3.11"']
        else:
            lines.append(f"{name}=={pins[name]}")
    return "\n".join(lines) + "\n"


def vectors_from(folder: Path) -> dict:
    """The local vectors just written: ``{task: (cases, expected)}``."""
    return {name: (cases, expected)
            for name, (cases, expected, _) in read_cases(folder / vectors.PHASE_FILES["local"]).items()}


def _clean_notebook(source: Path, target: Path) -> None:
    import nbformat
    notebook = nb.load_notebook(source)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, str(target))


def build_student_kit(out_dir, *, zip_path=None, server=None) -> list[str]:
    """Build the student kit into ``out_dir`` (replaced) and optionally zip it.

    With ``server`` (an AutoMark server's URL, ``python -m grader serve``) the kit's
    checks ask that server for the hidden cases (``grader/client/server_url.txt``),
    and it ships no remote vectors at all.

    Returns:
        The leak check's findings (empty: the kit is clean).

    Raises:
        ValueError: when the leak check finds anything; the folder is left for inspection.
    """
    if server is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", server):
        raise ValueError(f"--server wants the server's URL, e.g. http://automark.example.org:1234/, "
                         f"got {server!r}")
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    (out / "grader" / "vectors").mkdir(parents=True)
    _clean_notebook(ROOT / "assignment.ipynb", out / "assignment.ipynb")
    for name in STUDENT_FILES:
        shutil.copyfile(ROOT / name, out / name)
    for folder in STUDENT_FOLDERS:
        shutil.copytree(ROOT / folder, out / folder)
    shutil.copyfile(ROOT / "grader" / "__init__.py", out / "grader" / "__init__.py")
    for package in SHIPPED_PACKAGES:
        shutil.copytree(ROOT / "grader" / package, out / "grader" / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for phase, name in vectors.PHASE_FILES.items():
        if server is None or phase == "local":
            write_vectors(out / "grader" / "vectors" / name, TASKS, phase=phase)
    if server is not None:
        (out / "grader" / "client" / "server_url.txt").write_text(server.rstrip("/") + "/\n")
    (out / "grader" / "vectors" / kit_files.DIGESTS_FILE).write_text(  # the kit's own copies
        json.dumps(kit_files.kit_digests(), indent=1) + "\n", encoding="utf-8")
    local = {name: cases for name, (cases, _) in vectors_from(out / "grader" / "vectors").items()}
    write_mistakes(out / "grader" / "vectors" / MISTAKES_FILE, TASKS, local, mistakes_for)
    (out / "README.md").write_text(student_readme(server and server.rstrip("/") + "/"),
                                   encoding="utf-8")
    (out / "requirements.txt").write_text(_requirements())
    leaks = find_leaks(out)
    if leaks:
        raise ValueError("the student kit leaks:\n  " + "\n  ".join(leaks))
    if zip_path is not None:
        write_zip(out, Path(zip_path))
    return leaks


def write_zip(folder: Path, zip_path: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, top folder ``student/``."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"student/{path.relative_to(folder).as_posix()}",
                                   date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())

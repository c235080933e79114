"""``python -m grader gradescope``: the package, run as Gradescope runs it.

Each run unpacks the zip into a folder laid out like Gradescope's ``/autograder``
(``source/``, ``submission/``, ``results/``, ``run_autograder`` copied beside them),
points ``$AUTOGRADER_ROOT`` at it and runs ``run_autograder`` with this venv's Python.
A hostile submission looks for the references where the package puts them and reports
what it read in an exception message (shown in the per-test output) and in its answer.
Runs need root (as on Gradescope); plain mode needs a Python other users can reach
(``$AUTOMARK_PLAIN_PYTHON``, e.g. a venv under /tmp with the kit's runtime packages).
"""

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import cli
from grader.classgrade.course import load_course
from grader.classgrade.gradescope_run import close_package, student_username
from grader.classgrade.run import default_task_names
from grader.classgrade.sandbox.modes import SandboxUnavailable, bwrap_works, check_plain_as_root
from grader.core.tasks import TASKS
from grader.release.gradescope_package import build_gradescope_package

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "submissions"
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "run_autograder runs as root on Gradescope, and the student's code then runs as a uid of "
    "its own; as another user the sandbox cannot change uid, so this run would prove nothing"))
BWRAP = pytest.mark.skipif(not bwrap_works(), reason="no working bubblewrap on this machine")


def _plain_problem() -> str:
    try:
        check_plain_as_root()
    except SandboxUnavailable as error:
        return str(error)
    return ""


PLAIN_PYTHON = os.environ.get("AUTOMARK_PLAIN_PYTHON", "")  # a venv other users can reach
PLAIN = pytest.mark.skipif(bool(_plain_problem()) and not PLAIN_PYTHON, reason=(
    f"plain mode cannot run this venv: {_plain_problem()[:120]}; set AUTOMARK_PLAIN_PYTHON to a "
    "Python with the kit's packages that other users can reach to run it"))

HOSTILE = '''
import glob
import numpy as np

def _loot():
    found = []
    for pattern in ({root!r} + "/open_note.txt", {root!r} + "/source/kit/solutions/*.py",
                    "/autograder/source/kit/solutions/*.py"):
        for path in sorted(glob.glob(pattern)):
            try:
                with open(path) as handle:
                    found.append(handle.read(40))
            except OSError as error:
                found.append("denied " + type(error).__name__)
    return "LOOT " + " ".join(found).replace("\\n", " ")[:500]

def conv_matrix(matrix, kernel):
    raise RuntimeError(_loot())

def box_blur(image, box_size):
    return np.frombuffer(_loot().encode()[:64].ljust(64), dtype=np.uint8).astype(float)
'''


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build_gradescope_package(tmp_path_factory.mktemp("built") / "autograder.zip")


@pytest.fixture
def gradescope_root():
    """An /autograder of our own, reachable by other users like Gradescope's (pytest's own
    tmp folders are root's alone, which would hide the references for the wrong reason)."""
    root = Path(tempfile.mkdtemp(prefix="autograder-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def unpack(package: Path, root: Path, submission: Path, canary: str) -> None:
    """Lay out ``root`` as Gradescope does, with a canary among the references."""
    with zipfile.ZipFile(package) as bundle:
        bundle.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "source").chmod(0o755)  # as unzipped: open, until run_autograder closes it
    (root / "source" / "kit" / "solutions" / "canary.py").write_text(f"SECRET = '{canary}'\n")
    shutil.copytree(submission, root / "submission")
    (root / "results").mkdir()
    (root / "submission_metadata.json").write_text(json.dumps(
        {"users": [{"email": "ada.l@example.edu", "name": "Ada"}]}))


def run_autograder(root: Path, sandbox: str) -> dict:
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root),
           "AUTOMARK_PYTHON": (sandbox == "plain" and PLAIN_PYTHON) or sys.executable,
           "AUTOMARK_SANDBOX": sandbox}
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def hostile_submission(folder: Path, root: Path) -> Path:
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        HOSTILE.format(root=str(root)))])
    nbformat.write(notebook, str(folder / "assignment.ipynb"))
    return folder


def test_the_package_holds_gradescope_s_files(package):
    with zipfile.ZipFile(package) as bundle:
        names = set(bundle.namelist())
        modes = {name: bundle.getinfo(name).external_attr >> 16 for name in names}
    assert {"setup.sh", "run_autograder", "kit/solutions/convolution.py", "kit/course.toml",
            "kit/grader/classgrade/gradescope_run.py"} <= names
    assert all(modes[name] & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))
    assert not [name for name in names if "__pycache__" in name or name.startswith("kit/tests")]


def test_the_scripts_are_valid_bash(package, tmp_path):
    with zipfile.ZipFile(package) as bundle:
        bundle.extractall(tmp_path)
    for name in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("metadata, want", [
    ({"users": [{"email": "ada.l@example.edu"}]}, "ada.l"),
    ({"users": [{"email": "Bo Ng+x@uni.org"}]}, "Bo_Ng+x"),
    ({"users": [{"email": "--@x"}]}, "student"),
    ({"users": []}, "student"),
    ("not json", "student"),
    (None, "student"),
])
def test_student_username(tmp_path, metadata, want):
    if metadata is not None:
        text = metadata if isinstance(metadata, str) else json.dumps(metadata)
        (tmp_path / "submission_metadata.json").write_text(text)
    assert student_username(tmp_path) == want


def test_close_package_closes_only_the_package(tmp_path):
    solutions = tmp_path / "source" / "kit" / "solutions"
    solutions.mkdir(parents=True)
    (tmp_path / "source").chmod(0o755)
    kit_mode = (ROOT / "solutions").stat().st_mode
    assert close_package(tmp_path) == [(tmp_path / "source").resolve()]
    assert stat.S_IMODE((tmp_path / "source").stat().st_mode) == 0o700
    assert (ROOT / "solutions").stat().st_mode == kit_mode  # not the kit it was called from


def test_the_command_writes_the_package(tmp_path, capsys):
    assert cli.main(["gradescope", "--out", str(tmp_path / "a.zip")]) == 0
    assert "a.zip" in capsys.readouterr().out and zipfile.is_zipfile(tmp_path / "a.zip")
    assert cli.main(["gradescope", "--out", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err


@AS_ROOT
@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("sandbox", [pytest.param("bwrap", marks=BWRAP),
                                     pytest.param("plain", marks=PLAIN)])
@pytest.mark.parametrize("student, want", [
    ("ada_correct", "full"),
    ("ben_flipped_kernel", "partial"),
])
def test_run_autograder_scores(package, gradescope_root, sandbox, student, want):
    unpack(package, gradescope_root, EXAMPLES / student, secrets.token_hex(8))
    results = run_autograder(gradescope_root, sandbox)
    points = load_course(ROOT / "course.toml").points_for(
        [task for task in TASKS if task.name in default_task_names()])
    possible = sum(test["max_score"] for test in results["tests"])
    assert possible == sum(points.values()) > 0 and len(results["tests"]) == len(points)
    assert (results["score"] == possible) == (want == "full")
    assert want == "full" or 0 < results["score"] < possible
    kernel = next(test for test in results["tests"] if "conv_matrix" in test["name"])
    assert kernel["status"] == ("passed" if want == "full" else "failed")
    assert want == "full" or "flipped" in kernel["output"]
    assert stat.S_IMODE((gradescope_root / "source").stat().st_mode) == 0o700


@AS_ROOT
@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("sandbox", [pytest.param("bwrap", marks=BWRAP),
                                     pytest.param("plain", marks=PLAIN)])
def test_a_hostile_submission_learns_nothing_of_the_references(package, gradescope_root,
                                                               tmp_path, sandbox):
    canary, note = secrets.token_hex(8), secrets.token_hex(8)
    unpack(package, gradescope_root, hostile_submission(tmp_path / "sub", gradescope_root),
           canary)
    (gradescope_root / "open_note.txt").write_text(note)  # readable by all: the control
    probe = {}
    exec(HOSTILE.format(root=str(gradescope_root)), probe)  # as root, here: it finds them
    assert canary in probe["_loot"]() and note in probe["_loot"]()
    results = run_autograder(gradescope_root, sandbox)
    text = json.dumps(results)
    kernel = next(test for test in results["tests"] if "conv_matrix" in test["name"])
    assert "LOOT" in kernel["output"], "the hostile code did not run: the test proves nothing"
    assert canary not in text
    assert results["score"] == 0
    # plain mode: the student's uid reads what all may read, so only the mode 700 hid the
    # references; bubblewrap shows it nothing of the container at all
    assert (note in text) == (sandbox == "plain")

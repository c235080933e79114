"""make release: the student kit is complete, leak-free, and works on its own."""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from student_code import CONV_MATRIX

from grader import release
from grader.client import paths
from grader.core.tasks import TASKS


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    release.build_student_kit(out / "student", zip_path=out / "student.zip")
    return out


def test_kit_holds_what_a_student_needs(kit):
    student = kit / "student"
    for name in ["assignment.ipynb", "Blocks.py", "dataset_utils.py", "gradient_check.py",
                 "automark.py", "README.md", "requirements.txt", "images/photo_gray.png",
                 "data/mnist-sample/train-images-idx3-ubyte.gz", "grader/vectors/local.npz",
                 "grader/vectors/remote.npz", "grader/vectors/mistakes.npz",
                 "grader/client/automark_api.py", "grader/core/calling.py"]:
        assert (student / name).is_file(), name
    assert not (student / "solutions").exists()
    assert not (student / "grader" / "references.py").exists()
    assert "jupyter notebook assignment.ipynb" in (student / "README.md").read_text()
    # numpy, matplotlib, ipykernel: one pin for 3.10, one for 3.11+
    assert (student / "requirements.txt").read_text().count("==") == 7


def test_the_kit_ships_core_and_client_whole(kit):
    """No hand-kept list: every module of grader/core and grader/client is in the kit, nothing else."""
    shipped = {p.relative_to(kit / "student" / "grader").as_posix()
               for p in (kit / "student" / "grader").rglob("*.py")}
    want = {p.relative_to(paths.KIT_ROOT / "grader").as_posix()
            for folder in ("core", "client") for p in (paths.KIT_ROOT / "grader" / folder).glob("*.py")}
    assert shipped == want | {"__init__.py"}


def _plant(kit_dir, tmp_path, how):
    copy = tmp_path / "student"
    shutil.copytree(kit_dir / "student", copy)
    how(copy)
    return copy


def _solved_notebook(folder):
    import solutions
    from grader import notebooks as nb
    notebook = nb.solve(nb.load_notebook(folder / "assignment.ipynb"),
                        {"conv_matrix": solutions.conv_matrix})
    nbformat.write(notebook, str(folder / "assignment.ipynb"))


def _outputs(folder):
    notebook = nbformat.read(folder / "assignment.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", text="hello")]
    nbformat.write(notebook, str(folder / "assignment.ipynb"))


LEAKS = {
    "solutions-folder": (lambda f: shutil.copytree(paths.KIT_ROOT / "solutions", f / "solutions"),
                         "solutions: not part of a student kit"),
    "import-line": (lambda f: (f / "helper.py").write_text("from solutions import conv_matrix\n"),
                    "imports the references"),
    "copied-reference": (lambda f: shutil.copyfile(paths.KIT_ROOT / "solutions" / "convolution.py",
                                                   f / "extra.py"), "contains reference code"),
    "solved-cell": (_solved_notebook, "conv_matrix is not a stub"),
    "outputs": (_outputs, "has outputs"),
    "gradebook": (lambda f: (f / "gradebook.sqlite").write_bytes(b""), "a gradebook"),
}


@pytest.mark.parametrize("name", sorted(LEAKS))
def test_the_leak_check_catches(kit, tmp_path, name):
    how, want = LEAKS[name]
    findings = release.find_leaks(_plant(kit, tmp_path, how))
    assert any(want in finding for finding in findings), findings


def test_zip_is_reproducible(kit, tmp_path):
    release.write_zip(kit / "student", tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == (kit / "student.zip").read_bytes()
    with zipfile.ZipFile(kit / "student.zip") as archive:
        assert "student/assignment.ipynb" in archive.namelist()
        assert not any("solutions" in name for name in archive.namelist())


CHECK_SCRIPT = """
import os
os.environ["AUTOMARK_PROGRESS_DIR"] = "progress-test"
import numpy as np
import automark as am
""" + CONV_MATRIX + """
am.test_student_function("jdoe", conv_matrix, ["matrix", "kernel"])

def box_blur(image, box_size):
    return conv_matrix(image, np.ones((box_size, box_size)))
am.test_student_function("jdoe", box_blur, ["image", "box_size"])
am.get_progress("jdoe")
"""


def _pythons():
    """This interpreter, and Python 3.10 (the oldest the kit supports) where it is installed."""
    found = [pytest.param(sys.executable, id=f"python{sys.version_info[0]}.{sys.version_info[1]}")]
    candidates = [*sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10"))),
                  shutil.which("python3.10")]
    older = next((c for c in candidates
                  if c and "shims" not in c and os.access(c, os.X_OK)), None)  # a pyenv shim may not run
    if older and sys.version_info[:2] != (3, 10):
        found.append(pytest.param(older, id="python3.10"))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("interpreter", _pythons())
def test_the_kit_works_alone_in_a_fresh_virtual_environment(kit, tmp_path, interpreter):
    """Only the kit and its own requirements: no repository, no solutions on the path."""
    student = tmp_path / "unzipped"
    with zipfile.ZipFile(kit / "student.zip") as archive:
        archive.extractall(student)
    folder = student / "student"
    venv = tmp_path / "venv"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "-r", "requirements.txt"],
                             cwd=folder, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-2000:]
    run = subprocess.run([str(python), "-I", "-c", "import sys; sys.path.insert(0, '.');"
                          + CHECK_SCRIPT], cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "conv_matrix successfully passed local tests" in lines
    assert "box_blur failed some local tests" in lines
    # the kit names the mistake from its mistakes.npz, without solutions/
    assert any(line.startswith("    Recognised mistake: not normalised (sum instead of mean)")
               for line in lines)
    assert lines.count("Test was successful. Congratulations!") == 1
    assert any(line.startswith("| [MAN] conv_matrix") and "completed" in line for line in lines)
    assert any(line.startswith("| [MAN] box_blur") and "attempted" in line for line in lines)
    this_week = [t for t in TASKS if t.week == max(task.week for task in TASKS)]
    assert len(this_week) == sum(1 for line in lines if line.startswith("| ["))  # this week's


@pytest.mark.slow
def test_the_kits_notebook_runs_there_stubbed_and_solved(kit, tmp_path, monkeypatch):
    """Executed inside the kit folder: the checks use its vectors, nothing from this repository."""
    from nbclient import NotebookClient
    from notebook_support import cell_text, errors

    import solutions
    from grader import notebooks as nb

    monkeypatch.setenv("AUTOMARK_PROGRESS_DIR", str(tmp_path / "progress"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    folder = kit / "student"
    stub = nb.load_notebook(folder / "assignment.ipynb")
    solved = nb.solve(stub, {name: getattr(solutions, name) for name in solutions.__all__})
    probe = ("import importlib.util\n"
             "print('solutions importable:', importlib.util.find_spec('solutions') is not None)")
    solved.cells.append(nbformat.v4.new_code_cell(probe))
    for notebook in (stub, solved):
        NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    for index, name, _ in nb.check_calls(stub):
        assert f"{name} is not implemented yet" in cell_text(stub.cells[index])
        assert "Test was successful. Congratulations!" in cell_text(solved.cells[index])
    assert errors(solved) == []
    assert "solutions importable: False" in cell_text(solved.cells[-1])
    assert "ModuleNotFoundError" not in " ".join(errors(stub))

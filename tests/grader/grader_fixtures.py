"""Fixtures shared by the grader tests: student code in real files, a class roster.

Test modules import the fixtures they use (``from grader_fixtures import ...``).
This is not a conftest.py on purpose: a second module named ``conftest`` would
shadow tests/conftest.py for tests that import from it. The top-level conftest
already gives every test its own progress folder and points AUTOMARK_ROSTER at
a missing file.
"""

import importlib.util
import itertools
import os
import shutil
import textwrap

import pytest

from grader.classgrade import run as classrun
from grader.classgrade.sandbox.limits import Limits
from grader.client import paths

_module_numbers = itertools.count()


@pytest.fixture
def student_module(tmp_path):
    """Factory: write ``source`` to a .py file and import it.

    The functions then live in a real file, so tracebacks carry the student's
    own lines, as they do in a notebook.
    """
    def load(source: str, stem: str = "submission"):
        path = tmp_path / f"{stem}_{next(_module_numbers)}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def write_roster(tmp_path, monkeypatch):
    """Factory: write ``text`` as students.csv and point AUTOMARK_ROSTER at it."""
    def write(text: str):
        path = tmp_path / "students.csv"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        monkeypatch.setenv("AUTOMARK_ROSTER", str(path))
        return path
    return write


@pytest.fixture
def alice_registered(write_roster):
    """A roster that knows alice (with name and email) and bob (username only)."""
    return write_roster("""\
        username,name,email
        alice,Alice Liddell,alice@example.org
        bob,,
        """)


EXAMPLES = paths.KIT_ROOT / "examples" / "submissions"
FAST = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=120)


@pytest.fixture
def class_folder(tmp_path):
    """Two example students, one right and one with the kernel flipped, in ``tmp_path/subs``."""
    folder = tmp_path / "subs"
    for name in ("ada_correct", "ben_flipped_kernel"):
        shutil.copytree(EXAMPLES / name, folder / name)
    return folder


def grade_conv(folder, out, **kwargs):
    """``grade_class`` on conv_matrix alone, two jobs, the FAST limits, quietly."""
    options = dict(submissions_dir=folder, out_dir=out, jobs=2, limits=FAST,
                   task_names=["conv_matrix"], log=open(os.devnull, "w"))
    return classrun.grade_class(**{**options, **kwargs})


def write_files(root, files):
    """``{relative path: text}`` written under ``root`` (folders made); returns ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def grade_one_cell(tmp_path, source: str, task_list, limits, username: str = "mallory"):
    """Grade a notebook of one code cell holding ``source`` in bubblewrap, as ``username``."""
    import nbformat

    from grader.classgrade.submission import grade_submission
    from grader.classgrade.submissions import Submission
    folder = tmp_path / username
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(notebook, str(folder / "assignment.ipynb"))
    return grade_submission(Submission(username, folder / "assignment.ipynb"), task_list,
                            limits=limits, mode="bwrap")

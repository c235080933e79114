"""Fixtures shared by the grader tests: student code in real files, a class roster.

Test modules import the fixtures they use (``from grader_fixtures import ...``).
This is not a conftest.py on purpose: a second module named ``conftest`` would
shadow tests/conftest.py for tests that import from it. The top-level conftest
already gives every test its own progress folder and points AUTOMARK_ROSTER at
a missing file.
"""

import importlib.util
import itertools
import textwrap

import pytest

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

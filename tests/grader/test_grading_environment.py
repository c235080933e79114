"""Graded code gets a declared set of packages, whatever else the grader's environment holds
(issue 19 point 9: a box_blur calling scipy.ndimage passed or failed depending on whether
`make bench` had installed SciPy into the same venv). Tests of sandbox/environment.py."""

import textwrap

import nbformat
import pytest

from grader.classgrade.course import load_course
from grader.classgrade.sandbox import environment, modes
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.core import tasks

FLATTEN = [tasks.get_task("flatten_forward")]
# Installed in the kit's venv (class grading uses it) but no part of what graded code gets.
NOT_DECLARED = "tqdm"


def grade(tmp_path, source, limits=None):
    folder = tmp_path / "ann"
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("import numpy as np\n" + textwrap.dedent(source))
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "assignment.ipynb"))
    limits = limits or Limits(call_seconds=3, task_seconds=8, load_seconds=10,
                              submission_seconds=60)
    return grade_submission(Submission("ann", folder / "assignment.ipynb"), FLATTEN,
                            limits=limits, mode="bwrap", scratch=tmp_path)


USES_AN_UNDECLARED_PACKAGE = f"""
import {NOT_DECLARED}
def flatten_forward(x_input):
    import {NOT_DECLARED}
    return x_input.reshape(x_input.shape[0], -1)
"""


@pytest.mark.sandbox
@pytest.mark.skipif(not modes.bwrap_works(), reason="the environment is bubblewrap's view")
def test_a_package_installed_but_not_declared_is_absent_and_said_so(tmp_path):
    result = grade(tmp_path, USES_AN_UNDECLARED_PACKAGE)
    task = result.task("flatten_forward")
    assert not task.passed
    said = task.first_failure.message
    assert f"No module named '{NOT_DECLARED}'" in said and "not available to grading" in said
    assert any(f"{NOT_DECLARED} is not available to grading" in note for note in result.notes)


@pytest.mark.sandbox
@pytest.mark.skipif(not modes.bwrap_works(), reason="the environment is bubblewrap's view")
def test_an_instructor_declares_a_package_and_it_is_there(tmp_path):
    limits = Limits(call_seconds=3, task_seconds=8, load_seconds=10, submission_seconds=60,
                    packages=NOT_DECLARED)
    assert grade(tmp_path, USES_AN_UNDECLARED_PACKAGE, limits).task("flatten_forward").passed


def test_the_student_kits_packages_and_what_they_need_are_provided():
    provided = environment.grading_environment("")
    assert {"numpy", "matplotlib", "pillow", "kiwisolver"} <= set(provided.packages)
    assert NOT_DECLARED not in provided.packages and "dask" not in provided.packages
    shown = {name for _, names in provided.entries for name in names}
    assert {"numpy", "matplotlib", "PIL"} <= shown and NOT_DECLARED not in shown


@pytest.mark.parametrize("packages, said", [
    ("surely-not-installed-anywhere", "is not installed here"),
    ("scipy;rm -rf /", "is not a package name"),
])
def test_a_package_that_cannot_be_provided_is_refused_by_name(packages, said):
    with pytest.raises(ValueError, match=said):
        environment.grading_environment(Limits(packages=packages).packages)


def test_the_course_file_names_packages(tmp_path):
    course = tmp_path / "course.toml"
    course.write_text('packages = ["tqdm"]\n', encoding="utf-8")
    assert load_course(course).packages == ("tqdm",)
    course.write_text('packages = "tqdm"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="packages must be a list"):
        load_course(course)


@pytest.mark.parametrize("message, want", [
    ("ModuleNotFoundError: No module named 'scipy'", "scipy is not available to grading"),
    ("ModuleNotFoundError: No module named 'scipy.ndimage'", "scipy is not available"),
    ("ValueError: shapes differ", None),
])
def test_a_missing_module_is_explained(message, want):
    explained = environment.explain(message, environment.grading_environment(""))
    assert (want in explained) if want else explained == message

"""grader.cli: ``python -m grader progress | check | solve``."""

import inspect
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import solutions
from grader import cli
from grader.client import paths
from grader import notebooks as nb
from grader.client.progress import ProgressStore
from grader_fixtures import alice_registered, write_roster  # noqa: F401

ROOT = paths.KIT_ROOT
WRONG_BLUR = '''\
def box_blur(image, box_size):
    """Forgets to divide by box_size ** 2."""
    return conv_matrix(image, np.ones((box_size, box_size)))
'''
CONV_STUB = '''\
def conv_matrix(matrix, kernel):
    ### YOUR CODE ###
    raise NotImplementedError
    ### YOUR CODE ###
'''
BLUR_STUB = CONV_STUB.replace("conv_matrix(matrix, kernel)", "box_blur(image, box_size)")


def grader(*args, env_extra=None):
    """Run ``python -m grader ARGS`` in the kit, with this test's progress folder and roster."""
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "grader", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def conv_right_blur_wrong(tmp_path):
    path = tmp_path / "submission.py"
    path.write_text("import numpy as np\n\n\n" + inspect.getsource(solutions.conv_matrix)
                    + "\n\n" + WRONG_BLUR, encoding="utf-8")
    return path


@pytest.fixture
def notebook_with_training_loop(tmp_path):
    path = tmp_path / "assignment.ipynb"
    notebook = new_notebook(cells=[
        new_code_cell("%matplotlib inline\nimport numpy as np\nimport automark as am\n"
                      "username = 'alice'"),
        new_markdown_cell("# Convolution"),
        new_code_cell(inspect.getsource(solutions.conv_matrix)),
        new_code_cell('am.test_student_function(username, conv_matrix, ["matrix", "kernel"])'),
        new_code_cell("for epoch in range(3):\n    print('SHOULD NOT RUN')\n"
                      "raise SystemExit('SHOULD NOT RUN')"),
        new_code_cell("!pip install nothing\nprint('SHOULD NOT RUN')"),
    ])
    nbformat.write(notebook, str(path))
    return path


@pytest.fixture
def stub_notebook(tmp_path):
    path = tmp_path / "stubs.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("import numpy as np"),
        new_code_cell(CONV_STUB),
        new_code_cell("am.test_student_function(username, conv_matrix, ['matrix', 'kernel'])"),
        new_code_cell("import numpy as np\n\n" + BLUR_STUB + "\nprint('after the stub')"),
    ]), str(path))
    return path


# ------------------------------------------------------------------ progress
def test_progress_prints_the_table(isolated_progress):
    ProgressStore().record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    run = grader("progress", "alice")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1] == "| " + "alice".ljust(41) + " |"
    assert "| [MAN] conv_matrix        | completed      |" in lines
    assert "| [OPT] mse_forward        | not attempted  |" in lines
    assert {len(line) for line in lines} == {45} and len(lines) == 4 + 18


def test_progress_of_a_bad_username_is_an_error():
    run = grader("progress", "../etc")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("Error: username must be") and "Traceback" not in run.stderr


def test_progress_of_an_unregistered_user_is_an_error(capsys, alice_registered):
    assert cli.main(["progress", "carol"]) == 1
    assert capsys.readouterr().err == "Error: user 'carol' is not registered.\n"


def test_progress_in_process_matches(capsys):
    assert cli.main(["progress", "bob"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "| " + "bob".ljust(41) + " |"


# ------------------------------------------------------------------ check
def test_check_module_reports_each_function_and_exits_2(conv_right_blur_wrong, isolated_progress):
    run = grader("check", conv_right_blur_wrong, "alice")
    assert run.returncode == 2, run.stderr
    out = run.stdout
    conv_part, blur_part = out.split("== [MAN] box_blur\n")
    assert conv_part.startswith("== [MAN] conv_matrix\nRunning local tests...\n"
                                "conv_matrix successfully passed local tests\n")
    assert "Test was successful. Congratulations!" in conv_part
    assert blur_part.startswith("Running local tests...\nbox_blur failed some local tests\n")
    assert "Test failed. Please review your code." in blur_part
    assert out.rstrip().endswith(f"1 of 2 functions found in {conv_right_blur_wrong} passed.")
    assert not isolated_progress.exists()  # nothing recorded without --record


def test_check_notebook_runs_definitions_only(notebook_with_training_loop):
    run = grader("check", notebook_with_training_loop, "alice")
    assert run.returncode == 0, run.stderr
    assert "SHOULD NOT RUN" not in run.stdout + run.stderr
    assert "conv_matrix successfully passed local tests" in run.stdout
    assert run.stdout.rstrip().endswith(
        f"1 of 1 functions found in {notebook_with_training_loop} passed.")


def test_check_with_record_records_progress(capsys, conv_right_blur_wrong):
    assert cli.main(["check", str(conv_right_blur_wrong), "alice", "--record"]) == 2
    assert ProgressStore().states("alice") == {"conv_matrix": "completed",
                                               "box_blur": "attempted"}


def test_check_does_not_record_stubs(capsys, tmp_path):
    path = tmp_path / "stubs.py"
    path.write_text(CONV_STUB, encoding="utf-8")
    assert cli.main(["check", str(path), "alice", "--record"]) == 2
    assert "conv_matrix is not implemented yet" in capsys.readouterr().out
    assert ProgressStore().states("alice") == {}


@pytest.mark.parametrize("make, want", [
    (lambda tmp: tmp / "missing.py", "no such file"),
    (lambda tmp: tmp / "missing.ipynb", "no such file"),
    (lambda tmp: _write(tmp / "empty.py", "x = 1\n"), "defines none of the graded functions"),
    (lambda tmp: _write(tmp / "bad.ipynb", "{not json"), "not valid notebook JSON"),
])
def test_check_user_errors(capsys, tmp_path, make, want):
    assert cli.main(["check", str(make(tmp_path)), "alice"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and want in err


def test_check_refuses_a_bad_username_before_running_anything(capsys, tmp_path):
    path = _write(tmp_path / "loud.py", "print('SHOULD NOT RUN')\n")
    assert cli.main(["check", str(path), "a/b"]) == 1
    captured = capsys.readouterr()
    assert "SHOULD NOT RUN" not in captured.out and captured.err.startswith("Error: username")


def _write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# ------------------------------------------------------------------ solve
def test_solve_writes_the_references_into_the_stubs(capsys, stub_notebook, tmp_path):
    out = tmp_path / "build" / "solved.ipynb"
    assert cli.main(["solve", "--notebook", str(stub_notebook), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"Wrote {out}\n"
    solved = nb.load_notebook(out)
    assert inspect.getsource(solutions.conv_matrix).rstrip() in solved.cells[1].source
    assert inspect.getsource(solutions.box_blur).rstrip() in solved.cells[3].source
    assert solved.cells[3].source.endswith("print('after the stub')")
    assert "NotImplementedError" not in "".join(cell.source for cell in solved.cells)
    assert nb.stub_cells(solved) == {}
    assert cli.main(["check", str(out), "alice"]) == 0  # the solved notebook passes
    assert "2 of 2 functions found" in capsys.readouterr().out


def test_solve_of_a_missing_notebook_is_an_error(capsys, tmp_path):
    assert cli.main(["solve", "--notebook", str(tmp_path / "none.ipynb"),
                     "--out", str(tmp_path / "out.ipynb")]) == 1
    assert "no such notebook" in capsys.readouterr().err
    assert not (tmp_path / "out.ipynb").exists()


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["check", "only-a-path"],
                                  ["progress"], ["progress", "alice", "bob"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    assert "usage: python -m grader" in capsys.readouterr().err


def test_every_command_is_documented():
    doc = cli.__doc__
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"progress", "check", "solve"} <= set(commands)
    assert all(f"python -m grader {name}" in doc for name in commands)
    assert all(action.help for action in parser._subparsers._group_actions[0]._choices_actions)

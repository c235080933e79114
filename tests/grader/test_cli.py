"""grader.cli: ``python -m grader progress | check | solve | grade | release``."""

import argparse
import inspect
import os
import subprocess
import sys
import textwrap
import typing
from dataclasses import fields, replace

import nbformat
import pytest
from grader_fixtures import alice_registered, write_roster  # noqa: F401
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import solutions
from grader import cli
from grader import notebooks as nb
from grader.classgrade import run as classrun
from grader.classgrade.course import load_course
from grader.classgrade.run import grade_class
from grader.classgrade.sandbox.limits import Limits
from grader.client import paths
from grader.client.progress import ProgressStore
from grader.core.tasks import TASKS
from grader.docstrings import attribute_docs

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
    this_week = classrun.default_task_names()
    assert {len(line) for line in lines} == {45} and len(lines) == 4 + len(this_week)
    run = grader("progress", "alice", "--last-week")
    lines = run.stdout.splitlines()
    assert "| [OPT] mse_forward        | not attempted  |" in lines
    assert {len(line) for line in lines} == {45} and len(lines) == 4 + len(TASKS) + 1  # + last week's line


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
    (lambda tmp: tmp, "is a folder; check wants a .py module or an .ipynb notebook"),
    (lambda tmp: _write(tmp / "notes.txt", "x = 1\n"), "wants a .py module or an .ipynb notebook"),
])
def test_check_user_errors(capsys, tmp_path, make, want):
    assert cli.main(["check", str(make(tmp_path)), "alice"]) == 1
    assert_one_error_line(capsys.readouterr(), want)


def assert_one_error_line(captured, want):
    """A user error: one line ``Error: ...`` on stderr, nothing on stdout, no traceback."""
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("Error: "), captured.err
    assert want in captured.err and "Traceback" not in captured.err


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
    assert_one_error_line(capsys.readouterr(), "no such notebook")
    assert not (tmp_path / "out.ipynb").exists()


def test_solve_into_a_folder_is_an_error(capsys, tmp_path):
    assert cli.main(["solve", "--out", str(tmp_path)]) == 1
    assert_one_error_line(capsys.readouterr(), "is a folder; --out wants the path of the notebook")


# ------------------------------------------------------------------ grade
LIMIT_TYPES = typing.get_type_hints(Limits)
WEEK_3 = [t.name for t in TASKS if t.week == 3]


def flag(field) -> str:
    return "--" + field.name.replace("_", "-")


@pytest.fixture
def grade_call(monkeypatch):
    """Parse ``grade ARGV`` with the real parser, run it, and return grade_class's kwargs."""
    def call(*argv):
        args = cli.build_parser().parse_args(["grade", *map(str, argv)])
        calls = []
        monkeypatch.setattr(classrun, "grade_class",
                            lambda **kwargs: calls.append(kwargs) or classrun.ClassRun())
        assert args.run(args) == 0
        return calls[0]
    return call


def test_grade_defaults_are_the_librarys(grade_call, capsys):
    kwargs = grade_call()
    for name in ("jobs", "sandbox", "roster_path", "execute", "force"):
        assert kwargs[name] == grade_class.__kwdefaults__[name], name
    assert kwargs["limits"] == Limits()
    assert kwargs["task_names"] == WEEK_3  # this assignment's functions, unless told otherwise
    assert kwargs["points"] == load_course().points_for([t for t in TASKS if t.week == 3])
    assert kwargs["only"] == ()
    assert "Graded 0 submission(s)" in capsys.readouterr().out


@pytest.mark.parametrize("field", fields(Limits), ids=lambda field: field.name)
def test_every_limit_is_a_grade_flag(grade_call, field):
    assert getattr(cli.build_parser().parse_args(["grade"]), field.name) == field.default
    kwargs = grade_call(flag(field), "3")
    assert kwargs["limits"] == replace(Limits(), **{field.name: LIMIT_TYPES[field.name](3)})
    assert type(getattr(kwargs["limits"], field.name)) is LIMIT_TYPES[field.name]


def test_limit_help_comes_from_the_limits_docstring():
    docs = attribute_docs(Limits)
    assert set(docs) == {field.name for field in fields(Limits)}
    assert docs["max_processes"] == ("processes the submission may have at once (effective when "
                                     "the sandbox can run it as an unprivileged user).")
    grade = _subparsers(cli.build_parser())["grade"]
    helps = {action.dest: action.help % vars(action) for action in grade._actions}
    for field in fields(Limits):
        assert helps[field.name] == docs[field.name].rstrip(".") + f" (default: {field.default})"


@pytest.mark.parametrize("argv, want", [
    (["--week", 3, "--mandatory-points", 2, "--points", "box_blur=5"],
     {"task_names": WEEK_3, "points": {**dict.fromkeys(WEEK_3, 2.0), "box_blur": 5.0}}),
    (["--tasks", "conv_matrix, mse_forward", "--optional-points", 3],
     {"task_names": ["conv_matrix", "mse_forward"],
      "points": {"conv_matrix": 1.0, "mse_forward": 3.0}}),
    (["-j", 3, "--sandbox", "plain", "--execute", "--roster", "r.csv", "--out", "o", "subs"],
     {"jobs": 3, "sandbox": "plain", "execute": True, "roster_path": "r.csv", "out_dir": "o",
      "submissions_dir": "subs"}),
    (["--week", "2,3"], {"task_names": [t.name for t in TASKS]}),
    (["--week", "2"], {"task_names": [t.name for t in TASKS if t.week == 2]}),
    (["--all"], {"task_names": [t.name for t in TASKS]}),
    (["--tasks", "relu_forward"], {"task_names": ["relu_forward"]}),
    (["--force", "--only", "ada,ben"], {"force": True, "only": ("ada", "ben")}),
    (["--dask", "local:2"], {"dask": "local:2"}),
])
def test_grade_flags_reach_grade_class(grade_call, argv, want):
    kwargs = grade_call(*argv)
    assert {name: kwargs[name] for name in want} == want


BAD_GRADE_OPTIONS = [
    (["--tasks", "conv_matrx"], "'conv_matrx'. Did you mean 'conv_matrix'?"),
    (["--tasks", "conv_matrix,relu_fwd"], "Did you mean 'relu_forward'?"),
    (["--week", 2, "--tasks", "conv_matrix"], "no task left to grade: check --week and --tasks"),
    (["--out", "{file}"], "is a file; the gradebook and reports need a folder"),
    (["-j", 0], "jobs must be at least 1, got 0"),
    (["-j", -2], "jobs must be at least 1, got -2"),
    (["--roster", "{tmp}/none.csv"], "none.csv: no such roster file"),
    (["--roster", "{tmp}"], "no such roster file"),
    (["--points", "conv_matrix=many"], "--points takes TASK=NUMBER, got 'conv_matrix=many'"),
    (["--points", "conv_matrix"], "--points takes TASK=NUMBER, got 'conv_matrix'"),
    (["--points", "conv_matrix=-1"], "must be"),
    (["--points", "conv_matrx=2"], "Did you mean 'conv_matrix'?"),
    (["--week", 2, "--points", "conv_matrix=2"], "conv_matrix is not among the tasks being graded"),
    (["--week", 9], "--week takes weeks among 2, 3 separated by commas (e.g. --week 2,3), got '9'"),
    (["--week", "3;2"], "--week takes weeks among 2, 3"),
    (["--only", "bob smith"], "username must be a short name"),
    (["--mandatory-points", -1], "mandatory"),
    (["--optional-points", "nan"], "optional"),
    *[([flag(field), 0], f"{field.name} must be positive, got 0") for field in fields(Limits)
      if field.type != "str"],
    (["--packages", "scipy;rm"], "packages: 'scipy;rm' is not a package name"),
    (["--packages", "surely-not-installed-anywhere"], "is not installed here"),
    (["--memory-mb", -5], "memory_mb must be positive, got -5"),
    (["--task-seconds", "nan"], "task_seconds must be positive, got nan"),
]
BAD_GRADE_FOLDERS = [
    ("{tmp}/nowhere", "nowhere: no such folder of submissions"),
    ("{file}", "no such folder of submissions"),
    ("{tmp}/empty", "empty holds no submission: expected <username>/assignment.ipynb folders"),
    ("{tmp}/only_bad_names", "holds no submission: expected <username>/assignment.ipynb folders "
                             "or <username>.ipynb files (a b.ipynb: not a valid username, skipped)"),
]


@pytest.fixture
def grade_places(tmp_path):
    """``{tmp}``, a plain ``{file}``, an ``{empty}`` folder, ``{subs}`` with one submission."""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "only_bad_names").mkdir()
    (tmp_path / "only_bad_names" / "a b.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "file.txt").write_text("not a folder", encoding="utf-8")
    return {"tmp": tmp_path, "file": tmp_path / "file.txt", "subs": tmp_path / "subs"}


def _run_bad_grade(capsys, grade_places, argv, want):
    out = grade_places["tmp"] / "out"
    argv = [str(arg).format(**grade_places) for arg in argv]
    assert cli.main(["grade", "--out", str(out), *argv]) == 1
    assert_one_error_line(capsys.readouterr(), want)
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("argv, want", BAD_GRADE_OPTIONS)
def test_grade_refuses_a_bad_option(capsys, grade_places, argv, want):
    _run_bad_grade(capsys, grade_places, [*argv, "{subs}"], want)


@pytest.mark.parametrize("folder, want", BAD_GRADE_FOLDERS)
def test_grade_refuses_a_bad_folder_of_submissions(capsys, grade_places, folder, want):
    _run_bad_grade(capsys, grade_places, [folder], want)


def test_a_bad_grade_argument_is_one_line_in_a_subprocess_too(tmp_path):
    run = grader("grade", tmp_path / "nowhere", "--tasks", "conv_matrx")
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("Error: --tasks: AutoMark does not grade a function called "
                                 "'conv_matrx'. Did you mean 'conv_matrix'?")
    assert run.stderr.count("\n") == 1


# ------------------------------------------------------------------ the parser
@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["check", "only-a-path"],
                                  ["progress"], ["progress", "alice", "bob"],
                                  ["grade", "-j", "two"], ["grade", "--memory-mb", "1.5"],
                                  ["grade", "--sandbox", "docker"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    assert "usage: python -m grader" in capsys.readouterr().err


def _subparsers(parser) -> dict:
    return next(action.choices for action in parser._actions
                if isinstance(action, argparse._SubParsersAction))


def _options(parser):
    """``(command, action)`` for every argument of every subcommand (help actions aside)."""
    for name, command in _subparsers(parser).items():
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                yield name, action


def test_every_command_is_documented():
    doc = cli.__doc__
    parser = cli.build_parser()
    commands = _subparsers(parser)
    assert set(commands) == {"progress", "check", "solve", "grade", "release", "serve", "server",
                             "cluster-certs", "similarity", "new-task-cells", "gradescope"}
    assert all(f"python -m grader {name}" in doc for name in commands)
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert all(action.help for action in choices._choices_actions)
    assert all(command.description for command in commands.values())


def test_every_option_has_help_and_shows_its_default():
    options = list(_options(cli.build_parser()))
    assert len(options) > 20
    assert [(name, action.dest) for name, action in options if not action.help] == []
    hidden = [(name, action.dest) for name, action in options
              if action.default not in (None, False)
              and f"(default: {action.default})" not in action.help % vars(action)]
    assert hidden == []
    unexplained = [(name, action.dest) for name, action in options  # None: said in words
                   if action.default is None and not action.required and action.dest != "points"
                   and "(default: " not in action.help]
    assert unexplained == []


@pytest.mark.parametrize("course, argv, want", [
    # make grade POINTS=conv_matrix=2,box_blur=1 passes one --points with a list
    ("", ["--points", "conv_matrix=2,box_blur=1"], {"conv_matrix": 2.0, "box_blur": 1.0}),
    ("", ["--points", "conv_matrix=2", "--points", "box_blur=3"],
     {"conv_matrix": 2.0, "box_blur": 3.0}),
    # the course file's points, unless this run says otherwise
    ("[points]\nmandatory = 2\n[points.tasks]\nconv_matrix = 4\n", [],
     {"conv_matrix": 4.0, "box_blur": 2.0}),
    ("[points]\nmandatory = 2\n[points.tasks]\nconv_matrix = 4\n",
     ["--mandatory-points", "3", "--points", "conv_matrix=1"], {"conv_matrix": 1.0, "box_blur": 3.0}),
])
def test_points_come_from_the_course_file_then_the_flags(grade_call, tmp_path, course, argv, want):
    (tmp_path / "course.toml").write_text(course)
    kwargs = grade_call("--course", tmp_path / "course.toml", *argv)
    assert kwargs["course"] == str(tmp_path / "course.toml")
    assert {name: kwargs["points"][name] for name in want} == want


def test_a_broken_setup_is_one_error_and_not_graded_students_make_grade_fail(
        monkeypatch, capsys, tmp_path):
    from grader.classgrade.failures import GradingFailed

    def broken(**kwargs):
        raise GradingFailed("the grader could not grade any of the 2 submission(s) (...)")
    args = cli.build_parser().parse_args(["grade", str(tmp_path), "--out", str(tmp_path / "o")])
    monkeypatch.setattr(classrun, "grade_class", broken)
    assert args.run(args) == 1
    assert_one_error_line(capsys.readouterr(), "could not grade any of the 2 submission(s)")
    monkeypatch.setattr(classrun, "grade_class", lambda **kwargs: classrun.ClassRun(
        graded=("ada",), not_graded=("ben",), notes=("lms/moodle.csv not written: ...",)))
    assert args.run(args) == 1
    captured = capsys.readouterr()
    assert "note: lms/moodle.csv not written: ..." in captured.out
    assert captured.err.startswith("Not graded, the grader failed on them (no score written; "
                                   "run grade again to grade them): ben")

"""The sandbox's trusted side: what it runs, what it exposes, what it reads back."""

import os
from pathlib import Path

import numpy as np
import pytest

from grader import paths
from grader.sandbox import runner
from grader.sandbox.limits import Limits
from grader.submissions import Submission
from grader.tasks import get_task

CONV = get_task("conv_matrix")


def test_safe_read_refuses_links_and_oversized_files(tmp_path):
    (tmp_path / "answers" / "t").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, tmp_path / "answers" / "t" / "000.npy")
    assert runner.safe_read(tmp_path, ("answers", "t", "000.npy"), 1000) is None
    os.symlink(tmp_path / "answers" / "t", tmp_path / "answers" / "u")
    (tmp_path / "answers" / "t" / "001.npy").write_bytes(b"x" * 10)
    assert runner.safe_read(tmp_path, ("answers", "u", "001.npy"), 1000) is None
    assert runner.safe_read(tmp_path, ("answers", "t", "001.npy"), 5) is None
    assert runner.safe_read(tmp_path, ("answers", "t", "001.npy"), 1000) == b"x" * 10


def test_answers_must_be_plain_float_arrays(tmp_path):
    folder = tmp_path / "answers" / "t"
    folder.mkdir(parents=True)
    np.save(folder / "000.npy", np.array([1.0, 2.0]))
    np.save(folder / "001.npy", np.array(["a", "b"]))
    np.save(folder / "002.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert runner._read_answer(tmp_path, "t", 0).tolist() == [1.0, 2.0]
    assert runner._read_answer(tmp_path, "t", 1) is None
    assert runner._read_answer(tmp_path, "t", 2) is None


def test_bwrap_command_hides_the_kit_and_the_network(tmp_path):
    command = runner.bwrap_command(tmp_path)
    assert "--unshare-net" in command and "--unshare-pid" in command
    bound = {command[i + 1] for i, word in enumerate(command) if word in ("--ro-bind", "--bind")}
    kit = str(paths.KIT_ROOT)
    for source in bound:
        inside_kit = source == kit or source.startswith(kit + os.sep)
        assert not inside_kit or source.startswith(str(tmp_path)) or ".venv" in source, source


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="call_seconds"):
        Limits(call_seconds=0)


def _submission(tmp_path, source):
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    (tmp_path / "sub").mkdir()
    nbformat.write(notebook, str(tmp_path / "sub" / "assignment.ipynb"))
    return Submission("alice", tmp_path / "sub" / "assignment.ipynb")


@pytest.mark.sandbox
@pytest.mark.parametrize("mode", ["plain", "bwrap"])
def test_a_run_returns_answers_and_statuses(tmp_path, mode):
    if mode == "bwrap" and not runner.bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    from grader.grading import extract_chunks
    submission = _submission(tmp_path, "import numpy as np\n"
                                       "def conv_matrix(matrix, kernel):\n"
                                       "    if matrix.shape[0] == 1:\n"
                                       "        raise ValueError('one row')\n"
                                       "    return np.zeros(matrix.shape)\n")
    chunks, _ = extract_chunks(submission)
    cases = [{"matrix": np.ones((1, 3)), "kernel": np.ones((1, 1))},
             {"matrix": np.ones((2, 3)), "kernel": np.ones((1, 1))}]
    run = runner.run_in_sandbox(submission, chunks, {CONV: cases}, Limits(call_seconds=2),
                                workdir=tmp_path / "run", mode=mode)
    assert run.error == "" and run.load_error == ""
    first, second = run.tasks["conv_matrix"].cases
    assert first.status == "exception" and "ValueError: one row" in first.message
    assert "line 4 of conv_matrix" in first.message
    assert second.status == "ok" and second.answer.tolist() == [[0.0] * 3] * 2


@pytest.mark.sandbox
def test_code_that_fails_to_load_fails_every_task_once(tmp_path):
    from grader.grading import extract_chunks
    submission = _submission(tmp_path, "import numpy_does_not_exist\n"
                                       "def conv_matrix(matrix, kernel):\n    return matrix\n")
    chunks, _ = extract_chunks(submission)
    run = runner.run_in_sandbox(submission, chunks, {CONV: [{"matrix": np.ones((2, 2)),
                                                              "kernel": np.ones((1, 1))}]},
                                Limits(), workdir=tmp_path / "run", mode="plain")
    assert "ModuleNotFoundError" in run.load_error


def test_a_python_path_around_the_kit_is_never_bound(monkeypatch):
    """A PYTHONPATH entry such as the kit's parent folder would expose solutions/."""
    parent = str(paths.KIT_ROOT.parent)
    monkeypatch.setattr(runner.sys, "path", runner.sys.path + [parent, "/", str(paths.KIT_ROOT)])
    bound = runner._python_dirs()
    assert parent not in bound and "/" not in bound and str(paths.KIT_ROOT) not in bound


def test_forged_status_lines_are_ignored(tmp_path):
    folder = tmp_path / "answers" / "conv_matrix"
    folder.mkdir(parents=True)
    np.save(folder / "000.npy", np.zeros((2, 2)))
    lines = ["[" * 100_000 + "]" * 100_000, '{"case": "x"}', "not json",
             '{"case": 0, "status": "ok", "mutated": [1, "matrix"]}',
             '{"case": 0, "status": "exception", "message": "a second line for case 0"}']
    (folder / "status.jsonl").write_text("\n".join(lines) + "\n")
    raw = runner._read_task(tmp_path, "conv_matrix", {"ended": "exit", "code": 0})
    assert [c.status for c in raw.cases] == ["ok"]
    assert raw.cases[0].mutated == ("matrix",)

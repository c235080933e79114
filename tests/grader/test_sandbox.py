"""The sandbox's trusted side: what it runs, what it exposes, what it reads back."""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from grader.classgrade.sandbox import modes, runner
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submissions import Submission
from grader.client import paths
from grader.core import calling, wire
from grader.core.calling import CallOutcome
from grader.core.tasks import get_task

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


def test_answers_come_back_as_plain_float_arrays():
    stream = (wire.encode_outcome(0, CallOutcome(calling.OK, answer=np.array([1.0, 2.0])))
              + wire.encode_outcome(1, CallOutcome(calling.EXCEPTION, message="raised ValueError")))
    raw = runner._raw_task("t", stream, 2, {"ended": "exit", "code": 0})
    first, second = raw.outcomes
    assert first.answer.dtype == np.float64 and first.answer.tolist() == [1.0, 2.0]
    assert second.status == calling.EXCEPTION and second.answer is None
    assert raw.damage == "" and raw.ended == "exit"


@pytest.mark.parametrize("chunks, want_streams, want_damage", [
    ([(b"D", 1, b"abc"), (b"D", 1, b"def"), (b"E", 1, b'{"ended": "exit", "code": 0}')],
     {1: b"abcdef"}, ""),
    ([(b"D", 7, b"x")], {}, "malformed chunk"),                       # no such task
    ([(b"X", 1, b"x")], {}, "malformed chunk"),                       # no such kind
    ([(b"D", 1, b"x" * 600)], {}, "sent back more than"),             # over the submission's cap
    ([(b"D", 1, b"a"), (b"S", 0, b'{"ended": "exit", "code": 0}')], {1: b"a"}, ""),
    ([(b"S", 0, b"{}"), (b"D", 1, b"late")], {}, "after the submission's end"),
])
def test_the_pipe_is_demultiplexed_and_bounded(chunks, want_streams, want_damage):
    demux = wire.Demux(n_tasks=3, max_bytes=512)
    for kind, task, payload in chunks:
        demux.feed(wire.encode_chunk(kind, task, payload))
    assert {k: bytes(v) for k, v in demux.streams.items()} == want_streams
    assert want_damage in demux.damage and bool(demux.damage) is bool(want_damage)


@pytest.mark.parametrize("payload, want", [
    (b'{"ended": "exit", "code": 0, "fresh": true}', {"ended": "exit", "code": 0, "fresh": True}),
    (b'{"ended": "exit", "code": 0, "fresh": 1}', {"ended": "exit", "code": 0, "fresh": False}),
    (b'{"ended": "signal", "signal": "SIGKILL"}', {"ended": "signal", "signal": "SIGKILL",
                                                  "fresh": False}),
    (b"[1, 2", {"ended": "unknown", "fresh": False}),
])
def test_the_end_of_a_submission_is_read_strictly(payload, want):
    demux = wire.Demux(n_tasks=2, max_bytes=1 << 20)
    assert demux.feed(wire.encode_chunk(b"S", 0, payload))
    assert {k: v for k, v in demux.finished.items() if v not in ("", None)} == want


def test_a_partial_chunk_after_the_end_is_damage():
    demux = wire.Demux(n_tasks=2, max_bytes=1 << 20)
    assert not demux.feed(wire.encode_chunk(b"S", 0, b"{}") + b"D\x00")
    assert "after the submission's end" in demux.damage


def test_a_forged_ending_is_read_as_unknown():
    demux = wire.Demux(n_tasks=2, max_bytes=1 << 20)
    demux.feed(wire.encode_chunk(b"E", 1, b'{"ended": "passed", "code": "0"}'))
    assert demux.endings[1] == {"ended": "unknown"}


def test_bwrap_command_hides_the_kit_and_the_network(tmp_path):
    command = modes.staged_command(tmp_path, "worker.py")
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


def plain_usable():
    try:
        modes.check_plain_as_root()
    except modes.SandboxUnavailable as refusal:
        return str(refusal)
    return ""


@pytest.mark.sandbox
@pytest.mark.parametrize("mode", ["plain", "bwrap"])
def test_a_run_returns_answers_and_statuses(tmp_path, mode):
    if mode == "plain" and plain_usable():
        pytest.skip(plain_usable())
    from grader.classgrade.submission import extract_chunks
    submission = _submission(tmp_path, "import numpy as np\n"
                                       "def conv_matrix(matrix, kernel):\n"
                                       "    if matrix.shape[0] == 1:\n"
                                       "        raise ValueError('one row')\n"
                                       "    return np.zeros(matrix.shape)\n")
    chunks, _ = extract_chunks(submission)
    cases = [{"matrix": np.ones((1, 3)), "kernel": np.ones((1, 1))},
             {"matrix": np.ones((2, 3)), "kernel": np.ones((1, 1))}]
    run = runner.run_in_sandbox(submission, chunks, {CONV: (cases, 1)}, Limits(call_seconds=2),
                                mode=mode, scratch=tmp_path)
    assert run.error == "" and run.load_error == ""
    first, second = run.tasks["conv_matrix"].outcomes
    assert first.status == calling.EXCEPTION and "ValueError: one row" in first.message
    assert "line 4 of conv_matrix" in first.message
    assert second.status == calling.OK and second.answer.tolist() == [[0.0] * 3] * 2


@pytest.mark.sandbox
def test_a_statement_that_fails_to_load_costs_only_itself(tmp_path):
    from grader.classgrade.submission import extract_chunks
    submission = _submission(tmp_path, "import numpy_does_not_exist\n"
                                       "def conv_matrix(matrix, kernel):\n    return matrix\n")
    chunks, _ = extract_chunks(submission)
    run = runner.run_in_sandbox(submission, chunks, {CONV: ([{"matrix": np.ones((2, 2)),
                                                               "kernel": np.ones((1, 1))}], 1)},
                                Limits(), mode="bwrap", scratch=tmp_path)
    assert run.load_error == ""
    note, = run.load_notes
    assert note.startswith("notebook cell 0, line 1: ModuleNotFoundError: No module named "
                           "'numpy_does_not_exist'")
    assert run.tasks["conv_matrix"].outcomes[0].status == calling.OK


def test_a_python_path_around_the_kit_is_never_bound(monkeypatch):
    """A PYTHONPATH entry such as the kit's parent folder would expose solutions/."""
    parent = str(paths.KIT_ROOT.parent)
    monkeypatch.setattr(modes.sys, "path", modes.sys.path + [parent, "/", str(paths.KIT_ROOT)])
    bound = modes._python_dirs()
    assert parent not in bound and "/" not in bound and str(paths.KIT_ROOT) not in bound


def test_the_folder_grade_runs_from_and_pythonpath_folders_are_never_bound(monkeypatch, tmp_path):
    """``python -m grader`` puts the current folder on sys.path: run from a course folder,
    binding it would show every student the classmates' submissions in it."""
    course = tmp_path / "course"
    (course / "submissions" / "bob").mkdir(parents=True)
    elsewhere = tmp_path / "tools"
    elsewhere.mkdir()
    monkeypatch.setattr(modes.sys, "path", [str(course), *modes.sys.path, str(elsewhere)])
    bound = modes._python_dirs()
    assert not any(folder == str(course) or str(course).startswith(folder + "/") or
                   folder == str(elsewhere) for folder in bound), bound
    import sysconfig
    needed = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    assert all(any(path == folder or path.startswith(folder + "/") for folder in bound)
               for path in needed), (needed, bound)


def test_forged_records_end_the_stream_and_keep_what_came_before():
    good = wire.encode_outcome(0, CallOutcome(calling.OK, answer=np.zeros((2, 2)), mutated=("matrix",)))
    nested = b"[" * 100_000 + b"]" * 100_000
    forged = wire.MAGIC + len(nested).to_bytes(4, "little") + nested
    raw = runner._raw_task("conv_matrix", good + forged + good, 3, {"ended": "exit", "code": 0})
    assert [o.status for o in raw.outcomes] == [calling.OK]
    assert raw.outcomes[0].mutated == ("matrix",)
    assert raw.damage == "a record header is too long"


def test_a_folder_closed_to_other_users_is_found():
    base = Path(tempfile.mkdtemp())  # under /tmp: pytest's own folders are closed to others
    try:
        open_dir, closed = base / "open", base / "open" / "closed"
        (closed / "python").mkdir(parents=True)
        for folder in (base, open_dir):
            folder.chmod(0o755)
        closed.chmod(0o700)
        assert modes.unreachable_for_others(str(closed / "python")) == str(closed)
        closed.chmod(0o711)
        assert modes.unreachable_for_others(str(closed / "python")) == ""
    finally:
        shutil.rmtree(base)


def test_plain_mode_as_root_refuses_when_its_uid_cannot_reach_python(monkeypatch):
    monkeypatch.setattr(modes.os, "geteuid", lambda: 0)
    monkeypatch.setattr(modes, "unreachable_for_others", lambda path: "/root")
    with pytest.raises(modes.SandboxUnavailable, match=r"cannot reach this Python \(/root is closed"):
        modes.choose_sandbox("plain")
    monkeypatch.setattr(modes, "unreachable_for_others", lambda path: "")
    assert modes.choose_sandbox("plain").mode == "plain"


def test_an_unknown_sandbox_is_refused():
    with pytest.raises(ValueError, match="sandbox must be one of bwrap, plain, got 'docker'"):
        modes.choose_sandbox("docker")


def test_tmp_and_a_folder_around_the_staging_are_never_bound(monkeypatch, tmp_path):
    """PYTHONPATH=/tmp, or a script run from the scratch folder, must not reach the sandbox."""
    workdir = tmp_path / "scratch" / "grade-alice-x" / "run"
    monkeypatch.setattr(modes.sys, "path", modes.sys.path + ["/tmp", str(tmp_path / "scratch")])
    (tmp_path / "scratch").mkdir()
    bound = modes._python_dirs(workdir)
    assert "/tmp" not in bound and str(tmp_path / "scratch") not in bound


def test_matplotlibs_font_list_is_staged_so_no_sandbox_builds_its_own(tmp_path):
    """Built afresh in each sandbox's empty /tmp, the font list cost about a second a submission."""
    from grader.classgrade.sandbox.staging import WORKER, font_cache, write_bin
    cached = font_cache()
    if not cached:
        pytest.skip("this matplotlib has no font list cache yet")
    write_bin(tmp_path / "bin", WORKER)
    staged = tmp_path / "bin" / cached[0].name
    assert staged.read_bytes() == cached[0].read_bytes()


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_python_reached_through_a_symlinked_folder_still_grades(tmp_path):
    """The sandbox binds folders at their real paths but ran ``sys.executable`` as given: with
    the venv (or the kit's folder) behind a symlink (a home on another disk, a worktree whose
    .venv links to another), bwrap found no Python and every submission was "not graded"."""
    import subprocess
    import sys
    linked = tmp_path / "linked-venv"
    linked.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    python = linked / "bin" / Path(sys.executable).name
    shutil.copytree(paths.KIT_ROOT / "examples" / "submissions" / "ada_correct",
                    tmp_path / "class" / "ada_correct")
    done = subprocess.run([str(python), "-m", "grader", "grade", str(tmp_path / "class"),
                           "--out", str(tmp_path / "out"), "--sandbox", "bwrap"],
                          cwd=paths.KIT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the grader failed" not in done.stdout and "100.0%" in done.stdout, done.stdout[-2000:]


def test_a_venv_made_in_the_kit_folder_never_binds_the_kit(monkeypatch):
    """``python -m venv .`` in the kit made sys.prefix the kit, and the kit folder itself was
    kept as the venv's: every student could read solutions/ (a red team's 5/5 from a copied
    reference). Grading then fails loudly (no Python in the sandbox) instead."""
    kit = str(paths.KIT_ROOT)
    monkeypatch.setattr(modes.sys, "prefix", kit)
    monkeypatch.setattr(modes.sys, "exec_prefix", kit)
    bound = modes._python_dirs()
    assert not any(kit == folder or kit.startswith(folder + "/") for folder in bound), bound

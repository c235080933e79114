"""grader.gradebook: the SQLite store of record of class grading."""

import errno
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from grader.classgrade import gradebook
from grader.classgrade.gradebook import Gradebook
from grader.client.roster import Student
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult

VERSION = "1.0"


def task(name, *kinds, mistake="", message="values differ"):
    cases = tuple(CaseResult(index=i, kind=k, message="" if k == results.OK else message,
                             mutated=("x_input",) if k == results.MISMATCH else (),
                             max_error=0.25 if k == results.MISMATCH else None)
                  for i, k in enumerate(kinds))
    return TaskResult(task=name, phase="remote", cases=cases, mistake=mistake)


def passes_all(username="alice", content_hash="hash-1"):
    return SubmissionResult(username=username, content_hash=content_hash, tasks=(
        task("conv_matrix", results.OK, results.OK), task("box_blur", results.OK)),
        notes=("graded in the plain sandbox",), sandbox="plain", seconds=1.25)


def fails_conv(username="alice", content_hash="hash-2"):
    return SubmissionResult(username=username, content_hash=content_hash, tasks=(
        task("conv_matrix", results.OK, results.MISMATCH, mistake="kernel flipped"),
        task("box_blur", results.OK),
        TaskResult.crashed("maxpool_forward", "remote", "maxpool_forward is not defined",
                           kind=results.MISSING)), sandbox="bwrap", seconds=2.0)


def not_gradable(username="carol", content_hash="hash-3"):
    return SubmissionResult.crashed(username, content_hash, "assignment.ipynb is not valid JSON",
                                    task_names=("conv_matrix", "box_blur"))


@pytest.fixture
def book(tmp_path):
    with Gradebook(tmp_path / "grades" / "gradebook.sqlite") as opened:
        yield opened


def test_schema_is_created(tmp_path):
    path = tmp_path / "new" / "gradebook.sqlite"
    Gradebook(path).close()
    db = sqlite3.connect(path)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"students", "submissions", "results"} <= tables
    assert db.execute("PRAGMA user_version").fetchone()[0] == gradebook.SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
    assert {"submission_id", "task", "passed", "state", "n_passed", "n_cases", "error",
            "mistake", "first_failure", "details"} <= columns
    db.close()
    with Gradebook(path) as reopened:  # opening twice keeps the data and the schema
        assert reopened.latest_results() == {}


@pytest.mark.parametrize("content, want", [
    (b"not a database at all, just text" * 100, "is not a gradebook"),
    (None, "schema version 99"),
])
def test_bad_files_are_refused(tmp_path, content, want):
    path = tmp_path / "gradebook.sqlite"
    if content is None:
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 99")
        db.close()
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=want):
        Gradebook(path)


@pytest.mark.parametrize("make", [passes_all, fails_conv, not_gradable])
def test_save_and_latest_results_round_trip(book, make):
    result = make()
    book.save(result, grader_version=VERSION)
    assert book.latest_results() == {result.username: result}


def test_result_rows_hold_the_summary_columns(book):
    submission_id = book.save(fails_conv(), grader_version=VERSION,
                              graded_at=datetime(2024, 5, 1, 12, 30))
    rows = book._db.execute("SELECT task, passed, state, n_passed, n_cases, error, mistake, "
                            "first_failure FROM results WHERE submission_id = ? "
                            "ORDER BY position", (submission_id,)).fetchall()
    assert [tuple(row) for row in rows] == [
        ("conv_matrix", 0, "attempted", 1, 2, "", "kernel flipped", "values differ"),
        ("box_blur", 1, "completed", 1, 1, "", "", ""),
        ("maxpool_forward", 0, "not attempted", 0, 0, "maxpool_forward is not defined", "", "")]
    when = book._db.execute("SELECT graded_at FROM submissions").fetchone()[0]
    assert when == "2024-05-01T12:30:00+00:00"


@pytest.mark.parametrize("content_hash, version, want", [
    ("hash-1", VERSION, True),
    ("hash-changed", VERSION, False),
    ("hash-1", "2.0", False),
])
def test_is_graded(book, content_hash, version, want):
    book.save(passes_all(content_hash="hash-1"), grader_version=VERSION)
    assert book.is_graded("alice", content_hash, version) is want
    assert book.is_graded("nobody", "hash-1", VERSION) is False


def test_regrading_replaces_the_latest_result(book):
    book.save(fails_conv(), grader_version=VERSION)
    book.save(passes_all(), grader_version="2.0")
    assert book.latest_results() == {"alice": passes_all()}
    assert book.is_graded("alice", "hash-1", "2.0")
    assert not book.is_graded("alice", "hash-2", VERSION)  # only the latest counts
    assert book.count("submissions") == 2  # the earlier grading stays as history


def test_interrupted_save_leaves_the_previous_state(book, monkeypatch):
    book.save(passes_all(), grader_version=VERSION)
    real_row = gradebook.result_row
    calls = []

    def dies_on_the_second_task(submission_id, position, task_result):
        calls.append(position)
        if position == 1:
            raise KeyboardInterrupt("killed midway")
        return real_row(submission_id, position, task_result)

    monkeypatch.setattr(gradebook, "result_row", dies_on_the_second_task)
    with pytest.raises(KeyboardInterrupt):
        book.save(fails_conv(), grader_version="2.0")
    assert calls == [0, 1]
    assert book.latest_results() == {"alice": passes_all()}
    assert (book.count("submissions"), book.count("results")) == (1, 2)
    monkeypatch.setattr(gradebook, "result_row", real_row)
    book.save(fails_conv(), grader_version="2.0")  # the connection is usable afterwards
    assert book.latest_results() == {"alice": fails_conv()}


def test_saved_submissions_survive_a_connection_that_is_never_closed(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    first = Gradebook(path)
    first.save(passes_all(), grader_version=VERSION)
    with Gradebook(path) as second:  # as if the first process had been killed
        assert second.latest_results() == {"alice": passes_all()}
    first.close()


def test_roster_students_without_submissions(book):
    book.add_students([Student("bob", "Bob", "bob@example.org"), Student("alice", "A", "")])
    book.save(passes_all(), grader_version=VERSION)
    book.save(not_gradable(), grader_version=VERSION)
    book.add_students([Student("alice", "Alice Liddell", "alice@example.org")])
    assert book.students() == [Student("alice", "Alice Liddell", "alice@example.org"),
                               Student("bob", "Bob", "bob@example.org"), Student("carol")]
    assert sorted(book.latest_results()) == ["alice", "carol"]


def test_save_keeps_the_roster_name(book):
    book.add_students([Student("alice", "Alice Liddell", "alice@example.org")])
    book.save(passes_all(), grader_version=VERSION)
    assert book.students() == [Student("alice", "Alice Liddell", "alice@example.org")]


def test_save_waits_for_another_writer(tmp_path):
    path = tmp_path / "gradebook.sqlite"
    Gradebook(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock ...
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        with Gradebook(path, busy_timeout=10) as book:
            start = time.monotonic()
            book.save(passes_all(), grader_version=VERSION)  # ... save waits instead of failing
            assert time.monotonic() - start >= 0.2
            assert book.latest_results() == {"alice": passes_all()}
    finally:
        releaser.join()
        other.close()


@pytest.mark.parametrize("kwargs, want", [
    ({"grader_version": ""}, "grader_version must be a non-empty string"),
])
def test_save_refuses_bad_arguments(book, kwargs, want):
    with pytest.raises(ValueError, match=want):
        book.save(passes_all(), **kwargs)


def test_task_from_dict_ignores_derived_keys():
    result = fails_conv().tasks[0]
    assert gradebook.task_from_dict(result.to_dict()) == result
    assert gradebook.task_from_dict({"task": "f", "phase": "grade"}) == TaskResult("f", "grade")


def test_graded_at_defaults_to_now_in_utc(book):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    book.save(passes_all(), grader_version=VERSION)
    when = datetime.fromisoformat(book._db.execute("SELECT graded_at FROM submissions")
                                  .fetchone()[0])
    assert when.utcoffset().total_seconds() == 0 and when >= before


# -- runs and settings ----------------------------------------------------------------------------
def run_info(**changes):
    from grader.classgrade.runinfo import RunInfo
    base = dict(started_at="2026-11-25T10:00:00+00:00", grader_version="v1", sandbox_mode="bwrap",
                sandbox="bwrap (bubblewrap 0.11.0 from system)", tasks=("conv_matrix", "box_blur"),
                limits={"call_seconds": 5.0}, points={"conv_matrix": 1.0, "box_blur": 1.0})
    return RunInfo(**{**base, **changes})


@pytest.mark.parametrize("changes, same_key", [
    ({}, True),
    ({"points": {"conv_matrix": 2.0}}, True),         # points only weigh verdicts
    ({"tasks": ("conv_matrix",)}, True),              # tasks are stored one by one
    ({"started_at": "2027-01-01T00:00:00+00:00"}, True),
    ({"grader_version": "v2"}, False),
    ({"sandbox_mode": "plain"}, False),
    ({"limits": {"call_seconds": 2.0}}, False),
])
def test_settings_key(changes, same_key):
    assert (run_info(**changes).settings_key == run_info().settings_key) is same_key


def test_a_run_is_recorded_with_its_settings(book):
    run_id = book.start_run(run_info())
    book.finish_run(run_id, finished_at="2026-11-25T10:05:00+00:00")
    run, = book.runs()
    assert run["id"] == run_id and run["tasks"] == ["conv_matrix", "box_blur"]
    assert run["limits"] == {"call_seconds": 5.0} and run["finished_at"].startswith("2026-11-25T10:05")
    assert run["settings_key"] == run_info().settings_key and run["sandbox"].startswith("bwrap")


def test_results_are_reused_per_task_and_never_across_settings(book):
    key = run_info().settings_key
    book.save(SubmissionResult("alice", "h1", (task("conv_matrix", results.OK),)),
              grader_version="v1", settings_key=key)
    assert book.graded_tasks("alice", "h1", key) == {"conv_matrix"}
    assert book.graded_tasks("alice", "h2", key) == set()          # changed content
    assert book.graded_tasks("alice", "h1", "other") == set()      # other settings
    book.save(SubmissionResult("alice", "h1", (task("box_blur", results.MISMATCH),)),
              grader_version="v1", settings_key=key)
    book.save(SubmissionResult("alice", "h1", (task("conv_matrix", results.MISMATCH),)),
              grader_version="v9", settings_key="other")
    current = book.current_results(key, {"alice": "h1", "bob": "h3"}, ["conv_matrix", "box_blur"])
    assert list(current) == ["alice"]
    assert [(t.task, t.passed) for t in current["alice"].tasks] == [("conv_matrix", True),
                                                                    ("box_blur", False)]


def test_a_version_1_gradebook_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(gradebook.SCHEMA)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO students (username) VALUES ('alice')")
        db.execute("INSERT INTO submissions (username, content_hash, grader_version, graded_at) "
                   "VALUES ('alice', 'h', 'v0', '2026-01-01T00:00:00+00:00')")
    with Gradebook(path) as book:
        assert book.count("submissions") == 1 and book.count("runs") == 0
        assert book.graded_tasks("alice", "h", run_info().settings_key) == set()


# -- files that are not (our) gradebooks: refused with one clear message, left untouched ----------
def another_programs_database(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('Ada')")
    sqlite3.connect(path).close()


def another_programs_database_in_wal_mode(path):
    another_programs_database(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
    sqlite3.connect(path).close()


def ours_with_another_shape(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE students (username TEXT PRIMARY KEY, secret TEXT)")
        db.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE results (id INTEGER PRIMARY KEY)")
        db.execute("PRAGMA user_version = 2")


def another_program_with_user_version_2(path):
    another_programs_database(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 2")


def a_future_gradebook(path):
    Gradebook(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute(f"PRAGMA user_version = {gradebook.SCHEMA_VERSION + 1}")


def a_damaged_gradebook(path):
    with Gradebook(path) as book:
        for index in range(200):
            book.save(passes_all(f"student{index}"), grader_version=VERSION)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))


def not_sqlite(path):
    path.write_bytes(b"name,score\nada,10\n" * 200)


def sqlite_header_then_garbage(path):
    path.write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)


@pytest.mark.parametrize("make, want", [
    (another_programs_database, "is an SQLite database of another program, not a gradebook (its "
                                "tables: customers)"),
    (another_programs_database_in_wal_mode, "is an SQLite database of another program"),
    (another_program_with_user_version_2, "is not a gradebook of schema version 2 (no table "
                                          "'students'"),
    (ours_with_another_shape, "table 'students' has columns secret, username, a gradebook's has "
                              "email, name, username"),
    (a_future_gradebook, f"has gradebook schema version {gradebook.SCHEMA_VERSION + 1}, this "
                         f"grader knows versions up to {gradebook.SCHEMA_VERSION}"),
    (a_damaged_gradebook, "damaged"),
    (not_sqlite, "is not a gradebook: it is not an SQLite database, or a damaged one"),
    (sqlite_header_then_garbage, "is not a gradebook: it is not an SQLite database"),
])
def test_a_file_that_is_not_a_gradebook_is_refused_and_left_untouched(tmp_path, make, want):
    path = tmp_path / "gradebook.sqlite"
    make(path)
    before = path.read_bytes()
    files = sorted(tmp_path.iterdir())
    with pytest.raises(ValueError) as refusal:
        Gradebook(path)
    message = str(refusal.value)
    assert message.startswith(str(path)) and want in message and "\n" not in message
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == files


def test_a_folder_named_like_the_gradebook_is_refused(tmp_path):
    (tmp_path / "gradebook.sqlite").mkdir()
    with pytest.raises(ValueError, match="is not a file, so it cannot be the gradebook"):
        Gradebook(tmp_path / "gradebook.sqlite")


@pytest.mark.parametrize("make", [lambda path: path.write_bytes(b""),
                                  lambda path: sqlite3.connect(path).close()])
def test_an_empty_file_becomes_a_new_gradebook(tmp_path, make):
    path = tmp_path / "gradebook.sqlite"
    make(path)
    with Gradebook(path) as book:
        book.save(passes_all(), grader_version=VERSION)
        assert book.latest_results() == {"alice": passes_all()}


def test_add_students_refuses_usernames_that_cannot_name_files(book):
    with pytest.raises(ValueError, match=r"not valid usernames: 'bob smith', '\.\./x'"):
        book.add_students([Student("alice"), Student("bob smith"), Student("../x")])
    assert book.students() == []  # all or nothing


def test_a_full_disk_during_save_is_one_clear_error_and_loses_nothing(book):
    book.save(passes_all(), grader_version=VERSION)
    pages = book._db.execute("PRAGMA page_count").fetchone()[0]
    book._db.execute(f"PRAGMA max_page_count = {pages}")  # as if the disk were full
    big = SubmissionResult("bob", "h", (task("conv_matrix", results.OK),), notes=("x" * 50000,))
    with pytest.raises(OSError) as full:
        book.save(big, grader_version=VERSION)
    assert full.value.errno == errno.ENOSPC and "the disk is full" in str(full.value)
    assert str(book.path) in str(full.value)
    assert book.latest_results() == {"alice": passes_all()}


@pytest.mark.parametrize("regrade, want_error, want_notes", [
    # --force / --only after the setup was fixed: the newest grading of every task is shown
    (("conv_matrix", "box_blur"), "", ("graded in the plain sandbox",)),
    # a grading of one task alone: the other still comes from the crashed grading, with its error
    (("conv_matrix",), "the sandbox failed: bwrap: setting up uid map: Permission denied",
     ("an old note", "graded in the plain sandbox")),
])
def test_a_regrade_replaces_an_earlier_error_and_its_notes(book, regrade, want_error, want_notes):
    key = run_info().settings_key
    book.save(replace(SubmissionResult.crashed(
        "alice", "h1", "the sandbox failed: bwrap: setting up uid map: Permission denied",
        task_names=("conv_matrix", "box_blur")), notes=("an old note",)),
        grader_version="v1", settings_key=key)
    fresh = passes_all(content_hash="h1")
    book.save(replace(fresh, tasks=tuple(t for t in fresh.tasks if t.task in regrade)),
              grader_version="v1", settings_key=key)
    current = book.current_results(key, {"alice": "h1"}, ["conv_matrix", "box_blur"])["alice"]
    assert current.error == want_error and current.notes == want_notes
    assert [(t.task, t.passed) for t in current.tasks] == [
        ("conv_matrix", True), ("box_blur", "box_blur" in regrade)]

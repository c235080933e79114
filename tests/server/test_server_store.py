"""The store of record: schema, progress never downgraded, windows, refusals of foreign files."""

import sqlite3

import pytest

from grader.client.roster import Student
from grader.server.store import SCHEMA_VERSION, Issued, ServerStore, WindowOpen


@pytest.fixture
def store(tmp_path):
    with ServerStore(tmp_path / "server.sqlite") as store:
        store.add_users([Student("ada", "Ada", "ada@x"), Student("bob")], now=0.0)
        yield store


def issue(store, username="ada", function="conv_matrix", ipd=1):
    return store.issue(Issued(username, function, ipd, 42, "{}"), now=1.0)


def test_a_new_file_is_wal_and_versioned(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


@pytest.mark.parametrize("verdicts, want", [
    ([False], "attempted"),
    ([True], "completed"),
    ([False, True], "completed"),
    ([True, False], "completed"),   # never downgraded
    ([True, False, False], "completed"),
])
def test_progress_is_never_downgraded(store, verdicts, want):
    for ipd, success in enumerate(verdicts, start=1):
        store.record_attempt(issue(store, ipd=ipd), success=success, verdict="x", now=ipd,
                             window_seconds=0)
    assert store.progress("ada") == {"conv_matrix": want}
    assert store.count("attempts") == len(verdicts)


def test_the_database_itself_refuses_a_downgrade(store):
    store.record_attempt(issue(store), success=True, verdict="ok", now=1, window_seconds=0)
    with pytest.raises(sqlite3.IntegrityError, match="never downgraded"):
        store.db.execute("UPDATE progress SET state = 'attempted'")


def test_an_attempt_opens_the_window_and_a_second_one_is_refused(store):
    store.record_attempt(issue(store, ipd=1), success=False, verdict="x", now=100.0,
                         window_seconds=30)
    assert store.seconds_left("ada", 110.0) == 20.0 and store.seconds_left("bob", 110.0) == 0.0
    with pytest.raises(WindowOpen) as refused:
        store.record_attempt(issue(store, ipd=2), success=True, verdict="ok", now=110.0,
                             window_seconds=30)
    assert refused.value.seconds_left == 20.0
    assert store.count("attempts") == 1 and store.progress("ada") == {"conv_matrix": "attempted"}


def test_the_outstanding_input_is_issued_once(store):
    first = issue(store, ipd=1)
    assert issue(store, ipd=2) == first and store.count("issued") == 1
    store.record_attempt(first, success=True, verdict="ok", now=2, window_seconds=0)
    assert store.outstanding("ada", "conv_matrix") is None
    assert issue(store, ipd=2).ipd == 2


def test_an_input_for_an_unknown_user_is_refused(store):
    with pytest.raises(sqlite3.IntegrityError):
        issue(store, username="zed")


def test_adding_users_again_updates_names_and_keeps_progress(store):
    store.record_attempt(issue(store), success=True, verdict="ok", now=1, window_seconds=0)
    store.add_users([Student("ada", "Ada Lovelace", "ada@example.org")], now=5.0)
    assert store.user("ada") == Student("ada", "Ada Lovelace", "ada@example.org")
    assert store.progress("ada") == {"conv_matrix": "completed"}


@pytest.mark.parametrize("prepare, want", [
    (lambda db: db.execute("PRAGMA user_version = 99"), "schema version 99"),
    (lambda db: db.execute("CREATE TABLE other (x)"), "another program"),
])
def test_foreign_or_newer_files_are_refused(tmp_path, prepare, want):
    path = tmp_path / "server.sqlite"
    with sqlite3.connect(path) as db:
        prepare(db)
    with pytest.raises(ValueError, match=want):
        ServerStore(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "server.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="not a server database"):
        ServerStore(path)

"""The WAL's checkpoints run in a thread of their own, never in a request's commit."""

import sqlite3
import time

from starlette.testclient import TestClient

from grader.client.roster import Student
from grader.server import checkpoints
from grader.server.app import create_app
from grader.server.settings import ServerSettings
from grader.server.store import ServerStore


def wal_frames(path) -> int:
    """Frames in the WAL file (its header is 32 bytes, a frame 24 + the page size)."""
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, (size - 32) // (24 + 4096))


def test_requests_commit_without_checkpointing_and_the_thread_checkpoints(tmp_path):
    from starlette.applications import Starlette

    from grader.server.app import open_state
    settings = ServerSettings(data=str(tmp_path), roster="")
    starlette = Starlette()
    store = open_state(starlette, settings)
    try:
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        store.add_users([Student(f"s{i:05d}", "x" * 200) for i in range(20000)], now=0)
        assert wal_frames(settings.database) >= 1000     # past SQLite's own checkpoint point
        keeper = starlette.state.checkpointer
        start, deadline = keeper.done, time.monotonic() + 30
        while keeper.done < start + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.done >= start + 2
        reader = sqlite3.connect(settings.database)     # all the log is in the database file now
        busy, log, copied = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        reader.close()
        assert (busy, log) == (0, copied) and log >= 1000
    finally:
        starlette.state.lane.close()
        starlette.state.checkpointer.close()
        store.close()


def test_the_checkpointer_stops_with_the_app(tmp_path):
    with TestClient(create_app(ServerSettings(data=str(tmp_path), roster=""))) as client:
        thread = client.app.starlette.state.checkpointer._thread
        assert thread.is_alive()
    assert not thread.is_alive()


def test_the_checkpointer_survives_a_busy_database_and_stops(tmp_path):
    with ServerStore(tmp_path / "db.sqlite") as store:
        store.add_users([Student("ada")], now=0)
        locker = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")                  # every checkpoint is refused meanwhile
        keeper = checkpoints.Checkpointer(tmp_path / "db.sqlite", every=0.01)
        time.sleep(0.2)
        locker.execute("ROLLBACK")
        deadline = time.monotonic() + 10
        while keeper.done == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        keeper.close()
        assert keeper.done >= 1 and not keeper._thread.is_alive()
        locker.close()


def commit_as_a_request(writer: sqlite3.Connection) -> None:
    """One write as the server's requests make it: ``BEGIN IMMEDIATE`` without waiting for a
    busy lock (busy timeout 0), answered again after a short pause when the lock is taken."""
    while True:
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO filler VALUES (?)", ("x" * 3000,))
            writer.execute("COMMIT")
            return
        except sqlite3.OperationalError:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            time.sleep(0.0002)


def test_the_log_stays_bounded_under_writes_that_never_pause(tmp_path):
    """Under a class's sustained load a PASSIVE checkpoint never finds a moment with every
    frame copied, so the log was never started again: 1.2 GB after 40 s of the student-like
    loop. Past ``restart_bytes`` the checkpointer has the log written from its beginning
    again, so once it has been restarted the file stops growing, however long the writes go
    on (without restarts it grows by at least a page for every commit: here 24 MiB in the
    second half, against none)."""
    path = tmp_path / "db.sqlite"
    wal = path.with_name(path.name + "-wal")
    with ServerStore(path) as store:
        store.add_users([Student("ada")], now=0)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")      # as the request connections
    writer.execute("PRAGMA busy_timeout = 0")
    writer.execute("CREATE TABLE filler (x TEXT)")
    keeper = checkpoints.Checkpointer(path, every=0.01, restart_bytes=1 << 20)
    half = 2000
    try:
        for done in range(2 * half):
            if done == half:
                middle = wal.stat().st_size
            commit_as_a_request(writer)
            time.sleep(0.0002)                             # the rest of a request's work
        grown = wal.stat().st_size - middle
    finally:
        keeper.close()
        writer.close()
    appended = half * (4096 + 24)                          # at least one frame per commit
    assert keeper.restarts >= 1
    assert grown < appended / 2, f"the log grew {grown >> 20} MiB while {appended >> 20} MiB " \
                                 "were appended"

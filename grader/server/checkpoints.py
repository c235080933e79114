"""The WAL's checkpoints in a thread of their own, never on the event loop.

SQLite copies the write-ahead log back into the database file (a checkpoint, with its
``fsync``) in whichever connection commits past 1,000 pages of log: on the server, a
student's request on the event loop, which every other client of that worker then waits
for. Here the request connections do not checkpoint (``wal_autocheckpoint = 0``) and a
daemon thread, on a connection of its own, runs a PASSIVE checkpoint every second: it
never blocks a writer or a reader, and whatever it cannot copy yet (a reader still on an
older snapshot) it copies the next time. Paced load, one worker (issue 22's bench shape):
p99 4.1-4.9 ms against 5.9-6.6 ms with checkpoints on the loop, one run each.

A PASSIVE checkpoint copies the log but never starts it again: that happens only when a
writer begins while every frame is already copied, and under a class's sustained load some
commit always lands after the copy. The log then grew without end (1.2 GB after 40 s of the
student-like loop, 28 times the database; every page lookup and commit slower as it grew:
394 to 564 us of server CPU per request). So once the log passes :data:`RESTART_BYTES` the
thread runs a RESTART checkpoint: it takes the write lock, copies the little the last
PASSIVE left, syncs the database file and has the next commit write the log from its
beginning again (the file keeps its size, so the disk holds at most about
:data:`RESTART_BYTES` plus a second of commits). Requests that want to write meanwhile find
the database busy and are answered again after an ``await``-ed pause
(``grader.server.app``); the checkpoint waits at most :data:`WAIT_SECONDS` for a reader on an
older snapshot (a staff page's long read), then gives up until the next second. Commits back
to back on this machine: the longest wait of a writer 27-29 ms per restart (a TRUNCATE
checkpoint, which also empties the file, 80-102 ms). The restart needs a moment when no one
holds the write lock, which the server's requests leave (their write is a small part of
their work, and they never wait for the lock inside SQLite, holding an old snapshot): a
writer that commits back to back with nothing between, or that waits on SQLite's busy
handler, made 77-85% of the restarts fail in a test.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

EVERY_SECONDS = 1.0
RESTART_BYTES = 64 << 20    # a log past this is started again (RESTART checkpoint)
WAIT_SECONDS = 0.02         # how long a RESTART checkpoint waits for readers and writers


def no_checkpoints_here(db: sqlite3.Connection) -> None:
    """This connection commits without checkpointing (the :class:`Checkpointer` does it)."""
    db.execute("PRAGMA wal_autocheckpoint = 0")


class Checkpointer:
    """A daemon thread checkpointing ``database`` every ``every`` seconds until :meth:`close`.

    Attributes:
        done: checkpoints run (the tests read it).
        restarts: logs started again (RESTART checkpoints that completed).
    """

    def __init__(self, database: Path, every: float = EVERY_SECONDS, *,
                 restart_bytes: int = RESTART_BYTES):
        self.database, self.every, self.done = Path(database), every, 0
        self.restart_bytes, self.restarts = restart_bytes, 0
        self._log = self.database.with_name(self.database.name + "-wal")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The timeout is the busy handler's: PASSIVE never calls it, RESTART waits that long.
        db = sqlite3.connect(str(self.database), timeout=WAIT_SECONDS, isolation_level=None,
                             check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                    if self._log_bytes() > self.restart_bytes:
                        busy, _, _ = db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                        self.restarts += not busy
                except sqlite3.Error:
                    continue   # busy or locked: the next second copies what this one could not
        finally:
            db.close()

    def _log_bytes(self) -> int:
        try:
            return self._log.stat().st_size
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        """Stop the thread (the last connection's close checkpoints what is left)."""
        self._stop.set()
        self._thread.join(timeout=10)

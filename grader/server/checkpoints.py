"""The WAL's checkpoints in a thread of their own, never on the event loop.

SQLite copies the write-ahead log back into the database file (a checkpoint, with its
``fsync``) in whichever connection commits past 1,000 pages of log: on the server, a
student's request on the event loop, which every other client of that worker then waits
for. Here the request connections do not checkpoint (``wal_autocheckpoint = 0``) and a
daemon thread, on a connection of its own, runs a PASSIVE checkpoint every second: it
never blocks a writer or a reader, and whatever it cannot copy yet (a reader still on an
older snapshot) it copies the next time. Paced load, one worker (issue 22's bench shape):
p99 4.1-4.9 ms against 5.9-6.6 ms with checkpoints on the loop, one run each.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

EVERY_SECONDS = 1.0


def no_checkpoints_here(db: sqlite3.Connection) -> None:
    """This connection commits without checkpointing (the :class:`Checkpointer` does it)."""
    db.execute("PRAGMA wal_autocheckpoint = 0")


class Checkpointer:
    """A daemon thread checkpointing ``database`` every ``every`` seconds until :meth:`close`.

    Attributes:
        done: checkpoints run (the tests read it).
    """

    def __init__(self, database: Path, every: float = EVERY_SECONDS):
        self.database, self.every, self.done = Path(database), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(str(self.database), timeout=5.0, isolation_level=None,
                             check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                except sqlite3.Error:
                    continue   # busy or locked: the next second copies what this one could not
        finally:
            db.close()

    def close(self) -> None:
        """Stop the thread (the last connection's close checkpoints what is left)."""
        self._stop.set()
        self._thread.join(timeout=10)

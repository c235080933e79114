"""Per-student progress: ``not attempted`` -> ``attempted`` -> ``completed``.

Each user has one JSON file in the progress folder. Every update takes an
exclusive lock, reads, changes and writes a temporary file that replaces the
old one atomically, so two processes recording at once lose nothing and a
crash never leaves half a file. A task once completed stays completed.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from grader.client import paths

NOT_ATTEMPTED = "not attempted"
ATTEMPTED = "attempted"
COMPLETED = "completed"
STATES = (NOT_ATTEMPTED, ATTEMPTED, COMPLETED)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


@contextlib.contextmanager
def _locked(lock_path: Path, timeout: float = 30.0):
    """Hold an exclusive lock on ``lock_path`` (flock, or an O_EXCL file where flock is missing)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is not None:
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    deadline = time.monotonic() + timeout
    marker = lock_path.with_suffix(".held")
    while True:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{marker} is held by another process; delete it if stale") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        os.unlink(marker)


def _write_atomically(path: Path, data: dict) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


class ProgressStore:
    """Progress files of every user in one folder.

    Args:
        directory: the folder; defaults to :func:`grader.paths.progress_dir`.
    """

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory is not None else paths.progress_dir()

    def _file(self, username: str) -> Path:
        return self.directory / f"{paths.check_username(username)}.json"

    def load(self, username: str) -> dict:
        """The user's record: ``{"username", "tasks": {name: {...}}, "history": [...]}``."""
        path = self._file(username)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {"username": username, "tasks": {}, "history": []}
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); restore it from a backup "
                             "or delete it to start the progress afresh") from None
        if not (isinstance(data, dict) and isinstance(data.get("tasks"), dict)
                and isinstance(data.get("history"), list)
                and all(isinstance(e, dict) and e.get("state") in STATES
                        for e in data["tasks"].values())):
            raise ValueError(f"{path} is not a progress file (it needs 'tasks' and 'history'); "
                             "restore it from a backup or delete it to start afresh")
        return data

    def states(self, username: str) -> dict[str, str]:
        """``{task name: state}`` for tasks the user has tried; others are not attempted."""
        return {name: entry["state"] for name, entry in self.load(username)["tasks"].items()}

    def failing_now(self, username: str) -> set[str]:
        """Tasks completed once whose last check failed (the record stays ``completed``)."""
        return {name for name, entry in self.load(username)["tasks"].items()
                if entry["state"] == COMPLETED and entry.get("last_passed") is False}

    def record(self, username: str, task: str, *, local_passed: bool,
               remote_passed: bool) -> str:
        """Record one attempt and return the task's new state.

        The task becomes ``completed`` when both phases passed (the kit's one
        rule, the same as class grading's), else ``attempted``; never downgraded.
        """
        path = self._file(username)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with _locked(path.with_suffix(".lock")):
            data = self.load(username)
            entry = data["tasks"].setdefault(task, {"state": NOT_ATTEMPTED, "attempts": 0})
            entry["attempts"] += 1
            entry["last_attempt"] = now
            entry["last_passed"] = bool(local_passed and remote_passed)
            if local_passed and remote_passed:
                if entry["state"] != COMPLETED:
                    entry["completed_at"] = now
                entry["state"] = COMPLETED
            elif entry["state"] != COMPLETED:
                entry["state"] = ATTEMPTED
            data["history"].append({"time": now, "task": task, "local_passed": local_passed,
                                    "remote_passed": remote_passed})
            _write_atomically(path, data)
        return entry["state"]

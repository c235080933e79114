"""Writing into the output folder safely: every file whole or not at all, one run at a time.

:func:`write_atomically` writes a temporary file next to the target, flushes it
to the disk and renames it over the target, so a full disk or a killed run
leaves the previous export as it was, never a truncated one. :func:`locked_folder`
keeps a second ``grade`` run out of an output folder that one is using.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no sandbox there either; nothing to lock with
    fcntl = None

LOCK_NAME = ".grade.lock"
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space (or quota) left to write an export; the previous file is unchanged."""

    def __str__(self) -> str:
        return self.strerror


def write_atomically(path, data: str | bytes) -> Path:
    """Replace ``path`` by ``data`` (text as UTF-8) in one step.

    Returns:
        The path written.

    Raises:
        DiskFullError: the disk or the quota is full, naming the file (left unchanged).
        OSError: any other failure to write (the file is left unchanged too).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(error, OSError) and error.errno in _FULL:
            raise DiskFullError(error.errno, f"the disk is full: could not write {path} "
                                f"({len(payload)} bytes); the previous {path.name} is unchanged. "
                                "Free some space and run grade again: graded submissions are "
                                "kept in gradebook.sqlite") from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def locked_folder(folder):
    """Hold ``folder``'s lock file (created if needed) for the ``with`` block, or refuse.

    Raises:
        ValueError: another process (another ``grade`` run) holds it, naming the folder; or
            ``folder`` is a file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder: give the folder to write the "
                         "gradebook and the LMS files into")
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    lock_path = folder / LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{folder} is in use by another grade run (it holds {lock_path}): "
                             "wait for that run to finish, or pass another output folder"
                             ) from None
        yield
    finally:
        os.close(fd)

"""Find the submissions of a class in a folder.

Two layouts are accepted, and may be mixed:
    SUBMISSIONS/<username>/assignment.ipynb   (plus the student's Blocks.py, other .py files)
    SUBMISSIONS/<username>.ipynb
and, when told which LMS it comes from, a Canvas, Moodle or Brightspace download, mapped
to usernames through the roster (:mod:`grader.classgrade.lms_downloads`).

Only real folders and regular files are the student's: a symbolic link (which
could point at the kit's solutions or another student's work) is listed as
ignored, with why, and never read; :func:`read_regular_file` also refuses a hard
link when a file is copied into the sandbox.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.classgrade.console import printable
from grader.client import paths

MAX_FILE_BYTES = 20 << 20
MAX_PY_FILES = 50
_CHUNK = 1 << 20
# No symlink at the end of the path; a FIFO or a device opens without waiting; no terminal taken.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))


@dataclass(frozen=True)
class Submission:
    """One student's submission.

    Attributes:
        username: the folder's or file's name.
        notebook: the notebook, or None when the folder holds none.
        py_files: the student's own ``.py`` files (regular files only, no links).
        refused: ``"name: why"`` of each notebook or .py file in the folder that is not
            the student's own regular file (a link, a hard link ...), for the feedback.
        lms_id: the student's id in the LMS download it came from (the Canvas user id, the
            Moodle participant id), else "".
    """

    username: str
    notebook: Path | None
    py_files: tuple[Path, ...] = ()
    refused: tuple[str, ...] = ()
    lms_id: str = ""

    def content_hash(self) -> str:
        """SHA-256 over the notebook and the .py files: names and every byte, whatever the size.

        A file that cannot be read as a regular file counts by its type, size and
        modification time instead, so a change to it still changes the hash.
        """
        digest = hashlib.sha256()
        for path in ([self.notebook] if self.notebook else []) + sorted(self.py_files):
            digest.update(os.fsencode(path.name) + b"\0")
            _hash_file(digest, path)
        return digest.hexdigest()


def _hash_file(digest, path: Path) -> None:
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        digest.update(f"unopenable {error.errno} {_lstat_line(path)}\0".encode())
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            digest.update(f"not a regular file {_lstat_line(path)}\0".encode())
            return
        length = 0
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            length += len(chunk)
        digest.update(f"\0{length} bytes\0".encode())
    except OSError as error:
        digest.update(f"\0unreadable {error.errno} {_lstat_line(path)}\0".encode())
    finally:
        os.close(fd)


def _lstat_line(path: Path) -> str:
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"missing ({error.errno})"
    return f"mode {info.st_mode:o} size {info.st_size} mtime {info.st_mtime_ns}"


def read_regular_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The bytes of ``path`` if it is the student's own regular file of at most ``limit`` bytes.

    Refused (None): a symbolic link (opened with ``O_NOFOLLOW``), a hard link
    (``st_nlink > 1``: the same file also lives elsewhere, maybe in the kit's
    solutions), a folder, FIFO or device, a file too big or that cannot be read.
    The checks are made with ``fstat`` on the opened file, so the file cannot be
    swapped between the check and the read.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= limit else None  # None: it grew past the limit
    except OSError:
        return None
    finally:
        os.close(fd)


def _from_folder(folder: Path) -> tuple[Submission, list[str]]:
    """The folder's submission, and one line per entry of it that is ignored."""
    ignored, refused, own = [], [], {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".ipynb", ".py"):
            problem = _not_own(path)
            if problem:
                ignored.append(f"{printable(folder.name)}/{printable(path.name)}: {problem}, "
                               "ignored (only the student's own files are graded)")
                refused.append(f"{printable(path.name)}: {problem}")
            else:
                own.setdefault(path.suffix, []).append(path)
    notebooks, py_files = own.get(".ipynb", []), own.get(".py", [])
    notebook = folder / "assignment.ipynb"
    if notebook not in notebooks:
        notebook = notebooks[0] if len(notebooks) == 1 else None
        if len(notebooks) > 1:
            ignored.append(f"{printable(folder.name)}: {len(notebooks)} notebooks and no "
                           "assignment.ipynb, none graded (name the one to grade assignment.ipynb)")
    if len(py_files) > MAX_PY_FILES:
        ignored.append(f"{printable(folder.name)}: {len(py_files)} .py files, only the first "
                       f"{MAX_PY_FILES} by name are used")
    return Submission(folder.name, notebook, tuple(py_files[:MAX_PY_FILES]), tuple(refused)), ignored


def _not_own(path: Path) -> str:
    """Why ``path`` is not one of the student's own regular files, or "" when it is."""
    try:
        info = os.lstat(path)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink > 1:
        return "a hard link (the same file is also elsewhere)"
    return ""


def discover(folder, *, lms: str | None = None, roster=None) -> tuple[list[Submission], list[str]]:
    """Submissions in ``folder``, sorted by username, and one line per entry skipped.

    Names in the lines are :func:`printable`: an escape sequence in a folder's name
    is shown, never sent to the terminal.

    Args:
        folder: the submissions.
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"`` when ``folder`` is that LMS's
            unzipped download (:func:`grader.classgrade.lms_downloads.read_download`).
        roster: ``{username: Student}``, which maps an LMS download to usernames.

    Raises:
        FileNotFoundError: if ``folder`` is not a directory.
        ValueError: with ``lms``, no roster, or a folder that is not such a download.
    """
    if lms is not None:
        from grader.classgrade.lms_downloads import read_download
        return read_download(folder, lms=lms, roster=roster)
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of submissions; pass one with "
                                "SUBMISSIONS=path (make) or as the first argument")
    found: dict[str, Submission] = {}
    skipped = []
    for entry in sorted(folder.iterdir()):
        shown = printable(entry.name)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            skipped.append(f"{shown}: a symbolic link, skipped (only real folders and files "
                           "are graded)")
            continue
        if entry.is_dir():
            try:
                submission, ignored = _from_folder(entry)
            except OSError as error:
                skipped.append(f"{shown}: cannot be read ({error.strerror}), skipped")
                continue
        elif entry.suffix == ".ipynb":
            problem = _not_own(entry)
            if problem:
                skipped.append(f"{shown}: {problem}, skipped (only real folders and files are "
                               "graded)")
                continue
            submission, ignored = Submission(entry.stem, entry), []
        else:
            continue
        try:
            paths.check_username(submission.username)
        except ValueError:
            skipped.append(f"{shown}: not a valid username, skipped")
            continue
        if submission.username in found:
            skipped.append(f"{shown}: a second submission of {submission.username}, skipped")
            continue
        found[submission.username] = submission
        skipped += ignored
    return [found[name] for name in sorted(found)], skipped

"""What a submission is, and how its files are read: the record every later step takes.

A :class:`Submission` names one student's private copy (:mod:`grader.classgrade.intake`)
of what they handed in: the notebooks and their own ``.py`` files. Several notebooks: every
notebook a student handed in (up to :data:`MAX_NOTEBOOKS`, the newest first) is graded and
the best kept (:mod:`grader.classgrade.submission`). Finding a class's submissions in a
folder, of the kit's layout or an LMS's download, is :mod:`grader.classgrade.class_folder`'s
job; this module imports neither reader.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader.classgrade.console import printable

MAX_FILE_BYTES = 20 << 20
MAX_PY_FILES = 50
MAX_NOTEBOOKS = 4
KIT_NOTEBOOK = "assignment.ipynb"
NOTEBOOK_NOTE = "notebook graded: "  # starts the note on which of several notebooks was kept
_CHUNK = 1 << 20
# No symlink at the end of the path; a FIFO or a device opens without waiting; no terminal taken.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))


@dataclass(frozen=True)
class Submission:
    """One student's submission.

    Attributes:
        username: the folder's or file's name.
        notebook: the notebook (the newest of several), or None when there is none.
        py_files: the student's own ``.py`` files (regular files only, no links).
        other_notebooks: the student's other notebooks, each also graded (the best is kept).
        lms_id: the student's id in the LMS download it came from (the Canvas user id, the
            Moodle participant id), else "".
        handed_in: when the LMS download says it was handed in, ISO 8601 without a zone, in
            the LMS's time zone (:mod:`grader.classgrade.lms_times`), else "".
        marked_late: Canvas's download marks it late (``_LATE_`` in its files' names).
    """

    username: str
    notebook: Path | None
    py_files: tuple[Path, ...] = ()
    other_notebooks: tuple[Path, ...] = ()
    lms_id: str = ""
    handed_in: str = ""
    marked_late: bool = False

    def content_hash(self) -> str:
        """SHA-256 over the notebooks and the .py files: names and every byte, whatever the size.

        A file that cannot be read as a regular file counts by its type, size and
        modification time instead, so a change to it still changes the hash.
        """
        digest = hashlib.sha256()
        notebooks = sorted(([self.notebook] if self.notebook else []) + list(self.other_notebooks))
        for path in notebooks + sorted(self.py_files):
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


@dataclass(frozen=True)
class Intake:
    """A class's submissions, taken in, and everything that was not.

    Attributes:
        submissions: one per student, sorted by username, each a private copy.
        ignored: one line per entry or file not graded as it was handed in, and per file
            shared between students (for the terminal and the report).
        notes: ``{username: lines}`` for each student's feedback: the same lines about their
            own files, and LMS entries that could be theirs but were not graded.
    """

    submissions: tuple[Submission, ...] = ()
    ignored: tuple[str, ...] = ()
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def from_copy(username: str, folder: Path, *, lms_id: str = "", handed_in: str = "",
              marked_late: bool = False) -> tuple[Submission, list[str]]:
    """The submission in ``folder`` (a private copy, :func:`~grader.classgrade.intake.take_files`),
    and a note for each notebook or .py file beyond the bounds.

    Notebooks are ordered newest first, then the kit's name (``assignment.ipynb``), then
    by name; the first :data:`MAX_NOTEBOOKS` are graded.
    """
    listed = sorted(folder.iterdir())
    notebooks = sorted((p for p in listed if p.suffix.lower() == ".ipynb"),
                       key=lambda p: (-p.stat().st_mtime_ns, p.name != KIT_NOTEBOOK, p.name))
    py_files = [p for p in listed if p.suffix == ".py"]
    notes = []
    if len(notebooks) > MAX_NOTEBOOKS:
        notes.append(f"{len(notebooks)} notebooks: only the {MAX_NOTEBOOKS} newest are graded; "
                     "not graded: " + ", ".join(printable(p.name) for p in notebooks[MAX_NOTEBOOKS:]))
    if len(py_files) > MAX_PY_FILES:
        notes.append(f"{len(py_files)} .py files, only the first {MAX_PY_FILES} by name are used")
    graded = notebooks[:MAX_NOTEBOOKS]
    submission = Submission(username, graded[0] if graded else None,
                            tuple(py_files[:MAX_PY_FILES]), tuple(graded[1:]), lms_id=lms_id,
                            handed_in=handed_in, marked_late=marked_late)
    return submission, notes

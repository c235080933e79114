"""Take in one student's files: read each once, safely, into a private copy that is graded.

Whatever the layout (a folder per student, a flat notebook, an LMS download), a student's
files are given as ``(name, path)`` pairs and copied, under the name, into a fresh folder of
the grader's own (``staging/<username>/``). Everything after intake (hashing, the sandbox,
Dask, ``--execute``) reads that copy, which holds only single-named regular files, so a file
swapped or linked after intake changes nothing.

A file is copied only when it is the student's own, as checked on the opened file
(:func:`read_own`): not a symbolic link, a regular file, within the size limit, and if it
has several names (hard links), all of them inside the submissions folder
(:class:`~grader.classgrade.hard_links.NameIndex`); such a shared file is graded for every
student whose folder holds it and named in each one's notes. A zip archive is unpacked
(:mod:`grader.classgrade.archives`) beside the loose files, which win a name they share.

Every file handed in is either copied or named in the student's notes with why.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.classgrade import archives
from grader.classgrade.console import printable
from grader.classgrade.hard_links import NameIndex

MAX_FILE_BYTES = 20 << 20
GRADED_SUFFIXES = (".ipynb", ".py")
_QUIET = (".ipynb_checkpoints", "__pycache__", "__MACOSX", ".DS_Store")
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))


@dataclass(frozen=True)
class Taken:
    """One student's files after intake.

    Attributes:
        folder: the private copy (``staging/<username>``), single-named regular files only.
        notes: for the student's feedback: each file not graded and why, each shared file.
        lines: the same, each naming the file, for the terminal and the report.
    """

    folder: Path
    notes: tuple[str, ...]
    lines: tuple[str, ...]


def new_staging(kind: str) -> Path:
    """A fresh private folder for the copies, removed when the process exits."""
    staging = Path(tempfile.mkdtemp(prefix=f"automark-{kind}-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    return staging


def read_own(path: Path, index: NameIndex | None, limit: int = MAX_FILE_BYTES):
    """``(bytes, fstat)`` of ``path`` if it is the student's own regular file, else why not.

    The checks are made on the opened file (``O_NOFOLLOW``, ``fstat``), so it cannot be
    swapped between the check and the read. Returns a string (why) when refused.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        return "a symbolic link" if os.path.islink(path) else f"cannot be read ({error.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_nlink > 1 and (index is None or not (
                index.all_inside(info) or index.students_own(info, path))):
            return "a hard link to a file that also has a name outside the submissions folder"
        if info.st_size > limit:
            return f"bigger than {limit >> 20} MB"
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        return (b"".join(chunks), info) if size <= limit else f"bigger than {limit >> 20} MB"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    finally:
        os.close(fd)


def take_files(files, target: Path, *, index: NameIndex | None, label: str) -> Taken:
    """Copy a student's ``(name, path)`` files into ``target`` (a new folder).

    Args:
        files: the student's files, each under the name the student gave it.
        target: the student's folder in the staging area; created here.
        index: the submissions folder's multiply-linked files (None: refuse every hard link).
        label: how the lines name the student's files (``alice/``, a download's entry).

    Returns:
        A :class:`Taken`.
    """
    target.mkdir()
    notes: list[str] = []
    archived: list[tuple[str, str, bytes, int]] = []   # (archive, member name, bytes, mtime)
    for name, path in files:
        shown = printable(name)
        if name in _QUIET or name.startswith("._"):
            continue  # what Jupyter, Python and macOS add
        if name.startswith("."):
            notes.append(f"{shown}: a hidden file, not graded")
            continue
        suffix = Path(name).suffix.lower()
        if os.path.isdir(path) and not os.path.islink(path):
            notes.append(f"{shown}/: a folder inside the submission, not read")
            continue
        if suffix not in GRADED_SUFFIXES + (".zip",):
            notes.append(f"{shown}: not a notebook, .py file or zip archive, not graded")
            continue
        limit = archives.MAX_ARCHIVE_BYTES if suffix == ".zip" else MAX_FILE_BYTES
        read = read_own(path, index, limit)
        if isinstance(read, str):
            notes.append(f"{shown}: {read}, not used (only the student's own regular files "
                         "are graded)")
            continue
        data, info = read
        others = index.other_names(info, path) if info.st_nlink > 1 else ()
        if others:
            notes.append(f"{shown}: one file with {', '.join(printable(str(o)) for o in others)} "
                         "(hard links inside the submissions folder); graded for each student "
                         "whose folder holds it")
        elif info.st_nlink > 1:   # the student's own file, linked from outside (students_own)
            notes.append(f"{shown}: your file has another name outside the submissions folder; "
                         "graded as yours")
        if suffix == ".zip":
            archived += [(*member, info.st_mtime_ns) for member in _unpacked(shown, data, notes)]
        elif Path(name).name != name or (target / name).exists():
            notes.append(f"{shown}: a second file of that name, not used")
        else:
            _write(target / name, data, info.st_mtime_ns)
    for archive, member, data, mtime_ns in archived:
        if (target / member).exists():
            notes.append(f"{archive}: {printable(member)}: a file of that name was handed in "
                         "beside the archive, which is used")
        else:
            _write(target / member, data, mtime_ns)
    return Taken(target, tuple(notes), tuple(f"{label}{note}" for note in notes))


def _unpacked(shown: str, data: bytes, notes: list[str]) -> list[tuple[str, str, bytes]]:
    try:
        unpacked = archives.unpack(io.BytesIO(data))
    except ValueError as error:
        notes.append(f"{shown}: {error}, not graded")
        return []
    notes += [f"{shown}: {printable(line)}" for line in unpacked.refused]
    return [(shown, member, content) for member, content in unpacked.files]


def _write(path: Path, data: bytes, mtime_ns: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))

"""Find the submissions of a class in a folder, and take each one in.

Two layouts are accepted, and may be mixed:
    SUBMISSIONS/<username>/assignment.ipynb   (plus the student's Blocks.py, other .py files,
                                               zip archives of them)
    SUBMISSIONS/<username>.ipynb or SUBMISSIONS/<username>.zip
and, when told which LMS it comes from, a Canvas, Moodle or Brightspace download, mapped
to usernames through the roster (:mod:`grader.classgrade.lms_downloads`).

Each student's files are copied once into a private folder (:mod:`grader.classgrade.intake`),
and that copy is what is graded. Only real folders and the students' own regular files are
taken: a symbolic link (which could point at the kit's solutions or another student's work)
is named as ignored, with why, and never read; a hard link is taken only when every name of
the file lies inside the submissions folder (one student linking a classmate's notebook
does not take it away from the classmate: both are graded on it, and both told).

Several notebooks: every notebook a student handed in (up to :data:`MAX_NOTEBOOKS`, the
newest first) is graded and the best kept (:mod:`grader.classgrade.submission`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.hard_links import NameIndex
from grader.classgrade.intake import new_staging, take_files
from grader.classgrade.lms_layouts import looks_like
from grader.client import paths

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
        notebook: the notebook, or None when the folder holds none.
        notebook: the notebook (the newest of several), or None when there is none.
        py_files: the student's own ``.py`` files (regular files only, no links).
        other_notebooks: the student's other notebooks, each also graded (the best is kept).
        lms_id: the student's id in the LMS download it came from (the Canvas user id, the
            Moodle participant id), else "".
    """

    username: str
    notebook: Path | None
    py_files: tuple[Path, ...] = ()
    other_notebooks: tuple[Path, ...] = ()
    lms_id: str = ""

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


def from_copy(username: str, folder: Path, *, lms_id: str = "") -> tuple[Submission, list[str]]:
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
                            tuple(py_files[:MAX_PY_FILES]), tuple(graded[1:]), lms_id=lms_id)
    return submission, notes


def take_in(folder, *, lms: str | None = None, roster=None) -> Intake:
    """Every submission in ``folder``, copied privately, and what was not taken, with why.

    Names in the lines are :func:`printable`: an escape sequence in a folder's name
    is shown, never sent to the terminal.

    Args:
        folder: the submissions.
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"`` when ``folder`` is that LMS's
            unzipped download (:func:`grader.classgrade.lms_downloads.read_download`).
        roster: ``{username: Student}``, which maps an LMS download to usernames.

    Raises:
        FileNotFoundError: if ``folder`` is not a directory.
        ValueError: with ``lms``, no roster, or a folder that is not such a download;
            without ``lms``, a folder that is an LMS's download (the message names the flag).
    """
    if lms is not None:
        from grader.classgrade.lms_downloads import read_download
        return read_download(folder, lms=lms, roster=roster)
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of submissions; pass one with "
                                "SUBMISSIONS=path (make) or as the first argument")
    refusal = looks_like(folder)
    if refusal:
        raise ValueError(refusal)
    index, staging = NameIndex.scan(folder), new_staging("class")
    found: dict[str, Submission] = {}
    skipped, notes = [], {}
    for entry in sorted(folder.iterdir()):
        shown = printable(entry.name)
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            skipped.append(f"{shown}: a symbolic link, skipped (only real folders and files "
                           "are graded)")
            continue
        is_folder = entry.is_dir()
        if not is_folder and entry.suffix.lower() not in (".ipynb", ".zip"):
            continue
        username = entry.name if is_folder else entry.stem
        try:
            paths.check_username(username)
        except ValueError:
            skipped.append(f"{shown}: not a valid username, skipped")
            continue
        if username in found:
            skipped.append(f"{shown}: a second submission of {username}, skipped")
            continue
        try:
            files = [(p.name, p) for p in sorted(entry.iterdir())] if is_folder else [
                (entry.name, entry)]
            taken = take_files(files, staging / username, index=index,
                               label=f"{shown}/" if is_folder else "")
        except OSError as error:
            skipped.append(f"{shown}: cannot be read ({error.strerror}), skipped")
            continue
        submission, extra = from_copy(username, taken.folder)
        if not is_folder and submission.notebook is None:
            skipped += [f"{line}, skipped" for line in taken.lines] or [
                f"{shown}: nothing to grade in it, skipped"]
            shutil.rmtree(taken.folder)  # the same username may come again (bob.ipynb, bob.zip)
            continue
        found[username] = submission
        skipped += list(taken.lines) + [f"{shown}: {line}" for line in extra]
        if taken.notes or extra:
            notes[username] = taken.notes + tuple(extra)
    return Intake(tuple(found[name] for name in sorted(found)), tuple(skipped), notes)


def discover(folder, *, lms: str | None = None, roster=None) -> tuple[list[Submission], list[str]]:
    """:func:`take_in`'s submissions and ignored lines (for callers that need no notes)."""
    intake = take_in(folder, lms=lms, roster=roster)
    return list(intake.submissions), list(intake.ignored)

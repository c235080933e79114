"""An LMS's "download all submissions", unzipped, read as submissions of roster usernames.

What each LMS names its files. None documents the names; what this relies on is what the
downloads hold as seen elsewhere: for Canvas, the file lists in public scripts that unpack its
zips (``smithbob_340934_208490284_BobsWork.zip``, the ``LATE`` field, the ``-1`` of a file
uploaded again); for Moodle, its own assignment code (``fullname _ participant id _
assignsubmission_<plugin>_``, the id being the one its grading worksheet writes as
``Participant <id>``); for Brightspace, public tests of tools that read its zips
(``39786-640693 - Aiden Rodriguez - Oct 10, 2025 1022 AM/Main.java`` beside ``index.html``).

    canvas       flat files  <lastfirst>_<user id>_<submission id>_<file>
                 late:       <lastfirst>_LATE_<user id>_<submission id>_<file> (Canvas
                 keeps the late status itself); a file uploaded again under the same name
                 ends in -1, -2 ... before its extension (``Blocks-1.py``: read as
                 ``Blocks.py``); only the latest submission is downloaded
    moodle       folders     <Full Name>_<participant id>_assignsubmission_file_/<file>
                 ("Download submissions in folders"), or flat files
                 <Full Name>_<participant id>_assignsubmission_file_<file>; the participant
                 id is the assignment's own (``Participant 123`` in its grading worksheet);
                 ``_assignsubmission_onlinetext_`` entries hold online text and are not graded
    brightspace  folders     <n>-<n> - <Name> - <Mon D, YYYY HMM AM>/<file> beside an
                 index.html, or (older downloads) flat files <n>-<n> - <Name> - <date> - <file>;
                 the two numbers identify the submission, not the student; each attempt is a
                 folder of its own, and the latest is graded

A student is found through the roster (``students.csv``): first by the id in the name
(``canvas_id`` or ``moodle_id``), else by the name, when exactly one roster name matches it
(letters and digits only, case and accents ignored, first-last or last-first: Canvas's
``smithbob`` is ``Bob Smith``). An entry that matches no one, or two, is listed as
ignored, saying which column to fill in.

The files are then copied, under their own names, into a fresh folder of the standard
layout (``<username>/assignment.ipynb``, ``Blocks.py``), so the notebook imports the
student's ``Blocks``, and :func:`grader.classgrade.submissions.discover` reads that folder
with every check it makes (links, hard links and odd files are never copied). The folder
is removed when the process exits.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from grader.classgrade.console import printable
from grader.client.roster import LMS_COLUMNS, Student

LMSES = tuple(LMS_COLUMNS)
GRADED_SUFFIXES = (".ipynb", ".py")
LAYOUTS = {
    "canvas": "Canvas files named <lastfirst>_<user id>_<submission id>_<file>",
    "moodle": "Moodle folders named <Full Name>_<participant id>_assignsubmission_file_",
    "brightspace": "Brightspace folders named <n>-<n> - <Name> - <date>",
}
_CANVAS = re.compile(r"(?P<name>[^_]*)(?:_late)?_(?P<id>\d+)_(?:\d+_)?(?P<file>.+)", re.I)
_MOODLE = re.compile(r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)")
_BRIGHTSPACE = re.compile(r"\d+-\d+ - (?P<name>.+?) - (?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4} "
                          r"\d{3,4} [AP]M)(?: - (?P<file>.+))?")
_AGAIN = re.compile(r"-\d+(?=\.(?:ipynb|py)$)")


@dataclass(frozen=True)
class Entry:
    """One student's part of a download, as its names tell it.

    Attributes:
        label: the folder's or first file's name, for messages.
        lms_id: the Canvas user id or the Moodle participant id ("" for Brightspace).
        name: as the LMS wrote it: ``smithbob``, ``Bob Smith``, ``Smith, Bob``.
        files: ``(file name as the student named it, path)``.
        when: Brightspace's submission time, ISO 8601 ("" elsewhere): the latest is graded.
    """

    label: str
    lms_id: str
    name: str
    files: tuple[tuple[str, Path], ...]
    when: str = ""


def read_download(folder, *, lms: str, roster) -> tuple[list, list[str]]:
    """The submissions in ``lms``'s download ``folder``, under roster usernames.

    Args:
        folder: the unzipped download (or a folder holding just that one folder).
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"``.
        roster: ``{username: Student}`` (``load_roster``).

    Returns:
        ``(submissions, ignored)`` as :func:`~grader.classgrade.submissions.discover` gives
        them, each submission's ``lms_id`` set from the download.

    Raises:
        ValueError: an unknown ``lms``, no roster, or nothing in ``folder`` named as ``lms``
            names its downloads.
        FileNotFoundError: ``folder`` is not a folder.
    """
    from grader.classgrade.submissions import discover
    if lms not in LMSES:
        raise ValueError(f"unknown LMS {lms!r}: choose among {', '.join(LMSES)}")
    if not roster:
        raise ValueError(f"reading a {lms} download needs the roster (students.csv with username, "
                         f"name and {LMS_COLUMNS[lms]} columns) to find each student's username")
    folder = _inner(Path(folder))
    entries, ignored = READERS[lms](folder)
    if not entries:
        raise ValueError(f"{folder} holds no {lms} download: expected {LAYOUTS[lms]}")
    found, unmatched = match_roster(entries, roster, lms)
    staging = Path(tempfile.mkdtemp(prefix=f"automark-{lms}-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    ignored += unmatched + stage(found, staging)
    submissions, skipped = discover(staging)
    ids = {username: entry.lms_id for username, entry in found.items()}
    return [replace(s, lms_id=ids.get(s.username, "")) for s in submissions], ignored + skipped


def _inner(folder: Path) -> Path:
    """``folder``, or the one folder in it when that is all it holds (an unzipped archive)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; unzip the LMS's download and pass "
                                "the folder")
    inside = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink() and not any(
            pattern.fullmatch(inside[0].name) for pattern in (_MOODLE, _BRIGHTSPACE)):
        return inside[0]
    return folder


def _visible(folder: Path):
    return [p for p in sorted(folder.iterdir()) if not p.name.startswith((".", "__MACOSX"))]


def _files_in(folder: Path) -> tuple[tuple[str, Path], ...]:
    return tuple((p.name, p) for p in _visible(folder) if not p.is_dir() or p.is_symlink())


def read_canvas(folder: Path) -> tuple[list[Entry], list[str]]:
    """Canvas's flat files, one :class:`Entry` per user id."""
    by_id: dict[str, Entry] = {}
    ignored = []
    for path in _visible(folder):
        named = _CANVAS.fullmatch(path.name)
        if named is None or (path.is_dir() and not path.is_symlink()):
            ignored.append(f"{printable(path.name)}: not named as Canvas names a submission's "
                           "files, ignored")
            continue
        entry = by_id.get(named["id"]) or Entry(path.name, named["id"], named["name"], ())
        own = _AGAIN.sub("", named["file"])
        own = named["file"] if own in dict(entry.files) else own
        by_id[named["id"]] = replace(entry, files=entry.files + ((own, path),))
    return list(by_id.values()), ignored


def read_moodle(folder: Path) -> tuple[list[Entry], list[str]]:
    """Moodle's folders (or flat files), one :class:`Entry` per participant id."""
    by_id: dict[str, Entry] = {}
    ignored = []
    for path in _visible(folder):
        named = _MOODLE.fullmatch(path.name)
        is_folder = path.is_dir() and not path.is_symlink()
        if named is None or bool(named["file"]) == is_folder:
            ignored.append(f"{printable(path.name)}: not named as Moodle names a submission, "
                           "ignored")
            continue
        if named["plugin"] != "file":
            continue  # online text, comments: nothing to grade
        files = _files_in(path) if is_folder else ((named["file"], path),)
        entry = by_id.get(named["id"]) or Entry(path.name, named["id"], named["name"], ())
        by_id[named["id"]] = replace(entry, files=entry.files + files)
    return list(by_id.values()), ignored


def read_brightspace(folder: Path) -> tuple[list[Entry], list[str]]:
    """Brightspace's folders (or flat files), one :class:`Entry` per attempt."""
    attempts: dict[tuple[str, str], Entry] = {}
    ignored = []
    for path in _visible(folder):
        if path.name == "index.html":
            continue  # Brightspace's own list of the download
        named = _BRIGHTSPACE.fullmatch(path.name)
        is_folder = path.is_dir() and not path.is_symlink()
        if named is None or bool(named["file"]) == is_folder:
            ignored.append(f"{printable(path.name)}: not named as Brightspace names a "
                           "submission, ignored")
            continue
        when = datetime.strptime(named["date"], "%b %d, %Y %I%M %p").isoformat()
        files = _files_in(path) if is_folder else ((named["file"], path),)
        entry = attempts.get((named["name"], when)) or Entry(path.name, "", named["name"], (), when)
        attempts[named["name"], when] = replace(entry, files=entry.files + files)
    return list(attempts.values()), ignored


READERS = {"canvas": read_canvas, "moodle": read_moodle, "brightspace": read_brightspace}


def name_key(text: str) -> str:
    """``"Liddell, Álice"`` -> ``"liddellalice"``: letters and digits, no case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).casefold()


def name_keys(name: str) -> set[str]:
    """The keys of a roster name in first-last and last-first order.

    ``"Last, First"`` splits at its comma; ``"Zoë de la Cruz"`` at every space, since the
    last name may be several words (Canvas's ``delacruzzoe``).
    """
    if "," in name:
        last, _, first = name.partition(",")
        splits = [(first, last)]
    else:
        words = name.split()
        splits = [(" ".join(words[:k]), " ".join(words[k:])) for k in range(len(words) + 1)]
    return {key for first, last in splits
            for key in (name_key(first + last), name_key(last + first))} - {""}


def match_roster(entries, roster, lms: str) -> tuple[dict[str, Entry], list[str]]:
    """``{username: entry}`` for the entries the roster names, and a line for each other one.

    By the id in the entry's name (the roster's ``canvas_id``/``moodle_id``), else by a name
    that matches one roster name only. Two entries of one student: the latest (Brightspace's
    time) is kept and the other listed.
    """
    students: list[Student] = list(roster.values())
    by_id = {s.lms_id(lms): s.username for s in students if s.lms_id(lms)}
    by_name: dict[str, set[str]] = {}
    for student in students:
        for key in name_keys(student.name):
            by_name.setdefault(key, set()).add(student.username)
    found: dict[str, Entry] = {}
    ignored = []
    for entry in sorted(entries, key=lambda e: (e.when, e.label)):
        named = by_name.get(name_key(entry.name), set())
        username = by_id.get(entry.lms_id) or (min(named) if len(named) == 1 else None)
        shown = printable(entry.label)
        if username is None:
            why = f"{len(named)} roster names match {entry.name!r}" if named else (
                f"no roster row has {'its id or ' if entry.lms_id else ''}the name {entry.name!r}")
            ignored.append(f"{shown}: {printable(why)}; ignored (fill in the roster's "
                           f"{LMS_COLUMNS[lms]} column{'' if entry.lms_id else ' or name'})")
            continue
        if username in found:
            ignored.append(f"{printable(found[username].label)}: an earlier submission of "
                           f"{username}, ignored (the latest is graded)")
        found[username] = entry
    return found, ignored


def stage(found: dict[str, Entry], staging: Path) -> list[str]:
    """Copy each student's notebooks and .py files into ``staging/<username>/``, under the
    names the student gave them; a line for each file not copied."""
    from grader.classgrade.submissions import _not_own, read_regular_file
    ignored = []
    for username, entry in sorted(found.items()):
        target = staging / username
        target.mkdir()
        for name, path in entry.files:
            if not name.endswith(GRADED_SUFFIXES):
                continue
            problem = _not_own(path) or ("" if Path(name).name == name and not name.startswith(".")
                                         and not (target / name).exists()
                                         else "not a plain file name of its own")
            data = None if problem else read_regular_file(path)
            if data is None:
                ignored.append(f"{printable(path.name)}: {problem or 'too big or unreadable'}, "
                               "ignored (only the student's own files are graded)")
                continue
            (target / name).write_bytes(data)
    return ignored

"""How each LMS names the files of its "download all submissions", read into entries.

No LMS documents these names; what this relies on is what the
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
                 and a CSV beside them that is the assignment's grading worksheet gives each
                 participant's hand-in time (:mod:`.lms_times`). The first
                 ``_<id>_assignsubmission_`` of a name is Moodle's, the rest the student's: a
                 name holding two (a file named like a classmate's entry) is refused, and the
                 worksheet is never an entry (a student's own CSV) nor one of two
    brightspace  folders     <n>-<n> - <Name> - <Mon D, YYYY HMM AM>/<file> beside an
                 index.html, or (older downloads) flat files <n>-<n> - <Name> - <date> - <file>;
                 the two numbers identify the submission, not the student; each attempt is a
                 folder of its own, and the latest is graded

Each reader turns one download folder into :class:`Entry` records, one per student (Canvas,
Moodle) or attempt (Brightspace), and a line for every name it cannot read; one entry's
failure (an unreadable folder, a date that is no date) is a line about that entry only.
:func:`looks_like` recognises a download given without ``--lms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.lms_times import capped, is_worksheet, participant_order, read_worksheet
from grader.client.roster import LMS_COLUMNS

LMSES = tuple(LMS_COLUMNS)
LAYOUTS = {
    "canvas": "Canvas files named <lastfirst>_<user id>_<submission id>_<file>",
    "moodle": "Moodle folders named <Full Name>_<participant id>_assignsubmission_file_",
    "brightspace": "Brightspace folders named <n>-<n> - <Name> - <date>",
}
_CANVAS = re.compile(r"(?P<name>[^_]*)(?P<late>_late)?_(?P<id>\d+)_(?:\d+_)?(?P<file>.+)",
                     re.I)
# the first ``_<id>_assignsubmission_<plugin>_`` is Moodle's: what follows is the student's
_MOODLE = re.compile(r"(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)")
_MOODLE_MARK = re.compile(r"_\d+_assignsubmission_[a-z]+_")
_BRIGHTSPACE = re.compile(r"(?P<attempt>(?P<first>\d+)-(?P<second>\d+) - (?P<name>.+?) - "
                          r"(?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:?\d{2} [AP]M))"
                          r"(?: - (?P<file>.+))?")
_AGAIN = re.compile(r"-\d+(?=\.(?:ipynb|py)$)")


@dataclass(frozen=True)
class Entry:
    """One student's part of a download, as its names tell it.

    Attributes:
        label: the folder's or first file's name, for messages (a Brightspace attempt's
            name before its file's, ``<n>-<n> - <Name> - <date>``).
        lms_id: the Canvas user id or the Moodle participant id ("" for Brightspace).
        name: as the LMS wrote it: ``smithbob``, ``Bob Smith``, ``Smith, Bob``.
        files: ``(file name as the student named it, path)``.
        when: the hand-in time, ISO 8601 without a zone, in the LMS's time zone
            (:mod:`.lms_times`): Brightspace's folder name, Moodle's grading worksheet; ""
            when the download does not say (Canvas). Of Brightspace's attempts, the latest
            is graded.
        late: Canvas's ``_LATE_`` in a file's name: handed in after the student's due date.
        refused: lines for the student's feedback about their own files not graded.
        order: of one student's attempts handed in the same minute, the later sorts last
            (Brightspace's two numbers, compared as numbers: :func:`number_order`).
    """

    label: str
    lms_id: str
    name: str
    files: tuple[tuple[str, Path], ...]
    when: str = ""
    late: bool = False
    refused: tuple[str, ...] = ()
    order: tuple = ()


def looks_like(folder) -> str | None:
    """The one-line refusal for a plain folder that is an LMS's download, else None.

    An LMS download read as plain folders becomes one "student" per file, with their
    ``Blocks.py`` apart: when at least half of what ``folder`` holds (and at least one entry)
    is named as one LMS names its downloads, the run stops and says which flag to add.
    """
    folder = Path(folder)
    try:
        inside = inner_folder(folder)
        names = [p.name for p in _visible(inside)
                 if p.name not in ("index.html", "students.csv") and not p.name.startswith(".")]
    except (OSError, FileNotFoundError):
        return None
    # the most specific first: a Moodle folder's name is also a Canvas file's
    patterns = {"brightspace": _BRIGHTSPACE, "moodle": _MOODLE, "canvas": _CANVAS}
    for lms, pattern in patterns.items():
        matched = sum(1 for name in names if pattern.fullmatch(name))
        if matched and 2 * matched >= len(names):
            return (f"{folder} looks like a {lms} download ({matched} of {len(names)} entries "
                    f"are {LAYOUTS[lms]}): add --lms {lms}, with the roster's "
                    f"{LMS_COLUMNS[lms]} or name column to find each student")
    return None


def inner_folder(folder: Path) -> Path:
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
    """Every entry but what macOS adds to a zip (``__MACOSX``, ``._x``, ``.DS_Store``): another
    name starting with a dot is still a student's (a display name may start with one)."""
    return [p for p in sorted(folder.iterdir())
            if not p.name.startswith(("._", "__MACOSX")) and p.name != ".DS_Store"]


def _files_in(folder: Path) -> tuple[tuple[str, Path], ...]:
    return tuple((p.name, p) for p in _visible(folder))


def _each(folder: Path, read_one) -> list[str]:
    """Call ``read_one(path)`` for each visible entry of ``folder``; one entry's failure
    (an unreadable folder, a name no parser foresaw) is a line about that entry only."""
    ignored = []
    for path in _visible(folder):
        try:
            ignored += read_one(path)
        except (OSError, ValueError, UnicodeError) as error:
            ignored.append(f"{printable(path.name)}: cannot be read ({printable(error)}), ignored")
    return ignored


def read_canvas(folder: Path) -> tuple[list[Entry], list[str]]:
    """Canvas's flat files, one :class:`Entry` per user id."""
    by_id: dict[str, Entry] = {}

    def read_one(path: Path) -> list[str]:
        named = _CANVAS.fullmatch(path.name)
        if named is None or (path.is_dir() and not path.is_symlink()):
            return [f"{printable(path.name)}: not named as Canvas names a submission's files, "
                    "ignored"]
        entry = by_id.get(named["id"]) or Entry(path.name, named["id"], named["name"], ())
        entry = replace(entry, late=entry.late or bool(named["late"]))
        by_id[named["id"]] = replace(entry, files=entry.files + ((named["file"], path),))
        return []
    ignored = _each(folder, read_one)
    return [replace(entry, files=_uploaded_again(entry.files)) for entry in by_id.values()], ignored


def _uploaded_again(files: tuple[tuple[str, Path], ...]) -> tuple[tuple[str, Path], ...]:
    """Canvas's files of one student under their own names: of ``Blocks.py``,
    ``Blocks-1.py`` ... ``Blocks-10.py`` (the same name uploaded again), the largest number,
    compared as a number, is the latest and is ``Blocks.py``; the others keep their names
    and come after it (a second ``Blocks.py`` is then a file of that name not used)."""
    def again(name: str) -> tuple[int, str]:
        found = _AGAIN.search(name)
        return number_order(found[0][1:]) if found else (-1, "")
    latest: dict[str, str] = {}
    for name, _ in files:
        own = _AGAIN.sub("", name)
        if own not in latest or again(name) > again(latest[own]):
            latest[own] = name
    chosen = {name: own for own, name in latest.items()}
    return (tuple((chosen[name], path) for name, path in files if name in chosen)
            + tuple((name, path) for name, path in files if name not in chosen))


def read_moodle(folder: Path) -> tuple[list[Entry], list[str]]:
    """Moodle's folders (or flat files), one :class:`Entry` per participant id, each with its
    hand-in time when Moodle's grading worksheet (a CSV) lies in ``folder``.

    The first ``_<id>_assignsubmission_<plugin>_`` of a name is Moodle's; a name holding a
    second one (a file the student named like a classmate's entry) is refused. The worksheet
    is a file of ``folder`` itself whose name is not an entry's (a student's own CSV never
    is); two worksheets give no times at all.
    """
    by_id: dict[str, Entry] = {}
    named_ids: set[str] = set()
    worksheets: list[Path] = []
    refused: dict[str, tuple[str, ...]] = {}  # participant id: their own files refused

    def read_one(path: Path) -> list[str]:
        named = _MOODLE.fullmatch(path.name)
        if named is None and is_worksheet(path):
            worksheets.append(path)
            return []
        if named is not None and len(_MOODLE_MARK.findall(path.name)) > 1:
            refused[named["id"]] = refused.get(named["id"], ()) + (
                f"{printable(named['file'] or path.name)}: not graded, its name holds "
                "_<id>_assignsubmission_ like another entry's; rename it and hand it in again",)
            return [f"{printable(path.name)}: names a Moodle entry twice "
                    "(_<id>_assignsubmission_ appears again in the name), so whose it is "
                    "cannot be told; not graded"]
        is_folder = path.is_dir() and not path.is_symlink()
        if named is None or bool(named["file"]) == is_folder:
            return [f"{printable(path.name)}: not named as Moodle names a submission, ignored"]
        named_ids.add(named["id"])
        if named["plugin"] != "file":
            return []  # online text, comments: nothing to grade
        files = _files_in(path) if is_folder else ((named["file"], path),)
        entry = by_id.get(named["id"]) or Entry(path.name, named["id"], named["name"], ())
        by_id[named["id"]] = replace(entry, files=entry.files + files)
        return []
    ignored = _each(folder, read_one)
    times, lines = _moodle_times(worksheets, named_ids)
    # a refused file is told to the participant of its first id only if they have an entry
    return ([replace(entry, when=times.get(entry.lms_id, ""), refused=refused.get(entry.lms_id, ()))
             for entry in by_id.values()], ignored + lines)


def _moodle_times(worksheets: list[Path], named_ids: set[str]) -> tuple[dict[str, str], list[str]]:
    """The one worksheet's times and its lines, naming each timed row the download lacks."""
    if len(worksheets) > 1:
        names = ", ".join(printable(path.name) for path in worksheets)
        return {}, [f"{len(worksheets)} grading worksheets ({names}): which is the assignment's "
                    "cannot be told, so no hand-in times are taken from either; keep one"]
    if not worksheets:
        return {}, []
    path = worksheets[0]
    try:
        times, lines = read_worksheet(path)
    except (OSError, ValueError, UnicodeError) as error:
        return {}, [f"{printable(path.name)}: cannot be read ({printable(error)}), ignored"]
    absent = sorted(set(times) - named_ids, key=participant_order)
    lines += capped([f"{printable(path.name)}: Participant {pid} has a hand-in time but no "
                     "entry in the download" for pid in absent],
                    f"{printable(path.name)}: {{}} more participants with a hand-in time but no "
                    "entry in the download (not listed)")
    return times, lines


def read_brightspace(folder: Path) -> tuple[list[Entry], list[str]]:
    """Brightspace's folders (or flat files), one :class:`Entry` per attempt: per folder, or
    per name before the file's (``<n>-<n> - <Name> - <date>``) of flat files, so two attempts
    handed in the same minute stay apart and :func:`~.lms_downloads.match_roster` says so."""
    attempts: dict[str, Entry] = {}

    def read_one(path: Path) -> list[str]:
        if path.name == "index.html":
            return []  # Brightspace's own list of the download
        named = _BRIGHTSPACE.fullmatch(path.name)
        is_folder = path.is_dir() and not path.is_symlink()
        if named is None or bool(named["file"]) == is_folder:
            return [f"{printable(path.name)}: not named as Brightspace names a submission, "
                    "ignored"]
        when = _when(named["date"])
        files = _files_in(path) if is_folder else ((named["file"], path),)
        entry = attempts.get(named["attempt"]) or Entry(
            named["attempt"], "", named["name"], (), when,
            order=(number_order(named["first"]), number_order(named["second"])))
        attempts[named["attempt"]] = replace(entry, files=entry.files + files)
        return [] if when else [
            f"{printable(path.name)}: its date {named['date']!r} is not a date; taken as older "
            "than any dated attempt of the same name"]
    ignored = _each(folder, read_one)
    return list(attempts.values()), ignored


def number_order(digits: str) -> tuple[int, str]:
    """Sort key of a string of digits by its value, without int() (which refuses past 4300
    digits): ``"10"`` after ``"9"``, ``"003"`` after ``"2"``.

    What Brightspace's two numbers are is documented nowhere found: in the public tests of
    tools that read its zips, the first differs between every two folders and the second is
    sometimes shared by several students' (``104470-789761``, ``128614-789761``). Both are
    taken as ids Brightspace hands out in increasing order, the first before the second, so
    of two attempts in one minute the larger numbers are the later; the student's feedback
    and the report say which was graded, for the instructor to check in Brightspace.
    """
    value = digits.lstrip("0")
    return len(value), value


def _when(text: str) -> str:
    """Brightspace's ``Oct 10, 2025 1022 AM`` (or ``10:22 AM``, seen in other downloads) in
    ISO 8601, or "" when it is no date."""
    try:
        return datetime.strptime(text.replace(":", ""), "%b %d, %Y %I%M %p").isoformat()
    except ValueError:  # Feb 30, 13 PM, 0960 AM ...
        return ""


READERS = {"canvas": read_canvas, "moodle": read_moodle, "brightspace": read_brightspace}

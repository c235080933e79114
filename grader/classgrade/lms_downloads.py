"""An LMS's "download all submissions", unzipped, read as submissions of roster usernames.

A student is found through the roster (``students.csv``): by the id in the name
(``canvas_id`` or ``moodle_id``) whenever the roster has the student's id, else by the name,
when exactly one roster name without an id matches it (letters and digits only, case and
accents ignored, first-last or last-first: Canvas's ``smithbob`` is ``Bob Smith``). A name
never takes the place of an id: another LMS user who shares a display name with a student
whose id is on the roster matches no one. Two LMS users (two ids) whose names match one
student are both ambiguous: neither is graded, and both are named in the terminal, the
report and that student's feedback. An entry that matches no one, or two, is listed as
ignored, saying which column to fill in; so is an entry whose name cannot be read (a date
that is no date), while every other entry is graded.

Each submission keeps what the download says about when it was handed in (a time, or
Canvas's late mark: :mod:`grader.classgrade.lms_times`), for a run with a deadline
(:mod:`grader.classgrade.late_handins`).

The files are then copied, under their own names, into a fresh folder of the standard
layout (``<username>/assignment.ipynb``, ``Blocks.py``), so the notebook imports the
student's ``Blocks``, with every check :mod:`grader.classgrade.intake` makes (links outside
the download and odd files are never copied; zip archives are unpacked within bounds). The
folder is removed when the process exits.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.hard_links import NameIndex
from grader.classgrade.intake import new_staging, take_files
from grader.classgrade.lms_layouts import (
    LAYOUTS,
    LMSES,
    READERS,
    Entry,
    inner_folder,
)
from grader.classgrade.submissions import Intake, from_copy
from grader.client.roster import LMS_COLUMNS, Student


def read_download(folder, *, lms: str, roster):
    """The submissions in ``lms``'s download ``folder``, under roster usernames.

    Args:
        folder: the unzipped download (or a folder holding just that one folder).
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"``.
        roster: ``{username: Student}`` (``load_roster``).

    Returns:
        An :class:`~grader.classgrade.submissions.Intake`, each submission's ``lms_id`` set
        from the download.

    Raises:
        ValueError: an unknown ``lms``, no roster, or nothing in ``folder`` named as ``lms``
            names its downloads.
        FileNotFoundError: ``folder`` is not a folder.
    """
    if lms not in LMSES:
        raise ValueError(f"unknown LMS {lms!r}: choose among {', '.join(LMSES)}")
    if not roster:
        raise ValueError(f"reading a {lms} download needs the roster (students.csv with username, "
                         f"name and {LMS_COLUMNS[lms]} columns) to find each student's username")
    index = NameIndex.scan(Path(folder)) if Path(folder).is_dir() else None
    folder = inner_folder(Path(folder))
    entries, ignored = READERS[lms](folder)
    if not entries:
        raise ValueError(f"{folder} holds no {lms} download: expected {LAYOUTS[lms]}")
    found, unmatched, notes = match_roster(entries, roster, lms)
    staging = new_staging(lms)
    submissions = []
    for username, entry in sorted(found.items()):
        taken = take_files(entry.files, staging / username, index=index, label=f"{username}: ")
        submission, extra = from_copy(username, taken.folder, lms_id=entry.lms_id,
                                     handed_in=entry.when, marked_late=entry.late)
        submissions.append(submission)
        ignored += list(taken.lines) + [f"{username}: {line}" for line in extra]
        if taken.notes or extra or entry.refused:
            notes[username] = (notes.get(username, ()) + entry.refused + taken.notes
                               + tuple(extra))
    return Intake(tuple(submissions), tuple(ignored + unmatched), notes)



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


def match_roster(entries, roster, lms: str) -> tuple[dict[str, Entry], list[str], dict]:
    """``{username: entry}`` for the entries the roster names, a line for each other one, and
    ``{username: notes}`` for the students an entry could have been but was not graded as.

    By the id in the entry's name whenever the roster has it; else by a name that matches
    one roster name only, of a student whose id the roster lacks. Two entries of one
    student: with two different LMS ids, both are ambiguous and neither is graded; else
    (Brightspace's attempts) the latest is kept and the other listed.
    """
    students: list[Student] = list(roster.values())
    by_id = {s.lms_id(lms): s.username for s in students if s.lms_id(lms)}
    by_name: dict[str, set[str]] = {}
    for student in students:
        for key in name_keys(student.name):
            by_name.setdefault(key, set()).add(student.username)
    column = LMS_COLUMNS[lms]
    claims: dict[str, list[tuple[Entry, bool]]] = {}
    ignored = []
    for entry in sorted(entries, key=lambda e: (e.when, e.order, e.label)):
        # a download that names its users by id (Canvas, Moodle) is matched by name only
        # to students whose id the roster lacks; Brightspace's names carry no user id
        named = {username for username in by_name.get(name_key(entry.name), set())
                 if not (entry.lms_id and roster[username].lms_id(lms))}
        by_its_id = by_id.get(entry.lms_id) if entry.lms_id else None
        username = by_its_id or (min(named) if len(named) == 1 else None)
        if username is None:
            ignored.append(_unmatched(entry, named, by_name, column))
            continue
        claims.setdefault(username, []).append((entry, by_its_id is not None))
    found, notes = {}, {}
    for username, claimed in claims.items():
        ids = {entry.lms_id for entry, _ in claimed}
        if len(claimed) > 1 and entry_ids_differ(ids):
            listed = "; ".join(f"{printable(e.label)} (id {e.lms_id})" for e, _ in claimed)
            line = (f"{username}: {len(claimed)} {lms} users match this student's name, none "
                    f"graded: {listed} (fill in the roster's {column} column)")
            ignored.append(line)
            notes[username] = (f"not graded: {len(claimed)} {lms} entries match your name "
                               f"({listed}); your instructor must say which is yours",)
            continue
        latest = claimed[-1][0]
        same = [entry for entry, _ in claimed[:-1] if entry.when == latest.when]
        for earlier, _ in claimed[:-1]:
            if earlier.when != latest.when:
                ignored.append(f"{printable(earlier.label)}: an earlier submission of "
                               f"{username}, ignored (the latest is graded)")
        if same:
            note = same_minute_note(latest, same)
            ignored.append(f"{username}: {note}")
            notes[username] = (note,)
        found[username] = latest
    return found, ignored, notes


def same_minute_note(graded: Entry, others: list[Entry]) -> str:
    """The line for a student whose latest attempts share one minute (Brightspace's dates
    stop at the minute): which was graded, which not, and how it was chosen."""
    when = (f"handed in the same minute ({graded.when})" if graded.when
            else "without a readable date")
    return (f"{len(others) + 1} attempts {when}: graded "
            f"{printable(graded.label)} (the larger submission numbers, taken as the later "
            "attempt); not graded: " + "; ".join(printable(e.label) for e in others)
            + " (your instructor can check in the LMS which is the latest)")


def entry_ids_differ(ids: set[str]) -> bool:
    """Whether the entries come from different LMS users (Brightspace's carry no id)."""
    return len(ids - {""}) > 1


def _unmatched(entry: Entry, named: set[str], by_name: dict, column: str) -> str:
    shown = printable(entry.label)
    if len(named) > 1:
        why = f"{len(named)} roster names match {entry.name!r}"
    elif by_name.get(name_key(entry.name)):
        holder = ", ".join(sorted(by_name[name_key(entry.name)]))
        why = (f"its id {entry.lms_id} is not on the roster, and {holder}, of that name, has "
               f"another {column} there; if this is {holder}, put {entry.lms_id} in the roster"
               + (" (a Moodle participant id is the assignment's own)" if column == "moodle_id"
                  else "") + ", else it is someone else")
        return f"{shown}: {printable(why)}; ignored (a name never replaces an id)"
    else:
        why = f"no roster row has {'its id or ' if entry.lms_id else ''}the name {entry.name!r}"
    return (f"{shown}: {printable(why)}; ignored (fill in the roster's {column} column"
            f"{'' if entry.lms_id else ' or name'})")


def add_flags(parser, library: dict) -> None:
    """``grade``'s flags for an LMS download: which LMS, and the deadline its times meet
    (defaults from ``grade_class``'s keywords, ``library``)."""
    parser.add_argument("--lms", choices=LMSES, default=library["lms"],
                        help="SUBMISSIONS is this LMS's unzipped 'download all submissions', "
                        "matched to usernames through the roster's canvas_id, moodle_id or name "
                        "columns (default: none, <username> folders or files; the grade imports "
                        "for all three are written to OUT/lms/ either way)")
    parser.add_argument("--deadline", default=library["deadline"], metavar="ISO",
                        help="hand-in deadline with its UTC offset, e.g. 2026-12-11T23:59+01:00, "
                        "for an --lms download; the roster's extension column moves a student's "
                        "own; late work is graded, its score weighed by --late-policy (default: "
                        "the course's, for an --lms download only; --deadline '' for none)")
    parser.add_argument("--late-policy", default=library["late_policy"], metavar="POLICY",
                        help="count, ignore (late work earns 0) or penalty:10%%/day[,max 50%%] "
                        "(default: the course's, else ignore; '' for ignore)")
    parser.add_argument("--lms-timezone", default=library["lms_timezone"], metavar="ZONE",
                        help="time zone of the download's dates (Brightspace's folder names, "
                        "Moodle's grading worksheet), e.g. Europe/Amsterdam or +01:00 (default: "
                        "the course's, else the deadline's UTC offset; '' for the latter)")

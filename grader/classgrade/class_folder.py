"""A class's folder of submissions, taken in: the kit's own layout or an LMS's download.

Two layouts are accepted, and may be mixed:
    SUBMISSIONS/<username>/assignment.ipynb   (plus the student's Blocks.py, other .py files,
                                               zip archives of them)
    SUBMISSIONS/<username>.ipynb or SUBMISSIONS/<username>.zip
and, when told which LMS it comes from, a Canvas, Moodle or Brightspace download, mapped
to usernames through the roster (:mod:`grader.classgrade.lms_downloads`).

Each student's files are copied once into a private folder (:mod:`grader.classgrade.intake`),
and that copy is what is graded (a :class:`~grader.classgrade.submissions.Submission`). Only
real folders and the students' own regular files are taken: a symbolic link (which could
point at the kit's solutions or another student's work) is named as ignored, with why, and
never read; a hard link is taken only when every name of the file lies inside the
submissions folder (one student linking a classmate's notebook does not take it away from
the classmate: both are graded on it, and both told).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.classgrade.console import printable
from grader.classgrade.hard_links import NameIndex
from grader.classgrade.intake import new_staging, take_files
from grader.classgrade.lms_downloads import read_download
from grader.classgrade.lms_layouts import looks_like
from grader.classgrade.submissions import Intake, Submission, from_copy
from grader.client import paths


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

"""A class kept for later years: its fingerprints only, never its code.

``python -m grader similarity SUBMISSIONS --save-archive FILE`` writes, per student and
graded function, the fingerprints left once the course's code is taken out (numbers from
which no code can be read back), under a label (the year). A later class compared with
``--archive FILE`` is matched against them; its pairs name the archived student
``label/username``, and show no code for that side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.classgrade.exports.files import write_atomically
from grader.classgrade.similarity.compare import Student
from grader.classgrade.similarity.fingerprint import WINDOW, Fingerprints, K
from grader.client.roster import valid_username

FORMAT = "automark-similarity-archive"
VERSION = 1
MAX_ARCHIVE_BYTES = 200 << 20
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


class ArchiveError(ValueError):
    """An archive that cannot be used; the message names the file and what to do."""


def check_label(label: str) -> str:
    """``label`` if it can name a class (letters, digits, ``_.-``, at most 40), else ValueError."""
    if not _LABEL.fullmatch(label or ""):
        raise ValueError(f"archive label {label!r}: use letters, digits, '_', '.' or '-' (at most "
                         "40), e.g. 2024; rename the folder or pass --label")
    return label


def save_archive(path, students, label: str) -> Path:
    """Write the class's fingerprints under ``label`` to ``path``; its path."""
    check_label(label)
    data = {"format": FORMAT, "version": VERSION, "k": K, "window": WINDOW, "label": label,
            "students": {s.who: {name: sorted(p.hashes) for name, p in s.functions.items()}
                         for s in students}}
    return write_atomically(path, json.dumps(data, separators=(",", ":")))


def load_archive(path) -> list[Student]:
    """The students of an archive file, each ``label/username`` in the cohort ``label``.

    Raises:
        ArchiveError: not such a file, written with other fingerprint settings, or too big.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_ARCHIVE_BYTES:
            raise ArchiveError(f"{path}: more than {MAX_ARCHIVE_BYTES >> 20} MB, not an archive "
                               "of this kit")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such archive; give a submissions folder or a file "
                           "written by --save-archive") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveError(f"{path}: not an archive written by --save-archive ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError(f"{path}: not an archive written by --save-archive")
    if (data.get("version"), data.get("k"), data.get("window")) != (VERSION, K, WINDOW):
        raise ArchiveError(f"{path}: written with other fingerprint settings (version "
                           f"{data.get('version')}, k {data.get('k')}, window {data.get('window')}; "
                           f"this kit: {VERSION}, {K}, {WINDOW}); write it again with this kit")
    label = check_label(str(data.get("label")))
    students = []
    for who, functions in _mapping(data.get("students"), path).items():
        if not valid_username(who):
            raise ArchiveError(f"{path}: damaged archive (username {who!r}); write it again")
        prints = {str(name): Fingerprints(frozenset(_hashes(hashes, path)), {}, 0)
                  for name, hashes in _mapping(functions, path).items()}
        students.append(Student(f"{label}/{who}", label, prints))
    return students


def _mapping(value, path) -> dict:
    if not isinstance(value, dict):
        raise ArchiveError(f"{path}: damaged archive (a mapping expected); write it again")
    return value


def _hashes(value, path) -> list[int]:
    if not isinstance(value, list) or not all(type(h) is int for h in value):
        raise ArchiveError(f"{path}: damaged archive (lists of numbers expected); write it again")
    return value

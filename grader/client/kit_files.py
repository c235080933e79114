"""The kit's own modules (Blocks.py ...): a graded function from one is not the student's work.

Class grading stages the kit's ``Blocks.py`` when a student handed in none (or
handed it back unchanged), and a graded function that comes from it is "not
submitted" (``grader/classgrade/sandbox/inside/task_child.py``). The notebook's check
applies the same rule, with the same words: a function whose code lives in a
file byte for byte the kit's own copy of that module is not checked, and
nothing is recorded. The kit's copies are known by their SHA-256: the student
kit ships them in ``grader/vectors/kit_files.json`` (``make release``); the
instructor's kit hashes its own files.
"""

from __future__ import annotations

import hashlib
import json
import os

from grader.client import paths
from grader.core import vectors
from grader.core.calling import not_submitted_message

KIT_MODULES = ("Blocks.py", "gradient_check.py", "dataset_utils.py")
DIGESTS_FILE = "kit_files.json"


def _digest(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def kit_digests() -> dict[str, str]:
    """``{module file: SHA-256 of the kit's own copy}``.

    The student kit's file written by the release; without it, a kit that ships test
    vectors (a student kit) knows none (its Blocks.py may be the student's), and the
    instructor's kit hashes the modules beside it.
    """
    shipped = vectors.vectors_dir() / DIGESTS_FILE
    if shipped.is_file():
        data = json.loads(shipped.read_text(encoding="utf-8"))
        return {name: value for name, value in data.items() if name in KIT_MODULES}
    if any((vectors.vectors_dir() / name).is_file() for name in vectors.PHASE_FILES.values()):
        return {}
    return {name: _digest(paths.KIT_ROOT / name) for name in KIT_MODULES
            if (paths.KIT_ROOT / name).is_file()}


def from_the_kit(function, name: str) -> str:
    """Why ``function`` is not the student's (it comes from the kit's own copy), or ``""``."""
    filename = getattr(getattr(function, "__code__", None), "co_filename", "")
    file_name = os.path.basename(filename)
    expected = kit_digests().get(file_name)
    if not expected or not os.path.isfile(filename):
        return ""
    try:
        same = _digest(filename) == expected
    except OSError:
        return ""
    return not_submitted_message(name, file_name) if same else ""

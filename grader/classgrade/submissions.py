"""Find the submissions of a class in a folder.

Two layouts are accepted, and may be mixed:
    SUBMISSIONS/<username>/assignment.ipynb   (plus the student's Blocks.py, other .py files)
    SUBMISSIONS/<username>.ipynb
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader.client import paths

MAX_FILE_BYTES = 20 << 20
MAX_PY_FILES = 50


@dataclass(frozen=True)
class Submission:
    """One student's submission.

    Attributes:
        username: the folder's or file's name.
        notebook: the notebook, or None when the folder holds none.
        py_files: the student's own ``.py`` files (regular files only, no links).
    """

    username: str
    notebook: Path | None
    py_files: tuple[Path, ...] = ()

    def content_hash(self) -> str:
        """SHA-256 over the notebook and the .py files (names and bytes)."""
        digest = hashlib.sha256()
        for path in ([self.notebook] if self.notebook else []) + sorted(self.py_files):
            digest.update(path.name.encode() + b"\0")
            digest.update(read_regular_file(path) or b"<unreadable>")
            digest.update(b"\0")
        return digest.hexdigest()


def read_regular_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The bytes of a regular file that is not a link and not too big, else None."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _from_folder(folder: Path) -> Submission:
    notebook = folder / "assignment.ipynb"
    if not notebook.is_file() or notebook.is_symlink():
        candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
        notebook = candidates[0] if len(candidates) == 1 else None
    py_files = sorted(p for p in folder.glob("*.py") if p.is_file() and not p.is_symlink())
    return Submission(folder.name, notebook, tuple(py_files[:MAX_PY_FILES]))


def discover(folder) -> tuple[list[Submission], list[str]]:
    """Submissions in ``folder``, sorted by username, and one line per entry skipped.

    Raises:
        FileNotFoundError: if ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of submissions; pass one with "
                                "SUBMISSIONS=path (make) or as the first argument")
    found: dict[str, Submission] = {}
    skipped = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            submission = _from_folder(entry)
        elif entry.suffix == ".ipynb":
            submission = Submission(entry.stem, entry)
        else:
            continue
        try:
            paths.check_username(submission.username)
        except ValueError:
            skipped.append(f"{entry.name}: not a valid username, skipped")
            continue
        if submission.username in found:
            skipped.append(f"{entry.name}: a second submission of {submission.username}, skipped")
            continue
        found[submission.username] = submission
    return [found[name] for name in sorted(found)], skipped

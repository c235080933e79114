"""Which files of the submissions folder have all their names inside it.

A regular file with several names (hard links) is one file seen from several folders. A link
to a file outside the class (a root-only secret, the kit's solutions) must never be graded;
but a student may hard-link a classmate's handed-in notebook into their own folder (on a
shared filesystem such as a JupyterHub exchange), and refusing the file then would refuse
the victim's own work. So the folder is walked once, bounded, and the names of every file
with ``st_nlink > 1`` are counted: a file whose names found there are as many as its link
count has no name elsewhere, and is accepted for every student whose folder holds it.

A file with a name the walk did not find (outside the folder, or past the walk's bounds) is
still the student's own when it belongs to the user who owns the student's folder, and that
user is neither root nor the grader (:meth:`NameIndex.students_own`): a classmate who links
the victim's notebook to a folder of their own, or buries a link deep enough to pass the
walk's bounds, no longer gets the victim refused; a root-only secret, or a file of the
instructor's, linked into a student's folder still is.

The count is compared again on the opened file when it is read (:meth:`NameIndex.all_inside`
on its ``fstat``): a name added outside after the walk raises ``st_nlink`` past the count,
and a path swapped for another file has a ``(st_dev, st_ino)`` the walk never saw.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 200_000
MAX_DEPTH = 8


@dataclass(frozen=True)
class NameIndex:
    """The names under ``root`` of each regular file that has more than one.

    Attributes:
        root: the folder walked.
        names: ``{(st_dev, st_ino): (path, ...)}``, paths under ``root``, sorted.
        complete: False when the walk stopped at :data:`MAX_ENTRIES` or skipped a folder
            deeper than :data:`MAX_DEPTH` or unreadable (then a name may have been missed,
            and a file is accepted only if every name of it was found all the same).
    """

    root: Path
    names: dict = field(default_factory=dict)
    complete: bool = True

    @classmethod
    def scan(cls, root, *, max_entries: int = MAX_ENTRIES, max_depth: int = MAX_DEPTH) -> NameIndex:
        """Walk ``root`` (symbolic links never followed) and index its multiply-linked files."""
        root = Path(root)
        names: dict[tuple[int, int], list[Path]] = {}
        complete, seen = True, 0
        folders = [(root, 0)]
        while folders:
            folder, depth = folders.pop()
            try:
                with os.scandir(folder) as entries:
                    listed = list(entries)
            except OSError:
                complete = False
                continue
            for entry in listed:
                seen += 1
                if seen > max_entries:
                    return cls(root, _sorted(names), complete=False)
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    complete = False
                    continue
                if stat.S_ISDIR(info.st_mode):
                    if depth + 1 < max_depth:
                        folders.append((Path(entry.path), depth + 1))
                    else:
                        complete = False
                elif stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    names.setdefault((info.st_dev, info.st_ino), []).append(Path(entry.path))
        return cls(root, _sorted(names), complete=complete)

    def all_inside(self, info: os.stat_result) -> bool:
        """Whether every name of the file ``info`` describes (an ``fstat``) lies under ``root``.

        The names the walk recorded are looked at again now: a name renamed from one folder to
        another while the walk ran was recorded twice (a red team counted a root-only secret's
        one inside name as two, and had it graded), so only the names that still are this file
        count.
        """
        if info.st_nlink <= 1:
            return True
        still = 0
        for name in self.names.get((info.st_dev, info.st_ino), ()):
            try:
                now = os.lstat(name)
            except OSError:
                continue
            still += (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)
        return still == info.st_nlink

    def students_own(self, info: os.stat_result, path: Path) -> bool:
        """Whether the file ``info`` describes (an ``fstat``), read at ``path``, belongs to the
        owner of the student's folder (the first folder under ``root`` on its way), and that
        owner is neither root nor the user grading."""
        try:
            parts = Path(path).relative_to(self.root).parts
            folder = os.lstat(self.root / parts[0]) if len(parts) > 1 else None
        except (ValueError, OSError):
            return False
        return (folder is not None and stat.S_ISDIR(folder.st_mode)
                and info.st_uid == folder.st_uid and info.st_uid not in (0, os.geteuid()))

    def other_names(self, info: os.stat_result, path: Path) -> tuple[Path, ...]:
        """The file's names under ``root`` other than ``path``, relative to ``root``."""
        found = self.names.get((info.st_dev, info.st_ino), ())
        return tuple(name.relative_to(self.root) for name in found if name != path)


def _sorted(names: dict) -> dict:
    return {key: tuple(sorted(paths)) for key, paths in names.items()}

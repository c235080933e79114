"""A student's zip archive, read member by member within bounds; nothing is extracted by name.

Students zip their folder (``assignment/assignment.ipynb`` and ``Blocks.py``), and LMSes keep
the zip as it was handed in (Canvas's ``<name>_<ids>_assignment.zip``). The archive is read
from an already opened, already checked file, each member's bytes read through
:mod:`zipfile` with a bound, and handed back under its last name component only: the caller
writes them into a folder of its own under that plain name, so a member named ``../x`` or
``/etc/x`` can never be written outside it (it is refused and named all the same).

Refused, each with a line saying why: members whose name climbs out (``..``, an absolute
path, a drive), symbolic links stored in the archive, encrypted members, archives inside
the archive, a name that repeats another, a member past :data:`MAX_MEMBER_BYTES`, and
everything once :data:`MAX_TOTAL_BYTES` (counted on the bytes actually decompressed, not on
the sizes the archive declares: a zip bomb stops there), :data:`MAX_MEMBERS` or
:data:`MAX_DEPTH` is passed. Files other than notebooks and ``.py`` files are listed, not read;
folders Jupyter and macOS add (``.ipynb_checkpoints``, ``__MACOSX``, hidden files) are skipped.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_ARCHIVE_BYTES = 50 << 20
MAX_MEMBER_BYTES = 20 << 20
MAX_TOTAL_BYTES = 60 << 20
MAX_MEMBERS = 500
MAX_DEPTH = 6
GRADED_SUFFIXES = (".ipynb", ".py")
_SKIPPED_PARTS = ("__MACOSX", ".ipynb_checkpoints", "__pycache__")


@dataclass(frozen=True)
class Unpacked:
    """What an archive holds for grading.

    Attributes:
        files: ``(plain file name, bytes)`` of its notebooks and .py files.
        refused: ``"member: why"`` for every member not taken (for the student's feedback).
    """

    files: tuple[tuple[str, bytes], ...]
    refused: tuple[str, ...]


def unpack(handle) -> Unpacked:
    """The notebooks and .py files of the zip archive open in ``handle`` (a binary file).

    Raises:
        ValueError: not a zip archive, or one :mod:`zipfile` cannot read; the message says so.
    """
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ValueError(f"not a zip archive that can be read ({error})") from None
    files: dict[str, bytes] = {}
    refused: list[str] = []
    total = 0
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            refused.append(f"only the first {MAX_MEMBERS} of its {len(members)} entries are read")
        for member in members[:MAX_MEMBERS]:
            why, name = _check_member(member, files)
            if why is None:
                continue  # a folder, or what Jupyter and macOS add
            if why:
                refused.append(f"{member.filename}: {why}")
                continue
            data, why = _read_member(archive, member, MAX_TOTAL_BYTES - total)
            if why:
                refused.append(f"{member.filename}: {why}")
                if total + len(data) >= MAX_TOTAL_BYTES:
                    refused.append(f"the rest: past the {MAX_TOTAL_BYTES >> 20} MB an archive may "
                                   "hold once unpacked, not read")
                    break
                continue
            total += len(data)
            files[name] = data
    return Unpacked(tuple(files.items()), tuple(refused))


def _check_member(member: zipfile.ZipInfo, taken: dict) -> tuple[str | None, str]:
    """``(why refused, plain name)``: why "" to take it, None to pass over it silently."""
    raw = member.filename.replace("\\", "/")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if member.is_dir() or not parts:
        return None, ""
    if raw.startswith("/") or ".." in parts or ":" in parts[0]:
        return "its name leaves the folder it is unpacked into, refused", ""
    if any(part in _SKIPPED_PARTS or part.startswith(".") for part in parts):
        return None, ""
    if len(parts) > MAX_DEPTH:
        return f"deeper than {MAX_DEPTH} folders, refused", ""
    kind = stat.S_IFMT(member.external_attr >> 16)   # 0: no Unix type recorded (Windows zips)
    if kind == stat.S_IFLNK:
        return "a symbolic link stored in the archive, refused", ""
    if kind not in (0, stat.S_IFREG):
        return "not a regular file, refused", ""
    name = parts[-1]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".zip":
        return "an archive inside the archive, not unpacked", ""
    if suffix not in GRADED_SUFFIXES:
        return "not a notebook or .py file, not graded", ""
    if member.flag_bits & 0x1:
        return "encrypted, cannot be read", ""
    if name in taken:
        return f"a second file named {name} in the archive, refused (the first is used)", ""
    if member.file_size > MAX_MEMBER_BYTES:
        return f"bigger than {MAX_MEMBER_BYTES >> 20} MB unpacked, refused", ""
    return "", name


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, room: int) -> tuple[bytes, str]:
    """The member's bytes, read at most ``min(room, MAX_MEMBER_BYTES) + 1``; and why refused."""
    limit = min(room, MAX_MEMBER_BYTES)
    try:
        with archive.open(member) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
            ValueError) as error:
        return b"", f"cannot be unpacked ({error}), refused"
    except Exception as error:  # noqa: BLE001 - zlib.error and kin: a damaged member only
        return b"", f"cannot be unpacked ({type(error).__name__}), refused"
    if len(data) > limit:
        return data, (f"bigger than {limit >> 20} MB unpacked (its size in the archive says "
                      f"{member.file_size} bytes), refused")
    return data, ""

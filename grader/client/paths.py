"""Where the kit keeps its files, each overridable by an environment variable."""

from __future__ import annotations

import os
import re
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]
PROGRESS_ENV = "AUTOMARK_PROGRESS_DIR"
ROSTER_ENV = "AUTOMARK_ROSTER"
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")


def progress_dir() -> Path:
    """Folder of the per-user progress files: $AUTOMARK_PROGRESS_DIR or <kit>/progress."""
    return Path(os.environ.get(PROGRESS_ENV) or KIT_ROOT / "progress")


def roster_path() -> Path:
    """The roster: $AUTOMARK_ROSTER or <kit>/students.csv (it need not exist)."""
    return Path(os.environ.get(ROSTER_ENV) or KIT_ROOT / "students.csv")


def check_username(username) -> str:
    """The username, if it is a safe, non-empty name.

    Raises:
        ValueError: naming the bad value and the allowed characters.
    """
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise ValueError(
            f"username must be a short name of letters, digits and . _ @ + - "
            f"(starting with a letter or digit), got {username!r}: set `username = '...'` "
            "in the first cell of the notebook")
    return username

"""Precomputed test vectors: the student kit's stand-in for the references.

``make release`` writes two archives (:mod:`grader.release.vectors`),
``local.npz`` and ``remote.npz``, with the inputs and expected outputs of every
task, in the layout of :mod:`grader.core.archive` (plain arrays, no pickle). In the
student kit ``test_student_function`` checks against them: the local set is
shown case by case, the remote set is never shown.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from grader.core import archive

VECTORS_ENV = "AUTOMARK_VECTORS"
PHASE_FILES = {"local": "local.npz", "remote": "remote.npz"}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "vectors"


def vectors_dir() -> Path:
    """Where the kit's vectors live: $AUTOMARK_VECTORS or <kit>/grader/vectors."""
    return Path(os.environ.get(VECTORS_ENV) or DEFAULT_DIR)


def available() -> bool:
    """True when both vector files are present (the student kit)."""
    folder = vectors_dir()
    return all((folder / name).is_file() for name in PHASE_FILES.values())


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict:
    return {name: (cases, expected) for name, (cases, expected, _) in archive.read_cases(path).items()}


def load_phase(phase: str) -> dict:
    """``{task name: (cases, expected outputs)}`` of one phase.

    Raises:
        FileNotFoundError: when the kit has no vectors for ``phase``.
    """
    path = vectors_dir() / PHASE_FILES[phase]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no test vectors; the instructor's kit computes "
                                "expected outputs from solutions/ instead")
    return _load(str(path), path.stat().st_mtime)

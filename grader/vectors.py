"""Precomputed test vectors: the student kit's stand-in for the references.

``make release`` writes two files, ``local.npz`` and ``remote.npz``, with the
inputs and expected outputs of every task (plain arrays, no pickle). In the
student kit ``test_student_function`` checks against them: the local set is
shown case by case, the remote set is kept apart and never shown.

Layout (as AutoMark's conformance file): ``<task>/<case:03d>/in/<arg>``
(a list argument as ``.../<arg>/len`` and ``.../<arg>/<i:02d>``),
``<task>/<case:03d>/out``, and ``__index__``, a JSON string giving each
task's case count, output kind, and every case's argument kinds (ndarray,
list, float, int, bool).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from grader import paths
from grader.cases import make_cases

VECTORS_ENV = "AUTOMARK_VECTORS"
PHASE_FILES = {"local": "local.npz", "remote": "remote.npz"}
_SCALARS = {"float": float, "int": int, "bool": bool}


def vectors_dir() -> Path:
    """Where the kit's vectors live: $AUTOMARK_VECTORS or <kit>/grader/vectors."""
    return Path(os.environ.get(VECTORS_ENV) or paths.KIT_ROOT / "grader" / "vectors")


def available() -> bool:
    """True when both vector files are present (the student kit)."""
    folder = vectors_dir()
    return all((folder / name).is_file() for name in PHASE_FILES.values())


def encode_case(prefix: str, case: dict, arrays: dict) -> dict:
    """Add one case's arguments to ``arrays`` under ``prefix``; returns their kinds.

    An array goes to ``<prefix>/<arg>``, a list of arrays to ``<prefix>/<arg>/len``
    and ``<prefix>/<arg>/<i:02d>``, a Python scalar to a 0-d array. The kinds
    (``ndarray``, ``list``, ``float``, ``int``, ``bool``) say how to read them back.
    Used here and by the sandbox's staging, whose worker decodes the same layout.
    """
    kinds = {}
    for name, value in case.items():
        key = f"{prefix}/{name}"
        if isinstance(value, list):
            kinds[name] = "list"
            arrays[f"{key}/len"] = np.array(len(value))
            arrays.update({f"{key}/{i:02d}": item for i, item in enumerate(value)})
        else:
            kinds[name] = "ndarray" if isinstance(value, np.ndarray) else type(value).__name__
            arrays[key] = np.asarray(value)
    return kinds


def write_vectors(path, tasks, *, phase: str, username: str = "release") -> int:
    """Write one phase's cases of every task, with the references' outputs.

    Returns:
        The number of cases written.
    """
    arrays, index = {}, {}
    for task in tasks:
        cases = make_cases(task, username, phase)
        kinds = []
        for number, case in enumerate(cases):
            prefix = f"{task.name}/{number:03d}"
            kinds.append(encode_case(f"{prefix}/in", case, arrays))
            arrays[f"{prefix}/out"] = np.asarray(task.expected(case), dtype=np.float64)
        index[task.name] = {"cases": len(cases), "output": task.output, "kinds": kinds}
    arrays["__index__"] = np.array(json.dumps(index))  # key order = argument order
    np.savez_compressed(path, **arrays)
    return sum(entry["cases"] for entry in index.values())


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict:
    with np.load(path, allow_pickle=False) as archive:
        index = json.loads(str(archive["__index__"]))
        loaded = {}
        for name, entry in index.items():
            cases, expected = [], []
            for number, kinds in enumerate(entry["kinds"]):
                prefix = f"{name}/{number:03d}"
                case = {}
                for arg, kind in kinds.items():
                    key = f"{prefix}/in/{arg}"
                    if kind == "list":
                        count = int(archive[f"{key}/len"])
                        case[arg] = [archive[f"{key}/{i:02d}"] for i in range(count)]
                    elif kind == "ndarray":
                        case[arg] = archive[key]
                    else:
                        case[arg] = _SCALARS[kind](archive[key].item())
                cases.append(case)
                out = archive[f"{prefix}/out"]
                expected.append(float(out) if entry["output"] == "scalar" else out)
            loaded[name] = (cases, expected)
    return loaded


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

"""The cases file: many cases' arguments (and expected outputs) in one ``.npz`` archive.

Release test vectors and the sandbox's inputs are written and read here, on both sides
(the sandbox copies this module beside the worker). Standard library and NumPy only.

An archive holds one flat array per dtype and a JSON index saying where each value lies::

    data/<dtype>      every array of that dtype, flattened and concatenated (e.g. data/<f8)
    __index__         JSON {"format": 2, "tasks": {task: {"cases": n, "output": "array" |
                      "scalar", "n_local": n, "args": [{argument: ref}], "expected": [ref] | null}}}

A ref is ``["array", dtype, offset, shape]``, ``["list", [ref, ...]]`` or
``["float" | "int" | "bool", value]``; argument order is the order of each case's dict.
A few members instead of one per array: a submission's inputs (about 300 arrays) were
written in 24 ms and read in the sandbox in 20 ms as one member each, and take about 2 ms
each way like this. Every offset and shape is checked against its member when read.
"""

from __future__ import annotations

import json
import math

import numpy as np

FORMAT = 2
SCALARS = {"float": float, "int": int, "bool": bool}
CASE_DTYPE_KINDS = "biuf"  # arrays keep their dtype (uint8 images, int64 labels, bool masks)
MAX_DIMS = 8


class _Writer:
    """Collects arrays by dtype and hands out their refs."""

    def __init__(self):
        self.parts, self.sizes = {}, {}

    def array(self, value: np.ndarray) -> list:
        key = value.dtype.str
        offset = self.sizes.get(key, 0)
        self.parts.setdefault(key, []).append(np.ravel(value))
        self.sizes[key] = offset + value.size
        return ["array", key, offset, list(value.shape)]

    def value(self, name: str, value) -> list:
        if isinstance(value, list):
            return ["list", [self.array(np.asarray(item)) for item in value]]
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in CASE_DTYPE_KINDS:
                raise TypeError(f"argument {name!r} of a case is an array of dtype {value.dtype}; "
                                "the wire format carries bool, integer and float arrays")
            return self.array(value)
        if type(value) in (float, int, bool):
            return [type(value).__name__, value]
        raise TypeError(f"argument {name!r} of a case is a {type(value).__name__}; "
                        "the wire format carries arrays, lists of arrays and Python scalars")

    def members(self) -> dict:
        return {f"data/{key}": np.concatenate(parts) if len(parts) > 1 else parts[0]
                for key, parts in self.parts.items()}


def write_cases(path, tasks: dict, *, compress: bool = False) -> int:
    """Write an archive of cases.

    Args:
        path: the ``.npz`` file.
        tasks: ``{task name: {"cases": [case dict], "expected": [output] or None,
            "output": "array" | "scalar", "n_local": int}}``; a case is
            ``{argument: ndarray | list of ndarrays | float | int | bool}``.
        compress: zip-deflate the archive (release vectors).

    Returns:
        The number of cases written.

    Raises:
        TypeError: an argument the format does not carry (an object or string array, a dict).
    """
    writer, index = _Writer(), {}
    for name, entry in tasks.items():
        args = [{arg: writer.value(arg, value) for arg, value in case.items()}
                for case in entry["cases"]]
        expected = entry.get("expected")
        index[name] = {"cases": len(args), "output": entry.get("output", "array"),
                       "n_local": int(entry.get("n_local", len(args))), "args": args,
                       "expected": None if expected is None else
                       [writer.array(np.asarray(out, dtype=np.float64)) for out in expected]}
    members = writer.members()
    members["__index__"] = np.array(json.dumps({"format": FORMAT, "tasks": index}))
    (np.savez_compressed if compress else np.savez)(path, **members)
    return sum(entry["cases"] for entry in index.values())


def _resolve(ref, data: dict):
    """The value a ref names, checked against the members it points into."""
    kind = ref[0]
    if kind == "array":
        _, key, offset, shape = ref
        flat = data.get(key)
        size = math.prod(shape) if isinstance(shape, list) else -1
        if flat is None or not isinstance(offset, int) or len(shape) > MAX_DIMS or \
                not all(isinstance(n, int) and n >= 0 for n in shape) or \
                offset < 0 or size < 0 or offset + size > flat.size:
            raise ValueError(f"a case's array ref {ref[:3]} does not fit the archive")
        return flat[offset:offset + size].reshape(shape)
    if kind == "list":
        return [_resolve(item, data) for item in ref[1]]
    if kind in SCALARS:
        return SCALARS[kind](ref[1])
    raise ValueError(f"unknown ref kind {kind!r} in a cases archive")


def read_cases(path, names=None) -> dict:
    """Read an archive written by :func:`write_cases`.

    Args:
        path: the ``.npz`` file.
        names: only these tasks (None: all).

    Returns:
        ``{task name: (cases, expected or None, n_local)}``; a scalar output is a float.
        Arrays are read-only views into the archive's members: a caller that lets code
        change an argument copies it first (``calling.copy_inputs``).

    Raises:
        ValueError: an archive of another format, or a ref that does not fit it.
    """
    with np.load(path, allow_pickle=False) as archive:
        index = json.loads(str(archive["__index__"]))
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise ValueError(f"{path}: not a cases archive of format {FORMAT}; write it again "
                             "with this kit (make release)")
        data = {member[len("data/"):]: archive[member] for member in archive.files
                if member.startswith("data/")}
    for flat in data.values():
        flat.flags.writeable = False
    loaded = {}
    for name, entry in index["tasks"].items():
        if names is not None and name not in names:
            continue
        cases = [{arg: _resolve(ref, data) for arg, ref in case.items()} for case in entry["args"]]
        expected = None
        if entry.get("expected") is not None:
            expected = [_resolve(ref, data) for ref in entry["expected"]]
            if entry["output"] == "scalar":
                expected = [float(value) for value in expected]
        loaded[name] = (cases, expected, int(entry.get("n_local", len(cases))))
    return loaded

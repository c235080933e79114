"""What a Dask worker sends back for a submission: bytes of the kit's own bounded format.

A worker is another machine: what it returns is read like the sandbox's output, as
hostile input. It returns one ``bytes`` object (which Dask ships as raw bytes, never
as a pickle)::

    8 bytes: n, the length of the header (big-endian)
    n bytes: the header, UTF-8 JSON {"format": FORMAT, "result": SubmissionResult.to_dict(),
             "executed": [name, size] or null}
    size bytes: the executed copy of the notebook (``--execute``), if any

:func:`decode` accepts it only if every size is within its bound, every field has its
type, the result is for the submission and the tasks that were sent, its kinds are the
kit's, and the record rebuilt from it gives back exactly the same JSON; anything else
raises :class:`ForgedResult`, and the client records the submission as not graded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from grader.classgrade.failures import GRADER_FAILURE
from grader.classgrade.sandbox.execute import MAX_EXECUTED_BYTES
from grader.core import results
from grader.core.results import CaseResult, SubmissionResult, TaskResult
from grader.core.tasks import task_names

FORMAT = "automark-result/1"
MAX_HEADER_BYTES = 4 << 20  # a result's JSON: about 70 KB for five tasks of a failing notebook
MAX_BYTES = 8 + MAX_HEADER_BYTES + MAX_EXECUTED_BYTES
KINDS = frozenset({results.OK, results.EXCEPTION, results.NOT_IMPLEMENTED, results.TIMEOUT,
                   results.WRONG_TYPE, results.MISMATCH, results.WRONG_SHAPE, results.NOT_FINITE,
                   results.CRASHED, results.MISSING, results.NOT_SUBMITTED})
ERROR_KINDS = KINDS | {"", GRADER_FAILURE}
_CASE = {"index": int, "kind": str, "message": str, "mutated": list, "max_error": (float, int,
         type(None)), "hidden": bool, "inputs": str, "passed": bool}
_TASK = {"task": str, "phase": str, "passed": bool, "n_passed": int, "n_cases": int, "error": str,
         "error_kind": str, "mistake": str, "calls": list, "cases": list}
_SUBMISSION = {"username": str, "content_hash": str, "error": str, "notes": list, "sandbox": str,
               "seconds": (float, int), "tasks": list}


class ForgedResult(ValueError):
    """A worker's answer is not a result in the kit's format; the message says what is wrong."""


def encode(result: SubmissionResult, executed: tuple[str, bytes] | None = None) -> bytes:
    """On a worker: ``result`` and the executed copy ``(name, bytes)`` as one bytes object."""
    header = json.dumps({"format": FORMAT, "result": result.to_dict(),
                         "executed": [executed[0], len(executed[1])] if executed else None},
                        separators=(",", ":")).encode()
    return len(header).to_bytes(8, "big") + header + (executed[1] if executed else b"")


def decode(data, *, username: str, content_hash: str,
           task_names) -> tuple[SubmissionResult, tuple[str, bytes] | None]:
    """On the client: the result of ``username``'s submission and its executed copy, checked.

    Args:
        data: what the worker returned.
        username, content_hash: the submission that was sent.
        task_names: the tasks it was sent to be graded on.

    Returns:
        ``(result, (name, bytes) or None)``; the name is a plain ``.ipynb`` file name.

    Raises:
        ForgedResult: anything but the kit's own format for this submission.
    """
    if not isinstance(data, bytes):
        raise ForgedResult(f"a {type(data).__name__}, not bytes")
    if not 8 <= len(data) <= MAX_BYTES:
        raise ForgedResult(f"{len(data)} bytes, outside 8..{MAX_BYTES}")
    size = int.from_bytes(data[:8], "big")
    if size > min(MAX_HEADER_BYTES, len(data) - 8):
        raise ForgedResult(f"a header of {size} bytes (at most {MAX_HEADER_BYTES}, "
                           f"{len(data) - 8} sent)")
    try:
        header = json.loads(data[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ForgedResult(f"a header that is not JSON ({type(error).__name__})") from None
    if not isinstance(header, dict) or set(header) != {"format", "result", "executed"} \
            or header["format"] != FORMAT:
        raise ForgedResult(f"a header that is not {FORMAT}")
    executed = _executed(header["executed"], data[8 + size:], username)
    result = _submission(header["result"], username, content_hash, tuple(task_names))
    return result, executed


def _executed(said, rest: bytes, username: str) -> tuple[str, bytes] | None:
    if said is None:
        if rest:
            raise ForgedResult(f"{len(rest)} bytes after the header, and no executed copy")
        return None
    if not (isinstance(said, list) and len(said) == 2 and isinstance(said[0], str)
            and type(said[1]) is int and said[1] == len(rest) <= MAX_EXECUTED_BYTES):
        raise ForgedResult(f"an executed copy described as {str(said)[:80]!r} with "
                           f"{len(rest)} bytes")
    if said[0] != f"{username}.ipynb":
        raise ForgedResult(f"an executed copy named {said[0][:80]!r}, not {username}.ipynb")
    return said[0], rest


def _fields(data, types: dict, what: str) -> dict:
    """``data`` if it is a dict of exactly ``types``' keys, each of its type (bool is no int)."""
    if not isinstance(data, dict) or set(data) != set(types):
        raise ForgedResult(f"{what} without exactly the fields {', '.join(types)}")
    for key, kinds in types.items():
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if not isinstance(data[key], kinds) or (type(data[key]) is bool and bool not in kinds):
            raise ForgedResult(f"{what}: {key} is a {type(data[key]).__name__}")
    return data


def _strings(values, what: str) -> tuple[str, ...]:
    if not all(isinstance(value, str) for value in values):
        raise ForgedResult(f"{what}: not a list of strings")
    return tuple(values)


def _case(data) -> CaseResult:
    data = _fields(data, _CASE, "a case")
    if data["kind"] not in KINDS or data["index"] < 0:
        raise ForgedResult(f"a case of kind {data['kind'][:40]!r}, index {data['index']}")
    return CaseResult(index=data["index"], kind=data["kind"], message=data["message"],
                      mutated=_strings(data["mutated"], "a case's mutated"),
                      max_error=data["max_error"], hidden=data["hidden"], inputs=data["inputs"])


def _task(data, names: tuple[str, ...]) -> TaskResult:
    data = _fields(data, _TASK, "a task")
    if data["task"] not in names or data["phase"] != "grade" or data["error_kind"] not in ERROR_KINDS:
        raise ForgedResult(f"a task {data['task'][:40]!r} (phase {data['phase'][:20]!r}, error "
                           f"kind {data['error_kind'][:40]!r}) that was not asked for")
    calls = _strings(data["calls"], "a task's calls")
    if not set(calls) <= set(task_names()):
        raise ForgedResult(f"a task {data['task'][:40]!r} that calls functions that are not graded")
    return TaskResult(task=data["task"], phase="grade",
                      cases=tuple(_case(case) for case in data["cases"]), error=data["error"],
                      error_kind=data["error_kind"], mistake=data["mistake"], calls=calls)


def _submission(data, username: str, content_hash: str, names: tuple) -> SubmissionResult:
    data = _fields(data, _SUBMISSION, "the result")
    if data["username"] != username or data["content_hash"] not in (content_hash, ""):
        raise ForgedResult(f"a result for {data['username'][:40]!r} (content "
                           f"{data['content_hash'][:16]!r}), not the submission sent")
    if not (math.isfinite(data["seconds"]) and data["seconds"] >= 0):
        raise ForgedResult(f"a result that took {data['seconds']} s")
    tasks = tuple(_task(task, names) for task in data["tasks"])
    if len({task.task for task in tasks}) != len(tasks):
        raise ForgedResult("a result that grades one task twice")
    result = SubmissionResult(username=username, content_hash=data["content_hash"], tasks=tasks,
                              error=data["error"], notes=_strings(data["notes"], "its notes"),
                              sandbox=data["sandbox"], seconds=data["seconds"])
    if _canonical(result.to_dict()) != _canonical(data):
        raise ForgedResult("a result whose derived fields (passed, n_passed, n_cases) are not "
                           "those of its cases")
    return result


def _canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True)


def write_executed(executed_dir: Path, executed: tuple[str, bytes]) -> None:
    """The executed copy, through a temporary file: whole or absent."""
    name, data = executed
    executed_dir.mkdir(parents=True, exist_ok=True)
    (executed_dir / f".{name}.tmp").write_bytes(data)
    (executed_dir / f".{name}.tmp").replace(executed_dir / name)

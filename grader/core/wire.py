"""The one wire format back from the sandbox: answers as framed records, in chunks on a pipe.

Imports only the standard library, NumPy and (in the kit) :mod:`calling`; the
sandbox copies it beside the worker, so both sides read and write the same way.
(What goes in, the cases, is :mod:`archive`'s file.)

Answers (what the sandbox sends back; one stream per function)::

    b"AMC1" | header length (uint32, little-endian) | header JSON | float64 values
    header = {"case": int, "status": str, "message": str, "mutated": [str], "shape": [int] | null}

The sandbox's worker sends every function's records, and how its process
ended, to the trusted side on one pipe, in chunks::

    b"D" | task number (uint16) | length (uint32) | bytes of that function's records
    b"E" | task number (uint16) | length (uint32) | JSON {"ended": ..., "code"/"signal": ...}

Decoding never trusts the bytes: every length, count and shape is bounded, and
the first malformed record ends the stream (what came before it is kept).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

try:  # in the kit
    from grader.core.calling import CALL_STATUSES, OK, CallOutcome, clean_text
except ImportError:  # in the sandbox, beside calling.py
    from calling import CALL_STATUSES, OK, CallOutcome, clean_text

MAGIC = b"AMC1"
MAX_HEADER = 16 << 10
MAX_DIMS = 8
MAX_MUTATED = 16
# A record with case -1 says why no case of the function ran, or (loading) what failed.
MISSING = "missing"              # the submission does not define the function
NOT_SUBMITTED = "not_submitted"  # it comes from a kit file the student did not hand in
LOAD_ERROR = "load_error"        # a statement of the student's code could not be loaded
TASK_STATUSES = (MISSING, NOT_SUBMITTED, LOAD_ERROR)
MAX_PROBLEMS = 50
_LENGTH = struct.Struct("<I")


# ---------------------------------------------------------------- answers
def encode_outcome(index: int, outcome: CallOutcome) -> bytes:
    """One call's outcome as a framed record."""
    answer = outcome.answer if outcome.status == OK else None
    header = {"case": index, "status": outcome.status, "message": outcome.message,
              "mutated": list(outcome.mutated),
              "shape": list(answer.shape) if answer is not None else None}
    head = json.dumps(header).encode("utf-8")
    payload = answer.astype("<f8").tobytes() if answer is not None else b""
    return MAGIC + _LENGTH.pack(len(head)) + head + payload


def encode_problem(status: str, message: str) -> bytes:
    """A record saying why no case of the function ran (``missing``, ``load_error``)."""
    head = json.dumps({"case": -1, "status": status, "message": message}).encode("utf-8")
    return MAGIC + _LENGTH.pack(len(head)) + head


@dataclass(frozen=True)
class Decoded:
    """What one stream held.

    Attributes:
        outcomes: ``{case index: CallOutcome}``.
        problems: ``(status, message)`` of every case -1 record (at most :data:`MAX_PROBLEMS`).
        damage: why reading stopped early, "" if it did not.
    """

    outcomes: dict
    problems: tuple = ()
    damage: str = ""

    @property
    def problem(self) -> tuple[str, str] | None:
        """The first case -1 record, or None."""
        return self.problems[0] if self.problems else None


def _header(raw: bytes, n_cases: int) -> tuple[int, str, str, tuple, tuple | None]:
    """The fields of one record's header, checked; ValueError if anything is off."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("a record header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError("a record header is not an object")
    index, status = header.get("case"), header.get("status")
    if type(index) is not int or not -1 <= index < n_cases:
        raise ValueError(f"a record names case {clean_text(index, 40)}")
    if status not in (TASK_STATUSES if index == -1 else CALL_STATUSES):
        raise ValueError(f"a record has status {clean_text(status, 40)}")
    message = header.get("message", "")
    mutated = header.get("mutated", [])
    if not isinstance(message, str) or not isinstance(mutated, list) or len(mutated) > MAX_MUTATED \
            or not all(isinstance(m, str) for m in mutated):
        raise ValueError("a record has a malformed message or mutated list")
    shape = header.get("shape")
    if shape is not None:
        if (status != OK or not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(type(d) is int and 0 <= d for d in shape)):
            raise ValueError("a record has a malformed shape")
        shape = tuple(shape)
    elif status == OK:
        raise ValueError("an answer record has no shape")
    return index, status, clean_text(message), tuple(clean_text(m, 40) for m in mutated), shape


def decode_outcomes(data: bytes, *, n_cases: int, max_values: int) -> Decoded:
    """The outcomes in a stream, ``{case index: CallOutcome}``; the first of each index counts.

    Args:
        data: the stream's bytes (already bounded in size by the caller).
        n_cases: how many cases the function was given; other indices are damage.
        max_values: the most float64 values one answer may hold.
    """
    outcomes, problems, position = {}, [], 0
    view = memoryview(data)
    while position < len(data):
        try:
            if bytes(view[position:position + 4]) != MAGIC or position + 8 > len(data):
                raise ValueError("a record does not start where the previous one ended")
            (length,) = _LENGTH.unpack_from(data, position + 4)
            if length > MAX_HEADER or position + 8 + length > len(data):
                raise ValueError("a record header is too long")
            index, status, message, mutated, shape = _header(
                bytes(view[position + 8:position + 8 + length]), n_cases)
            position += 8 + length
            answer = None
            if shape is not None:
                count = 1
                for dim in shape:
                    count *= dim
                if count > max_values or position + 8 * count > len(data):
                    raise ValueError("an answer is larger than allowed or cut short")
                answer = np.frombuffer(data, dtype="<f8", count=count,
                                       offset=position).astype(np.float64).reshape(shape)
                position += 8 * count
        except ValueError as error:
            return Decoded(outcomes, tuple(problems), damage=str(error))
        if index == -1:
            if len(problems) < MAX_PROBLEMS:
                problems.append((status, message))
        else:
            outcomes.setdefault(index, CallOutcome(status, answer=answer, message=message,
                                                   mutated=mutated))
    return Decoded(outcomes, tuple(problems))


# ------------------------------------------------------------- the pipe
_CHUNK = struct.Struct("<cHI")
MAX_CHUNK = 1 << 20


def encode_chunk(kind: bytes, task: int, payload: bytes) -> bytes:
    """One chunk of the worker's pipe: ``kind`` b"D" (records), b"E" (how a task's process
    ended) or b"S" (the submission is over: how its supervisor ended; task 0)."""
    return _CHUNK.pack(kind, task, len(payload)) + payload


class Demux:
    """The trusted side of the worker's pipe: chunks sorted by task, every size bounded.

    A warm sandbox sends many submissions down one pipe: each ends with an b"S" chunk,
    after which :attr:`finished` holds how its supervisor ended (``{"ended", "code"?,
    "signal"?, "fresh"}``, ``fresh`` true when it ran in namespaces of its own); a byte
    past that is damage.

    Args:
        n_tasks: how many tasks the worker was given (task numbers beyond are damage).
        max_bytes: the most bytes held for the whole submission.
    """

    def __init__(self, n_tasks: int, max_bytes: int):
        self.n_tasks, self.max_bytes = n_tasks, max_bytes
        self.streams = {}
        self.endings = {}
        self.damage = ""
        self.finished = None
        self.held = 0
        self._pending = bytearray()

    def feed(self, data: bytes) -> bool:
        """Take more bytes from the pipe; False once the stream is damaged or over its size."""
        if self.damage:
            return False
        if self.finished is not None and data:
            self.damage = "the worker's pipe carried bytes after the submission's end"
            return False
        self.held += len(data)
        if self.held > self.max_bytes:
            self.damage = f"sent back more than {self.max_bytes >> 20} MB"
            self._pending.clear()
            return False
        self._pending += data
        while len(self._pending) >= _CHUNK.size:
            kind, task, length = _CHUNK.unpack_from(self._pending)
            if kind not in (b"D", b"E", b"S") or task >= self.n_tasks or length > MAX_CHUNK \
                    or self.finished is not None:
                self.damage = "the worker's pipe carried a malformed chunk"
                return False
            if len(self._pending) < _CHUNK.size + length:
                break
            payload = bytes(self._pending[_CHUNK.size:_CHUNK.size + length])
            del self._pending[:_CHUNK.size + length]
            if kind == b"D":
                self.streams.setdefault(task, bytearray()).extend(payload)
            elif kind == b"S":
                self.finished = {**_ending(payload), "fresh": _flag(payload, "fresh")}
            else:
                self.endings.setdefault(task, _ending(payload))
        if self.finished is not None and self._pending:
            self.damage = "the worker's pipe carried bytes after the submission's end"
            return False
        return True


def _flag(payload: bytes, name: str) -> bool:
    """``payload``'s JSON object has ``name`` set to true (anything else: False)."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get(name) is True


def _ending(payload: bytes) -> dict:
    """How a task's process ended, checked: {"ended", "code"?, "signal"?}."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {"ended": "unknown"}
    if not isinstance(data, dict) or data.get("ended") not in ("exit", "signal", "task_timeout",
                                                               "not_run"):
        return {"ended": "unknown"}
    return {"ended": data["ended"], "code": data.get("code") if type(data.get("code")) is int else None,
            "signal": clean_text(data.get("signal", ""), 20)}

"""Read a student's answer from its URL segment and judge it with the kit's strict rule.

The answer is ``json.dumps(np.array(result).tolist())``: a number, ``NaN``,
``Infinity``, a bool or nested lists of them. Anything else (too long, not
JSON, nested too deeply, strings, objects, ``null``, ragged lists) is refused
with an :class:`AnswerError` naming the problem, before anything is written.
A well-formed answer is compared with :func:`grader.core.compare.compare`
(shape included, NaN and inf fail, AutoMark's tolerance): a wrong value, shape
or a NaN is a verdict, ``{"success": false}``, not an error.
"""

from __future__ import annotations

import json

import numpy as np

from grader.core.compare import Comparison, compare
from grader.core.tasks import Task
from grader.server.limits import MAX_ANSWER_CHARS, MAX_ENCODED_ANSWER_BYTES
from grader.server.percent import percent_decode

MAX_DIMS = 8
_NUMERIC_KINDS = "biuf"
_KIND_NAMES = {"U": "text", "O": "null, objects or integers too large for a float"}


class AnswerError(ValueError):
    """The answer segment cannot be read as an array of numbers."""


def read_answer_segment(segment: bytes) -> np.ndarray:
    """The answer from its path segment as it travelled: the length is checked before the
    segment is decoded (in linear time), the decoded length before it is parsed.

    Raises:
        AnswerError: with a one-line reason.
    """
    if len(segment) > MAX_ENCODED_ANSWER_BYTES:
        raise AnswerError(f"the answer is {len(segment)} bytes long percent-encoded; at most "
                          f"{MAX_ENCODED_ANSWER_BYTES} are accepted")
    try:
        text = percent_decode(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise AnswerError("the answer is not valid UTF-8 once percent-decoded") from None
    return parse_answer(text)


def parse_answer(text: str) -> np.ndarray:
    """The answer as a float64 array.

    Raises:
        AnswerError: with a one-line reason.
    """
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is {len(text)} characters long; at most {MAX_ANSWER_CHARS} "
                          "are accepted")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested lists
        raise AnswerError("the answer is not valid JSON: send json.dumps(np.array(result).tolist())"
                          ) from None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise AnswerError("the answer is not a regular array of numbers (lists of unequal "
                          "lengths, or nested too deeply?)") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        got = _KIND_NAMES.get(array.dtype.kind, f"dtype {array.dtype}")
        raise AnswerError(f"the answer is not an array of numbers (it holds {got}); send "
                          "json.dumps(np.array(result).tolist())")
    if array.ndim > MAX_DIMS:
        raise AnswerError(f"the answer has {array.ndim} dimensions; at most {MAX_DIMS} are accepted")
    return array.astype(np.float64)


def judge_answer(task: Task, case: dict, expected, answer: np.ndarray) -> Comparison:
    """Compare ``answer`` with ``expected`` for a hidden case: never reveals the expected values."""
    return compare(expected, answer, rtol=task.rtol, atol=task.atol,
                   scalar=task.output == "scalar", hidden=True,
                   alternative=task.alternative_for(case, expected))

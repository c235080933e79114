"""The AutoMark server's replies, decoded and checked before the client believes them.

A reply that is not JSON (a Wi-Fi login page, a proxy's page), JSON of another shape,
an input the task cannot take, or one larger than the task's inputs (an input of
AutoMark's form may still be of any size: :mod:`grader.client.input_bounds`) is
:class:`NotAutoMarks`: the client says the hidden check waits for the server, never a
traceback, and never calls the student's function on it (a ragged array would read as the
student's mistake, a huge one would hold the student's kernel for seconds or gigabytes).

The shapes, as AutoMark's server sends them:

- ``get_test_input``: ``{"ipd": int, "input": {arg: {"type": ..., "data": ...}}}`` with
  exactly the task's arguments; ``type`` is ``ndarray`` (``data`` a numeric nested list),
  ``int``, ``float`` or ``bool``.
- ``check_answer``: ``{"success": true | false}``.
- ``get_progress``: ``{"name": str, "mail": str | null, "progress": {function: state}}``.
- a refusal (HTTP 300): ``{"error": "AutoMark's words"}``.
"""

from __future__ import annotations

import json

import numpy as np

from grader.client import input_bounds
from grader.core.tasks import Task

ARRAY_KINDS = "biuf"        # bool, int, unsigned, float: what an AutoMark array holds
MAX_IPD_DIGITS = 19         # the server's ipds fit a 64-bit integer
MAX_TEXT_CHARS = 200        # a name, a mail, a state: shown in a 45-character table
MAX_REFUSAL_CHARS = 1000    # AutoMark's refusals are one sentence
SCALARS = {"int": (int,), "float": (int, float), "bool": (bool,)}


class NotAutoMarks(ValueError):
    """A reply AutoMark's server would not send; the message says what it is, in a few words."""


def _decoded(body: bytes):
    try:
        return json.loads(body)     # bytes: UTF-8 (or 16/32, detected), as json allows
    except (ValueError, RecursionError):   # a UnicodeDecodeError is a ValueError
        raise NotAutoMarks("a page that is not JSON") from None


def _object(body: bytes, keys: str) -> dict:
    reply = _decoded(body)
    if not isinstance(reply, dict):
        raise NotAutoMarks(f"JSON that is not an object with {keys}")
    return reply


def refusal_text(body: bytes) -> str:
    """AutoMark's words in a refusal's ``{"error": "..."}``; "" for any other body, and for
    words that are not one printable line of at most :data:`MAX_REFUSAL_CHARS` (they are
    printed as they are: no terminal escapes, no lines of another's making)."""
    try:
        text = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return ""
    if not isinstance(text, str) or len(text) > MAX_REFUSAL_CHARS or not text.isprintable():
        return ""
    return text


def _ipd(value) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_IPD_DIGITS:
        return int(value)
    if type(value) is int and 0 <= value < 10 ** MAX_IPD_DIGITS:
        return value
    raise NotAutoMarks("an input whose ipd is not a whole number")


def _argument(name: str, argument):
    """One argument as AutoMark's client passes it: ``np.array(data)`` for an ndarray."""
    if not isinstance(argument, dict) or not isinstance(argument.get("type"), str) \
            or "data" not in argument:
        raise NotAutoMarks(f"an input whose '{name}' is not {{\"type\": ..., \"data\": ...}}")
    kind, data = argument["type"], argument["data"]
    if kind == "ndarray":
        try:
            array = np.array(data)
        except (ValueError, TypeError, RecursionError):
            array = None
        if array is None or array.dtype.kind not in ARRAY_KINDS:
            raise NotAutoMarks(f"an input whose '{name}' is not an array of numbers")
        return array
    if kind not in SCALARS:
        raise NotAutoMarks(f"an input whose '{name}' has a type AutoMark does not send")
    if type(data) not in SCALARS[kind]:
        raise NotAutoMarks(f"an input whose '{name}' is not a {kind}")
    return data


def _bounded(name: str, value, bound: input_bounds.Bound):
    why = input_bounds.problem(bound, value)
    if why:
        raise NotAutoMarks(f"an input whose '{name}' is {why}, larger than the task's inputs")
    return value


def hidden_input(body: bytes, task: Task) -> tuple[int, dict]:
    """``(ipd, {arg: value})`` from a ``get_test_input`` reply for ``task``, each argument
    within the task's bounds (:mod:`grader.client.input_bounds`).

    Raises:
        NotAutoMarks: any other reply, and an input past the bounds.
    """
    arg_names, bounds = task.arg_names, input_bounds.bounds_for(task)
    reply = _object(body, "'ipd' and 'input'")
    ipd = _ipd(reply.get("ipd"))
    arguments = reply.get("input")
    if not isinstance(arguments, dict):
        raise NotAutoMarks("a reply without an 'input' object")
    if sorted(arguments) != sorted(arg_names):
        raise NotAutoMarks(f"an input whose arguments are not {list(arg_names)}")
    return ipd, {name: _bounded(name, _argument(name, arguments[name]), bounds[name])
                 for name in arg_names}


def verdict(body: bytes) -> bool:
    """The ``success`` of a ``check_answer`` reply.

    Raises:
        NotAutoMarks: any reply but ``{"success": true | false}``.
    """
    success = _object(body, "'success'").get("success")
    if not isinstance(success, bool):
        raise NotAutoMarks("a verdict whose 'success' is not true or false")
    return success


def _text(value, what: str, *, optional: bool = False) -> str | None:
    if (value is None and optional) or (isinstance(value, str) and len(value) <= MAX_TEXT_CHARS
                                        and value.isprintable()):
        return value
    raise NotAutoMarks(f"a progress table whose {what} is not a short line of text")


def progress(body: bytes) -> tuple[str, str | None, dict[str, str]]:
    """``(name, mail, {function: state})`` from a ``get_progress`` reply.

    Raises:
        NotAutoMarks: any reply but AutoMark's progress object.
    """
    reply = _object(body, "'name', 'mail' and 'progress'")
    states = reply.get("progress")
    if not isinstance(states, dict):
        raise NotAutoMarks("a progress table without a 'progress' object")
    for state in states.values():
        _text(state, "state of a function")
    return (_text(reply.get("name"), "name"), _text(reply.get("mail"), "mail", optional=True),
            states)
